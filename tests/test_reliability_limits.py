"""Size limits, crafted model files and numerical faults.

* Shapes whose element count or byte size overflows 64 bits, or that cannot be allocated,
  raise MemoryError or ValueError before allocating -- never crash (crash-prone cases run
  in a subprocess so a crash fails one test instead of killing the session).
* load_model on crafted files raises ValueError and executes nothing (what
  test_model_io.py already covers -- pickle payloads, truncated/foreign files, bad
  configurations and arrays -- is not repeated here).
* NaN, exploding gradients and saturating inputs are handled.
"""
import io as _io
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

import fastnn as fnn
from fastnn import ops

L = fnn.layers
as_strided = np.lib.stride_tricks.as_strided
PYTHON_DIR = str(Path(fnn.__file__).resolve().parent.parent)


def _zeros(shape, dtype=np.float32):
    """A read-only zero-stride view: any declared shape, one element of memory."""
    return as_strided(np.zeros(1, dtype), shape=shape, strides=(0,) * len(shape), writeable=False)


def _run(code, timeout=120):
    """Run code in a fresh interpreter importing this fastnn; returns (returncode, output)."""
    prog = "import sys; sys.path.insert(0, %r)\n" % PYTHON_DIR + textwrap.dedent(code)
    p = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


# ------------------------------------------------------------------ size limits

@pytest.mark.parametrize("make", [
    lambda: fnn.Sequential([fnn.Input(3), L.Dense(2**40)], seed=0),            # 4 Ti weights
    lambda: fnn.Sequential([fnn.Input(2**32), L.Dense(2**32)], seed=0),         # 2**64 weights (wraps)
    lambda: fnn.Sequential([fnn.Input(2**62), L.Dense(2)], seed=0),             # width * itemsize overflows
    lambda: fnn.Sequential([fnn.Input(2), L.Dense(2**31)], seed=0, dtype="float64"),
], ids=["dense-2**40", "kernel-2**64", "input-2**62", "dense-2**31"])
def test_huge_models_are_refused_before_allocating(make):
    with pytest.raises((MemoryError, ValueError), match="model: "):
        make().count_params()


def test_huge_models_never_crash_or_hang():
    """The same constructions in a fresh interpreter: an exception, in seconds."""
    rc, out = _run("""
        import fastnn as fnn
        for d, u in [(3, 2**40), (2**32, 2**32), (2**62, 2), (2**20, 2**20)]:
            try:
                fnn.Sequential([fnn.Input(d), fnn.layers.Dense(u)], seed=0).count_params()
            except (MemoryError, ValueError):
                pass
            else:
                raise SystemExit(f"no error for {d} -> {u}")
        print("done")
    """, timeout=60)
    assert rc == 0 and "done" in out, out


