"""Fused optimizer updates (fastnn.ops.*_update) against the float64 NumPy twins of torch.optim's rules in reference.py: several steps in a
row with the state carried, every option combination, float32 and float64, every ISA path,
1 and 2 threads, sizes around the vector widths and a threaded size above 1M."""
import itertools

import numpy as np
import pytest

import fastnn
import reference as ref
from conftest import tol
from fastnn import ops

DTYPES = [np.float32, np.float64]
SIZES = [1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 1021, 4099]
BIG = 1_048_583  # prime, > 2**20: the threaded, chunked path
STEPS = 4


# ------------------------------------------------------------------ the optimizers


def _zeros(n, dtype):
    return np.zeros(n, dtype)


def _nans(n, dtype):
    return np.full(n, np.nan, dtype)


def _sgd_states(o):
    # NaN: on the first step torch creates the buffer from the gradient, the old contents
    # must never be read.
    return {"momentum_buffer": _nans} if o.get("momentum", 0.0) != 0.0 else {}


def _sgd_fast(s, g, t, o):
    ops.sgd_update(s["param"], g, s.get("momentum_buffer"), first_step=(t == 1), **o)


def _sgd_ref(s, g, t, o):
    p, b = ref.sgd_step(s["param"], g, s.get("momentum_buffer"), first_step=(t == 1), **o)
    return {"param": p, "momentum_buffer": b}


def _adam_states(o):
    d = {"exp_avg": _zeros, "exp_avg_sq": _zeros}
    if o.get("amsgrad"):
        d["max_exp_avg_sq"] = _zeros
    return d


def _adam_fast(s, g, t, o):
    ops.adam_update(s["param"], g, s["exp_avg"], s["exp_avg_sq"], t, max_exp_avg_sq=s.get("max_exp_avg_sq"), **o)


def _adam_ref(s, g, t, o):
    p, m, v, vmax = ref.adam_step(s["param"], g, s["exp_avg"], s["exp_avg_sq"], s.get("max_exp_avg_sq"), t, **o)
    return {"param": p, "exp_avg": m, "exp_avg_sq": v, "max_exp_avg_sq": vmax}


def _rmsprop_states(o):
    d = {"square_avg": _zeros}
    if o.get("momentum", 0.0) > 0:
        d["momentum_buffer"] = _zeros
    if o.get("centered"):
        d["grad_avg"] = _zeros
    return d


def _rmsprop_fast(s, g, t, o):
    ops.rmsprop_update(s["param"], g, s["square_avg"], momentum_buffer=s.get("momentum_buffer"),
                       grad_avg=s.get("grad_avg"), **o)


def _rmsprop_ref(s, g, t, o):
    p, sq, b, ga = ref.rmsprop_step(s["param"], g, s["square_avg"], s.get("momentum_buffer"), s.get("grad_avg"), **o)
    return {"param": p, "square_avg": sq, "momentum_buffer": b, "grad_avg": ga}


def _adagrad_states(o):
    # torch's initial_accumulator_value: 0 (default) or something else
    return {"state_sum": (lambda n, dt: np.full(n, 0.1, dt)) if o.get("lr_decay") else _zeros}


def _adagrad_fast(s, g, t, o):
    ops.adagrad_update(s["param"], g, s["state_sum"], t, **o)


def _adagrad_ref(s, g, t, o):
    p, ss = ref.adagrad_step(s["param"], g, s["state_sum"], t, **o)
    return {"param": p, "state_sum": ss}


def _adadelta_states(o):
    return {"square_avg": _zeros, "acc_delta": _zeros}


def _adadelta_fast(s, g, t, o):
    ops.adadelta_update(s["param"], g, s["square_avg"], s["acc_delta"], **o)


def _adadelta_ref(s, g, t, o):
    p, sq, acc = ref.adadelta_step(s["param"], g, s["square_avg"], s["acc_delta"], **o)
    return {"param": p, "square_avg": sq, "acc_delta": acc}


def _adamax_states(o):
    return {"exp_avg": _zeros, "exp_inf": _zeros}


def _adamax_fast(s, g, t, o):
    ops.adamax_update(s["param"], g, s["exp_avg"], s["exp_inf"], t, **o)


def _adamax_ref(s, g, t, o):
    p, m, u = ref.adamax_step(s["param"], g, s["exp_avg"], s["exp_inf"], t, **o)
    return {"param": p, "exp_avg": m, "exp_inf": u}


def _nadam_states(o):
    return {"exp_avg": _zeros, "exp_avg_sq": _zeros}


