"""Elementwise activations: forward and backward against the float64 reference, under every
ISA path and 1/2 threads; layouts, in place, saturation, gradient checks, bad input, and
the GEMM epilogue (fastnn.ops.linear(..., activation=name))."""
import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
import reference as ref
from conftest import tol
from fastnn import _core, ops
from fastnn._activations import ACTIVATIONS, resolve

NAMES = sorted(ACTIVATIONS)  # canonical elementwise names
DTYPES = [np.float32, np.float64]
# 1, primes, around the vector widths (4/8/16 lanes, 2x unrolled), an L1 block (512), a
# parallel chunk (32768) and above the threading threshold.
SIZES = [1, 2, 3, 5, 7, 8, 13, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 127, 511, 513, 1021, 32769, 70001]
PARAMS = {"leaky_relu": 0.2, "elu": 0.7}  # non-default parameters exercised besides defaults
TINY = {np.float32: 1e-35, np.float64: 1e-300}


def _inputs(n, dtype, seed=0):
    """A mix of typical, wide and special values (no NaN), deterministic."""
    rng = np.random.default_rng(seed)
    special = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-6, -1e-6, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0,
                        8.0, -8.0, 20.0, -20.0, 40.0, -40.0, 88.0, -88.0, 100.0, -100.0, 1000.0, -1000.0])
    x = np.concatenate([special, rng.standard_normal(n) * 3, rng.uniform(-30, 30, n)])[:n]
    return x.astype(dtype)


@functools.lru_cache(maxsize=None)
def _case(name, dtype_name, alpha):
    dtype = np.dtype(dtype_name).type
    x = _inputs(max(SIZES), dtype)
    dy = np.random.default_rng(1).standard_normal(x.size).astype(dtype)
    f = ref.act_forward(name, x, alpha)
    g = ref.act_backward(name, x, dy, alpha)
    return x, dy, f, g


def _params(name, alpha):
    return {} if alpha is None else {"alpha": alpha}


def _fwd(name, x, alpha=None, out=None):
    if name == "identity":
        return ops.activation("identity", x, out=out)
    if name == "gelu_tanh":
        return ops.gelu(x, approximate=True, out=out)
    if alpha is not None:
        return getattr(ops, name)(x, alpha, out=out)
    return getattr(ops, name)(x, out=out)


def assert_fwd_close(got, want, dtype):
    np.testing.assert_allclose(got, want, rtol=tol(dtype), atol=TINY[dtype])


def assert_bwd_close(got, want, dy, dtype):
    # near a root of f' (silu, gelu, mish) only absolute accuracy relative to |dy| is possible
    t = tol(dtype)
    err = np.abs(np.asarray(got, np.float64) - want)
    bound = t * np.abs(want) + 4 * t * np.abs(np.asarray(dy, np.float64)) + TINY[dtype]
    bad = np.flatnonzero(~(err <= bound))
    assert bad.size == 0, f"{bad.size} mismatches, first at {bad[0]}: got {got.flat[bad[0]]!r}, want {want.flat[bad[0]]!r}"


def _cases():
    for name in NAMES:
        yield name, None
        if name in PARAMS:
            yield name, PARAMS[name]


CASES = list(_cases())
CASE_IDS = [f"{n}" if a is None else f"{n}-{a}" for n, a in CASES]


