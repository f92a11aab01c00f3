"""The scikit-learn drop-in benchmark (``fastnn bench sklearn``) and scikit-learn as a peer
of ``fastnn bench train``, on quick sizes: JSON fields, plausible accuracies, the reported
ratios, unavailable scikit-learn, exit statuses. Timings are not tested."""
import io
import statistics
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

import fastnn  # noqa: E402
from fastnn.bench import sklearn_dropin as S  # noqa: E402
from fastnn.bench.train_peers import SklearnMLP  # noqa: E402
from fastnn.cli import main  # noqa: E402
from test_bench_train import SCALE, _strict_load  # noqa: E402


def _check_side(rec, n_seeds, max_iter):
    assert rec["status"] == "ok", rec
    assert rec["layers"] == [64, 128, 64, 10]
    assert rec["warmup_fit_s"] > 0
    assert [r["seed"] for r in rec["runs"]] == list(range(n_seeds))
    accs = rec["accuracy"]["per_seed"]
    assert accs == [r["accuracy"] for r in rec["runs"]]
    assert all(0.8 < a <= 1.0 for a in accs)
    assert rec["accuracy"]["mean"] == pytest.approx(statistics.fmean(accs))
    t = rec["fit_s"]
    assert t["times_s"] == [r["fit_s"] for r in rec["runs"]] and t["repeats"] == n_seeds
    assert t["median_s"] == pytest.approx(statistics.median(t["times_s"]))
    assert 0 < t["min_s"] <= t["median_s"]
    assert rec["n_iter"] == [r["n_iter"] for r in rec["runs"]]
    assert all(1 <= n <= max_iter for n in rec["n_iter"])


def _check_doc(doc, n_seeds, max_iter):
    assert doc["schema"] == S.SCHEMA
    opts = doc["options"]
    assert opts["suite"] == "sklearn" and opts["seeds"] == n_seeds
    assert opts["max_iter"] == max_iter and opts["hidden_layer_sizes"] == [128, 64]
    assert opts["batch_size"] == 32 and opts["test_size"] == 0.25
    assert doc["data"]["rows"] == 1797 and doc["data"]["test_rows"] == 450
    assert doc["environment"]["sklearn"]["version"]
    assert doc["environment"]["fastnn"]["version"] == fastnn.__version__
    assert list(doc["sides"]) == ["sklearn", "fastnn"]
    for side in doc["sides"].values():
        _check_side(side, n_seeds, max_iter)
    sk, fz = doc["sides"]["sklearn"], doc["sides"]["fastnn"]
    assert sk["estimator"] == "sklearn.neural_network._multilayer_perceptron.MLPClassifier"
    assert fz["estimator"] == "fastnn.sklearn.MLPClassifier"
    c = doc["comparison"]
    assert c["speedup"] == pytest.approx(sk["fit_s"]["median_s"] / fz["fit_s"]["median_s"])
    assert c["speedup_best"] == pytest.approx(sk["fit_s"]["min_s"] / fz["fit_s"]["min_s"])
    assert c["accuracy_diff_pp"] == pytest.approx(
        100 * (fz["accuracy"]["mean"] - sk["accuracy"]["mean"]))
    assert len(c["accuracy_diff_pp_per_seed"]) == n_seeds
    assert c["targets"]["speedup"]["threshold"] == 10.0
    assert c["targets"]["accuracy"]["threshold"] == 0.5
    assert doc["summary"]["fastnn_failed"] is False


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """``fastnn bench sklearn --quick`` through the command line entry point."""
    path = tmp_path_factory.mktemp("sk") / "sk.json"
    before = fastnn.get_num_threads()
    capture = io.StringIO()
    stdout, sys.stdout = sys.stdout, capture
    try:
        rc = main(["bench", "sklearn", "--quick", "--threads", "1", "--json", str(path)])
    finally:
        sys.stdout = stdout
    assert fastnn.get_num_threads() == before
    return rc, _strict_load(path), capture.getvalue()


def test_quick_suite_through_cli(cli_run):
    rc, doc, out = cli_run
    assert rc == 0, out
    _check_doc(doc, n_seeds=2, max_iter=20)
    assert doc["options"]["quick"] is True and doc["options"]["threads"] == 1
    assert doc["environment"]["fastnn"]["num_threads"] == 1
    for t in doc["comparison"]["targets"].values():   # quick runs are not judged
        assert t["status"] == "n/a" and "quick" in t["why"]
    assert doc["summary"]["targets_na"] == 2
    assert "scikit-learn drop-in benchmark" in out and "speedup" in out
    assert out.count("\nsklearn ") >= 3 and out.count("\nfastnn ") >= 3   # 2 seeds + summary
    assert "JSON report written" in out


