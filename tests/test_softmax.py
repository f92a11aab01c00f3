"""softmax / log_softmax forward and backward: reference, axes, layouts, extremes, gradient
checks, thread-count independence and bad input."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
import reference as ref
from conftest import tol
from fastnn import _core, ops

DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (1, 17), (7, 1), (3, 15), (5, 16), (2, 33), (33, 65), (128, 10), (300, 1000)]


def _logits(shape, dtype, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def _close(got, want, dtype, atol=0.0):
    np.testing.assert_allclose(got, want, rtol=tol(dtype), atol=atol)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_forward_matches_reference(isa, threads, dtype):
    for shape in SHAPES:
        x = _logits(shape, dtype)
        y = ops.softmax(x)
        assert y.dtype == dtype and y.shape == shape and y.flags.c_contiguous
        _close(y, ref.softmax(x), dtype, atol=1e-30)
        ly = ops.log_softmax(x)
        assert ly.dtype == dtype and ly.shape == shape
        _close(ly, ref.log_softmax(x), dtype, atol=tol(dtype))
        np.testing.assert_allclose(y.sum(axis=-1, dtype=np.float64), 1.0, rtol=10 * tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_backward_matches_reference(isa, threads, dtype):
    for shape in SHAPES:
        x = _logits(shape, dtype, seed=1)
        dy = _logits(shape, dtype, seed=2, scale=1.0)
        y = ops.softmax(x)
        g = ops.softmax_grad(y, dy)
        scale = np.abs(dy).max()
        _close(g, ref.softmax_backward(y, dy), dtype, atol=4 * tol(dtype) * scale)
        ly = ops.log_softmax(x)
        lg = ops.log_softmax_grad(ly, dy)
        _close(lg, ref.log_softmax_backward(ly, dy), dtype, atol=4 * tol(dtype) * scale * shape[-1])
        # activation_grad takes the logits
        _close(ops.activation_grad("softmax", x, dy), ref.softmax_backward(ref.softmax(x), dy), dtype,
               atol=4 * tol(dtype) * scale)
        _close(ops.activation_grad("log_softmax", x, dy), ref.log_softmax_backward(ref.log_softmax(x), dy),
               dtype, atol=4 * tol(dtype) * scale * shape[-1])


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_axes(threads, axis):
    x = _logits((4, 5, 6), np.float64, seed=3)
    dy = _logits((4, 5, 6), np.float64, seed=4)
    y = ops.softmax(x, axis=axis)
    assert y.flags.c_contiguous and y.shape == x.shape
    _close(y, ref.softmax(x, axis=axis), np.float64)
    _close(ops.log_softmax(x, axis=axis), ref.log_softmax(x, axis=axis), np.float64, atol=1e-13)
    _close(ops.softmax_grad(y, dy, axis=axis), ref.softmax_backward(y, dy, axis=axis), np.float64, atol=1e-14)
    ly = ops.log_softmax(x, axis=axis)
    _close(ops.log_softmax_grad(ly, dy, axis=axis), ref.log_softmax_backward(ly, dy, axis=axis), np.float64,
           atol=1e-13)


def test_one_dimensional_and_higher():
    x = _logits(50, np.float32, seed=5)
    _close(ops.softmax(x), ref.softmax(x), np.float32, atol=1e-30)
    x4 = _logits((2, 3, 4, 5), np.float32, seed=6)
    _close(ops.log_softmax(x4), ref.log_softmax(x4), np.float32, atol=2e-5)
    _close(ops.softmax(x4, axis=1), ref.softmax(x4, axis=1), np.float32, atol=1e-30)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_extreme_logits(isa, dtype):
    x = np.array([[0.0, 1e4, -1e4, 5e3], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4, 0.0, -3e38 if dtype == np.float32 else -1e300],
                  [-np.inf, 0.0, 1.0, -np.inf]], dtype)
    y = ops.softmax(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(y[0], [0, 1, 0, 0])
    np.testing.assert_allclose(y[1], 0.25, rtol=1e-7)
    np.testing.assert_allclose(y[2], [0.5, 0.5, 0, 0], rtol=1e-7)
    assert y[3, 0] == 0 and y[3, 3] == 0
    ly = ops.log_softmax(x[:3])
    assert np.all(np.isfinite(ly))
    _close(ly, ref.log_softmax(x[:3]), dtype, atol=tol(dtype))
    assert ly[0, 2] == -2e4 and ly[0, 1] == 0.0
    # huge negative logits relative to the max stay finite in log space
    z = np.array([[0.0, -1e30, -3e4]], dtype)
    lz = ops.log_softmax(z)
    assert np.all(np.isfinite(lz)) and lz[0, 0] == 0.0
    g = ops.activation_grad("log_softmax", x[:3], np.ones_like(x[:3]))
    assert np.all(np.isfinite(g))
    g = ops.activation_grad("softmax", x[:3], np.ones_like(x[:3]))
    assert np.all(np.isfinite(g))


def test_nan_row_stays_local():
    x = np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]])
    y = ops.softmax(x)
    assert np.all(np.isnan(y[0]))
    _close(y[1], ref.softmax(x[1:])[0], np.float64)


@pytest.mark.parametrize("log", [False, True])
def test_gradient_central_differences(log):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 9)) * 2
    w = rng.standard_normal((6, 9))
    f = ops.log_softmax if log else ops.softmax
    name = "log_softmax" if log else "softmax"
    # L = sum(w * f(x)) -> dL/dx = J^T w
    g = ops.activation_grad(name, x, w)
    h = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp = x.copy()
        xm = x.copy()
        xp[idx] += h
        xm[idx] -= h
        num[idx] = (np.sum(w * f(xp)) - np.sum(w * f(xm))) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_bitwise_identical_across_threads(isa, dtype):
    x = _logits((1000, 257), dtype, seed=8)
    dy = _logits((1000, 257), dtype, seed=9)
    before = fastnn.get_num_threads()
    res = []
    try:
        for nt in (1, 2):
            fastnn.set_num_threads(nt)
            y = ops.softmax(x)
            ly = ops.log_softmax(x)
            res.append([y, ly, ops.softmax_grad(y, dy), ops.log_softmax_grad(ly, dy)])
    finally:
        fastnn.set_num_threads(before)
    ib = np.int32 if dtype == np.float32 else np.int64
    for a, b in zip(*res):
        assert np.array_equal(a.view(ib), b.view(ib))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_strided_rows_and_noncontiguous(threads, dtype):
    big = _logits((40, 70), dtype, seed=10)
    rows = big[3:33, 5:60]  # row stride 70 > 55 columns: used without a copy
    _close(ops.softmax(rows), ref.softmax(rows), dtype, atol=1e-30)
    _close(ops.log_softmax(big[::2, ::2]), ref.log_softmax(big[::2, ::2]), dtype, atol=tol(dtype))
    _close(ops.softmax(big.T), ref.softmax(big.T), dtype, atol=1e-30)
    # out with strided rows is written directly
    obuf = np.full((40, 70), -7.0, dtype)
    o = obuf[3:33, 5:60]
    assert ops.softmax(rows, out=o) is o
    _close(o, ref.softmax(rows), dtype, atol=1e-30)
    assert np.all(obuf[:3] == -7.0) and np.all(obuf[:, :5] == -7.0)
    # non-contiguous out along the axis
    o2 = np.empty((70, 40), dtype).T
    assert ops.log_softmax(big, out=o2) is o2
    _close(o2, ref.log_softmax(big), dtype, atol=tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_in_place_and_overlap(dtype):
    x = _logits((20, 31), dtype, seed=11)
    want = ref.softmax(x)
    assert ops.softmax(x, out=x) is x
    _close(x, want, dtype, atol=1e-30)
    x = _logits((20, 31), dtype, seed=12)
    want = ref.log_softmax(x)
    assert ops.log_softmax(x, out=x) is x
    _close(x, want, dtype, atol=tol(dtype))
    # in place along another axis
    x = _logits((20, 31), dtype, seed=13)
    want = ref.softmax(x, axis=0)
    assert ops.softmax(x, axis=0, out=x) is x
    _close(x, want, dtype, atol=1e-30)
    # partially overlapping out goes through a temporary
    buf = _logits((21, 31), dtype, seed=14)
    xin = buf[:20]
    want = ref.softmax(xin)
    out = buf[1:]
    assert ops.softmax(xin, out=out) is out
    _close(out, want, dtype, atol=1e-30)
    # gradient in place over dy
    y = ops.softmax(_logits((9, 8), dtype, seed=15))
    dy = _logits((9, 8), dtype, seed=16)
    want = ref.softmax_backward(y, dy)
    assert ops.softmax_grad(y, dy, out=dy) is dy
    _close(dy, want, dtype, atol=1e-5 if dtype == np.float32 else 1e-14)


def test_dtypes_and_validation():
    assert ops.softmax(np.arange(6).reshape(2, 3)).dtype == np.float64
    assert ops.softmax(np.ones((2, 3), np.float16)).dtype == np.float32
    assert ops.softmax_grad(np.ones((2, 3), np.float32), np.ones((2, 3))).dtype == np.float64
    with pytest.raises(ValueError, match="dimension"):
        ops.softmax(np.float64(3.0))
    with pytest.raises(ValueError, match="empty"):
        ops.softmax(np.zeros((3, 0)))
    with pytest.raises(ValueError, match="axis"):
        ops.softmax(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="axis"):
        ops.log_softmax(np.ones((2, 3)), axis=-3)
    with pytest.raises(TypeError, match="axis"):
        ops.softmax(np.ones((2, 3)), axis=1.0)
    with pytest.raises(TypeError, match="axis"):
        ops.softmax(np.ones((2, 3)), axis=True)
    with pytest.raises(TypeError, match="x"):
        ops.softmax(np.ones((2, 3), complex))
    with pytest.raises(ValueError, match="dy"):
        ops.softmax_grad(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="dy"):
        ops.activation_grad("softmax", np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="out"):
        ops.softmax(np.ones((2, 3)), out=np.empty((3, 2)))
    with pytest.raises(TypeError, match="out"):
        ops.softmax(np.ones((2, 3)), out=np.empty((2, 3), np.float32))
    ro = np.empty((2, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ops.log_softmax(np.ones((2, 3)), out=ro)
    np.testing.assert_array_equal(ops.activation("softmax", np.zeros((2, 4))), np.full((2, 4), 0.25))


def test_binding_defensive_checks():
    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="shape"):
        _core.softmax(x, np.empty((4, 3)), False)
    with pytest.raises(TypeError):
        _core.softmax(x, np.empty((3, 4), np.float32), False)
    with pytest.raises(ValueError, match="2-D"):
        _core.softmax(np.ones(4), np.empty(4), False)
    with pytest.raises(ValueError, match="contiguous"):
        _core.softmax(np.ones((4, 3)).T, np.empty((3, 4)), False)
    buf = np.ones((4, 4))
    with pytest.raises(ValueError, match="overlap"):
        _core.softmax(buf[:3], buf[1:], False)
    with pytest.raises(ValueError, match="dy"):
        _core.softmax_backward(x, np.ones((3, 5)), np.empty((3, 4)), False)
    with pytest.raises(ValueError, match="overlap"):
        _core.softmax_backward(buf[:3], x, buf[1:], True)


@settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.lists(st.integers(1, 30), min_size=1, max_size=3).map(tuple), data=st.data(),
       f32=st.booleans(), seed=st.integers(0, 2**16), scale=st.sampled_from([0.01, 3.0, 300.0]))
def test_hypothesis_matches_reference(shape, data, f32, seed, scale):
    dtype = np.float32 if f32 else np.float64
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _logits(shape, dtype, seed=seed, scale=scale)
    dy = _logits(shape, dtype, seed=seed + 1, scale=1.0)
    y = ops.softmax(x, axis=axis)
    _close(y, ref.softmax(x, axis=axis), dtype, atol=1e-30)
    ly = ops.log_softmax(x, axis=axis)
    _close(ly, ref.log_softmax(x, axis=axis), dtype, atol=tol(dtype) * (1 + scale))
    n = shape[axis]
    _close(ops.softmax_grad(y, dy, axis=axis), ref.softmax_backward(y, dy, axis=axis), dtype,
           atol=8 * tol(dtype))
    _close(ops.log_softmax_grad(ly, dy, axis=axis), ref.log_softmax_backward(ly, dy, axis=axis), dtype,
           atol=8 * tol(dtype) * n * 4)


@settings(deadline=None, max_examples=30)
@given(dt=st.sampled_from(["complex64", "U3", "O", "datetime64[s]"]),
       shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple))
def test_hypothesis_bad_dtypes(dt, shape):
    with pytest.raises(TypeError, match="x"):
        ops.softmax(np.zeros(shape, dtype=dt))
    with pytest.raises(TypeError, match="dy"):
        ops.softmax_grad(np.zeros(shape), np.zeros(shape, dtype=dt))
