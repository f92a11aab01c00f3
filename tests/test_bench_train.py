"""The training benchmark (``fastnn bench train``) on tiny sizes: JSON fields, validation
before timing, the NumPy reference peer against float64, the fastnn side through a
stand-in model API (and "unavailable" without one), and the command line."""
import json
import math
import types

import numpy as np
import pytest

import fastnn
from fastnn.bench import train as T
from fastnn.bench.train_peers import NumpyMLP, glorot_uniform_weights
from fastnn.cli import main

SCALE = "0.04"   # with --quick: every network at its minimum of 8 batches


def _strict_load(path):
    def no_constants(name):
        raise ValueError(f"non-standard JSON constant {name}")

    with open(path) as f:
        return json.load(f, parse_constant=no_constants)


def _run(tmp_path, *extra, name="train.json"):
    path = tmp_path / name
    rc = main(["bench", "train", "--quick", "--scale", SCALE, "--json", str(path), *extra])
    return rc, _strict_load(path)


def _have_torch():
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


def _check_timed_side(rec, rows):
    assert rec["status"] == "ok", rec
    v = rec["validation"]
    assert v["loss_decreased"]["ok"] is True
    assert v["loss_decreased"]["after"] < v["loss_decreased"]["before"]
    assert v["forward"]["ok"] is True and v["forward"]["err_over_tol"] <= 1.0
    for kind in ("train", "predict"):
        t = rec["timing"][kind]
        assert t["repeats"] == 1 and 0 < t["min_s"] <= t["median_s"]
        assert rec["samples_per_s"][kind] == pytest.approx(rows / t["median_s"])
    # warm-up + one timed epoch (+ a discarded block's epochs when it was re-timed)
    t = rec["timing"]["train"]
    assert rec["epochs_trained"] == 2 + t.get("discarded_calls", 0) + t.get("warmup_calls", 0)
    assert math.isfinite(rec["loss"]["final"]) and rec["loss"]["final"] < rec["loss"]["initial"]
    assert 0.0 <= rec["accuracy"]["final"] <= 1.0


# --------------------------------------------------------------- stand-in model API
class _Input:
    def __init__(self, n):
        self.n = n


class _Dense:
    def __init__(self, units, activation=None, kernel_initializer="glorot_uniform"):
        self.units, self.activation, self.init = units, activation, kernel_initializer


class _Adam:
    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.kw = dict(lr=learning_rate, beta1=beta_1, beta2=beta_2, eps=epsilon)


class _SCCE:
    def __init__(self, from_logits=False):
        self.from_logits = from_logits


class _Sequential:
    """A NumPy stand-in for fastnn.Sequential with the calls the benchmark makes."""

    calls = []

    def __init__(self, layers, seed=None):
        assert isinstance(layers[0], _Input)
        assert [d.activation for d in layers[1:]] == ["relu"] * (len(layers) - 2) + [None]
        assert all(d.init == "glorot_uniform" for d in layers[1:])
        self.sizes = [layers[0].n] + [d.units for d in layers[1:]]
        self.seed = seed

    def compile(self, optimizer, loss):
        assert loss.from_logits is True
        assert optimizer.kw == dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
        self.net = NumpyMLP(glorot_uniform_weights(self.sizes, self.seed), **optimizer.kw)

    def fit(self, X, y, batch_size=32, epochs=1, shuffle=True, verbose=1, seed=None):
        assert X.dtype == np.float32 and epochs == 1 and shuffle and verbose == 0
        type(self).calls.append(seed)
        self.net.train_epoch(X, y, batch_size)

    def predict(self, X, batch_size=32):
        assert batch_size == T.PREDICT_BATCH
        return self.net.predict(X, batch_size)

    def get_weights(self):
        return self.net.get_weights()


