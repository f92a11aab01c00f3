"""fastnn.data: scalers, one_hot, LabelEncoder against NumPy float64 references."""
import numpy as np
import pytest

from fastnn.data import LabelEncoder, MinMaxScaler, Standardizer, one_hot


@pytest.fixture
def x():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((50, 4)) * [1, 5, 0.1, 2] + [0, 3, -1, 7]
    a[:, 3] = 7.0  # zero variance column
    return a


def test_standardizer(x):
    s = Standardizer().fit(x)
    np.testing.assert_allclose(s.mean_, x.mean(0))
    assert s.std_[3] == 1.0
    z = s.transform(x)
    np.testing.assert_allclose(z[:, :3].mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z[:, :3].std(0), 1, atol=1e-12)
    assert np.all(z[:, 3] == 0)
    np.testing.assert_allclose(s.inverse_transform(z), x)
    s2 = Standardizer.from_config(s.get_config())
    np.testing.assert_array_equal(s2.transform(x), z)


def test_standardizer_uses_training_stats_only(x):
    s = Standardizer().fit(x[:25])
    z = s.transform(x[25:])
    np.testing.assert_allclose(z, (x[25:] - x[:25].mean(0)) / np.where(x[:25].std(0) > 0, x[:25].std(0), 1))


def test_minmax(x):
    m = MinMaxScaler((-1, 1)).fit(x)
    z = m.transform(x)
    np.testing.assert_allclose(z[:, :3].min(0), -1)
    np.testing.assert_allclose(z[:, :3].max(0), 1)
    assert np.all(z[:, 3] == -1)
    np.testing.assert_allclose(m.inverse_transform(z), x)
    np.testing.assert_array_equal(MinMaxScaler.from_config(m.get_config()).transform(x), z)


def test_float32_kept():
    a = np.arange(12, dtype=np.float32).reshape(6, 2)
    assert Standardizer().fit_transform(a).dtype == np.float32


def test_bad_scaler_input(x):
    with pytest.raises(RuntimeError):
        Standardizer().transform(x)
    s = Standardizer().fit(x)
    with pytest.raises(ValueError, match="4 features"):
        s.transform(x[:, :2])
    with pytest.raises(ValueError, match="2-D"):
        Standardizer().fit(x[:, 0])
    with pytest.raises(ValueError, match="NaN"):
        Standardizer().fit(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="feature_range"):
        MinMaxScaler((1, 0))


def test_one_hot():
    np.testing.assert_array_equal(one_hot([0, 2, 1]), [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert one_hot([1], n_classes=4).shape == (1, 4)
    with pytest.raises(ValueError, match="n_classes"):
        one_hot([3], n_classes=2)
    with pytest.raises(ValueError, match=">= 0"):
        one_hot([-1, 0])
    with pytest.raises(TypeError):
        one_hot(["a"])
    with pytest.raises(ValueError, match="non-integral"):
        one_hot([0.5])


def test_label_encoder():
    e = LabelEncoder().fit(["b", "a", "c", "a"])
    assert list(e.classes_) == ["a", "b", "c"]
    np.testing.assert_array_equal(e.transform(["c", "a"]), [2, 0])
    assert list(e.inverse_transform(np.array([1, 0]))) == ["b", "a"]
    with pytest.raises(ValueError, match="unseen"):
        e.transform(["z"])
    with pytest.raises(ValueError, match="idx"):
        e.inverse_transform(np.array([3]))


def test_pandas_accepted(x):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(x)
    np.testing.assert_allclose(Standardizer().fit(df).transform(df), Standardizer().fit(x).transform(x))
    np.testing.assert_array_equal(one_hot(pd.Series([1, 0])), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(LabelEncoder().fit_transform(pd.Series(["y", "x"])), [1, 0])


def test_standardizer_constant_columns_exactly():
    # ten 0.1s average to 0.1 + 1e-17 in floating point: still a constant column (std 1)
    x = np.c_[np.full(10, 0.1), np.arange(10.0)]
    s = Standardizer().fit(x)
    assert s.std_[0] == 1.0 and s.mean_[0] == 0.1
    assert np.all(s.transform(x)[:, 0] == 0)
    np.testing.assert_allclose(s.inverse_transform(s.transform(x)), x)


def test_unfitted_scalers_round_trip_their_config():
    for cls in (Standardizer, MinMaxScaler):
        s = cls.from_config(cls().get_config())
        with pytest.raises(RuntimeError, match="fit"):
            s.transform(np.ones((2, 2)))


def test_label_encoder_nan_and_empty():
    le = LabelEncoder().fit([1.0, np.nan, 2.0, 1.0])
    np.testing.assert_array_equal(le.transform([1.0, np.nan, 2.0, 1.0]), [0, 2, 1, 0])
    with pytest.raises(ValueError, match="unseen"):
        le.transform([3.0])
    s = LabelEncoder().fit(["a", "b"])
    assert s.transform([]).dtype == np.int64 and s.transform([]).size == 0
    assert s.inverse_transform(np.array([], dtype=np.int64)).size == 0


def test_one_hot_range_checked_before_the_cast():
    for bad in (np.array([2**63], dtype=np.uint64), np.array([1e30])):
        with pytest.raises(ValueError, match="out of range for n_classes=3"):
            one_hot(bad, n_classes=3)
