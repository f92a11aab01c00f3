"""Out-of-core training: fit / evaluate / predict take np.memmap and np.load(mmap_mode="r")
arrays in place (float32 or float64, whatever the model's dtype), converting one batch at a
time natively, with results bitwise equal to converting the whole array first."""
import os
import tracemalloc

import numpy as np
import pytest

import fastnn as fnn
from fastnn.data import Augment

L = fnn.layers


def _rss_anon():
    """Anonymous resident memory in bytes (Linux), else None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _write_npy(path, n, d, dtype, seed, chunk=65536):
    """A random (n, d) .npy file written in chunks (never whole in memory); returns y."""
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n, d))
    y = np.empty((n, 1), dtype=np.float32)
    for r in range(0, n, chunk):
        block = rng.standard_normal((min(chunk, n - r), d))
        out[r:r + len(block)] = block
        y[r:r + len(block), 0] = block[:, :4].sum(axis=1)
    out.flush()
    del out
    return y


class _AnonAtEpochEnd(fnn.callbacks.Callback):
    """RssAnon while fit still holds its converted data (the end of every epoch)."""

    def __init__(self):
        super().__init__()
        self.values = []

    def on_epoch_end(self, epoch, logs=None):
        self.values.append(_rss_anon())


def test_large_float64_file_trains_a_float32_model_without_a_copy(tmp_path):
    n, d = 1_000_000, 32  # 256 MB of float64
    path = tmp_path / "x.npy"
    y = _write_npy(path, n, d, np.float64, seed=0)
    size = os.path.getsize(path)
    x = np.load(path, mmap_mode="r")
    assert isinstance(x, np.memmap) and x.dtype == np.float64 and not x.flags.writeable
    model = fnn.Sequential([L.Input(d), L.Dense(1)], seed=0)
    model.compile(optimizer=fnn.optimizers.SGD(0.01), loss="mse")
    cb = _AnonAtEpochEnd()
    anon0 = _rss_anon()
    tracemalloc.start()
    try:
        h = model.fit(x, y, batch_size=4096, epochs=1, validation_split=0.1, verbose=0, callbacks=[cb])
        _, peak_fit = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        p = model.predict(x)
        _, peak_predict = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        ev = model.evaluate(x, y)
        _, peak_eval = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    limit = 0.25 * size
    # numpy allocations (a float32 copy of x would be 128 MB, half the file)
    assert peak_fit < limit, (peak_fit, size)
    assert peak_predict < limit, (peak_predict, size)
    assert peak_eval < limit, (peak_eval, size)
    if anon0 is not None:  # and the native side: anonymous memory while fit runs
        assert cb.values and cb.values[0] - anon0 < limit, (cb.values, anon0, size)
    # it learned (y = sum of the first four features) and the outputs are sound
    assert h.history["loss"][0] < float(np.mean(y ** 2))
    assert p.shape == (n, 1) and p.dtype == np.float32 and np.isfinite(p).all()
    assert ev == pytest.approx(float(np.mean((p.astype(np.float64) - y) ** 2)), rel=1e-4)


def _mlp(dtype, seed=1):
    m = fnn.Sequential([L.Input(16), L.Dense(24, activation="tanh"), L.Dense(3)], seed=seed, dtype=dtype)
    m.compile(optimizer=fnn.optimizers.Adam(1e-2),
              loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return m


@pytest.mark.parametrize("file_dtype,model_dtype", [("float64", "float32"), ("float32", "float64"),
                                                    ("float32", "float32"), ("float64", "float64")])
@pytest.mark.parametrize("augment", [None, Augment(noise=0.1, mixup=0.2)])
def test_memmap_equals_in_memory_conversion(tmp_path, file_dtype, model_dtype, augment):
    path = tmp_path / "x.npy"
    _write_npy(path, 1500, 16, np.dtype(file_dtype), seed=2)
    x = np.load(path, mmap_mode="r")
    xm = np.asarray(x, dtype=model_dtype)  # the whole array converted up front
    y = (np.asarray(x[:, 0]) > 0).astype(np.int64) + (np.asarray(x[:, 1]) > 0.7)
    a, b = _mlp(model_dtype), _mlp(model_dtype)
    ha = a.fit(x, y, batch_size=64, epochs=2, validation_split=0.2, verbose=0, augment=augment)
    hb = b.fit(xm, y, batch_size=64, epochs=2, validation_split=0.2, verbose=0, augment=augment)
    for p, q in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(p, q)
    assert ha.history["loss"] == hb.history["loss"]
    assert ha.history["val_loss"] == hb.history["val_loss"]
    pa = a.predict(x, batch_size=100)
    assert pa.dtype == np.dtype(model_dtype) and np.array_equal(pa, b.predict(xm, batch_size=100))
    assert a.evaluate(x, y) == b.evaluate(xm, y)


def test_memmap_opened_with_np_memmap_and_strided_views(tmp_path):
    path = tmp_path / "raw.f64"
    mm = np.memmap(path, dtype=np.float64, mode="w+", shape=(400, 16))
    mm[:] = np.random.default_rng(3).standard_normal((400, 16))
    mm.flush()
    del mm
    x = np.memmap(path, dtype=np.float64, mode="r", shape=(400, 16))
    y = (np.asarray(x[:, 2]) > 0).astype(np.int64)
    a, b = _mlp("float32"), _mlp("float32")
    a.fit(x, y, batch_size=32, epochs=1, verbose=0)
    b.fit(np.asarray(x, dtype=np.float32), y, batch_size=32, epochs=1, verbose=0)
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))
    # a non-contiguous view is converted once (still correct)
    wide = np.memmap(path, dtype=np.float64, mode="r", shape=(200, 32))
    np.testing.assert_array_equal(a.predict(wide[:, ::2]), a.predict(np.ascontiguousarray(wide[:, ::2], np.float32)))


def test_non_finite_values_in_a_file_are_refused(tmp_path):
    path = tmp_path / "x.npy"
    _write_npy(path, 300, 16, np.float64, seed=4)
    y = np.zeros(300, dtype=np.int64)
    mm = np.load(path, mmap_mode="r+")
    mm[123, 5] = 1e300  # finite as float64, Inf as float32
    mm.flush()
    del mm
    x = np.load(path, mmap_mode="r")
    m32, m64 = _mlp("float32"), _mlp("float64")
    w0 = m32.get_weights()
    with pytest.raises(ValueError, match="NaN or Inf as float32"):
        m32.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="x: contains NaN or Inf"):
        m32.predict(x)
    assert all(np.array_equal(p, q) for p, q in zip(w0, m32.get_weights()))
    m64.fit(x, y, epochs=1, verbose=0)  # a float64 model takes it
    mm = np.load(path, mmap_mode="r+")
    mm[7, 0] = np.nan
    mm.flush()
    del mm
    with pytest.raises(ValueError, match="NaN or Inf"):
        m64.fit(np.load(path, mmap_mode="r"), y, epochs=1, verbose=0)