def _nadam_fast(s, g, t, o):
    s["mu_product"] = ops.nadam_update(s["param"], g, s["exp_avg"], s["exp_avg_sq"], t, s["mu_product"], **o)


def _nadam_ref(s, g, t, o):
    p, m, v, mp = ref.nadam_step(s["param"], g, s["exp_avg"], s["exp_avg_sq"], t, s["mu_product"], **o)
    return {"param": p, "exp_avg": m, "exp_avg_sq": v, "mu_product": mp}


SPECS = {
    "sgd": (_sgd_states, _sgd_fast, _sgd_ref),
    "adam": (_adam_states, _adam_fast, _adam_ref),
    "rmsprop": (_rmsprop_states, _rmsprop_fast, _rmsprop_ref),
    "adagrad": (_adagrad_states, _adagrad_fast, _adagrad_ref),
    "adadelta": (_adadelta_states, _adadelta_fast, _adadelta_ref),
    "adamax": (_adamax_states, _adamax_fast, _adamax_ref),
    "nadam": (_nadam_states, _nadam_fast, _nadam_ref),
}


def _grid(**axes):
    keys = list(axes)
    return [dict(zip(keys, vals)) for vals in itertools.product(*axes.values())]


def _cases():
    cases = []
    for o in _grid(momentum=[0.0, 0.9], dampening=[0.0, 0.3], nesterov=[False, True], weight_decay=[0.0, 0.01],
                   maximize=[False, True]):
        if o["momentum"] == 0.0 and (o["dampening"] or o["nesterov"]):
            continue
        if o["nesterov"] and o["dampening"]:
            continue
        cases.append(("sgd", dict(lr=0.05, **o)))
    for o in _grid(weight_decay=[0.0, 0.05], decoupled_weight_decay=[False, True], amsgrad=[False, True],
                   maximize=[False, True]):
        cases.append(("adam", dict(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-6, **o)))
    for o in _grid(centered=[False, True], momentum=[0.0, 0.9], weight_decay=[0.0, 0.01], maximize=[False, True]):
        cases.append(("rmsprop", dict(lr=0.01, alpha=0.9, **o)))
    for o in _grid(lr_decay=[0.0, 0.1], weight_decay=[0.0, 0.01], maximize=[False, True]):
        cases.append(("adagrad", dict(lr=0.1, **o)))
    for o in _grid(weight_decay=[0.0, 0.01], maximize=[False, True]):
        cases.append(("adadelta", dict(lr=1.0, rho=0.8, **o)))
        cases.append(("adamax", dict(lr=0.01, beta1=0.8, beta2=0.9, **o)))
    for o in _grid(weight_decay=[0.0, 0.02], decoupled_weight_decay=[False, True], maximize=[False, True]):
        if o["decoupled_weight_decay"] and not o["weight_decay"]:
            continue
        cases.append(("nadam", dict(lr=0.01, momentum_decay=0.05, **o)))
    return cases


CASES = _cases()
# One rich option set per optimizer for the large (threaded) arrays.
BIG_CASES = [
    ("sgd", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01, maximize=True)),
    ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("adam", dict(lr=0.01, weight_decay=0.05, amsgrad=True)),
    ("adam", dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True, maximize=True)),
    ("rmsprop", dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.01)),
    ("adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.01)),
    ("adadelta", dict(weight_decay=0.01, maximize=True)),
    ("adamax", dict(lr=0.01, weight_decay=0.01)),
    ("nadam", dict(lr=0.01, weight_decay=0.02, decoupled_weight_decay=True)),
]


def _case_id(case):
    name, o = case
    flags = ",".join(f"{k}={v}" for k, v in o.items() if k != "lr")
    return f"{name}[{flags}]"


def _grad(rng, n, dtype):
    g = rng.standard_normal(n) * 0.5
    g[::7] = 0.0  # exact zeros: 0 / (0 + eps) paths
    return g.astype(dtype)


def _initial(name, o, n, dtype, rng):
    states, _, _ = SPECS[name]
    s = {"param": rng.standard_normal(n).astype(dtype)}
    for k, make in states(o).items():
        s[k] = make(n, dtype)
    if name == "nadam":
        s["mu_product"] = 1.0
    return s


def _run(name, o, state, grads):
    _, fast, _ = SPECS[name]
    for t, g in enumerate(grads, start=1):
        fast(state, g, t, o)
    return state