@pytest.fixture
def stand_in_api(monkeypatch):
    _Sequential.calls = []
    monkeypatch.setattr(fastnn, "Sequential", _Sequential, raising=False)
    monkeypatch.setattr(fastnn, "layers", types.SimpleNamespace(Input=_Input, Dense=_Dense),
                        raising=False)
    monkeypatch.setattr(fastnn, "optimizers", types.SimpleNamespace(Adam=_Adam), raising=False)
    monkeypatch.setattr(fastnn, "losses", types.SimpleNamespace(SparseCategoricalCrossentropy=_SCCE),
                        raising=False)
    return _Sequential


# --------------------------------------------------------------- whole runs
@pytest.fixture(scope="module")
def quick_doc(tmp_path_factory):
    """One quick run on this build (all three networks, default peers)."""
    rc, doc = _run(tmp_path_factory.mktemp("train"))
    return rc, doc


def test_quick_run_json_structure(quick_doc):
    rc, doc = quick_doc
    assert rc == 0
    assert doc["schema"] == T.SCHEMA
    env = doc["environment"]
    assert env["cpu"] and env["fastnn"]["version"] == fastnn.__version__
    assert env["fastnn"]["arch"] in env["fastnn"]["available_archs"]
    assert env["numpy"]["version"] == np.__version__
    opts = doc["options"]
    assert opts["suite"] == "train" and opts["quick"] is True and opts["repeats"] == 1
    assert opts["scale"] == float(SCALE) and opts["requested_peers"] == ["numpy", "torch"]
    names = [n["name"] for n in doc["networks"]]
    assert names == ["mnist-like 784-512-256-10 B=128", "tabular 20-64-64-2 B=32",
                     "wide 1024-2048-2048-10 B=256"]
    for net in doc["networks"]:
        info = net["info"]
        assert info["rows"] == 8 * info["batch"]   # the minimum: 8 batches
        assert info["batches_per_epoch"] == 8
        sizes = [info["features"], *info["hidden"], info["classes"]]
        assert info["params"] == sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        assert sum(net["label_counts"]) == info["rows"]
        assert set(net["sides"]) == {"numpy", "torch", "sklearn", "fastnn"}
        assert net["sides"]["sklearn"]["status"] == "skipped"   # not requested
        assert set(net["ratio"]) == {"train", "predict"}
    s = doc["summary"]
    assert s["networks"] == 3 and s["numpy"]["ok"] == 3 and s["fastnn_failed"] == 0


def test_quick_run_numpy_side_validated(quick_doc):
    _, doc = quick_doc
    for net in doc["networks"]:
        rec = net["sides"]["numpy"]
        _check_timed_side(rec, net["info"]["rows"])
        assert rec["validation"]["loss"]["ok"] is True
        assert rec["validation"]["loss"]["value"] == pytest.approx(
            rec["validation"]["loss"]["reference"], rel=1e-4)


def test_quick_run_torch_and_fastnn_sides(quick_doc):
    _, doc = quick_doc
    for net in doc["networks"]:
        rows = net["info"]["rows"]
        torch_rec, fz = net["sides"]["torch"], net["sides"]["fastnn"]
        if _have_torch():
            _check_timed_side(torch_rec, rows)
            # same initial weights as NumPy: same loss before training
            assert torch_rec["loss"]["initial"] == pytest.approx(
                net["sides"]["numpy"]["loss"]["initial"], rel=1e-5)
            assert net["ratio"]["train"]["vs_numpy"]["torch"] > 0
        else:
            assert torch_rec["status"] == "skipped" and "not installed" in torch_rec["reason"]
        assert fz["status"] in ("ok", "unavailable"), fz
        if fz["status"] == "unavailable":
            assert "not available" in fz["reason"]
            assert "fastnn" not in net["ratio"]["train"]["vs_numpy"]
            assert net["ratio"]["train"]["torch_over_fastnn"] is None
        else:
            _check_timed_side(fz, rows)
            for kind in ("train", "predict"):
                assert net["ratio"][kind]["vs_numpy"]["fastnn"] > 0
                if _have_torch():
                    assert net["ratio"][kind]["torch_over_fastnn"] > 0