def test_quick_suite_through_python_function(tmp_path):
    path = tmp_path / "sk.json"
    out = io.StringIO()
    doc = S.run_sklearn(quick=True, seeds=1, threads=1, json_path=str(path), file=out)
    _check_doc(doc, n_seeds=1, max_iter=20)
    saved = _strict_load(path)
    assert saved["comparison"]["speedup"] == pytest.approx(doc["comparison"]["speedup"])
    assert "seeds 0..0" in out.getvalue()


def _side(median, mean, status="ok"):
    return {"status": status, "fit_s": {"median_s": median, "min_s": median},
            "accuracy": {"mean": mean, "per_seed": [mean]}}


@pytest.mark.parametrize("sk, fz, speed, acc", [
    (_side(1.0, 0.97), _side(0.05, 0.968), "met", "met"),
    (_side(1.0, 0.97), _side(0.2, 0.96), "not met", "not met"),
    (_side(1.0, 0.97), _side(0.1, 0.974), "met", "met"),       # exactly 10x
    (_side(1.0, 0.97), _side(0.101, 0.964), "not met", "not met"),
])
def test_targets_judged(sk, fz, speed, acc):
    c = S.compare({"sklearn": sk, "fastnn": fz}, judged=True)
    assert c["speedup"] == pytest.approx(1.0 / fz["fit_s"]["median_s"])
    assert c["targets"]["speedup"]["status"] == speed
    assert c["targets"]["accuracy"]["status"] == acc


def test_targets_without_a_side():
    c = S.compare({"sklearn": _side(1.0, 0.9), "fastnn": {"status": "error"}}, judged=True)
    assert c["speedup"] is None and c["accuracy_diff_pp"] is None
    assert {t["status"] for t in c["targets"].values()} == {"n/a"}


@pytest.mark.parametrize("argv, fragment", [
    (["bench", "sklearn", "--seeds", "0"], "--seeds"),
    (["bench", "sklearn", "--seeds", "two"], "--seeds"),
    (["bench", "sklearn", "--peers", "numpy"], "--peers"),
    (["bench", "train", "--peers", "numpy,sklearn,jax"], "jax"),
    (["bench", "kernels", "--peers", "numpy,sklearn"], "no kernel benchmarks"),
])
def test_bad_options_one_line_error(capsys, argv, fragment):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("fastnn") and fragment in err
    assert "Traceback" not in captured.err + captured.out


def test_bad_seeds_in_python():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="seeds"):
            S.run_sklearn(quick=True, seeds=bad, file=io.StringIO())


@pytest.fixture
def no_sklearn(monkeypatch):
    """scikit-learn cannot be imported (``import sklearn`` raises ImportError)."""
    monkeypatch.setitem(sys.modules, "sklearn", None)