@pytest.mark.parametrize("batch_size", [2**40, 2**62, 2**63 - 1])
def test_absurd_batch_sizes_mean_one_batch(batch_size):
    """batch_size past the data is one batch (Keras); it crashed the engine at 2**62."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 3)), rng.integers(0, 2, 10)

    def model():
        m = fnn.Sequential([fnn.Input(3), L.Dense(2)], seed=3, dtype="float64")
        m.compile(fnn.optimizers.SGD(0.1), fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
        return m
    a, b = model(), model()
    a.fit(x, y, batch_size=batch_size, epochs=2, verbose=0, shuffle=False)
    b.fit(x, y, batch_size=10, epochs=2, verbose=0, shuffle=False)
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    np.testing.assert_array_equal(a.predict(x, batch_size=batch_size), a.predict(x, batch_size=3))
    assert a.evaluate(x, y, batch_size=batch_size) == pytest.approx(a.evaluate(x, y, batch_size=4), rel=1e-12)


def test_fit_many_absurd_batch_size_does_not_crash():
    """fastnn.many.fit_many(batch_size=2**62) must not take the interpreter down."""
    rc, out = _run("""
        import numpy as np, fastnn as fnn
        m = fnn.Sequential([fnn.Input(3), fnn.layers.Dense(2)], seed=0)
        m.compile("sgd", "mse")
        ms = fnn.many.fit_many(m, np.ones((8, 3)), np.ones((8, 2)), [{"seed": 0}, {"seed": 1}], batch_size=2**62)
        one = fnn.many.fit_many(m, np.ones((8, 3)), np.ones((8, 2)), [{"seed": 0}, {"seed": 1}], batch_size=8)
        assert all(np.array_equal(a, b) for p, q in zip(ms, one) for a, b in zip(p.get_weights(), q.get_weights()))
        print("survived")
    """)
    assert rc == 0 and "survived" in out, (rc, out[-500:])


# declared sizes numpy still accepts for a view (<= 2**62 bytes) but nobody can allocate
HUGE = [(2**40, 2**20), (2**60,), (2**30, 2**29, 2)]


@pytest.mark.parametrize("shape", HUGE)
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu"])
def test_huge_views_in_activations(name, shape):
    with pytest.raises((MemoryError, ValueError)):
        getattr(ops, name)(_zeros(shape))


@pytest.mark.parametrize("shape", HUGE)
def test_huge_views_in_optimizer_losses_and_models(shape):
    p = np.zeros(4, np.float32)
    with pytest.raises((MemoryError, ValueError)):
        ops.sgd_update(p, _zeros(shape), lr=0.1)
    with pytest.raises((MemoryError, ValueError)):
        ops.global_norm(_zeros(shape))
    with pytest.raises((MemoryError, ValueError)):
        fnn.losses.MeanSquaredError()(_zeros(shape), _zeros(shape))
    assert not p.any()
    m = fnn.Sequential([fnn.Input(3), L.Dense(2)], seed=0)
    m.compile("sgd", "mse")
    w = m.get_weights()
    n = 2**40  # outputs of 8 TiB: cannot be allocated
    rows = _zeros((n, 3))
    for call in (lambda: m.predict(rows), lambda: m.fit(rows, _zeros((n, 2)), verbose=0),
                 lambda: m.evaluate(rows, _zeros((n, 2)))):
        with pytest.raises((MemoryError, ValueError)):
            call()
    assert all(np.array_equal(a, b) for a, b in zip(w, m.get_weights()))


# ------------------------------------------------------------------ crafted model files


def _good(tmp_path):
    m = fnn.Sequential([fnn.Input(3), L.Dense(2)], seed=0)
    m.compile(fnn.optimizers.Adam(0.01), "mse")
    p = tmp_path / "good.fnn"
    m.save(p)
    with zipfile.ZipFile(p) as z:
        return m, {n: z.read(n) for n in z.namelist()}


def _zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return path


def _header(shape, descr="<f4"):
    b = _io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": descr, "fortran_order": False, "shape": shape})
    return b.getvalue()


@pytest.mark.parametrize("member", ["params.npy", "config.npy", "opt_0.npy", "counters.npy"])
@pytest.mark.parametrize("shape", [(2**60,), (2**33,), (2**31, 2**31, 4), (2**62, 0)])
def test_absurd_npy_headers_raise_valueerror_before_allocating(tmp_path, member, shape):
    """A header claiming 2**60 elements used to reach np.load's allocation (MemoryError,
    or a 32 GiB allocation for 2**33)."""
    _, members = _good(tmp_path)
    descr = "|u1" if member == "config.npy" else ("<i8" if member == "counters.npy" else "<f4")
    p = _zip(tmp_path / "bad.fnn", {**members, member: _header(shape, descr) + b"\0" * 64})
    with pytest.raises(ValueError):
        fnn.load_model(p)


def test_zip_header_corruption_raises_valueerror(tmp_path):
    """Flags and fields zipfile refuses with NotImplementedError / RuntimeError."""
    m, members = _good(tmp_path)
    data = _zip(tmp_path / "ok.fnn", members).read_bytes()
    assert np.array_equal(fnn.load_model(tmp_path / "ok.fnn").predict(np.ones((1, 3))), m.predict(np.ones((1, 3))))
    cd = data.rfind(b"PK\x01\x02")  # the last central-directory entry
    for off, val in [(8, 0x41), (8, 0x20), (10, 0x63), (6, 99)]:  # encrypted / patched / method 99 / version
        bad = bytearray(data)
        bad[cd + off] = val
        (tmp_path / "bad.fnn").write_bytes(bytes(bad))
        with pytest.raises(ValueError):
            fnn.load_model(tmp_path / "bad.fnn")


def test_architecture_weight_mismatch(tmp_path):
    """A config from one architecture with the arrays of another."""
    _, small = _good(tmp_path)
    big = fnn.Sequential([fnn.Input(3), L.Dense(50)], seed=0)
    big.compile(fnn.optimizers.Adam(0.01), "mse")
    big.save(tmp_path / "big.fnn")
    with zipfile.ZipFile(tmp_path / "big.fnn") as z:
        big_members = {n: z.read(n) for n in z.namelist()}
    p = _zip(tmp_path / "mix.fnn", {**big_members, "config.npy": small["config.npy"]})
    with pytest.raises(ValueError, match="params"):
        fnn.load_model(p)


def test_object_member_is_refused_before_unpickling(tmp_path):
    """An object-dtype member that is not one load_model reads (an extra name) is still
    refused, and its payload never runs."""
    _, members = _good(tmp_path)
    marker = tmp_path / "ran"
    payload = np.empty(1, dtype=object)
    payload[0] = _Marker(marker)
    b = _io.BytesIO()
    np.save(b, payload, allow_pickle=True)
    p = _zip(tmp_path / "extra.fnn", {**members, "extra.npy": b.getvalue()})
    with pytest.raises(ValueError, match="object"):
        fnn.load_model(p)
    assert not marker.exists()
    np.load(_io.BytesIO(b.getvalue()), allow_pickle=True)  # the payload is live
    assert marker.exists()


class _Marker:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


# ------------------------------------------------------------------ numerical faults


def test_nan_mid_training_names_epoch_and_batch(capsys):
    """Epoch 0 trains normally.  In epoch 1 row 25 holds 1e30 (finite float32): batch 2
    (rows 20-29) still has a finite loss (accumulated in float64), but its gradient
    ~2 * 1e30 * 1e30 / 10 overflows float32, so the weights become Inf/NaN and batch 3 is
    the first non-finite loss.  TerminateOnNaN must name epoch 1 (printed 1-based as
    "Epoch 2") and batch 3, and the engine must have stopped there (4 + 4 steps)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = rng.normal(size=(40, 1)).astype(np.float32)
    m = fnn.Sequential([fnn.Input(4), L.Dense(1)], seed=0)
    m.compile(fnn.optimizers.SGD(1e-3), "mse")
    h0 = m.fit(x, y, batch_size=10, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(h0.history["loss"][0])
    x[25] = 1e30
    t = fnn.callbacks.TerminateOnNaN()
    with np.errstate(all="ignore"):
        h = m.fit(x, y, batch_size=10, epochs=3, verbose=0, shuffle=False, callbacks=[t], initial_epoch=1)
    assert t.terminated_at == (1, 3)
    assert m.optimizer.iterations == 8 and m.stop_training
    assert len(h.history["loss"]) == 1 and not np.isfinite(h.history["loss"][0])
    assert "Epoch 2, Batch 3: invalid loss" in capsys.readouterr().out


@pytest.mark.parametrize("clip", [{"clipnorm": 1.0}, {"global_clipnorm": 1.0}, {"clipvalue": 0.5}])
def test_clipping_keeps_exploding_gradients_finite(clip):
    """Targets of 1e15 give gradients of ~1e16: unclipped SGD overflows float32 within a few
    epochs; clipped, every step moves each weight by at most lr * c."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = (rng.normal(size=(64, 1)) * 1e15).astype(np.float32)

    def run(**kw):
        m = fnn.Sequential([fnn.Input(8), L.Dense(16, activation="relu"), L.Dense(1)], seed=2)
        m.compile(fnn.optimizers.SGD(0.1, **kw), "mse")
        w0 = m.get_weights()
        with np.errstate(all="ignore"):
            m.fit(x, y, batch_size=8, epochs=5, verbose=0)
        return w0, m.get_weights()

    _, raw = run()
    assert not all(np.isfinite(w).all() for w in raw)  # the scenario really explodes
    w0, w = run(**clip)
    assert all(np.isfinite(a).all() for a in w)
    c = next(iter(clip.values()))
    steps = 5 * 8
    for a, b in zip(w0, w):
        assert np.abs(a - b).max() <= 0.1 * c * steps * (1 + 1e-5) * (np.sqrt(a.size) if "clipvalue" in clip else 1)


SATURATING = np.array([0, 1e-30, -1e-30, 1, -1, 1e4, -1e4, 1e10, -1e10, 1e20, -1e20, 1e30, -1e30,
                       3.0e38, -3.0e38], np.float32)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "elu", "selu", "gelu", "softplus", "silu",
                                  "swish", "mish", "leaky_relu", "softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturating_inputs_never_make_nan(name, dtype):
    x = SATURATING.astype(dtype)
    for arr in (x, x.reshape(-1, 1), x.reshape(3, 5)):
        r = getattr(ops, name)(arr)
        assert not np.isnan(r).any(), (name, arr[np.isnan(r)])
        dy = np.ones_like(arr)
        if name not in ("softmax", "log_softmax"):
            g = ops.activation_grad(name, arr, dy)
            assert not np.isnan(g).any(), (name, "grad", arr[np.isnan(g)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturating_logits_never_make_nan_in_losses(dtype):
    z = SATURATING.astype(dtype)
    logits = np.stack([z, -z, np.zeros_like(z)], axis=1)          # (15, 3)
    labels = np.arange(15) % 3
    onehot = np.eye(3, dtype=dtype)[labels]
    binary = (np.arange(15) % 2).astype(dtype)[:, None]
    Ls = fnn.losses
    for loss, yt, yp in [(Ls.SparseCategoricalCrossentropy(from_logits=True), labels, logits),
                         (Ls.CategoricalCrossentropy(from_logits=True), onehot, logits),
                         (Ls.BinaryCrossentropy(from_logits=True), binary, z[:, None])]:
        v = loss(yt, yp)
        assert not np.isnan(v), (type(loss).__name__, dtype)
    # BCE from logits against the stable float64 formula (finite even at |z| = 3e38)
    z64, t = z.astype(np.float64), binary[:, 0].astype(np.float64)
    ref = np.mean(np.maximum(z64, 0) - z64 * t + np.log1p(np.exp(-np.abs(z64))))
    assert Ls.BinaryCrossentropy(from_logits=True)(binary, z[:, None]) == pytest.approx(ref, rel=1e-5)


def test_json_config_bomb_is_refused(tmp_path):
    """A config claiming a layer of 2**40 units: ValueError, quickly, nothing allocated."""
    _, members = _good(tmp_path)
    cfg = json.loads(np.load(_io.BytesIO(members["config.npy"])).tobytes().decode())
    cfg["layers"][0]["config"]["units"] = 2**40
    b = _io.BytesIO()
    np.save(b, np.frombuffer(json.dumps(cfg).encode(), np.uint8))
    p = _zip(tmp_path / "bomb.fnn", {**members, "config.npy": b.getvalue()})
    with pytest.raises(ValueError, match="too large"):
        fnn.load_model(p)