def test_fastnn_side_through_stand_in_api(tmp_path, stand_in_api, capsys):
    rc, doc = _run(tmp_path, "--filter", "tabular")
    out = capsys.readouterr().out
    assert rc == 0, out
    (net,) = doc["networks"]
    fz = net["sides"]["fastnn"]
    _check_timed_side(fz, net["info"]["rows"])
    assert fz["info"]["adam_kwargs"] == {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}
    assert fz["info"]["seeded"] is True
    assert stand_in_api.calls == [0, 1]   # a new shuffle seed every epoch
    numpy_t = net["sides"]["numpy"]["timing"]["train"]["median_s"]
    assert net["ratio"]["train"]["vs_numpy"]["fastnn"] == pytest.approx(
        numpy_t / fz["timing"]["train"]["median_s"])
    if _have_torch():
        torch_t = net["sides"]["torch"]["timing"]["train"]["median_s"]
        assert net["ratio"]["train"]["torch_over_fastnn"] == pytest.approx(
            torch_t / fz["timing"]["train"]["median_s"])
    assert doc["summary"]["fastnn"]["ok"] == 1
    assert "tabular 20-64-64-2" in out and "fastnn" in out


class _NoBiasPredict(_Sequential):
    def predict(self, X, batch_size=32):
        w = self.net.get_weights()
        h = X
        for i in range(0, len(w), 2):
            h = h @ w[i]
            if i < len(w) - 2:
                h = np.maximum(h, 0)
        return h


class _NoTraining(_Sequential):
    def fit(self, X, y, **kw):
        pass


@pytest.mark.parametrize("cls, check", [(_NoBiasPredict, "forward"),
                                        (_NoTraining, "loss_decreased")])
def test_wrong_fastnn_side_is_invalid_and_not_timed(tmp_path, stand_in_api, monkeypatch,
                                                    capsys, cls, check):
    monkeypatch.setattr(fastnn, "Sequential", cls)
    rc, doc = _run(tmp_path, "--filter", "tabular")
    assert rc == 1
    fz = doc["networks"][0]["sides"]["fastnn"]
    assert fz["status"] == "invalid"
    assert fz["validation"][check]["ok"] is False
    assert check in fz["reason"]
    assert fz["timing"] == {}
    assert doc["summary"]["fastnn_failed"] == 1
    assert doc["networks"][0]["sides"]["numpy"]["status"] == "ok"
    assert "INVALID" in capsys.readouterr().out


def test_raising_fastnn_side_is_error_without_traceback(tmp_path, stand_in_api, monkeypatch,
                                                        capsys):
    def broken(self, *a, **k):
        raise RuntimeError("epoch exploded")

    monkeypatch.setattr(_Sequential, "fit", broken)
    rc, doc = _run(tmp_path, "--filter", "tabular")
    out = capsys.readouterr()
    assert rc == 1
    fz = doc["networks"][0]["sides"]["fastnn"]
    assert fz["status"] == "error" and "epoch exploded" in fz["reason"]
    assert "Traceback" not in out.out + out.err


def test_missing_model_api_is_unavailable(tmp_path, stand_in_api, monkeypatch):
    monkeypatch.delattr(fastnn, "Sequential")
    rc, doc = _run(tmp_path, "--filter", "tabular")
    assert rc == 0
    fz = doc["networks"][0]["sides"]["fastnn"]
    assert fz["status"] == "unavailable" and "Sequential" in fz["reason"]


def test_threads_applied_and_restored(tmp_path):
    before = fastnn.get_num_threads()
    rc, doc = _run(tmp_path, "--filter", "tabular", "--threads", "1", "--peers", "numpy")
    assert rc == 0
    assert doc["environment"]["fastnn"]["num_threads"] == 1
    assert doc["options"]["threads"] == 1
    assert doc["networks"][0]["sides"]["torch"]["status"] == "skipped"
    assert fastnn.get_num_threads() == before


