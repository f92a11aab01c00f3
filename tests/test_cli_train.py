"""``fastnn train`` / ``fastnn predict``: CSV, NPZ and NPY input, the embedded digits, the
predict round trip against a NumPy re-implementation of the preprocessing, and one-line
errors (exit status 2, no traceback)."""
import csv
import importlib.util
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _cli_data
from fastnn.cli import main
from fastnn.datasets import load_digits

FAST = ["--epochs", "3", "--hidden", "16", "--quiet"]


# ------------------------------------------------------------------------ helpers
def _run_cli(*args, timeout=120):
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    old = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=pkg_parent + (os.pathsep + old if old else ""))
    return subprocess.run([sys.executable, "-m", "fastnn.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def _blobs(n=240, seed=0):
    """Three well-separated classes in 3 features (plus a constant column)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = np.array([[0, 0, 0], [6, 0, 3], [0, 6, -3]], dtype=float)
    x = centers[y] + rng.normal(size=(n, 3))
    return x, y


def _linear(n=300, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = 2.0 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2] + 10.0 + 0.01 * rng.normal(size=n)
    return x, y


def _value(out, label):
    m = re.search(rf"{label}: (-?[0-9.]+)", out)
    assert m, out
    return float(m.group(1))


@pytest.fixture
def blobs_csv(tmp_path):
    x, y = _blobs()
    rows = [[*map(repr, r), "7", int(c)] for r, c in zip(x.tolist(), y)]
    return _write_csv(tmp_path / "blobs.csv", ["a", "b", "c", "const", "label"], rows)


@pytest.fixture
def linear_csv(tmp_path):
    x, y = _linear()
    rows = [[*map(repr, r), repr(t)] for r, t in zip(x.tolist(), y.tolist())]
    return _write_csv(tmp_path / "lin.csv", ["u", "v", "w", "price"], rows)


# ------------------------------------------------------------------------ train
def test_csv_classification(blobs_csv, capsys):
    assert main(["train", blobs_csv, "--target", "label", "--epochs", "20", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert _value(out, "test accuracy") >= 0.9
    assert _value(out, "validation accuracy") >= 0.8
    assert re.search(r"training time: [0-9.]+s for 20 epochs of \d+ rows \([0-9,]+ samples/s\)", out)


def test_csv_regression_auto_task(linear_csv, capsys):
    assert main(["train", linear_csv, "--target", "price", "--epochs", "40", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" not in out
    assert _value(out, "R2") > 0.9
    assert 0 <= _value(out, "test RMSE") < 1.0   # target std is about 2.3


def test_task_override_integer_target(blobs_csv, capsys):
    assert main(["train", blobs_csv, "--target", "label", "--task", "regress", *FAST]) == 0
    assert "RMSE" in capsys.readouterr().out


def test_text_labels_and_progress(tmp_path, capsys):
    x, y = _blobs(90)
    names = np.array(["cat", "dog", "emu, the bird"])[y]
    p = _write_csv(tmp_path / "t.csv", ["f1", "f2", "f3", "kind"],
                   [[*map(repr, r), s] for r, s in zip(x.tolist(), names)])
    assert main(["train", p, "--target", "kind", "--epochs", "2", "--hidden", "8"]) == 0
    out = capsys.readouterr().out
    assert "classify (3 classes)" in out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out   # progress: one line per epoch (no tty)


def test_npz_and_npy_inputs(tmp_path, capsys):
    x, y = _blobs()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    np.savez(tmp_path / "named.npz", features=x, kind=y.astype(np.float32))
    np.save(tmp_path / "last.npy", np.column_stack([x, y]))
    np.save(tmp_path / "first.npy", np.column_stack([y, x]))
    for argv in ([str(tmp_path / "d.npz")], [str(tmp_path / "named.npz"), "--target", "kind"],
                 [str(tmp_path / "last.npy")], [str(tmp_path / "first.npy"), "--target", "0"]):
        assert main(["train", *argv, "--epochs", "15", "--quiet"]) == 0, argv
        assert _value(capsys.readouterr().out, "test accuracy") >= 0.9, argv


def test_embedded_digits_subprocess():
    res = _run_cli("train", "--epochs", "2")
    assert res.returncode == 0, res.stderr
    assert "digits" in res.stdout and "1797 rows, 64 features" in res.stdout
    assert "Epoch 2/2" in res.stdout
    assert _value(res.stdout, "test accuracy") > 0.5     # about 0.9 after two epochs
    assert "samples/s" in res.stdout


def test_early_stopping_stops(blobs_csv, capsys):
    assert main(["train", blobs_csv, "--target", "label", "--epochs", "500", "--early-stopping", "2",
                 "--lr", "0.05", "--quiet"]) == 0
    n = int(re.search(r"for (\d+) epochs", capsys.readouterr().out).group(1))
    assert 3 <= n < 500


def test_options_reach_the_model(blobs_csv, tmp_path, capsys):
    out = str(tmp_path / "m.fastnn")
    assert main(["train", blobs_csv, "--target", "label", "--hidden", "7,5", "--activation", "tanh",
                 "--dropout", "0.2", "--l2", "1e-3", "--optimizer", "sgd", "--lr", "0.05",
                 "--epochs", "1", "--batch-size", "16", "--threads", "1", "--out", out]) == 0
    text = capsys.readouterr().out
    assert "4 -> 7 -> 5 -> 3 (tanh, dropout 0.2, l2 0.001)" in text
    assert "SGD lr 0.05, batch 16" in text
    m = fastnn.load_model(out)
    dense = [l for l in m.layers if type(l).__name__ == "Dense"]
    assert [l.units for l in dense] == [7, 5, 3]
    assert sum(type(l).__name__ == "Dropout" for l in m.layers) == 2
    assert type(m.optimizer).__name__ == "SGD" and m.optimizer.learning_rate == pytest.approx(0.05)


# ------------------------------------------------------------------------ predict
def _reference_predict(model_path, x):
    """The CLI's preprocessing redone in NumPy: (x - mean) / std, predict, decode."""
    with open(model_path + ".meta.json") as f:
        meta = json.load(f)
    z = (x - np.array(meta["mean"])) / np.array(meta["std"])
    out = fastnn.load_model(model_path).predict(z.astype(np.float32)).astype(np.float64)
    if meta["task"] == "classify":
        return meta, [str(meta["classes"][i]) for i in out.argmax(axis=1)]
    return meta, out[:, 0] * meta["y_std"] + meta["y_mean"]


def _read_predictions(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["prediction"]
    return [r[0] for r in rows[1:]]


def test_predict_round_trip_classification(blobs_csv, tmp_path, capsys):
    model = str(tmp_path / "m.fastnn")
    assert main(["train", blobs_csv, "--target", "label", "--epochs", "20", "--quiet", "--out", model]) == 0
    x, y = _blobs()
    meta, ref = _reference_predict(model, np.column_stack([x, np.full(len(x), 7.0)]))
    assert meta["features"] == ["a", "b", "c", "const"] and meta["classes"] == [0, 1, 2]
    assert meta["std"][3] == 1.0 and meta["mean"][3] == 7.0      # the constant column
    preds = str(tmp_path / "p.csv")
    assert main(["predict", model, blobs_csv, "--out", preds]) == 0
    got = _read_predictions(preds)
    assert got == ref
    assert np.mean(np.array(got, dtype=int) == y) > 0.9
    # stdout, and an .npy input with the target column still attached
    np.save(tmp_path / "in.npy", np.column_stack([x, np.full(len(x), 7.0)]))
    capsys.readouterr()
    assert main(["predict", model, str(tmp_path / "in.npy")]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ref


def test_predict_round_trip_regression(linear_csv, tmp_path):
    model = str(tmp_path / "r.fastnn")
    assert main(["train", linear_csv, "--target", "price", "--epochs", "5", "--quiet", "--out", model]) == 0
    x, _ = _linear()
    _, ref = _reference_predict(model, x)
    preds = str(tmp_path / "p.csv")
    assert main(["predict", model, linear_csv, "--out", preds]) == 0
    np.testing.assert_allclose(np.array(_read_predictions(preds), dtype=float), ref, rtol=1e-6, atol=1e-6)


def test_plot(blobs_csv, tmp_path, capsys):
    png, model = tmp_path / "c.png", str(tmp_path / "m.fastnn")
    rc = main(["train", blobs_csv, "--target", "label", *FAST, "--out", model, "--plot", str(png)])
    captured = capsys.readouterr()
    assert "test accuracy" in captured.out and os.path.exists(model)   # trained and saved either way
    have = importlib.util.find_spec("matplotlib") and importlib.util.find_spec("fastnn.plot")
    if have:
        assert rc == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert rc == 2 and not png.exists()
        assert captured.err.startswith("fastnn: error:") and len(captured.err.strip().splitlines()) == 1


# ------------------------------------------------------------------------ pieces
def test_load_digits():
    x, y = load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float64 and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16 and np.all(x == np.round(x))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert load_digits("uint8")[0].dtype == np.uint8
    with pytest.raises(TypeError, match="dtype"):
        load_digits("U3")
    datasets = pytest.importorskip("sklearn.datasets")
    ref = datasets.load_digits()
    np.testing.assert_array_equal(x, ref.data)
    np.testing.assert_array_equal(y, ref.target)


def test_split_is_seeded_stratified_and_disjoint():
    labels = np.repeat([0, 1, 2], [50, 100, 250])
    tr, va, te = _cli_data.split(400, labels, 0.25, seed=3)
    assert np.array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(400))
    assert [int(np.sum(labels[te] == c)) for c in range(3)] == [10, 20, 50]
    assert [int(np.sum(labels[va] == c)) for c in range(3)] == [10, 20, 50]
    again = _cli_data.split(400, labels, 0.25, seed=3)
    other = _cli_data.split(400, labels, 0.25, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))
    assert not np.array_equal(te, other[2])
    tr, va, te = _cli_data.split(10, None, 0.0, seed=0)
    assert (tr.size, va.size, te.size) == (8, 0, 2)


def test_standardizer_constant_column():
    x = np.array([[1.0, 5.0, -2.0], [3.0, 5.0, 2.0], [5.0, 5.0, 0.0]])
    mean, std = _cli_data.standardizer(x)
    np.testing.assert_allclose(mean, [3.0, 5.0, 0.0])
    np.testing.assert_allclose(std, [np.sqrt(8 / 3), 1.0, np.sqrt(8 / 3)])
    z = _cli_data.standardize(x, mean, std)
    np.testing.assert_allclose(z[:, 1], 0.0)
    np.testing.assert_allclose(z.std(axis=0), [1.0, 0.0, 1.0])


def test_csv_fast_and_careful_readers_agree(tmp_path, monkeypatch):
    p = tmp_path / "q.csv"
    p.write_text('a,"b",y\n1.5,"2",0\n\n-3e2, 4 ,1\n0.25,-0,1\n')
    fast = _cli_data.read_training_data(str(p), "y")
    monkeypatch.setattr(_cli_data, "_csv_numbers", lambda path: None)
    slow = _cli_data.read_training_data(str(p), "y")
    expected = np.array([[1.5, 2.0], [-300.0, 4.0], [0.25, 0.0]])
    for t in (fast, slow):
        np.testing.assert_array_equal(t.x, expected)
        np.testing.assert_array_equal(t.y, [0.0, 1.0, 1.0])
        assert t.features == ["a", "b"] and t.target == "y"


def test_bad_value_reports_its_file_line(tmp_path):
    p = tmp_path / "gap.csv"
    p.write_text("a,y\n1,0\n\n\n2,1\ninf,0\n")
    with pytest.raises(_cli_data.DataError, match=r"column 'a' has the value 'inf' at line 6"):
        _cli_data.read_training_data(str(p), "y")


@pytest.mark.parametrize("values, task", [
    ([0, 1, 2, 1], "classify"), ([0.0, 1.0, 3.0], "classify"), ([0.5, 1.0, 2.0], "regress"),
    (list(range(51)), "regress"), (list(range(50)), "classify"), (["a", "b"], "classify")])
def test_choose_task(values, task):
    assert _cli_data.choose_task(np.array(values), None, "f") == task


# ------------------------------------------------------------------------ errors
def _bad_files(tmp):
    _write_csv(tmp / "text.csv", ["a", "color", "y"], [[1, "red", 0], [2, "blue", 1]] * 5)
    _write_csv(tmp / "nan.csv", ["a", "b", "y"], [[1, 2, 0], [3, "", 1]] * 5)
    _write_csv(tmp / "one.csv", ["a", "y"], [[i, 4] for i in range(10)])
    _write_csv(tmp / "ok.csv", ["a", "b", "y"], [[i, i % 3, i % 2] for i in range(20)])
    _write_csv(tmp / "words.csv", ["a", "y"], [[i, "x" if i % 2 else "z"] for i in range(10)])
    (tmp / "empty.csv").write_text("")
    (tmp / "ragged.csv").write_text("a,b,y\n1,2,0\n1,2\n")
    (tmp / "data.txt").write_text("a,y\n1,0\n")
    np.savez(tmp / "noy.npz", x=np.zeros((4, 2)), target=np.zeros(4))
    np.save(tmp / "vec.npy", np.zeros(5))
    np.save(tmp / "str.npy", np.array([["a", "b"], ["c", "d"]]))


@pytest.mark.parametrize("argv, fragment", [
    (["train", "{t}/missing.csv", "--target", "y"], "no such file"),
    (["train", "{t}/ok.csv", "--target", "nope"], "'nope'"),
    (["train", "{t}/ok.csv"], "--target"),
    (["train", "{t}/text.csv", "--target", "y"], "'color'"),
    (["train", "{t}/nan.csv", "--target", "y"], "empty value"),
    (["train", "{t}/one.csv", "--target", "y"], "single value"),
    (["train", "{t}/words.csv", "--target", "y", "--task", "regress"], "numeric target"),
    (["train", "{t}/empty.csv", "--target", "y"], "empty file"),
    (["train", "{t}/ragged.csv", "--target", "y"], "line 3"),
    (["train", "{t}/data.txt", "--target", "y"], "unsupported file type"),
    (["train", "{t}/noy.npz"], "'y'"),
    (["train", "{t}/vec.npy"], "shape"),
    (["train", "{t}/str.npy"], "dtype"),
    (["train", "{t}/ok.csv", "--target", "y", "--bogus"], "--bogus"),
    (["train", "--hidden", "12,x"], "--hidden"),
    (["train", "--lr", "-1"], "--lr"),
    (["train", "--lr", "0"], "--lr"),
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--batch-size", "many"], "--batch-size"),
    (["train", "--dropout", "1"], "--dropout"),
    (["train", "--val-split", "1.5"], "--val-split"),
    (["train", "--l2", "nan"], "--l2"),
    (["train", "--seed", "-3"], "--seed"),
    (["train", "--task", "cluster"], "--task"),
    (["train", "--activation", "wiggle"], "wiggle"),
    (["train", "--optimizer", "lbfgs"], "lbfgs"),
    (["train", "--target", "y"], "--target needs a FILE"),
    (["train", "--out", "/nonexistent-dir-fastnn/m.fastnn"], "does not exist"),
    (["predict", "{t}/nomodel.fastnn", "{t}/ok.csv"], "no such file"),
    (["predict", "{t}/ok.csv"], "FILE"),
])
def test_errors_are_one_line(tmp_path, capsys, argv, fragment):
    _bad_files(tmp_path)
    assert main([a.replace("{t}", str(tmp_path)) for a in argv]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("fastnn: error:"), err
    assert fragment in err, err
    assert "Traceback" not in captured.err + captured.out


def test_predict_errors(blobs_csv, tmp_path, capsys):
    model = str(tmp_path / "m.fastnn")
    assert main(["train", blobs_csv, "--target", "label", *FAST, "--out", model]) == 0
    _write_csv(tmp_path / "other.csv", ["a", "zzz"], [[1, 2]])
    np.save(tmp_path / "narrow.npy", np.zeros((3, 2)))
    (tmp_path / "bare.fastnn").write_bytes(open(model, "rb").read())
    (tmp_path / "junk.fastnn").write_text("not a model")
    (tmp_path / "junk.fastnn.meta.json").write_text(open(model + ".meta.json").read())
    (tmp_path / "few.fastnn").write_bytes(open(model, "rb").read())
    meta = json.load(open(model + ".meta.json"))
    meta["classes"] = meta["classes"][:1]
    (tmp_path / "few.fastnn.meta.json").write_text(json.dumps(meta))
    capsys.readouterr()
    for argv, fragment in ((["predict", model, str(tmp_path / "other.csv")], "missing feature columns"),
                           (["predict", model, str(tmp_path / "narrow.npy")], "4 features"),
                           (["predict", str(tmp_path / "bare.fastnn"), blobs_csv], "meta.json"),
                           (["predict", str(tmp_path / "junk.fastnn"), blobs_csv], "junk.fastnn"),
                           (["predict", str(tmp_path / "few.fastnn"), blobs_csv], "lists 1 classes")):
        assert main(argv) == 2, argv
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("fastnn: error:") and fragment in err, err
        assert "Traceback" not in captured.err + captured.out


def test_subprocess_error_and_debug(tmp_path):
    res = _run_cli("train", str(tmp_path / "missing.csv"), "--target", "y")
    assert res.returncode == 2
    assert res.stderr.strip().startswith("fastnn: error:") and len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.stderr
    res = _run_cli("train", str(tmp_path / "missing.csv"), "--target", "y", "--debug")
    assert res.returncode == 2 and "Traceback" in res.stderr
    res = _run_cli("train", "--hidden", "12,x")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith("fastnn: error:") and "--hidden" in res.stderr
