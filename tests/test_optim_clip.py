"""Clipping helpers (fastnn.ops.clip_by_value_, global_norm, clip_by_global_norm_) against
float64 references: every ISA, 1 and 2 threads, the threaded path, and a global norm that
is bitwise the same at any thread count."""
import math

import numpy as np
import pytest

import fastnn
import reference as ref
from fastnn import ops

DTYPES = [np.float32, np.float64]
BIG = 1_048_583  # prime, > 2**20: the threaded, chunked path


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
        np.testing.assert_allclose(a, w, rtol=2e-7 if dtype == np.float32 else 1e-13)
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