# ---------------------------------------------------------------- against the reference


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,alpha", CASES, ids=CASE_IDS)
def test_forward_matches_reference(isa, threads, name, alpha, dtype):
    x, _, f, _ = _case(name, np.dtype(dtype).name, alpha)
    for n in SIZES:
        got = _fwd(name, x[:n].copy(), alpha)
        assert got.dtype == dtype and got.shape == (n,)
        assert_fwd_close(got, f[:n], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,alpha", CASES, ids=CASE_IDS)
def test_backward_matches_reference(isa, threads, name, alpha, dtype):
    x, dy, _, g = _case(name, np.dtype(dtype).name, alpha)
    for n in SIZES:
        got = ops.activation_grad(name, x[:n].copy(), dy[:n].copy(), **_params(name, alpha))
        assert got.dtype == dtype and got.shape == (n,)
        assert_bwd_close(got, g[:n], dy[:n], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", NAMES)
def test_bitwise_identical_across_threads(isa, name, dtype):
    x = _inputs(200_003, dtype, seed=3)
    dy = np.random.default_rng(4).standard_normal(x.size).astype(dtype)
    before = fastnn.get_num_threads()
    try:
        res = []
        for nt in (1, 2):
            fastnn.set_num_threads(nt)
            res.append((_fwd(name, x), ops.activation_grad(name, x, dy)))
    finally:
        fastnn.set_num_threads(before)
    ib = np.int32 if dtype == np.float32 else np.int64
    for a, b in zip(res[0], res[1]):
        assert np.array_equal(a.view(ib), b.view(ib))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "silu", "elu"])
