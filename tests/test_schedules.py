"""fastnn.schedules: hand-worked values of every formula, an independent loop reference for
warm restarts, values() bitwise equal to per-step calls, unit, get/serialize, bad input."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastnn import schedules as S

HAND = [
    (S.Constant(0.5), {0: 0.5, 7: 0.5, 10 ** 9: 0.5}),
    (S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]),
     {0: 1.0, 10: 1.0, 11: 0.5, 20: 0.5, 21: 0.1, 1000: 0.1}),
    (S.PiecewiseConstantDecay([5.5], [0.3, 0.2]), {5: 0.3, 6: 0.2}),
    (S.StepDecay(0.1, 3, 0.5), {0: 0.1, 2: 0.1, 3: 0.05, 5: 0.05, 6: 0.025, 9: 0.0125}),
    (S.StepDecay(1.0, 2), {1: 1.0, 2: 0.1, 4: 0.01}),
    (S.ExponentialDecay(1.0, 10, 0.5), {0: 1.0, 5: math.sqrt(0.5), 10: 0.5, 20: 0.25, 15: 0.5 ** 1.5}),
    (S.ExponentialDecay(2.0, 10, 0.5, staircase=True), {9: 2.0, 10: 1.0, 15: 1.0, 29: 0.5}),
    (S.InverseTimeDecay(1.0, 10, 0.5), {0: 1.0, 10: 1 / 1.5, 20: 0.5, 5: 1 / 1.25}),
    (S.InverseTimeDecay(3.0, 10, 1.0, staircase=True), {9: 3.0, 10: 1.5, 15: 1.5, 20: 1.0}),
    (S.PowerDecay(1.0), {0: 1.0, 3: 0.5, 8: 1 / 3, 99: 0.1}),
    (S.PowerDecay(6.0, power=1.0), {0: 6.0, 1: 3.0, 2: 2.0, 5: 1.0}),
    (S.PolynomialDecay(1.0, 10, 0.0), {0: 1.0, 5: 0.5, 10: 0.0, 20: 0.0}),
    (S.PolynomialDecay(1.0, 10, 0.0, power=2.0), {5: 0.25, 8: 0.04}),
    (S.PolynomialDecay(1.0, 10, 0.1), {5: 0.55, 10: 0.1, 50: 0.1}),
    (S.PolynomialDecay(1.0, 10, 0.0, cycle=True), {0: 1.0, 5: 0.5, 10: 0.0, 11: 0.45, 15: 0.25, 20: 0.0,
                                                   21: 1 - 21 / 30}),
    (S.CosineDecay(1.0, 10), {0: 1.0, 5: 0.5, 10: 0.0, 20: 0.0}),
    (S.CosineDecay(2.0, 10, alpha=0.1), {0: 2.0, 5: 1.1, 10: 0.2, 100: 0.2}),
    (S.CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5),
     {0: 1.0, 5: 0.5, 10: 0.5, 20: 0.25, 30: 0.25, 50: 0.125, 70: 0.125}),
    (S.CosineDecayRestarts(1.0, 10, t_mul=1.0), {0: 1.0, 5: 0.5, 10: 1.0, 15: 0.5, 20: 1.0}),
    (S.CosineDecayRestarts(1.0, 10, t_mul=3.0), {10: 1.0, 40: 1.0, 130: 1.0, 25: 0.5, 85: 0.5}),
    (S.CosineDecayRestarts(1.0, 4, t_mul=1.5, alpha=0.5), {4: 1.0, 10: 1.0, 19: 1.0, 7: 0.75}),
    (S.LinearWarmup(S.CosineDecay(1.0, 100), 10, 0.1), {0: 0.1, 5: 0.55, 10: 1.0, 60: 0.5, 110: 0.0}),
    (S.LinearWarmup(0.5, 4), {0: 0.0, 1: 0.125, 2: 0.25, 3: 0.375, 4: 0.5, 9: 0.5}),
    (S.LinearWarmup(S.StepDecay(1.0, 2, 0.5), 2, 3.0), {0: 3.0, 1: 2.0, 2: 1.0, 4: 0.5}),
]


@pytest.mark.parametrize("sched, table", HAND, ids=repr)
def test_hand_worked(sched, table):
    for step, want in table.items():
        got = sched(step)
        assert isinstance(got, float)
        assert got == pytest.approx(want, rel=1e-14, abs=1e-15), step


def test_power_decay_is_sklearn_invscaling():
    eta0, power_t = 0.02, 0.25
    sched = S.PowerDecay(eta0, power_t)
    for t in range(1, 50):  # scikit-learn's t counts from 1
        assert sched(t - 1) == pytest.approx(eta0 / pow(t, power_t), rel=1e-15)


def _restarts_reference(t, a, first, t_mul, m_mul, alpha):
    start, length, i = 0.0, float(first), 0
    while t >= start + length:
        start += length
        length *= t_mul
        i += 1
    g = (t - start) / length
    return a * ((1 - alpha) * 0.5 * m_mul ** i * (1 + math.cos(math.pi * g)) + alpha)


@pytest.mark.parametrize("first, t_mul, m_mul, alpha", [
    (10, 2.0, 1.0, 0.0), (7, 1.0, 0.9, 0.1), (3, 3.0, 0.5, 0.0), (4, 1.5, 0.8, 0.2), (5.5, 1.3, 1.0, 0.0)])
def test_cosine_restarts_matches_loop_reference(first, t_mul, m_mul, alpha):
    sched = S.CosineDecayRestarts(0.3, first, t_mul, m_mul, alpha)
    got = sched.values(0, 2000)
    want = [_restarts_reference(t, 0.3, first, t_mul, m_mul, alpha) for t in range(2000)]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)


ALL = [s for s, _ in HAND] + [
    S.PiecewiseConstantDecay([1, 2, 3, 50], [4.0, 3.0, 2.0, 1.0, 0.0], unit="epoch"),
    S.ExponentialDecay(0.1, 7.3, 0.96), S.PolynomialDecay(0.1, 33, 0.001, 0.7, cycle=True),
    S.CosineDecay(0.1, 1000, 0.01), S.CosineDecayRestarts(0.1, 13, 1.7, 0.9, 0.05),
    S.LinearWarmup(S.CosineDecayRestarts(0.1, 13), 17, 0.01),
    S.LinearWarmup(S.LinearWarmup(S.PowerDecay(0.3, 0.7), 3), 5),
]


@pytest.mark.parametrize("sched", ALL, ids=repr)
@pytest.mark.parametrize("start, count", [(0, 3000), (123, 257), (10 ** 6, 5), (0, 1)])
def test_values_equal_calls_bitwise(sched, start, count):
    v = sched.values(start, count)
    assert isinstance(v, np.ndarray) and v.dtype == np.float64 and v.shape == (count,)
    want = np.array([sched(start + i) for i in range(count)])
    assert np.array_equal(v.view(np.int64), want.view(np.int64))
    assert np.all(np.isfinite(v)) and np.all(v >= 0)


@settings(deadline=None, max_examples=50)
@given(idx=st.integers(0, len(ALL) - 1), start=st.integers(0, 10 ** 7), count=st.integers(0, 64))
def test_values_equal_calls_bitwise_hypothesis(idx, start, count):
    sched = ALL[idx]
    v = sched.values(start, count)
    assert v.shape == (count,)
    for i in range(count):
        assert v[i].tobytes() == np.float64(sched(start + i)).tobytes()


def test_values_accepts_numpy_ints_and_empty():
    sched = S.CosineDecay(1.0, 10)
    assert sched.values(np.int64(3), np.int32(0)).shape == (0,)
    assert sched.values(np.int64(3), 2)[0] == sched(np.int64(3)) == sched(3.0)


@pytest.mark.parametrize("sched", ALL, ids=repr)
def test_serialize_round_trip(sched):
    d = S.serialize(sched)
    assert d == {"class_name": type(sched).__name__, "config": sched.get_config()}
    back = S.get(d)
    assert type(back) is type(sched) and back.get_config() == sched.get_config()
    assert back.unit == sched.unit
    assert type(sched).from_config(sched.get_config()).get_config() == sched.get_config()
    np.testing.assert_array_equal(back.values(0, 300), sched.values(0, 300))


def test_keras_style_dicts():
    d = {"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
         "config": {"initial_learning_rate": 0.1, "decay_steps": 100, "decay_rate": 0.5,
                    "staircase": False, "name": "ExponentialDecay"}, "registered_name": None}
    s = S.get(d)
    assert isinstance(s, S.ExponentialDecay) and s(100) == pytest.approx(0.05)
    p = S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert p.get_config() == {"boundaries": [10, 20], "values": [1.0, 0.5, 0.1], "unit": "batch"}
    assert p.boundaries == [10, 20] and p.rates == [1.0, 0.5, 0.1]


def test_unit():
    assert S.CosineDecay(1.0, 10).unit == "batch"
    for cls, args in [(S.Constant, (0.1,)), (S.PiecewiseConstantDecay, ([1], [1.0, 0.5])),
                      (S.StepDecay, (0.1, 3)), (S.ExponentialDecay, (0.1, 3, 0.5)),
                      (S.InverseTimeDecay, (0.1, 3, 0.5)), (S.PowerDecay, (0.1,)),
                      (S.PolynomialDecay, (0.1, 3)), (S.CosineDecay, (0.1, 3)),
                      (S.CosineDecayRestarts, (0.1, 3)), (S.LinearWarmup, (0.1, 3))]:
        s = cls(*args, unit="epoch")
        assert s.unit == "epoch" and s.get_config()["unit"] == "epoch"
        with pytest.raises(ValueError, match="unit"):
            cls(*args, unit="step")
    inner = S.CosineDecay(1.0, 10, unit="epoch")
    assert S.LinearWarmup(inner, 2).unit == "epoch"
    assert S.LinearWarmup(0.1, 2).unit == "batch"
    with pytest.raises(ValueError, match="unit"):
        S.LinearWarmup(inner, 2, unit="batch")


def test_get():
    c = S.get(0.01)
    assert isinstance(c, S.Constant) and c(5) == 0.01
    assert S.get(1).learning_rate == 1.0 and S.get(np.float32(0.5))(0) == 0.5
    s = S.CosineDecay(1.0, 10)
    assert S.get(s) is s
    with pytest.raises(ValueError, match="CosineDecay"):
        S.get("cosine_decay")
    for bad in (None, True, [0.1]):
        with pytest.raises(TypeError, match="identifier"):
            S.get(bad)
    with pytest.raises(ValueError, match="unknown schedule"):
        S.get({"class_name": "Nope", "config": {}})
    with pytest.raises(TypeError, match="config"):
        S.get({"class_name": "CosineDecay"})
    with pytest.raises(TypeError):
        S.get({"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1}})
    with pytest.raises(TypeError, match="schedule"):
        S.serialize(0.1)


BAD = [
    (lambda: S.Constant(-0.1), ValueError, "learning_rate"),
    (lambda: S.Constant(float("nan")), ValueError, "learning_rate"),
    (lambda: S.Constant("0.1"), TypeError, "learning_rate"),
    (lambda: S.PiecewiseConstantDecay([20, 10], [1.0, 0.5, 0.1]), ValueError, "boundaries"),
    (lambda: S.PiecewiseConstantDecay([10, 20], [1.0, 0.5]), ValueError, "values"),
    (lambda: S.PiecewiseConstantDecay([], [1.0]), ValueError, "boundaries"),
    (lambda: S.PiecewiseConstantDecay(10, [1.0, 0.5]), TypeError, "boundaries"),
    (lambda: S.PiecewiseConstantDecay([10], [1.0, float("inf")]), ValueError, r"values\[1\]"),
    (lambda: S.PiecewiseConstantDecay([float("nan")], [1.0, 0.5]), ValueError, r"boundaries\[0\]"),
    (lambda: S.StepDecay(0.1, 0), ValueError, "step_size"),
    (lambda: S.StepDecay(0.1, 2.5), TypeError, "step_size"),
    (lambda: S.StepDecay(0.1, 2, gamma=-1), ValueError, "gamma"),
    (lambda: S.ExponentialDecay(0.1, 0, 0.5), ValueError, "decay_steps"),
    (lambda: S.ExponentialDecay(0.1, -5, 0.5), ValueError, "decay_steps"),
    (lambda: S.ExponentialDecay(0.1, 5, 0.0), ValueError, "decay_rate"),
    (lambda: S.ExponentialDecay(0.1, 5, 0.5, staircase=1), TypeError, "staircase"),
    (lambda: S.ExponentialDecay(float("inf"), 5, 0.5), ValueError, "initial_learning_rate"),
    (lambda: S.InverseTimeDecay(0.1, 5, -0.5), ValueError, "decay_rate"),
    (lambda: S.InverseTimeDecay(0.1, float("inf"), 0.5), ValueError, "decay_steps"),
    (lambda: S.PowerDecay(0.1, power=-1), ValueError, "power"),
    (lambda: S.PolynomialDecay(0.1, 10, end_learning_rate=-1), ValueError, "end_learning_rate"),
    (lambda: S.PolynomialDecay(0.1, 10, power=0), ValueError, "power"),
    (lambda: S.PolynomialDecay(0.1, 10, cycle="yes"), TypeError, "cycle"),
    (lambda: S.CosineDecay(0.1, 0), ValueError, "decay_steps"),
    (lambda: S.CosineDecay(0.1, 10, alpha=1.5), ValueError, "alpha"),
    (lambda: S.CosineDecayRestarts(0.1, 0), ValueError, "first_decay_steps"),
    (lambda: S.CosineDecayRestarts(0.1, 10, t_mul=0.5), ValueError, "t_mul"),
    (lambda: S.CosineDecayRestarts(0.1, 10, m_mul=-1), ValueError, "m_mul"),
    (lambda: S.CosineDecayRestarts(0.1, 10, alpha=-0.1), ValueError, "alpha"),
    (lambda: S.LinearWarmup(0.1, 0), ValueError, "warmup_steps"),
    (lambda: S.LinearWarmup(0.1, 2.0), TypeError, "warmup_steps"),
    (lambda: S.LinearWarmup(-0.1, 2), ValueError, "schedule"),
    (lambda: S.LinearWarmup("cosine", 2), ValueError, "schedule"),
    (lambda: S.LinearWarmup(None, 2), TypeError, "schedule"),
    (lambda: S.LinearWarmup(0.1, 2, start_learning_rate=float("nan")), ValueError, "start_learning_rate"),
    (lambda: S.Constant(0.1)(-1), ValueError, "step"),
    (lambda: S.Constant(0.1)(float("nan")), ValueError, "step"),
    (lambda: S.Constant(0.1)("3"), TypeError, "step"),
    (lambda: S.Constant(0.1).values(-1, 3), ValueError, "start"),
    (lambda: S.Constant(0.1).values(0, -3), ValueError, "count"),
    (lambda: S.Constant(0.1).values(0.0, 3), TypeError, "start"),
]


@pytest.mark.parametrize("make, exc, word", BAD)
def test_bad_arguments(make, exc, word):
    with pytest.raises(exc, match=word):
        make()