def _assert_close(got, want, dtype, what, steps):
    rtol = tol(dtype) * steps
    want = np.asarray(want, np.float64)
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype), f"{what}: dtype changed to {got.dtype}"
    assert np.all(np.isfinite(got)), f"{what}: non-finite values"
    atol = rtol * max(float(np.max(np.abs(want))), 1e-30)
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=rtol, atol=atol, err_msg=what)


def _check(name, o, dtype, n, steps, rng):
    fast_state = _initial(name, o, n, dtype, rng)
    ref_state = {k: (v.astype(np.float64) if isinstance(v, np.ndarray) else v) for k, v in fast_state.items()}
    arrays_before = {k: v for k, v in fast_state.items() if isinstance(v, np.ndarray)}
    grads = [_grad(rng, n, dtype) for _ in range(steps)]
    _run(name, o, fast_state, grads)
    _, _, reference = SPECS[name]
    for t, g in enumerate(grads, start=1):
        ref_state = reference(ref_state, g.astype(np.float64), t, o)
    for k, v in fast_state.items():
        if isinstance(v, np.ndarray):
            assert v is arrays_before[k]  # updated in place
            _assert_close(v, ref_state[k], dtype, f"{name} {o} n={n} {k}", steps)
        else:
            assert v == pytest.approx(ref_state[k], rel=1e-15), f"{name} {k}"


# ------------------------------------------------------------------ against the references


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_update_matches_reference(isa, threads, case, dtype, rng):
    name, o = case
    for n in SIZES:
        _check(name, o, dtype, n, STEPS, rng)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", BIG_CASES, ids=_case_id)
def test_update_large_threaded(isa, threads, case, dtype, rng):
    name, o = case
    _check(name, o, dtype, BIG, 2, rng)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", BIG_CASES, ids=_case_id)
def test_update_bitwise_same_at_1_and_2_threads(isa, case, dtype, rng):
    name, o = case
    init = _initial(name, o, BIG, dtype, rng)
    grads = [_grad(rng, BIG, dtype) for _ in range(2)]
    before = fastnn.get_num_threads()
    results = []
    try:
        for nt in (1, 2):
            fastnn.set_num_threads(nt)
            state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in init.items()}
            results.append(_run(name, o, state, grads))
    finally:
        fastnn.set_num_threads(before)
    one, two = results
    for k, v in one.items():
        if isinstance(v, np.ndarray):
            assert v.tobytes() == two[k].tobytes(), f"{name} {k} differs between 1 and 2 threads"
            assert not np.array_equal(v, init[k], equal_nan=True), f"{name} {k} not updated"
        else:
            assert v == two[k]


def test_adam_first_step_closed_form():
    # Step 1 of Adam: m = (1-b1) g, v = (1-b2) g^2, and the update is lr * g / (|g| + eps').
    p = np.array([1.0, -2.0, 3.0])
    g = np.array([0.5, -0.25, 0.0])
    m, v = np.zeros(3), np.zeros(3)
    ops.adam_update(p, g, m, v, 1, lr=0.1, eps=1e-8)
    np.testing.assert_allclose(m, 0.1 * g, rtol=1e-15)
    np.testing.assert_allclose(v, 0.001 * g * g, rtol=1e-15)
    np.testing.assert_allclose(p, [1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 * 0.25 / (0.25 + 1e-8), 3.0],
                               rtol=1e-14)


def test_sgd_plain_and_buffer_untouched_without_momentum():
    p = np.array([1.0, 2.0], np.float32)
    buf = np.array([7.0, 7.0], np.float32)
    ops.sgd_update(p, np.array([1.0, -1.0], np.float32), buf, lr=0.5)
    np.testing.assert_array_equal(p, [0.5, 2.5])
    np.testing.assert_array_equal(buf, [7.0, 7.0])


def test_sgd_first_step_sets_buffer_even_with_dampening():
    p = np.zeros(3)
    g = np.array([1.0, 2.0, 3.0])
    buf = np.full(3, np.nan)
    ops.sgd_update(p, g, buf, lr=1.0, momentum=0.9, dampening=0.5, first_step=True)
    np.testing.assert_array_equal(buf, g)
    np.testing.assert_array_equal(p, -g)
    ops.sgd_update(p, g, buf, lr=1.0, momentum=0.9, dampening=0.5)
    np.testing.assert_allclose(buf, 0.9 * g + 0.5 * g, rtol=1e-15)