def test_suite_without_sklearn_is_a_one_line_error(no_sklearn, capsys):
    assert main(["bench", "sklearn", "--quick"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("fastnn: error:")
    assert "scikit-learn" in err and captured.out == ""
    with pytest.raises(S.SklearnUnavailable):
        S.run_sklearn(quick=True, file=io.StringIO())


# --------------------------------------------------------------- sklearn in bench train
def _train(tmp_path, *extra):
    path = tmp_path / "train.json"
    rc = main(["bench", "train", "--quick", "--scale", SCALE, "--filter", "tabular",
               "--threads", "1", "--json", str(path), *extra])
    return rc, _strict_load(path)


def test_train_with_sklearn_peer(tmp_path, capsys):
    rc, doc = _train(tmp_path, "--peers", "numpy,sklearn")
    out = capsys.readouterr().out
    assert rc == 0, out
    assert doc["options"]["peers"] == ["numpy", "sklearn"]
    assert doc["environment"]["sklearn"]["version"]
    (net,) = doc["networks"]
    rec = net["sides"]["sklearn"]
    assert rec["status"] == "ok", rec
    v = rec["validation"]
    assert v["loss_decreased"]["ok"] is True and v["forward"]["ok"] is True
    assert rec["loss"]["after_warmup"] < rec["loss"]["initial"]
    for kind in ("train", "predict"):
        assert rec["timing"][kind]["repeats"] == 1
        assert rec["samples_per_s"][kind] == pytest.approx(
            net["info"]["rows"] / rec["timing"][kind]["median_s"])
        assert net["ratio"][kind]["sklearn_over_fastnn"] == pytest.approx(
            rec["timing"][kind]["median_s"]
            / net["sides"]["fastnn"]["timing"][kind]["median_s"])
    assert rec["epochs_trained"] == 2 and 0 <= rec["accuracy"]["final"] <= 1
    assert rec["info"]["batch_size"] == 32 and rec["info"]["epsilon"] == 1e-8
    assert net["sides"]["torch"]["status"] == "skipped"
    assert doc["summary"]["sklearn"]["ok"] == 1
    assert "sklearn time / fastnn time" in out


def test_train_sklearn_not_requested_is_skipped(tmp_path, capsys):
    rc, doc = _train(tmp_path, "--peers", "numpy")
    assert rc == 0
    rec = doc["networks"][0]["sides"]["sklearn"]
    assert rec["status"] == "skipped" and "not requested" in rec["reason"]
    assert "sklearn" not in doc["environment"]


def test_train_without_sklearn_reports_unavailable(tmp_path, no_sklearn):
    rc, doc = _train(tmp_path, "--peers", "numpy,sklearn")
    assert rc == 0
    rec = doc["networks"][0]["sides"]["sklearn"]
    assert rec["status"] == "unavailable" and "not installed" in rec["reason"]
    assert doc["summary"]["sklearn"]["unavailable"] == 1
    assert doc["networks"][0]["sides"]["fastnn"]["status"] == "ok"


def test_patched_sklearn_is_not_compared_with_itself(tmp_path):
    import fastnn.sklearn as fsk

    fsk.patch()
    try:
        rc, doc = _train(tmp_path, "--peers", "numpy,sklearn")
        with pytest.raises(S.SklearnUnavailable, match="unpatch"):
            S.run_sklearn(quick=True, file=io.StringIO())
    finally:
        fsk.unpatch()
    rec = doc["networks"][0]["sides"]["sklearn"]
    assert rec["status"] == "unavailable" and "unpatch" in rec["reason"]


def test_sklearn_peer_start_does_not_touch_the_model():
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((96, 5)).astype(np.float32)
    y = rng.integers(0, 3, 96)
    peer = SklearnMLP(MLPClassifier, (7,), 3, batch_size=16)
    peer.start(X, y)
    start = peer.get_weights()
    assert [w.dtype for w in start] == [np.float32] * 4
    peer.train_epoch(X, y)
    ref = MLPClassifier(hidden_layer_sizes=(7,), alpha=0.0, batch_size=16, random_state=0)
    ref.partial_fit(X, y, classes=np.arange(3))
    got = peer.get_weights()
    want = [w for pair in zip(ref.coefs_, ref.intercepts_) for w in pair]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(start, got))   # it trained


def test_sklearn_peer_binary_weights_give_its_probabilities():
    from sklearn.neural_network import MLPClassifier

    from fastnn.bench.train import forward64, softmax64

    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    peer = SklearnMLP(MLPClassifier, (6,), 2, batch_size=16)
    peer.start(X, y)
    w = peer.get_weights()
    assert w[-2].shape == (6, 2) and not w[-2][:, 0].any()   # logits (0, z)
    p, bound = softmax64(*forward64(w, X))
    proba = peer.predict(X, batch_size=10)
    assert np.all(np.abs(proba - p) <= bound)
    np.testing.assert_allclose(proba, p, atol=1e-6)


# --------------------------------------------------------------- bench all
def _tiny_all(monkeypatch):
    import fastnn.bench.kernels as K
    from fastnn.bench import train as T

    every_case = K.all_cases
    monkeypatch.setattr(K, "all_cases", lambda quick=False: every_case(quick)[:1])
    monkeypatch.setattr(T, "NETWORKS", (T.Network("tiny", 64, 12, (16,), 3, 8),))


def test_bench_all_runs_sklearn_after_train(tmp_path, monkeypatch, capsys):
    _tiny_all(monkeypatch)
    path = tmp_path / "all.json"
    rc = main(["bench", "all", "--quick", "--threads", "1", "--peers", "numpy,sklearn",
               "--json", str(path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    doc = _strict_load(path)
    assert doc["kernels"]["options"]["peers"] == ["numpy"]   # sklearn has no kernels
    assert doc["train"]["networks"][0]["sides"]["sklearn"]["status"] == "ok"
    assert doc["sklearn"]["schema"] == S.SCHEMA and doc["sklearn"]["options"]["quick"] is True
    assert out.index("kernel benchmark") < out.index("training benchmark") \
        < out.index("scikit-learn drop-in benchmark")
    assert "sklearn has no kernel benchmarks" in out


def test_bench_all_without_sklearn_notes_it(tmp_path, monkeypatch, capsys, no_sklearn):
    _tiny_all(monkeypatch)
    path = tmp_path / "all.json"
    rc = main(["bench", "all", "--quick", "--threads", "1", "--json", str(path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    doc = _strict_load(path)
    assert doc["sklearn"]["status"] == "skipped" and "scikit-learn" in doc["sklearn"]["reason"]
    assert "note: scikit-learn drop-in benchmark skipped" in out
