"""fastnn.regularizers: hand-worked penalties and gradients, float64 accumulation, central
differences, attributes, validation, get/serialize."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastnn import regularizers as R

W = np.array([[1.0, -2.0], [3.0, 0.0]])


def test_hand_worked_penalties():
    assert R.L1(0.1)(W) == pytest.approx(0.6, rel=1e-15)        # 0.1 * (1 + 2 + 3)
    assert R.L2(0.1)(W) == pytest.approx(1.4, rel=1e-15)        # 0.1 * (1 + 4 + 9)
    assert R.L1L2(0.1, 0.2)(W) == pytest.approx(3.4, rel=1e-15)  # 0.6 + 0.2 * 14
    assert R.L1L2()(W) == 0.0
    assert isinstance(R.L2()(W), float)
    assert R.L1()(W) == pytest.approx(0.06) and R.L2()(W) == pytest.approx(0.14)  # defaults 0.01
    assert R.L2(0.5)(np.zeros((0, 3))) == 0.0
    assert R.L1(1.0)([1, -2, 3]) == 6.0  # lists and ints are accepted


def test_hand_worked_gradients():
    g = R.L1L2(0.1, 0.2).gradient(W)
    np.testing.assert_allclose(g, [[0.5, -0.9], [1.3, 0.0]], rtol=1e-15)
    np.testing.assert_array_equal(R.L1(0.5).gradient(W), [[0.5, -0.5], [0.5, 0.0]])  # sign(0) = 0
    np.testing.assert_allclose(R.L2(0.25).gradient(W), 0.5 * W, rtol=1e-15)
    assert R.L1L2().gradient(W).shape == W.shape and not R.L1L2().gradient(W).any()


@pytest.mark.parametrize("dtype, want", [(np.float32, np.float32), (np.float64, np.float64),
                                         (np.float16, np.float16), (np.int32, np.float64)])
def test_gradient_dtype(dtype, want):
    w = np.array([[-3, 1], [2, 0]], dtype=dtype)
    g = R.L1L2(0.3, 0.7).gradient(w)
    assert g.dtype == want and g.shape == w.shape
    w64 = w.astype(np.float64)
    np.testing.assert_array_equal(g, (0.3 * np.sign(w64) + 1.4 * w64).astype(want))


def test_penalty_accumulates_in_float64():
    w = np.random.default_rng(0).uniform(-1, 1, 1_000_003).astype(np.float32)
    x = w.astype(np.float64).tolist()
    want = 0.5 * math.fsum(abs(v) for v in x) + 0.25 * math.fsum(v * v for v in x)
    assert R.L1L2(0.5, 0.25)(w) == pytest.approx(want, rel=1e-12)
    # float32 accumulation would be off by far more than that tolerance:
    f32 = 0.5 * float(np.abs(w).sum(dtype=np.float32)) + 0.25 * float((w * w).sum(dtype=np.float32))
    assert abs(f32 - want) > 1e-10 * want


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 2 ** 32 - 1), l1=st.floats(0, 2), l2=st.floats(0, 2),
       shape=st.sampled_from([(1,), (7,), (3, 5), (2, 3, 4)]))
def test_gradient_matches_central_differences(seed, l1, l2, shape):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape)
    w[np.abs(w) < 1e-3] = 0.5  # keep |w| away from the kink of |w|
    reg = R.L1L2(l1, l2)
    g = reg.gradient(w)
    h = 1e-6
    num = np.empty_like(w)
    for i in np.ndindex(shape):
        e = np.zeros_like(w)
        e[i] = h
        num[i] = (reg(w + e) - reg(w - e)) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7)


def test_attributes():
    a = R.L1(0.3)
    assert (a.l1, a.l2) == (0.3, 0.0) and isinstance(a.l1, float)
    b = R.L2(0.4)
    assert (b.l1, b.l2) == (0.0, 0.4)
    c = R.L1L2(l1=1, l2=2)
    assert (c.l1, c.l2) == (1.0, 2.0) and type(c.l1) is float
    c.l2 = 0.5
    assert c(W) == pytest.approx(6 + 0.5 * 14)
    with pytest.raises(ValueError, match="l2"):
        c.l2 = -1.0
    assert c.l2 == 0.5


@pytest.mark.parametrize("make, exc, word", [
    (lambda: R.L1(-0.1), ValueError, "l1"),
    (lambda: R.L2(float("nan")), ValueError, "l2"),
    (lambda: R.L1L2(l1=float("inf")), ValueError, "l1"),
    (lambda: R.L1L2(l2="0.1"), TypeError, "l2"),
    (lambda: R.L1(None), TypeError, "l1"),
    (lambda: R.L2(True), TypeError, "l2"),
    (lambda: R.L2()("abc"), TypeError, "w"),
    (lambda: R.L2().gradient(np.array(["a"])), TypeError, "w"),
    (lambda: R.L1()(np.array([1 + 2j])), TypeError, "w"),
])
def test_bad_arguments(make, exc, word):
    with pytest.raises(exc, match=word):
        make()


def test_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        R.Regularizer()(W)
    with pytest.raises(NotImplementedError):
        R.Regularizer().gradient(W)


def test_get():
    assert R.get(None) is None
    r = R.L2(0.3)
    assert R.get(r) is r
    for name, cls, l1, l2 in [("l1", R.L1, 0.01, 0.0), ("L1", R.L1, 0.01, 0.0),
                              ("l2", R.L2, 0.0, 0.01), ("L2", R.L2, 0.0, 0.01),
                              ("l1_l2", R.L1L2, 0.01, 0.01), ("L1L2", R.L1L2, 0.01, 0.01)]:
        got = R.get(name)
        assert type(got) is cls and (got.l1, got.l2) == (l1, l2)
    with pytest.raises(ValueError, match="l1.*l1_l2.*l2"):
        R.get("l3")
    with pytest.raises(TypeError, match="identifier"):
        R.get(0.1)
    with pytest.raises(ValueError, match="unknown"):
        R.get({"class_name": "L3", "config": {}})
    with pytest.raises(TypeError):
        R.get({"class_name": "L1", "config": {"l2": 0.1}})


@pytest.mark.parametrize("reg", [R.L1(0.2), R.L2(0.3), R.L1L2(0.4, 0.5), R.L1L2()], ids=repr)
def test_serialize_round_trip(reg):
    d = R.serialize(reg)
    assert d == {"class_name": type(reg).__name__, "config": reg.get_config()}
    back = R.get(d)
    assert type(back) is type(reg) and (back.l1, back.l2) == (reg.l1, reg.l2)
    assert type(reg).from_config(reg.get_config()).get_config() == reg.get_config()
    assert R.get({**d, "module": "keras.regularizers"}).get_config() == reg.get_config()


def test_keras_configs():
    assert R.L1().get_config() == {"l1": 0.01}
    assert R.L2().get_config() == {"l2": 0.01}
    assert R.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert R.get({"class_name": "L1L2"}).get_config() == {"l1": 0.0, "l2": 0.0}
    with pytest.raises(TypeError, match="regularizer"):
        R.serialize("l2")


# ------------------------------------------------------------------ written in Python, in training


class PyL2(R.Regularizer):
    """l2 * sum(w^2) written in Python (the native L2's penalty, for comparison)."""

    def __init__(self, l2=0.01):
        self.l2_factor = l2

    def __call__(self, w):
        return self.l2_factor * float(np.sum(np.asarray(w, np.float64) ** 2))

    def gradient(self, w):
        return 2 * self.l2_factor * np.asarray(w, np.float64)

    def get_config(self):
        return {"l2": self.l2_factor}


class PyCube(R.Regularizer):
    """c * sum(|w|^3): no native equivalent."""

    def __init__(self, c=0.1):
        self.c = c

    def __call__(self, w):
        return self.c * float(np.sum(np.abs(np.asarray(w, np.float64)) ** 3))

    def gradient(self, w):
        w = np.asarray(w, np.float64)
        return 3 * self.c * w * np.abs(w)

    def get_config(self):
        return {"c": self.c}


def _reg_model(reg, opt=None, seed=0):
    import fastnn as fnn

    m = fnn.Sequential([fnn.Input(5), fnn.layers.Dense(6, activation="tanh", kernel_regularizer=reg),
                        fnn.layers.Dense(2, bias_regularizer=reg)], seed=seed, dtype="float64")
    m.compile(opt or fnn.optimizers.Adam(0.05), "mse")
    return m


def test_a_python_regularizer_trains_as_the_native_one():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 5)), rng.normal(size=(64, 2))
    native, python = _reg_model(R.L2(0.3)), _reg_model(PyL2(0.3))
    assert not native._engine.py_penalty and python._engine.py_penalty
    hn = native.fit(x, y, batch_size=16, epochs=3, verbose=0)
    hp = python.fit(x, y, batch_size=16, epochs=3, verbose=0)
    np.testing.assert_allclose(hp.history["loss"], hn.history["loss"], rtol=1e-12)
    for a, b in zip(python.get_weights(), native.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    assert python.evaluate(x, y) == pytest.approx(native.evaluate(x, y), rel=1e-12)
    # train_on_batch and the gradient check see it too
    assert python.train_on_batch(x, y) == pytest.approx(native.train_on_batch(x, y), rel=1e-12)


def test_a_python_regularizer_passes_the_gradient_check_and_saves(tmp_path):
    import fastnn as fnn

    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 5)), rng.normal(size=(20, 2))
    m = _reg_model(PyCube(0.5))
    errors = fnn.gradient_check(m, x, y)
    assert max(errors.values()) < 1e-6
    base = _reg_model(None)
    base.set_weights(m.get_weights())
    k = m.get_weights()[0]
    b = m.get_weights()[3]
    want = base.evaluate(x, y) + 0.5 * (np.sum(np.abs(k) ** 3) + np.sum(np.abs(b) ** 3))
    assert m.evaluate(x, y) == pytest.approx(want, rel=1e-12)
    m.fit(x, y, epochs=2, verbose=0)
    m.save(tmp_path / "m.fnn")
    with pytest.raises(ValueError, match="custom_objects"):
        fnn.load_model(tmp_path / "m.fnn")
    r = fnn.load_model(tmp_path / "m.fnn", custom_objects={"PyCube": PyCube})
    assert isinstance(r.layers[0].kernel_regularizer, PyCube)
    r.fit(x, y, epochs=1, verbose=0)
    m.fit(x, y, epochs=1, verbose=0)
    for a, c in zip(r.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, c)


def test_a_raising_python_regularizer_leaves_the_model_as_it_was():
    class Bad(PyL2):
        def gradient(self, w):
            return np.zeros(3)  # wrong shape

    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(32, 5)), rng.normal(size=(32, 2))
    m = _reg_model(Bad(0.1))
    w, it = m.get_weights(), m.optimizer.iterations
    for call in (lambda: m.fit(x, y, epochs=2, verbose=0), lambda: m.train_on_batch(x, y)):
        with pytest.raises(ValueError, match=r"Bad.gradient returned shape \(3,\)"):
            call()
        assert all(np.array_equal(a, b) for a, b in zip(w, m.get_weights())) and m.optimizer.iterations == it
