"""Fused optimizer updates and clipping helpers (fastnn.ops.*_update, global_norm, clip_*)
against the float64 NumPy twins of torch.optim's rules in reference.py: several steps in a
row with the state carried, every option combination, float32 and float64, every ISA path,
1 and 2 threads, sizes around the vector widths and a threaded size above 1M."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
import reference as ref
from conftest import tol
from fastnn import _core, ops

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


# ------------------------------------------------------------------ clipping


@pytest.mark.parametrize("sizes", [[1], [7, 4095, 4096, 4097], [BIG, 33], [100_000] * 3], ids=str)
def test_global_norm_matches_reference(isa, threads, sizes, rng):
    arrays = [rng.standard_normal(n).astype(DTYPES[i % 2]) for i, n in enumerate(sizes)]
    got = ops.global_norm(*arrays)
    assert isinstance(got, float)
    assert got == pytest.approx(ref.global_norm(*arrays), rel=1e-12)
    assert ops.global_norm(arrays) == got  # a single list works too


def test_global_norm_bitwise_same_at_1_and_2_threads(isa, rng):
    arrays = [rng.standard_normal(BIG).astype(np.float32), rng.standard_normal(300_001),
              rng.standard_normal((1000, 1001)).astype(np.float32)]
    before = fastnn.get_num_threads()
    try:
        fastnn.set_num_threads(1)
        one = ops.global_norm(*arrays)
        fastnn.set_num_threads(2)
        two = ops.global_norm(*arrays)
    finally:
        fastnn.set_num_threads(before)
    assert one == two
    assert one == pytest.approx(ref.global_norm(*arrays), rel=1e-12)


def test_global_norm_converts_other_dtypes():
    assert ops.global_norm([3, 4]) == 5.0
    assert ops.global_norm(np.array([3, 4], np.int64), np.array([12.0], np.float16)) == 13.0


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("n", [1, 17, 4097, BIG])
def test_clip_by_global_norm(isa, threads, dtype, n, rng):
    arrays = [(rng.standard_normal(n) * 3).astype(dtype), (rng.standard_normal(5) * 3).astype(dtype)]
    before = [a.copy() for a in arrays]
    want, want_norm = ref.clip_by_global_norm(before, 1.0)
    norm = ops.clip_by_global_norm_(arrays, 1.0)
    assert norm == pytest.approx(want_norm, rel=1e-12)
    for a, w in zip(arrays, want):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, w, rtol=2e-7 if dtype == np.float32 else 1e-15)
    assert ops.global_norm(*arrays) == pytest.approx(1.0, rel=1e-5)
    # Below the bound: untouched, bitwise.
    again = [a.copy() for a in arrays]
    ops.clip_by_global_norm_(arrays, 10.0)
    for a, b in zip(arrays, again):
        assert a.tobytes() == b.tobytes()


def test_clip_by_global_norm_single_array_and_nonfinite():
    a = np.array([3.0, 4.0])
    assert ops.clip_by_global_norm_(a, 1.0) == 5.0
    np.testing.assert_allclose(a, [0.6, 0.8], rtol=1e-6)
    b = np.array([1.0, np.nan])
    with pytest.raises(ValueError, match="non-finite"):
        ops.clip_by_global_norm_([b], 1.0, error_if_nonfinite=True)
    assert b[0] == 1.0
    assert math.isnan(ops.clip_by_global_norm_([b], 1.0))
    assert np.all(np.isnan(b))  # as torch: a NaN coefficient


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("n", [1, 31, 33, BIG])
def test_clip_by_value(isa, threads, dtype, n, rng):
    g = (rng.standard_normal(n) * 2).astype(dtype)
    g[0] = np.nan
    want = np.clip(g, -0.5, 0.5)
    ops.clip_by_value_(g, 0.5)
    np.testing.assert_array_equal(g, want)
    assert np.isnan(g[0])


# ------------------------------------------------------------------ bad inputs


def _adam_args(n=5, dtype=np.float32):
    return [np.zeros(n, dtype) for _ in range(4)]


def test_adam_rejects_aliasing():
    p, g, m, v = _adam_args(8)
    with pytest.raises(ValueError, match="exp_avg and exp_avg_sq share memory"):
        ops.adam_update(p, g, m, m, 1)
    with pytest.raises(ValueError, match="param and grad share memory"):
        ops.adam_update(p, p, m, v, 1)
    big = np.zeros(16, np.float32)
    with pytest.raises(ValueError, match="share memory"):
        ops.adam_update(big[:8], g, big[8:], big[4:12], 1)
    with pytest.raises(ValueError, match="share memory"):
        ops.adam_update(p, g, m, v, 1, amsgrad=True, max_exp_avg_sq=v)


def test_rejects_noncontiguous_and_readonly_state():
    p, g, m, v = _adam_args(8)
    strided = np.zeros(16, np.float32)[::2]
    with pytest.raises(ValueError, match="exp_avg: must be C-contiguous"):
        ops.adam_update(p, g, strided, v, 1)
    with pytest.raises(ValueError, match="param: must be C-contiguous"):
        ops.sgd_update(strided, g, lr=0.1)
    v.flags.writeable = False
    with pytest.raises(ValueError, match="exp_avg_sq: array is read-only"):
        ops.adam_update(p, g, m, v, 1)


def test_rejects_dtype_mismatch_with_names():
    p, g, m, v = _adam_args(5)
    with pytest.raises(TypeError, match=r"exp_avg: expected dtype float32.*shape \(5,\) and dtype float64"):
        ops.adam_update(p, g, m.astype(np.float64), v, 1)
    with pytest.raises(TypeError, match=r"grad: expected dtype float32"):
        ops.adam_update(p, g.astype(np.float64), m, v, 1)
    with pytest.raises(TypeError, match=r"param: expected dtype float32 or float64.*float16"):
        ops.sgd_update(p.astype(np.float16), g, lr=0.1)
    with pytest.raises(TypeError, match="param: expected a numpy.ndarray"):
        ops.sgd_update([1.0, 2.0], [1.0, 2.0], lr=0.1)


def test_rejects_missing_state():
    p, g, m, v = _adam_args(5)
    with pytest.raises(ValueError, match="max_exp_avg_sq: an array is required when amsgrad=True"):
        ops.adam_update(p, g, m, v, 1, amsgrad=True)
    with pytest.raises(ValueError, match="momentum_buffer: an array is required when momentum"):
        ops.sgd_update(p, g, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="momentum_buffer"):
        ops.rmsprop_update(p, g, m, momentum=0.5)
    with pytest.raises(ValueError, match="grad_avg: an array is required when centered=True"):
        ops.rmsprop_update(p, g, m, centered=True)


@pytest.mark.parametrize("fn,kwargs,name", [
    (lambda p, g, m, v, **k: ops.sgd_update(p, g, m, **k), dict(lr=-0.1), "lr"),
    (lambda p, g, m, v, **k: ops.sgd_update(p, g, m, **k), dict(lr=0.1, momentum=-1.0), "momentum"),
    (lambda p, g, m, v, **k: ops.sgd_update(p, g, m, **k), dict(lr=0.1, momentum=0.9, dampening=0.1,
                                                                 nesterov=True), "nesterov"),
    (lambda p, g, m, v, **k: ops.sgd_update(p, g, m, **k), dict(lr=0.1, nesterov=True), "nesterov"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 1, **k), dict(beta1=1.0), "beta1"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 1, **k), dict(beta2=-0.1), "beta2"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 1, **k), dict(eps=0.0), "eps"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 1, **k), dict(lr=float("nan")), "lr"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 1, **k), dict(weight_decay=-1e-3), "weight_decay"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 0, **k), {}, "step"),
    (lambda p, g, m, v, **k: ops.rmsprop_update(p, g, m, **k), dict(alpha=1.5), "alpha"),
    (lambda p, g, m, v, **k: ops.adagrad_update(p, g, m, 1, **k), dict(lr_decay=-1.0), "lr_decay"),
    (lambda p, g, m, v, **k: ops.adadelta_update(p, g, m, v, **k), dict(rho=2.0), "rho"),
    (lambda p, g, m, v, **k: ops.adamax_update(p, g, m, v, 1, **k), dict(eps=-1.0), "eps"),
    (lambda p, g, m, v, **k: ops.nadam_update(p, g, m, v, 1, 0.0, **k), {}, "mu_product"),
    (lambda p, g, m, v, **k: ops.nadam_update(p, g, m, v, 1, 1.0, **k), dict(momentum_decay=-1.0),
     "momentum_decay"),
    (lambda p, g, m, v, **k: ops.clip_by_value_(p, **k), dict(clipvalue=-1.0), "clipvalue"),
    (lambda p, g, m, v, **k: ops.clip_by_global_norm_([p], **k), dict(max_norm=-1.0), "max_norm"),
])
def test_rejects_bad_hyperparameters(fn, kwargs, name):
    p, g, m, v = _adam_args(5)
    before = p.copy()
    with pytest.raises(ValueError, match=name):
        fn(p, g, m, v, **kwargs)
    np.testing.assert_array_equal(p, before)


def test_rejects_bad_types_of_scalars():
    p, g, m, v = _adam_args(5)
    with pytest.raises(TypeError, match="step"):
        ops.adam_update(p, g, m, v, 1.5)
    with pytest.raises(TypeError, match="step"):
        ops.adam_update(p, g, m, v, True)
    with pytest.raises(TypeError, match="amsgrad"):
        ops.adam_update(p, g, m, v, 1, amsgrad="yes")
    with pytest.raises(TypeError, match="lr"):
        ops.sgd_update(p, g, lr="0.1")


def test_empty_arrays_rejected():
    e = np.zeros(0, np.float32)
    with pytest.raises(ValueError, match="param: empty"):
        ops.sgd_update(e, e.copy(), lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        ops.global_norm(e)
    with pytest.raises(ValueError, match="at least one"):
        ops.global_norm()
    with pytest.raises(ValueError, match="at least one"):
        ops.clip_by_global_norm_([], 1.0)
    with pytest.raises(ValueError, match="empty"):
        ops.clip_by_value_(e, 1.0)


def test_clip_rejects_bad_arrays():
    a = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="share memory"):
        ops.clip_by_global_norm_([a, a], 1.0)
    with pytest.raises(TypeError, match=r"arrays\[1\]: expected dtype float32 or float64"):
        ops.clip_by_global_norm_([a, np.zeros(3, np.int32)], 1.0)
    with pytest.raises(TypeError, match="grad: expected a numpy.ndarray"):
        ops.clip_by_value_([1.0], 1.0)
    with pytest.raises(ValueError, match="contiguous"):
        ops.clip_by_value_(np.zeros(8)[::2], 1.0)


def test_native_checks_are_a_last_line():
    # The private binding never crashes on bad input, even without the Python checks.
    p, g, m, v = _adam_args(5)
    args = (1, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, False, False)
    with pytest.raises(TypeError, match="exp_avg"):
        _core.adam_update(p, g, m.astype(np.float64), v, None, *args)
    with pytest.raises(ValueError, match="exp_avg_sq"):
        _core.adam_update(p, g, m, np.zeros(4, np.float32), None, *args)
    with pytest.raises(ValueError, match="share memory"):
        _core.adam_update(p, g, m, m, None, *args)
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        _core.adam_update(p, g, m, v, None, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, True, False)
    with pytest.raises(ValueError, match="step"):
        _core.adam_update(p, g, m, v, None, 0, *args[1:])
    with pytest.raises(TypeError, match="param: expected a numpy.ndarray"):
        _core.sgd_update([0.0] * 5, g, None, 0.1, 0.0, 0.0, False, 0.0, False, False)
    with pytest.raises(TypeError, match="param"):
        _core.sgd_update(p.astype(np.int32), g, None, 0.1, 0.0, 0.0, False, 0.0, False, False)
    with pytest.raises(ValueError, match="contiguous"):
        _core.sgd_update(np.zeros(10, np.float32)[::2], g, None, 0.1, 0.0, 0.0, False, 0.0, False, False)
    with pytest.raises(TypeError, match="grad"):
        _core.sgd_update(p, [0.0] * 5, None, 0.1, 0.0, 0.0, False, 0.0, False, False)
    with pytest.raises(ValueError, match="empty"):
        _core.global_norm([np.zeros(0)])
    with pytest.raises(ValueError, match="share memory"):
        _core.scale_arrays([p, p], 0.5)


_DT = st.sampled_from([np.float32, np.float64, np.float16, np.int32, np.complex64])
_SHAPE = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


@settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(pshape=_SHAPE, gshape=_SHAPE, sshape=_SHAPE, pdt=_DT, gdt=_DT, sdt=_DT)
def test_adam_bad_shapes_and_dtypes(pshape, gshape, sshape, pdt, gdt, sdt):
    p = np.ones(pshape, pdt)
    g = np.ones(gshape, gdt)
    m = np.zeros(sshape, sdt)
    v = np.zeros(pshape, pdt)
    psize = int(np.prod(pshape))
    if np.dtype(pdt) not in (np.float32, np.float64):
        err, name = TypeError, "param"
    elif psize == 0:
        err, name = ValueError, "param"
    elif gdt != pdt:
        err, name = TypeError, "grad"
    elif gshape != pshape:
        err, name = ValueError, "grad"
    elif sdt != pdt:
        err, name = TypeError, "exp_avg"
    elif sshape != pshape:
        err, name = ValueError, "exp_avg"
    else:
        err = None
    if err is None:
        ops.adam_update(p, g, m, v, 1, lr=0.1)
        assert np.all(p < 1.0)
    else:
        with pytest.raises(err, match=rf"^{name}: .*shape"):
            ops.adam_update(p, g, m, v, 1, lr=0.1)


@settings(deadline=None, max_examples=40)
@given(n=st.integers(1, 40), offset=st.integers(-10, 10), which=st.sampled_from(["grad", "buf"]))
def test_sgd_overlapping_views_rejected(n, offset, which):
    base = np.zeros(100, np.float64)
    p = base[30:30 + n]
    other = base[30 + offset:30 + offset + n]
    overlaps = offset < n and offset > -n
    buf = np.zeros(n)
    g = np.zeros(n)
    if which == "grad":
        g = other
    else:
        buf = other
    if overlaps:
        with pytest.raises(ValueError, match="share memory"):
            ops.sgd_update(p, g, buf, lr=0.1, momentum=0.9)
    else:
        ops.sgd_update(p, g, buf, lr=0.1, momentum=0.9)


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


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clipping_against_torch(max_norm, rng):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(n) for n in (5, 300, 4097)]
    params = [torch.nn.Parameter(torch.zeros(a.shape, dtype=torch.float64)) for a in arrays]
    for prm, a in zip(params, arrays):
        prm.grad = torch.from_numpy(a.copy())
    want_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    norm = ops.clip_by_global_norm_(arrays, max_norm)
    assert norm == pytest.approx(want_norm, rel=1e-12)
    for prm, a in zip(params, arrays):
        np.testing.assert_allclose(a, prm.grad.numpy(), rtol=1e-12, atol=0)
    g = rng.standard_normal(1001) * 0.02
    prm = torch.nn.Parameter(torch.zeros(1001, dtype=torch.float64))
    prm.grad = torch.from_numpy(g.copy())
    torch.nn.utils.clip_grad_value_([prm], 0.01)
    ops.clip_by_value_(g, 0.01)
    np.testing.assert_array_equal(g, prm.grad.numpy())