def test_momentum_update_is_sgd_with_a_buffer(rng):
    p0, g = rng.standard_normal(50), rng.standard_normal(50)
    p1, b1 = p0.copy(), np.empty(50)
    p2, b2 = p0.copy(), np.empty(50)
    for first in (True, False):
        ops.momentum_update(p1, g, b1, lr=0.1, momentum=0.8, nesterov=True, first_step=first)
        ops.sgd_update(p2, g, b2, lr=0.1, momentum=0.8, nesterov=True, first_step=first)
    assert p1.tobytes() == p2.tobytes() and b1.tobytes() == b2.tobytes()
    with pytest.raises(ValueError, match="momentum"):
        ops.momentum_update(p1, g, b1, lr=0.1, momentum=0.0)
    with pytest.raises(ValueError, match="momentum_buffer"):
        ops.momentum_update(p1, g, None, lr=0.1)


def test_nadam_mu_product_is_carried():
    p, g = np.ones(4), np.full(4, 0.1)
    m, v = np.zeros(4), np.zeros(4)
    mp = 1.0
    want = 1.0
    for t in range(1, 4):
        mp = ops.nadam_update(p, g, m, v, t, mp, momentum_decay=0.004)
        want *= 0.9 * (1.0 - 0.5 * 0.96 ** (t * 0.004))
        assert mp == pytest.approx(want, rel=1e-15)


def test_updates_accept_multidimensional_and_noncontiguous_grad(rng):
    p = rng.standard_normal((6, 5))
    g_full = rng.standard_normal((5, 6))
    g = g_full.T  # not C-contiguous: copied once, the result is the same
    m, v = np.zeros_like(p), np.zeros_like(p)
    want = ref.adam_step(p, g, m, v, None, 1, lr=0.01)[0]
    ops.adam_update(p, g, m, v, 1, lr=0.01)
    np.testing.assert_allclose(p, want, rtol=1e-12)


def test_updates_return_none_except_nadam():
    p, g, s = np.ones(3), np.ones(3), np.zeros(3)
    assert ops.sgd_update(p, g, lr=0.1) is None
    assert ops.adagrad_update(p, g, s, 1) is None
    assert isinstance(ops.nadam_update(p, g, np.zeros(3), np.zeros(3), 1, 1.0), float)


# ------------------------------------------------------------------ optional: torch itself


def _torch_case(torch, name, o):
    """(torch optimizer, our function) for one option set, or None when unsupported."""
    o = dict(o)
    if name == "sgd":
        return torch.optim.SGD, o
    if name == "adam":
        cls = torch.optim.AdamW if o.pop("decoupled_weight_decay", False) else torch.optim.Adam
        o["betas"] = (o.pop("beta1"), o.pop("beta2"))
        return cls, o
    if name == "rmsprop":
        return torch.optim.RMSprop, o
    if name == "adagrad":
        return torch.optim.Adagrad, o
    if name == "adadelta":
        return torch.optim.Adadelta, o
    if name == "adamax":
        o["betas"] = (o.pop("beta1", 0.9), o.pop("beta2", 0.999))
        return torch.optim.Adamax, o
    if name == "nadam":
        o["betas"] = (o.pop("beta1", 0.9), o.pop("beta2", 0.999))
        return torch.optim.NAdam, o
    return None


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_against_torch_optim(case, dtype, rng):
    torch = pytest.importorskip("torch")
    name, o = case
    cls, kw = _torch_case(torch, name, o)
    if name == "adagrad" and o.get("lr_decay"):
        kw["initial_accumulator_value"] = 0.1  # _adagrad_states starts state_sum at 0.1 here
    n = 37
    state = _initial(name, o, n, dtype, rng)
    tp = torch.nn.Parameter(torch.from_numpy(state["param"].copy()))
    try:
        opt = cls([tp], **kw)
    except TypeError as e:  # an older torch without this option
        pytest.skip(f"torch {torch.__version__}: {e}")
    grads = [_grad(rng, n, dtype) for _ in range(STEPS)]
    for g in grads:
        tp.grad = torch.from_numpy(g.copy())
        opt.step()
    _run(name, o, state, grads)
    want = tp.detach().numpy()
    assert state["param"].dtype == want.dtype
    if dtype == np.float32:
        rtol, atol = 1e-4, 1e-5
    else:
        # torch keeps NAdam's mu_product in float32: agreement to ~1e-7 only.
        rtol, atol = (1e-6, 1e-9) if name == "nadam" else (1e-12, 1e-14)
    np.testing.assert_allclose(state["param"], want, rtol=rtol, atol=atol)