def test_filter_matching_nothing_fails(capsys):
    assert main(["bench", "train", "--quick", "--filter", "no-such-network"]) == 2
    assert "no network matches" in capsys.readouterr().out


def test_bench_all_runs_kernels_then_train(tmp_path, monkeypatch, capsys):
    import fastnn.bench.kernels as K

    every_case = K.all_cases
    monkeypatch.setattr(K, "all_cases", lambda quick=False: every_case(quick)[:2])
    monkeypatch.setattr(T, "NETWORKS", (T.Network("tiny", 64, 12, (16,), 3, 8),))
    # the sklearn suite that follows is tested in test_bench_sklearn.py
    import fastnn.bench.sklearn_dropin as S

    monkeypatch.setattr(S, "run_sklearn", lambda **kw: {"summary": {"fastnn_failed": False}})
    path = tmp_path / "all.json"
    rc = main(["bench", "all", "--quick", "--json", str(path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    doc = _strict_load(path)
    assert doc["schema"] == "fastnn-bench-all/1"
    assert doc["kernels"]["options"]["suite"] == "kernels"
    assert doc["kernels"]["summary"]["cases"] == 2
    assert doc["train"]["schema"] == T.SCHEMA
    assert [n["name"] for n in doc["train"]["networks"]] == ["tiny 12-16-3 B=8"]
    assert doc["train"]["networks"][0]["sides"]["numpy"]["status"] == "ok"
    assert out.index("kernel benchmark") < out.index("training benchmark")
    assert doc["sklearn"] == {"summary": {"fastnn_failed": False}}


@pytest.mark.parametrize("argv, fragment", [
    (["bench", "train", "--scale", "0"], "--scale"),
    (["bench", "train", "--scale", "nan"], "--scale"),
    (["bench", "train", "--peers", "numpy,jax"], "jax"),
    (["bench", "train", "--repeats", "0"], "--repeats"),
    (["bench", "all", "--filter", "x"], "--filter"),
    (["bench"], "train"),
])
def test_bad_options_one_line_error(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err


# --------------------------------------------------------------- the parts
def test_networks_rows_and_filter():
    full = {n.key: n for n in T.networks()}
    assert (full["mnist-like"].rows, full["tabular"].rows, full["wide"].rows) == (60000, 20000, 16384)
    assert full["mnist-like"].sizes == (784, 512, 256, 10) and full["wide"].batch == 256
    quick = {n.key: n.rows for n in T.networks(quick=True)}
    assert quick == {"mnist-like": 15000, "tabular": 5000, "wide": 4096}
    tiny = {n.key: n.rows for n in T.networks(quick=True, scale=0.01)}
    assert tiny == {"mnist-like": 1024, "tabular": 256, "wide": 2048}
    assert [n.key for n in T.networks(filter="WIDE,20-64")] == ["tabular", "wide"]


def test_make_data_standardized_learnable_and_seeded():
    net = T.Network("t", 3000, 20, (8,), 2, 32)
    X, y = T.make_data(net)
    assert X.dtype == np.float32 and X.flags.c_contiguous and y.dtype == np.int64
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(axis=0), 1, rtol=1e-4)
    assert 0.2 < y.mean() < 0.8
    # labels come from a linear teacher: least squares on X separates them well
    A = np.c_[X.astype(np.float64), np.ones(len(X))]
    coef = np.linalg.lstsq(A, 2.0 * y - 1, rcond=None)[0]
    assert np.mean((A @ coef > 0) == (y == 1)) > 0.95
    X2, y2 = T.make_data(net)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_glorot_uniform_weights():
    w = glorot_uniform_weights((300, 200, 5), seed=1)
    assert [a.shape for a in w] == [(300, 200), (200,), (200, 5), (5,)]
    limit = math.sqrt(6 / 500)
    assert np.abs(w[0]).max() <= limit and np.abs(w[0]).max() > 0.99 * limit
    assert w[0].std() == pytest.approx(limit / math.sqrt(3), rel=0.02)
    assert not w[1].any() and not w[3].any()


def _loss64(params, X, y):
    return T.xent64(T.forward64(params, X)[0], y)


def test_numpy_peer_gradient_and_adam_step_against_float64():
    rng = np.random.default_rng(3)
    sizes = (5, 7, 6, 3)
    w = glorot_uniform_weights(sizes, seed=2)
    w = [a + rng.uniform(-0.3, 0.3, a.shape).astype(np.float32) for a in w]  # biases too
    X = rng.standard_normal((9, 5)).astype(np.float32)
    y = rng.integers(0, 3, 9)
    net = NumpyMLP(w, lr=1e-2)
    loss = net.train_step(X, y)
    p64 = [a.astype(np.float64) for a in w]
    assert loss == pytest.approx(_loss64(p64, X, y), rel=1e-5)
    h = 1e-6
    for k, p in enumerate(p64):
        num = np.empty_like(p)
        for idx in np.ndindex(p.shape):
            plus = [q.copy() for q in p64]
            minus = [q.copy() for q in p64]
            plus[k][idx] += h
            minus[k][idx] -= h
            num[idx] = (_loss64(plus, X, y) - _loss64(minus, X, y)) / (2 * h)
        np.testing.assert_allclose(net.grads[k], num, rtol=1e-3, atol=1e-5)
        # first Adam step: m_hat = g, v_hat = g*g  ->  p - lr*g/(|g| + eps)
        g = net.grads[k].astype(np.float64)
        np.testing.assert_allclose(net.params[k], p - 1e-2 * g / (np.abs(g) + 1e-8),
                                   rtol=1e-5, atol=1e-6)


def test_numpy_peer_epoch_visits_every_row_once(monkeypatch):
    w = glorot_uniform_weights((4, 3, 2), seed=0)
    net = NumpyMLP(w)
    seen = []
    monkeypatch.setattr(net, "train_step", lambda xb, yb: seen.append(xb[:, 0].copy()) or 0.5)
    X = np.arange(40, dtype=np.float32).reshape(10, 4)
    assert net.train_epoch(X, np.zeros(10, dtype=np.int64), 4) == 0.5
    assert [len(s) for s in seen] == [4, 4, 2]
    assert sorted(np.concatenate(seen)) == list(X[:, 0])
    assert not np.array_equal(np.concatenate(seen), X[:, 0])   # shuffled


def test_forward64_bound_catches_a_wrong_forward():
    w = glorot_uniform_weights((30, 20, 4), seed=5)
    w[1] += 0.1
    X = np.random.default_rng(0).standard_normal((16, 30)).astype(np.float32)
    ref, bound = T.forward64(w, X)
    good = NumpyMLP(w).predict(X)
    assert np.all(np.abs(good - ref) <= bound)
    bad = np.maximum(X @ w[0], 0) @ w[2] + w[3]   # bias of the hidden layer missing
    assert np.any(np.abs(bad - ref) > bound)


def test_torch_peer_matches_numpy_peer():
    torch = pytest.importorskip("torch")
    from fastnn.bench.train_peers import TorchMLP

    rng = np.random.default_rng(4)
    w = glorot_uniform_weights((6, 8, 3), seed=1)
    X = rng.standard_normal((10, 6)).astype(np.float32)
    y = rng.integers(0, 3, 10)
    a, b = NumpyMLP(w), TorchMLP(torch, w)
    np.testing.assert_allclose(b.predict(X), a.predict(X), rtol=1e-5, atol=1e-6)
    for _ in range(3):   # same minibatch: the same Adam trajectory
        a.train_step(X, y)
        opt = b.optimizer
        opt.zero_grad()
        torch.nn.functional.cross_entropy(b.model(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        opt.step()
    for pa, pb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(pb, pa, rtol=1e-4, atol=1e-6)
