"""The vector math behind the activations (csrc/ops/vmath.h), through the test hook
fastnn._core._vmath: ulp accuracy against float64 / glibc, special values, every ISA."""
import math

import numpy as np
import pytest

from fastnn import _core

F32_ULP_LIMIT = 4.0
F64_ULP_LIMIT = 4.0  # against glibc (itself < 1 ulp)


def ulps(got, want, dtype):
    """|got - want| in units of the spacing of `dtype` at |want| (want in float64)."""
    want = np.asarray(want, np.float64)
    sp = np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / sp


def _grid(lo, hi, n=200_001, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([np.linspace(lo, hi, n), rng.uniform(lo, hi, n)])


def _check(name, x, want, dtype, limit):
    got = _core._vmath(name, x)
    assert got.dtype == dtype and got.shape == x.shape
    e = ulps(got, want, dtype)
    i = int(np.argmax(e))
    assert e[i] <= limit, f"{name}: {e[i]:.2f} ulp at x={x[i]!r}: got {got[i]!r}, want {want[i]!r}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_exp(isa, dtype):
    lo, hi = (-87.3, 88.7) if dtype == np.float32 else (-708.0, 709.7)
    x = np.concatenate([_grid(lo, hi), _grid(-1, 1, 50_001, 1)]).astype(dtype)
    limit = F32_ULP_LIMIT if dtype == np.float32 else F64_ULP_LIMIT
    _check("exp", x, np.exp(x.astype(np.float64)), dtype, limit)
    # the activations' exp: defined for x <= 88 / 709 (callers clamp), flushes below normal
    x = x[x <= (88.0 if dtype == np.float32 else 709.0)]
    _check("exp_ftz", x, np.exp(x.astype(np.float64)), dtype, limit)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_expm1(isa, dtype):
    lo, hi = (-30.0, 88.7) if dtype == np.float32 else (-80.0, 709.7)
    x = np.concatenate([_grid(lo, hi), _grid(-1, 1, 50_001, 1), _grid(-1e-3, 1e-3, 20_001, 2),
                        np.geomspace(1e-30, 1e-2, 1000), -np.geomspace(1e-30, 1e-2, 1000)]).astype(dtype)
    limit = F32_ULP_LIMIT if dtype == np.float32 else F64_ULP_LIMIT
    _check("expm1", x, np.expm1(x.astype(np.float64)), dtype, limit)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_log(isa, dtype):
    fi = np.finfo(dtype)
    rng = np.random.default_rng(3)
    x = np.concatenate([
        np.exp(rng.uniform(np.log(float(fi.tiny)), np.log(float(fi.max)), 200_000)),
        _grid(0.5, 2.0), _grid(1 - 1e-3, 1 + 1e-3, 20_001, 4),
        np.geomspace(float(fi.smallest_subnormal) * 16, float(fi.tiny), 2000),  # denormals
    ]).astype(dtype)
    x = x[np.isfinite(x) & (x > 0)]
    limit = F32_ULP_LIMIT if dtype == np.float32 else F64_ULP_LIMIT
    want = np.log(x.astype(np.float64))
    normal = x >= fi.tiny
    _check("log", x[normal], want[normal], dtype, limit)
    # denormal inputs: the scaling trick keeps them accurate too
    _check("log", x[~normal], want[~normal], dtype, limit)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_log1p_unit_interval(isa, dtype):
    x = np.concatenate([_grid(0, 1), np.geomspace(1e-30, 1e-3, 2000)]).astype(dtype)
    limit = F32_ULP_LIMIT if dtype == np.float32 else F64_ULP_LIMIT
    _check("log1p", x, np.log1p(x.astype(np.float64)), dtype, limit)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_tanh(isa, dtype):
    x = np.concatenate([_grid(-12, 12), _grid(-1, 1, 50_001, 1), _grid(-1e-3, 1e-3, 20_001, 2),
                        np.geomspace(1e-30, 1e-3, 1000), -np.geomspace(1e-30, 1e-3, 1000),
                        _grid(-25, 25, 20_001, 5)]).astype(dtype)
    limit = F32_ULP_LIMIT if dtype == np.float32 else F64_ULP_LIMIT
    _check("tanh", x, np.tanh(x.astype(np.float64)), dtype, limit)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_normal_tail(isa, dtype):
    # P(N(0,1) > u) = erfc(u / sqrt(2)) / 2, the core of the exact gelu
    hi = 12.0 if dtype == np.float32 else 37.0
    x = np.linspace(0, hi, 20_001).astype(dtype)
    want = np.array([0.5 * math.erfc(v / math.sqrt(2.0)) for v in x.astype(np.float64)])
    got = _core._vmath("norm_tail", x)
    rel = np.abs(got - want) / want
    # erfc's own argument rounding (u / sqrt(2)) costs ~u^2 eps in the reference
    bound = np.finfo(dtype).eps * (16 + 2 * x.astype(np.float64) ** 2 * (dtype == np.float64))
    assert np.all(rel <= bound), float(np.max(rel / bound))
    assert _core._vmath("norm_tail", np.array([40.0, 1e30], dtype)).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_special_values(isa, dtype):
    inf, nan = np.inf, np.nan
    v = lambda name, xs: _core._vmath(name, np.array(xs, dtype))  # noqa: E731
    big = 1e30 if dtype == np.float32 else 1e300
    e = v("exp", [-inf, inf, nan, -1000.0, 1000.0, 0.0, -big, big])
    assert e[0] == 0 and e[1] == inf and np.isnan(e[2]) and e[3] == 0 and e[4] == inf and e[5] == 1
    assert e[6] == 0 and e[7] == inf
    # gradual underflow
    sub = -100.0 if dtype == np.float32 else -740.0
    d = v("exp", [sub])[0]
    assert 0 < d < np.finfo(dtype).tiny
    assert abs(d / math.exp(sub) - 1) < 1e-2
    ftz = v("exp_ftz", [-inf, -1000.0, nan, 0.0, sub])
    assert ftz[0] == 0 and ftz[1] == 0 and np.isnan(ftz[2]) and ftz[3] == 1 and ftz[4] == 0
    m = v("expm1", [-inf, inf, nan, -1000.0, 1000.0, 0.0, 1e-20, -1e-20])
    assert m[0] == -1 and m[1] == inf and np.isnan(m[2]) and m[3] == -1 and m[4] == inf and m[5] == 0
    assert m[6] == dtype(1e-20) and m[7] == dtype(-1e-20)
    lg = v("log", [0.0, -0.0, -1.0, inf, nan, 1.0, -inf])
    assert lg[0] == -inf and lg[1] == -inf and np.isnan(lg[2]) and lg[3] == inf and np.isnan(lg[4])
    assert lg[5] == 0 and np.isnan(lg[6])
    t = v("tanh", [-inf, inf, nan, -1000.0, 1000.0, 0.0, 1e-30])
    assert t[0] == -1 and t[1] == 1 and np.isnan(t[2]) and t[3] == -1 and t[4] == 1 and t[5] == 0
    assert t[6] == dtype(1e-30)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown"):
        _core._vmath("sin", np.ones(3))
    with pytest.raises(TypeError):
        _core._vmath("exp", np.ones(3, np.int64))
    with pytest.raises(ValueError, match="contiguous"):
        _core._vmath("exp", np.ones(6)[::2])
    assert _core._vmath("exp", np.zeros((2, 3), np.float32)).shape == (2, 3)
