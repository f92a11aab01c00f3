"""fastnn.initializers: shapes/dtypes, Keras fans, variance statistics on large shapes
(tolerances from the sampling error), orthogonality, seeds, get/serialize, bad input."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastnn import initializers as I
from fastnn.initializers import _compute_fans

TRUNC_STD = 0.87962566103423978
ALL_NAMES = ["zeros", "ones", "constant", "random_uniform", "random_normal", "truncated_normal",
             "variance_scaling", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
             "lecun_uniform", "lecun_normal", "orthogonal"]
RANDOM_NAMES = ALL_NAMES[3:]


def test_truncation_constant_is_the_std_of_a_truncated_standard_normal():
    # Var of N(0,1) truncated to [-2, 2]: 1 - 2*2*phi(2) / (2*Phi(2) - 1).
    phi = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    assert math.sqrt(1 - 4 * phi / mass) == pytest.approx(TRUNC_STD, rel=1e-15)


@pytest.mark.parametrize("shape, fans", [((3, 5), (3, 5)), ((7,), (7, 7)), ((), (1, 1)),
                                         ((2, 3, 4, 5), (24, 30)), ((1, 9), (1, 9))])
def test_fans_follow_keras(shape, fans):
    assert _compute_fans(shape) == fans


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("dtype", ["float32", np.float64, np.dtype(np.float16)])
def test_shape_dtype_layout(name, dtype):
    init = I.get(name)
    a = init((17, 5), dtype=dtype, rng=np.random.default_rng(0))
    assert isinstance(a, np.ndarray) and a.shape == (17, 5) and a.dtype == np.dtype(dtype)
    assert a.flags.c_contiguous and a.flags.writeable
    b = init((17, 5), dtype=dtype, rng=np.random.default_rng(0))
    assert not np.shares_memory(a, b)
    assert np.all(np.isfinite(a))


def test_default_dtype_is_float32_and_int_shape_is_1d():
    a = I.GlorotUniform()(6)
    assert a.shape == (6,) and a.dtype == np.float32
    assert I.Zeros()(()).shape == () and I.TruncatedNormal(seed=0)(()).shape == ()


def test_deterministic_initializers():
    np.testing.assert_array_equal(I.Zeros()((2, 3)), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(I.Ones()((2, 3), "float64"), np.ones((2, 3)))
    np.testing.assert_array_equal(I.Constant(2.5)((4,)), np.full(4, 2.5, np.float32))
    z = I.Zeros()((3,), dtype="int32")  # integer dtypes are fine when nothing is random
    assert z.dtype == np.int32 and not z.any()
    assert I.Constant().value == 0.0


def _check_moments(a, mean, var, kurtosis_excess):
    """Sample mean and variance within 6 standard errors of the expected values."""
    x = a.astype(np.float64).ravel()
    n = x.size
    assert abs(x.mean() - mean) < 6 * math.sqrt(var / n)
    # Var(sample variance) = var^2 * (2 + kurtosis_excess) / n (large n).
    assert abs(x.var() - var) < 6 * var * math.sqrt((2 + kurtosis_excess) / n)


SHAPE = (600, 400)
FAN_IN, FAN_OUT = SHAPE
FAN_AVG = (FAN_IN + FAN_OUT) / 2
# Excess kurtosis: uniform -1.2; standard normal truncated at +-2 about -0.66 (bounded by 0).
UNI, NORM, TRUNC = -1.2, 0.0, -0.6


@pytest.mark.parametrize("init, var, kurt", [
    (I.GlorotUniform(), 1 / FAN_AVG, UNI),
    (I.GlorotNormal(), 1 / FAN_AVG, TRUNC),
    (I.HeUniform(), 2 / FAN_IN, UNI),
    (I.HeNormal(), 2 / FAN_IN, TRUNC),
    (I.LecunUniform(), 1 / FAN_IN, UNI),
    (I.LecunNormal(), 1 / FAN_IN, TRUNC),
    (I.VarianceScaling(3.0, "fan_out", "uniform"), 3 / FAN_OUT, UNI),
    (I.VarianceScaling(0.5, "fan_avg", "untruncated_normal"), 0.5 / FAN_AVG, NORM),
    (I.VarianceScaling(2.0, "fan_out", "normal"), 2 / FAN_OUT, TRUNC),
    (I.RandomUniform(-0.3, 0.1), 0.4 ** 2 / 12, UNI),
    (I.RandomNormal(1.0, 0.2), 0.04, NORM),
    (I.TruncatedNormal(-1.0, 0.5), (0.5 * TRUNC_STD) ** 2, TRUNC),
], ids=repr)
def test_variance_statistics(init, var, kurt):
    a = init(SHAPE, "float64", np.random.default_rng(7))
    mean = {I.RandomUniform: -0.1, I.RandomNormal: 1.0, I.TruncatedNormal: -1.0}.get(type(init), 0.0)
    _check_moments(a, mean, var, kurt)


@pytest.mark.parametrize("init, limit", [
    (I.GlorotUniform(), math.sqrt(6 / (FAN_IN + FAN_OUT))), (I.HeUniform(), math.sqrt(6 / FAN_IN)),
    (I.LecunUniform(), math.sqrt(3 / FAN_IN)),
    (I.GlorotNormal(), 2 * math.sqrt(2 / (FAN_IN + FAN_OUT)) / TRUNC_STD),
    (I.HeNormal(), 2 * math.sqrt(2 / FAN_IN) / TRUNC_STD),
    (I.LecunNormal(), 2 * math.sqrt(1 / FAN_IN) / TRUNC_STD),
], ids=repr)
def test_support_bounds(init, limit):
    a = init(SHAPE, "float64", np.random.default_rng(3))
    assert np.abs(a).max() <= limit
    assert np.abs(a).max() > 0.99 * limit  # the tails reach the bound


def test_truncated_normal_stays_within_two_stddev():
    a = I.TruncatedNormal(mean=3.0, stddev=2.0)((200_000,), "float64", np.random.default_rng(1))
    assert np.all(np.abs(a - 3.0) <= 4.0) and np.abs(a - 3.0).max() > 3.99
    assert np.array_equal(I.TruncatedNormal(1.0, 0.0)((5,), "float64"), np.ones(5))


def test_seeded_uniform_and_normal_match_numpy_draws():
    limit = math.sqrt(6 / (30 + 20))
    want = np.random.default_rng(42).uniform(-limit, limit, (30, 20))
    np.testing.assert_array_equal(I.GlorotUniform(seed=42)((30, 20), "float64"), want)
    np.testing.assert_array_equal(I.GlorotUniform(seed=42)((30, 20)), want.astype(np.float32))
    want = 0.5 + 0.1 * np.random.default_rng(3).standard_normal((4, 6))
    np.testing.assert_array_equal(I.RandomNormal(0.5, 0.1, seed=3)((4, 6), "float64"), want)
    want = math.sqrt(2.0 / 9) * np.random.default_rng(5).standard_normal((9, 2))
    got = I.VarianceScaling(2.0, distribution="untruncated_normal", seed=5)((9, 2), "float64")
    np.testing.assert_allclose(got, want, rtol=1e-15)


def _orthogonal_reference(shape, gain, rng):
    rows, cols = math.prod(shape[:-1]), shape[-1]
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    return gain * (q.T if rows < cols else q).reshape(shape)


@pytest.mark.parametrize("shape", [(50, 30), (30, 50), (20, 20), (3, 4, 5), (1, 7), (7, 1)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal(shape, gain):
    a = I.Orthogonal(gain=gain)(shape, "float64", np.random.default_rng(11))
    assert a.shape == shape and a.flags.c_contiguous
    m = a.reshape(-1, shape[-1])
    small = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(small, gain ** 2 * np.eye(small.shape[0]), atol=1e-12)
    np.testing.assert_allclose(a, _orthogonal_reference(shape, gain, np.random.default_rng(11)), atol=1e-13)
    f = I.Orthogonal(gain=gain, seed=1)(shape)
    m = f.astype(np.float64).reshape(-1, shape[-1])
    small = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(small, gain ** 2 * np.eye(small.shape[0]), atol=1e-5 * gain ** 2)


def test_orthogonal_sign_correction_makes_first_entry_symmetric():
    # Householder QR alone gives Q[0, 0] of one fixed sign; the correction makes it random.
    rng = np.random.default_rng(0)
    signs = [I.Orthogonal()((5, 5), "float64", rng)[0, 0] > 0 for _ in range(400)]
    assert 0.4 < np.mean(signs) < 0.6


def test_orthogonal_needs_two_dims():
    with pytest.raises(ValueError, match="shape"):
        I.Orthogonal()((5,))
    assert I.Orthogonal()((0, 3)).shape == (0, 3)


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_seeds(name):
    cls = type(I.get(name))
    init = cls(seed=123)
    a = init((40, 30))
    np.testing.assert_array_equal(a, init((40, 30)))  # same values on every call
    np.testing.assert_array_equal(a, cls(seed=123)((40, 30), rng=np.random.default_rng(9)))  # rng ignored
    assert not np.array_equal(a, cls(seed=124)((40, 30)))
    # Without a seed: the rng decides; it advances between calls.
    plain = cls()
    x = plain((40, 30), rng=np.random.default_rng(5))
    np.testing.assert_array_equal(x, plain((40, 30), rng=np.random.default_rng(5)))
    g = np.random.default_rng(5)
    assert not np.array_equal(plain((40, 30), rng=g), plain((40, 30), rng=g))
    assert not np.array_equal(plain((40, 30)), plain((40, 30)))  # fresh generator each time


@pytest.mark.parametrize("name", ALL_NAMES)
def test_get_names(name):
    init = I.get(name)
    assert isinstance(init, I.Initializer)
    assert type(I.get(type(init).__name__)) is type(init)
    assert I.get(init) is init
    assert type(I.get(type(init))) is type(init)


def test_get_misc():
    assert I.get(None) is None
    assert isinstance(I.get("glorot_uniform"), I.GlorotUniform)
    assert isinstance(I.get("he_normal"), I.HeNormal)
    assert isinstance(I.get("uniform"), I.RandomUniform) and isinstance(I.get("normal"), I.RandomNormal)

    def custom(shape, dtype="float32", rng=None):
        return np.zeros(shape, dtype)
    assert I.get(custom) is custom
    with pytest.raises(ValueError, match="glorot_uniform.*he_normal"):
        I.get("glorot")
    with pytest.raises(TypeError, match="identifier"):
        I.get(3)
    with pytest.raises(ValueError, match="unknown"):
        I.get({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="class_name"):
        I.get({"config": {}})


ROUND_TRIP = [I.Zeros(), I.Ones(), I.Constant(1.5), I.RandomUniform(-1, 2, seed=3),
              I.RandomNormal(0.5, 2.0, seed=4), I.TruncatedNormal(0.1, 0.3, seed=5),
              I.VarianceScaling(2.0, "fan_avg", "uniform", seed=6), I.GlorotUniform(seed=7),
              I.GlorotNormal(seed=8), I.HeUniform(seed=9), I.HeNormal(seed=10),
              I.LecunUniform(seed=11), I.LecunNormal(seed=12), I.Orthogonal(0.5, seed=13)]


@pytest.mark.parametrize("init", ROUND_TRIP, ids=repr)
def test_serialize_round_trip(init):
    d = I.serialize(init)
    assert d == {"class_name": type(init).__name__, "config": init.get_config()}
    back = I.get(d)
    assert type(back) is type(init) and back.get_config() == init.get_config()
    assert type(init).from_config(init.get_config()).get_config() == init.get_config()
    np.testing.assert_array_equal(back((6, 4)), init((6, 4)))
    # Keras 3's extra keys are ignored.
    assert I.get({**d, "module": "keras.initializers", "registered_name": None}).get_config() == d["config"]


def test_keras_configs():
    assert I.GlorotUniform(seed=1).get_config() == {"seed": 1}
    assert I.VarianceScaling().get_config() == {"scale": 1.0, "mode": "fan_in",
                                                "distribution": "truncated_normal", "seed": None}
    assert I.RandomUniform().get_config() == {"minval": -0.05, "maxval": 0.05, "seed": None}
    assert I.Orthogonal().get_config() == {"gain": 1.0, "seed": None}
    assert I.VarianceScaling(distribution="normal").distribution == "truncated_normal"


@pytest.mark.parametrize("make, exc, word", [
    (lambda: I.RandomUniform(seed=-1), ValueError, "seed"),
    (lambda: I.RandomUniform(seed=1.5), TypeError, "seed"),
    (lambda: I.RandomUniform(seed=True), TypeError, "seed"),
    (lambda: I.RandomUniform(1.0, 0.0), ValueError, "maxval"),
    (lambda: I.RandomUniform(float("nan")), ValueError, "minval"),
    (lambda: I.RandomNormal(stddev=-1), ValueError, "stddev"),
    (lambda: I.TruncatedNormal(mean="a"), TypeError, "mean"),
    (lambda: I.VarianceScaling(scale=0.0), ValueError, "scale"),
    (lambda: I.VarianceScaling(mode="fan"), ValueError, "mode"),
    (lambda: I.VarianceScaling(distribution="cauchy"), ValueError, "distribution"),
    (lambda: I.Constant(float("inf")), ValueError, "value"),
    (lambda: I.Orthogonal(gain=None), TypeError, "gain"),
    (lambda: I.HeNormal()((3, -1)), ValueError, "shape"),
    (lambda: I.HeNormal()((3, 2.0)), TypeError, "shape"),
    (lambda: I.HeNormal()("ab"), TypeError, "shape"),
    (lambda: I.HeNormal()(None), TypeError, "shape"),
    (lambda: I.HeNormal()((3, 2), dtype="int32"), TypeError, "dtype"),
    (lambda: I.HeNormal()((3, 2), dtype="notadtype"), TypeError, "dtype"),
    (lambda: I.Zeros()((3, 2), dtype="complex64"), TypeError, "dtype"),
    (lambda: I.HeNormal()((3, 2), rng=np.random.RandomState(0)), TypeError, "rng"),
    (lambda: I.HeNormal()((3, 2), rng=0), TypeError, "rng"),
    (lambda: I.HeNormal()((2 ** 40, 2 ** 40)), ValueError, "shape"),
])
def test_bad_arguments(make, exc, word):
    with pytest.raises(exc, match=word):
        make()


@settings(deadline=None, max_examples=60)
@given(shape=st.lists(st.integers(0, 6), min_size=0, max_size=4).map(tuple),
       name=st.sampled_from(ALL_NAMES), dtype=st.sampled_from(["float32", "float64"]))
def test_any_shape(shape, name, dtype):
    init = I.get(name)
    if name == "orthogonal" and len(shape) < 2:
        with pytest.raises(ValueError, match="shape"):
            init(shape, dtype)
        return
    a = init(shape, dtype, np.random.default_rng(0))
    assert a.shape == shape and a.dtype == np.dtype(dtype) and a.flags.c_contiguous
    assert np.all(np.isfinite(a))


def test_a_callable_initializer_must_return_the_weights_shape():
    import fastnn as fnn

    bad = lambda shape, dtype="float32", rng=None: np.arange(shape[-1], dtype=dtype)  # noqa: E731
    with pytest.raises(ValueError, match=r"the initializer returned shape \(8,\), the weight has \(4, 8\)"):
        fnn.Sequential([fnn.Input(4), fnn.layers.Dense(8, kernel_initializer=bad)], seed=0).build()