def test_streaming_path_matches_regular_path(isa, name):
    # >= 16 MiB of output takes the non-temporal-store kernels; halves take the regular ones
    for dtype, n in ((np.float32, 4_200_001), (np.float64, 2_100_001)):
        x = np.random.default_rng(5).standard_normal(n).astype(dtype) * 4
        dy = np.ones(n, dtype)
        whole = _fwd(name, x)
        halves = np.concatenate([_fwd(name, x[: n // 2]), _fwd(name, x[n // 2:])])
        assert np.array_equal(whole, halves)
        gw = ops.activation_grad(name, x, dy)
        gh = np.concatenate([ops.activation_grad(name, x[: n // 2], dy[: n // 2]),
                             ops.activation_grad(name, x[n // 2:], dy[n // 2:])])
        assert np.array_equal(gw, gh)
        sl = slice(0, n, 9973)
        assert_fwd_close(whole[sl], ref.act_forward(name, x[sl]), dtype)
        # unaligned output start (head handled before the aligned stream)
        out = np.empty(n + 1, dtype)[1:]
        assert np.array_equal(_fwd(name, x, out=out), whole)


# ---------------------------------------------------------------- saturation / specials


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_saturating_inputs_are_finite_and_exact(isa, dtype):
    big = np.array([-1e4, -1000.0, -100.0, -90.0, -88.0, 88.0, 90.0, 100.0, 1000.0, 1e4], dtype)
    for name in NAMES:
        y = _fwd(name, big)
        g = ops.activation_grad(name, big, np.ones_like(big))
        assert np.all(np.isfinite(y)), (name, y)
        assert np.all(np.isfinite(g)), (name, g)
        assert_fwd_close(y, ref.act_forward(name, big), dtype)
        assert_bwd_close(g, ref.act_backward(name, big, np.ones_like(big)), np.ones_like(big), dtype)
    pm = np.array([-1000.0, 1000.0], dtype)
    assert np.array_equal(ops.sigmoid(pm), [0.0, 1.0])
    assert np.array_equal(ops.tanh(pm), [-1.0, 1.0])
    assert np.array_equal(ops.softplus(pm), [0.0, 1000.0])
    assert np.array_equal(ops.silu(pm), [0.0, 1000.0])
    assert np.array_equal(ops.mish(pm), [0.0, 1000.0])
    assert np.array_equal(ops.gelu(pm), [0.0, 1000.0])
    assert np.array_equal(ops.gelu(pm, approximate=True), [0.0, 1000.0])
    assert np.array_equal(ops.elu(pm, 0.5), [-0.5, 1000.0])
    np.testing.assert_allclose(ops.selu(pm), [-ref.SELU_SCALE * ref.SELU_ALPHA, ref.SELU_SCALE * 1000.0],
                               rtol=tol(dtype))
    for name in ("sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "mish", "softplus", "elu", "selu"):
        g = ops.activation_grad(name, pm, np.ones_like(pm))
        assert np.all(np.isfinite(g))
        assert abs(g[0]) < 1e-30, (name, g)  # every one of these is flat at -1000
    for name in ("silu", "gelu", "gelu_tanh", "mish", "softplus"):
        assert ops.activation_grad(name, pm, np.ones_like(pm))[1] == 1.0


def test_nan_propagates():
    x = np.array([np.nan, 1.0, -1.0], np.float32)
    for name in NAMES:
        if name == "relu":
            assert np.isnan(ops.relu(x)[0])
            continue
        assert np.isnan(_fwd(name, x)[0]), name


def test_selu_constants():
    assert np.isclose(ref.SELU_ALPHA, 1.6732632423543772)
    assert np.isclose(ref.SELU_SCALE, 1.0507009873554805)
    y = ops.selu(np.array([1.0, -1.0]))
    np.testing.assert_allclose(y, [1.0507009873554805, 1.0507009873554805 * 1.6732632423543772 * np.expm1(-1.0)],
                               rtol=1e-15)


def test_gelu_tanh_formula():
    x = np.linspace(-6, 6, 1001)
    want = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(ops.gelu(x, approximate=True), want, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- gradient checks


@pytest.mark.parametrize("name,alpha", CASES, ids=CASE_IDS)
def test_gradient_central_differences(name, alpha):
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-6, 6, 400), rng.uniform(-0.5, 0.5, 100), [-30.0, -12.0, 12.0, 30.0]])
    x = x[np.abs(x) > 1e-3]  # away from the kinks of the relu family at 0
    h = 1e-6
    num = (_fwd(name, x + h, alpha) - _fwd(name, x - h, alpha)) / (2 * h)
    got = ops.activation_grad(name, x, np.ones_like(x), **_params(name, alpha))
    np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-8)


def test_activation_grad_chain_rule_with_dy():
    x = np.linspace(-4, 4, 257)
    dy = np.cos(x)
    for name in NAMES:
        g1 = ops.activation_grad(name, x, np.ones_like(x))
        np.testing.assert_allclose(ops.activation_grad(name, x, dy), g1 * dy, rtol=1e-15, atol=1e-300)


def test_aliases_and_parameters():
    x = np.linspace(-3, 3, 101)
    np.testing.assert_array_equal(ops.swish(x), ops.silu(x))
    np.testing.assert_array_equal(ops.activation("swish", x), ops.silu(x))
    np.testing.assert_array_equal(ops.activation("LeakyReLU", x, alpha=0.3), ops.leaky_relu(x, 0.3))
    np.testing.assert_array_equal(ops.activation("gelu", x, approximate=True), ops.gelu(x, approximate=True))
    np.testing.assert_array_equal(ops.activation(None, x), x)
    np.testing.assert_array_equal(ops.activation_grad("gelu", x, x, approximate=True),
                                  ops.activation_grad("gelu_tanh", x, x))
    np.testing.assert_array_equal(ops.activation_grad("linear", x, x), x)
    np.testing.assert_array_equal(ops.leaky_relu(x), ops.leaky_relu(x, 0.01))
    np.testing.assert_array_equal(ops.elu(x), ops.elu(x, 1.0))


# ---------------------------------------------------------------- layouts / out= / in place


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_noncontiguous_and_strided(threads, dtype):
    rng = np.random.default_rng(8)
    base = (rng.standard_normal((64, 90)) * 3).astype(dtype)
    views = [base[::2], base[:, ::3], base.T, base[5:40, 7:77], base.reshape(8, 8, 90)[:, ::2, 1::2],
             np.asfortranarray(base)]
    for v in views:
        for name in ("relu", "sigmoid", "gelu", "mish"):
            y = _fwd(name, v)
            assert y.shape == v.shape and y.dtype == dtype and y.flags.c_contiguous
            assert_fwd_close(y, ref.act_forward(name, v), dtype)
            dy = np.ones_like(v) * 0.5
            g = ops.activation_grad(name, v, dy[..., ::-1])
            assert_bwd_close(g, ref.act_backward(name, v, dy[..., ::-1]), dy, dtype)
            out = np.full((v.shape[1], v.shape[0]) + v.shape[2:], np.nan, dtype).swapaxes(0, 1)
            r = _fwd(name, v, out=out)
            assert r is out
            assert_fwd_close(out, ref.act_forward(name, v), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_in_place(dtype):
    rng = np.random.default_rng(9)
    for name in NAMES:
        x = (rng.standard_normal((37, 41)) * 3).astype(dtype)
        want = ref.act_forward(name, x)
        r = _fwd(name, x, out=x)
        assert r is x
        assert_fwd_close(x, want, dtype)
        x = (rng.standard_normal(1000) * 3).astype(dtype)
        dy = rng.standard_normal(1000).astype(dtype)
        want = ref.act_backward(name, x, dy)
        dy0 = dy.copy()
        r = ops.activation_grad(name, x, dy, out=dy)
        assert r is dy
        assert_bwd_close(dy, want, dy0, dtype)
        x2 = x.copy()
        r = ops.activation_grad(name, x2, dy0, out=x2)
        assert r is x2
        assert_bwd_close(x2, want, dy0, dtype)
    # a non-contiguous array in place
    x = (rng.standard_normal((20, 30)) * 3).astype(dtype)
    v = x[:, ::2]
    want = ref.act_forward("tanh", v)
    assert ops.tanh(v, out=v) is v
    assert_fwd_close(x[:, ::2], want, dtype)


def test_out_overlapping_input_partially():
    buf = np.linspace(-3, 3, 101)
    x = buf[:-1]
    out = buf[1:]
    want = ref.act_forward("sigmoid", x)
    r = ops.sigmoid(x, out=out)
    assert r is out
    np.testing.assert_allclose(out, want, rtol=1e-12)


def test_out_validation():
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    with pytest.raises(ValueError, match="out"):
        ops.relu(x, out=np.empty((4, 3)))
    with pytest.raises(TypeError, match="out"):
        ops.relu(x, out=np.empty((3, 4), np.float32))
    ro = np.empty((3, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ops.relu(x, out=ro)
    with pytest.raises(TypeError, match="out"):
        ops.relu(x, out=[[0.0] * 4] * 3)
    with pytest.raises(ValueError, match="out"):
        ops.activation_grad("relu", x, x, out=np.empty(12))


# ---------------------------------------------------------------- dtypes and bad input


def test_dtype_rules():
    assert ops.relu(np.arange(5)).dtype == np.float64
    assert ops.sigmoid(np.array([True, False])).dtype == np.float64
    assert ops.tanh(np.ones(3, np.float16)).dtype == np.float32
    assert ops.tanh(np.ones(3, np.float32)).dtype == np.float32
    assert ops.activation_grad("tanh", np.ones(3, np.float32), np.ones(3, np.float64)).dtype == np.float64
    assert ops.activation_grad("tanh", np.ones(3, np.float32), np.ones(3, np.int64)).dtype == np.float32
    y = ops.sigmoid([0.0, 1.0])
    assert isinstance(y, np.ndarray) and y.dtype == np.float64
    s = ops.relu(2.5)
    assert s.shape == () and float(s) == 2.5
    np.testing.assert_allclose(ops.silu(np.arange(-3, 4)), ref.act_forward("silu", np.arange(-3, 4)), rtol=1e-14)


@pytest.mark.parametrize(
    "bad,exc,match",
    [
        (np.array([1 + 2j]), TypeError, "x"),
        (np.array(["a"]), TypeError, "x"),
        (np.array([object()]), TypeError, "x"),
        ("abc", TypeError, "x"),
        (np.array([], np.float32), ValueError, "empty"),
        (np.zeros((3, 0)), ValueError, "empty"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), TypeError, "x"),
    ],
)
def test_bad_inputs(bad, exc, match):
    with pytest.raises(exc, match=match):
        ops.relu(bad)
    with pytest.raises(exc, match=match):
        ops.activation_grad("relu", bad, bad)


def test_bad_names_and_parameters():
    x = np.ones(3)
    with pytest.raises(ValueError, match="unknown"):
        ops.activation_grad("nope", x, x)
    with pytest.raises(TypeError, match="activation"):
        ops.activation_grad(3, x, x)
    with pytest.raises(TypeError, match="alpha"):
        ops.activation_grad("relu", x, x, alpha=0.1)
    with pytest.raises(ValueError, match="alpha"):
        ops.leaky_relu(x, float("nan"))
    with pytest.raises(TypeError, match="alpha"):
        ops.elu(x, "1")
    with pytest.raises(TypeError, match="approximate"):
        ops.gelu(x, approximate="yes")
    with pytest.raises(ValueError, match="dy"):
        ops.activation_grad("relu", np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="row-wise"):
        resolve("softmax")
    assert resolve("softmax", allow_rowwise=True)[0] == "softmax"


def test_binding_defensive_checks():
    x = np.ones(10)
    with pytest.raises(ValueError, match="act"):
        _core.act_forward(99, x, np.empty(10), 0.0)
    with pytest.raises(ValueError, match="act"):
        _core.act_forward(-1, x, np.empty(10), 0.0)
    with pytest.raises(TypeError):
        _core.act_forward(1, x, np.empty(10, np.float32), 0.0)
    with pytest.raises(TypeError):
        _core.act_forward(1, np.ones(10, np.int64), np.empty(10), 0.0)
    with pytest.raises(ValueError, match="elements"):
        _core.act_forward(1, x, np.empty(9), 0.0)
    with pytest.raises(ValueError, match="contiguous"):
        _core.act_forward(1, np.ones(20)[::2], np.empty(10), 0.0)
    ro = np.empty(10)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _core.act_forward(1, x, ro, 0.0)
    buf = np.ones(11)
    with pytest.raises(ValueError, match="overlap"):
        _core.act_forward(1, buf[:10], buf[1:], 0.0)
    with pytest.raises(ValueError, match="overlap"):
        _core.act_backward(1, x, None, buf[:10], buf[1:], 0.0)
    with pytest.raises(ValueError, match="elements"):
        _core.act_backward(1, x, None, np.ones(9), np.empty(10), 0.0)
    with pytest.raises(ValueError, match="elements"):
        _core.act_backward(1, x, np.ones(3), x, np.empty(10), 0.0)
    out = np.empty(10)
    _core.act_backward(5, x, ops.sigmoid(x), x, out, 0.0)  # y is accepted
    np.testing.assert_allclose(out, ref.act_backward("sigmoid", x, x), rtol=1e-14)


# ---------------------------------------------------------------- hypothesis

_shapes = st.lists(st.integers(1, 40), min_size=1, max_size=3).map(tuple)


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(shape=_shapes, name=st.sampled_from(NAMES), f32=st.booleans(), seed=st.integers(0, 2**16),
       scale=st.sampled_from([0.1, 3.0, 50.0]))
def test_hypothesis_matches_reference(shape, name, f32, seed, scale):
    dtype = np.float32 if f32 else np.float64
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    assert_fwd_close(_fwd(name, x), ref.act_forward(name, x), dtype)
    assert_bwd_close(ops.activation_grad(name, x, dy), ref.act_backward(name, x, dy), dy, dtype)


@settings(deadline=None, max_examples=40)
@given(dt=st.sampled_from(["complex64", "complex128", "U3", "S2", "O", "V8", "datetime64[s]", "timedelta64[s]"]),
       shape=_shapes)
def test_hypothesis_bad_dtypes(dt, shape):
    a = np.zeros(shape, dtype=dt)
    with pytest.raises(TypeError, match="x"):
        ops.sigmoid(a)
    with pytest.raises(TypeError):
        ops.activation_grad("tanh", np.zeros(shape), a)


# ---------------------------------------------------------------- GEMM epilogue


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,alpha", CASES, ids=CASE_IDS)
def test_linear_activation_epilogue(isa, name, alpha, dtype):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((37, 53)).astype(dtype)
    w = (rng.standard_normal((53, 29)) * 0.5).astype(dtype)
    b = rng.standard_normal(29).astype(dtype)
    z_ref = x.astype(np.float64) @ w.astype(np.float64) + b
    want = ref.act_forward(name, z_ref, alpha)
    y = ops.linear(x, w, b, activation=name, **_params(name, alpha))
    assert y.dtype == dtype
    t = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(y, want, rtol=t, atol=t)
    y2, z = ops.linear(x, w, b, activation=name, return_preactivation=True, **_params(name, alpha))
    np.testing.assert_allclose(z, z_ref, rtol=t, atol=t)
    np.testing.assert_array_equal(y2, y)
    # the epilogue applies exactly the elementwise kernel to z
    np.testing.assert_array_equal(y2, _fwd(name, z, alpha))


# ---------------------------------------------------------------- output buffer cache


def test_output_buffer_cache_reuse_is_safe():
    limit_mib = _core._buffer_cache_info()["limit_bytes"] / 2**20
    try:
        _core._buffer_cache_set_limit(64)
        _core._buffer_cache_clear()
        x = np.linspace(-3, 3, 1 << 19)  # 4 MiB: large enough for the cache
        y1 = ops.sigmoid(x)
        assert y1.flags.c_contiguous and y1.flags.writeable and y1.flags.aligned
        p1 = y1.__array_interface__["data"][0]
        view = y1[10:20]
        del y1  # the view keeps the buffer alive: it must not be handed out again
        y2 = ops.tanh(x)
        assert y2.__array_interface__["data"][0] != p1
        np.testing.assert_array_equal(view, ops.sigmoid(x[10:20]))
        del view
        y3 = ops.relu(x)  # reuses a freed buffer holding stale values: fully overwritten
        np.testing.assert_array_equal(y3, np.maximum(x, 0))
        assert _core._buffer_cache_info()["hits"] >= 1
        y3[:] = 7.0
        y4 = ops.relu(x)
        np.testing.assert_array_equal(y4, np.maximum(x, 0))
        assert not np.shares_memory(y3, y4)
        g = ops.activation_grad("tanh", x, x)  # backward and softmax use the cache too
        s = ops.softmax(x.reshape(512, 1024))
        np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-12)
        del y2, y3, y4, g, s
        assert _core._buffer_cache_info()["cached_bytes"] <= 64 * 2**20
        _core._buffer_cache_set_limit(0)  # disables and releases
        info = _core._buffer_cache_info()
        assert info["cached_bytes"] == 0 and info["cached_buffers"] == 0
        np.testing.assert_array_equal(ops.relu(x), np.maximum(x, 0))
        assert _core._buffer_cache_info()["cached_buffers"] == 0
        with pytest.raises(ValueError):
            _core._buffer_cache_set_limit(-1)
    finally:
        _core._buffer_cache_set_limit(limit_mib)


def test_byteswapped_input():
    x = np.linspace(-4, 4, 1001)
    for dt in (">f4", ">f8"):
        xs = x.astype(dt)
        want = ops.sigmoid(xs.astype(xs.dtype.newbyteorder("=")))
        got = ops.sigmoid(xs)
        assert got.dtype == want.dtype and got.dtype.isnative
        np.testing.assert_array_equal(got, want)
        xn = xs.astype(want.dtype)
        np.testing.assert_array_equal(ops.activation_grad("tanh", xs, xs), ops.activation_grad("tanh", xn, xn))
        np.testing.assert_array_equal(ops.softmax(xs.reshape(7, 143)), ops.softmax(xs.astype(want.dtype).reshape(7, 143)))
