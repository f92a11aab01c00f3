"""fastnn.plot: each figure rendered to a PNG (magic bytes, size, dimensions), the data drawn
checked against the input, and bad input."""
import io
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import fastnn as fnn  # noqa: E402
from fastnn import plot  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where the fastnn this test process imports lives (the installed package in CI, the
# source tree with a dev build locally): subprocesses must import the same one.
import fastnn as _fastnn_for_path  # noqa: E402
_PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(_fastnn_for_path.__file__)))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def assert_png(path, min_bytes=4000):
    data = open(path, "rb").read()
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 200 and height >= 150
    assert len(data) >= min_bytes
    return width, height


def panels(fig):
    return {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}


# ----------------------------------------------------------------------------- history
@pytest.fixture(scope="module")
def fitted_history():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    model = fnn.Sequential([fnn.Input(6), fnn.layers.Dense(8, activation="relu"), fnn.layers.Dense(2)], seed=0)
    model.compile(optimizer=fnn.optimizers.Adam(0.01),
                  loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model.fit(X, y, epochs=6, batch_size=32, validation_split=0.25, verbose=0, diagnostics=True,
                     callbacks=[fnn.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5,
                                                                min_delta=10.0)])


def test_history_from_fit_renders_png_with_all_panels(fitted_history, tmp_path):
    h = fitted_history
    path = tmp_path / "history.png"
    fig = plot.history(h, path=path)
    assert_png(path)
    p = panels(fig)
    assert list(p) == ["loss", "accuracy", "learning rate", "gradient norm (mean per epoch)"]
    train, val = p["loss"].get_lines()[:2]
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, 7))
    np.testing.assert_allclose(train.get_ydata(), h.history["loss"])
    np.testing.assert_allclose(val.get_ydata(), h.history["val_loss"])
    assert train.get_linestyle() == "-" and val.get_linestyle() == "--"
    assert train.get_color() == val.get_color()
    best = p["loss"].get_lines()[2]  # the best-val_loss marker
    assert best.get_xdata()[0] == 1 + int(np.argmin(h.history["val_loss"]))
    acc_val = p["accuracy"].get_lines()[1]
    np.testing.assert_allclose(acc_val.get_ydata(), h.history["val_accuracy"])
    lr_ax = p["learning rate"]
    assert lr_ax.get_yscale() == "log"
    lr = lr_ax.get_lines()[0].get_ydata()
    np.testing.assert_allclose(lr, h.history["lr"])
    assert lr[-1] < lr[0]  # ReduceLROnPlateau halved it every epoch
    np.testing.assert_allclose(p["gradient norm (mean per epoch)"].get_lines()[0].get_ydata(),
                               h.history["grad_norm"])


def test_history_accepts_the_dict_and_numbers_epochs_from_one(tmp_path):
    logs = {"loss": [1.0, 0.5, 0.25], "mae": [0.9, 0.6, 0.4], "time": [0.1, 0.1, 0.1]}
    path = tmp_path / "h.png"
    fig = plot.history(logs, path=str(path))
    assert_png(path)
    p = panels(fig)
    assert list(p) == ["loss", "mae"]  # no val, lr, grad_norm or time panels
    (line,) = p["loss"].get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    assert p["loss"].get_legend() is None


def test_history_uses_recorded_epochs_of_a_resumed_run():
    h = fnn.callbacks.History()
    h.epoch = [5, 6, 7]
    h.history = {"loss": [0.3, 0.2, 0.1]}
    fig = plot.history(h)
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_xdata(), [6, 7, 8])


def test_history_metric_selection_and_skipped_diagnostics():
    logs = {"loss": [1.0, 0.8], "val_loss": [1.1, 0.9], "accuracy": [0.5, 0.6], "val_accuracy": [0.4, 0.5],
            "auc": [0.6, 0.7], "grad_norm/dense.kernel": [1.0, 2.0], "dead_relu/dense": [0.0, 0.1],
            "price_loss": [0.2, 0.1], "learning_rate": [1e-3, 1e-4]}
    assert list(panels(plot.history(logs))) == ["loss", "accuracy", "auc", "price_loss", "learning rate"]
    assert list(panels(plot.history(logs, metrics=["auc"]))) == ["loss", "auc", "learning rate"]
    assert list(panels(plot.history(logs, metrics=["val_accuracy"]))) == ["loss", "accuracy", "learning rate"]
    assert list(panels(plot.history(logs, metrics=[]))) == ["loss", "learning rate"]


def test_history_nan_and_none_leave_gaps(tmp_path):
    logs = {"loss": [1.0, 0.9, 0.8, 0.7], "val_loss": [None, 1.0, math.nan, 0.85]}
    fig = plot.history(logs, path=tmp_path / "gaps.png")
    assert_png(tmp_path / "gaps.png")
    val = fig.axes[0].get_lines()[1].get_ydata()
    assert np.isnan(val[0]) and np.isnan(val[2]) and val[3] == 0.85
    assert fig.axes[0].get_lines()[2].get_xdata()[0] == 4  # best val_loss ignores NaN


def test_history_log_scale_of_gradient_norm_only_when_it_spans_decades():
    wide = plot.history({"loss": [1, 1, 1], "grad_norm": [100.0, 1.0, 0.01]})
    narrow = plot.history({"loss": [1, 1, 1], "grad_norm": [3.0, 2.0, 1.0]})
    assert panels(wide)["gradient norm (mean per epoch)"].get_yscale() == "log"
    assert panels(narrow)["gradient norm (mean per epoch)"].get_yscale() == "linear"


def test_history_loss_on_log_axis_when_it_spans_decades():
    steep = plot.history({"loss": [10.0, 1.0, 0.01], "val_loss": [12.0, 2.0, 0.5]})
    flat = plot.history({"loss": [1.0, 0.8, 0.5], "accuracy": [0.1, 0.5, 0.9]})
    assert panels(steep)["loss"].get_yscale() == "log"
    assert panels(flat)["loss"].get_yscale() == "linear"
    assert panels(flat)["accuracy"].get_yscale() == "linear"


@pytest.mark.parametrize("bad, exc, match", [
    ({}, ValueError, "empty"),
    ({"loss": []}, ValueError, "empty"),
    ({"loss": [1.0, 2.0], "val_loss": [1.0]}, ValueError, "one value per epoch"),
    ({"loss": ["a", "b"]}, ValueError, "numbers"),
    ({"loss": 1.0}, ValueError, "list of per-epoch values"),
    ([1.0, 2.0], TypeError, "History"),
    (None, TypeError, "History"),
    ({"time": [0.1]}, ValueError, "nothing to plot"),
])
def test_history_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        plot.history(bad)


def test_history_bad_metrics():
    logs = {"loss": [1.0, 0.5], "accuracy": [0.1, 0.2], "cm": [np.eye(2), np.eye(2)]}
    with pytest.raises(ValueError, match="'precision' not in the history"):
        plot.history(logs, metrics=["precision"])
    with pytest.raises(ValueError, match="not a scalar"):
        plot.history(logs, metrics=["cm"])
    with pytest.raises(TypeError, match="metrics"):
        plot.history(logs, metrics=[3])
    assert list(panels(plot.history(logs))) == ["loss", "accuracy"]  # the matrix is skipped


# ----------------------------------------------------------------------------- search results
def _trials(rng, n=10):
    out = []
    for _ in range(n):
        out.append({"params": {"lr": float(10 ** rng.uniform(-4, -1)), "units": int(rng.integers(8, 64)),
                               "optimizer": str(rng.choice(["adam", "sgd", "rmsprop"])),
                               "nesterov": bool(rng.integers(2))},
                    "mean_score": float(rng.uniform(0.7, 0.9)), "std_score": float(rng.uniform(0, 0.02))})
    return out


def test_search_numeric_param_on_log_axis(rng, tmp_path):
    trials = _trials(rng)
    path = tmp_path / "lr.png"
    fig = plot.search_results(trials, "lr", path=path)
    assert_png(path)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "lr" and ax.get_ylabel() == "mean_score"
    pts = ax.get_lines()[0]
    np.testing.assert_allclose(pts.get_xdata(), [t["params"]["lr"] for t in trials])
    np.testing.assert_allclose(pts.get_ydata(), [t["mean_score"] for t in trials])
    assert ax.containers and ax.containers[0].has_yerr
    assert "10 trials" in ax.get_title()


def test_search_numeric_param_linear_when_narrow(rng):
    fig = plot.search_results(_trials(rng), "units")
    assert fig.axes[0].get_xscale() == "linear"
    no_std = [{"params": {"a": v}, "mean_score": s} for v, s in [(1, 0.5), (2, 0.6)]]
    ax = plot.search_results(no_std, "a").axes[0]
    assert not ax.containers[0].has_yerr


@pytest.mark.parametrize("param", ["optimizer", "nesterov"])
def test_search_categorical_param_as_bars_of_mean_score(rng, tmp_path, param):
    trials = _trials(rng, 12)
    path = tmp_path / "cat.png"
    fig = plot.search_results(trials, param, path=path)
    assert_png(path)
    ax = fig.axes[0]
    cats = list(dict.fromkeys(t["params"][param] for t in trials))
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [c if isinstance(c, str) else repr(c) for c in cats]
    heights = [b.get_height() for b in ax.patches]
    expected = [np.mean([t["mean_score"] for t in trials if t["params"][param] == c]) for c in cats]
    np.testing.assert_allclose(heights, expected)


def test_search_skips_failed_trials_and_trials_without_the_param():
    trials = [{"params": {"lr": 0.1}, "mean_score": 0.8}, {"params": {"lr": 0.01}, "mean_score": math.nan},
              {"params": {"l2": 1e-3}, "mean_score": 0.7}, {"params": {"lr": 0.001}, "mean_score": None},
              {"params": {"lr": 0.001}, "mean_score": 0.9}]
    ax = plot.search_results(trials, "lr").axes[0]
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [0.1, 0.001])
    assert "2 trials" in ax.get_title()


def test_search_accepts_cv_results_and_custom_score(rng):
    cv = {"params": [{"alpha": 1e-5}, {"alpha": 1e-3}, {"alpha": 1e-1}],
          "mean_test_score": np.array([0.7, 0.8, 0.75]), "std_test_score": np.array([0.01, 0.02, 0.01])}
    ax = plot.search_results(cv, "alpha", score="mean_test_score").axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "mean_test_score"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.7, 0.8, 0.75])
    assert ax.containers[0].has_yerr


@pytest.mark.parametrize("results, param, exc, match", [
    ([], "lr", ValueError, "empty"),
    ([{"params": {"lr": 0.1}, "mean_score": 0.5}], "units", ValueError, "no trial has both param 'units'"),
    ([{"params": {"lr": 0.1}, "mean_score": math.inf}], "lr", ValueError, "finite"),
    ([{"lr": 0.1, "mean_score": 0.5}], "lr", ValueError, r"results\[0\]"),
    (["trial"], "lr", ValueError, r"results\[0\]"),
    ("lr=0.1", "lr", TypeError, "list of trial dicts"),
    ([{"params": {"lr": 0.1}, "mean_score": 0.5}], 3, TypeError, "param"),
    ({"params": [{"lr": 1}]}, "lr", ValueError, "cv_results_"),
    ({"params": [{"lr": 1}], "mean_score": [0.1, 0.2]}, "lr", ValueError, "column 'mean_score'"),
])
def test_search_bad_input(results, param, exc, match):
    with pytest.raises(exc, match=match):
        plot.search_results(results, param)


# ----------------------------------------------------------------------------- speedup
@pytest.fixture(scope="module")
def kernels_json(tmp_path_factory):
    """A real (tiny) kernel benchmark report written by this build."""
    from fastnn.bench import run_kernels

    path = tmp_path_factory.mktemp("bench") / "kernels.json"
    doc = run_kernels(quick=True, filter="relu fwd,sgemm", json_path=str(path), file=io.StringIO())
    return path, doc


def _bars(ax):
    """{label: ratio} read back from the drawn bars (each spans 1 .. ratio)."""
    labels = [t.get_text() for t in ax.get_yticklabels()]
    ends = {}
    for bar in ax.patches:
        x0, w = bar.get_x(), bar.get_width()
        assert x0 == 1.0
        ends[round(bar.get_y() + bar.get_height() / 2)] = x0 + w
    ys = ax.get_yticks()
    return {lab: ends[round(y)] for lab, y in zip(labels, ys)}


def test_speedup_from_kernels_json_path(kernels_json, tmp_path):
    path, doc = kernels_json
    out = tmp_path / "speedup.png"
    fig = plot.speedup(path, path=out)
    assert_png(out)
    ax = fig.axes[0]
    expected = {c["name"]: c["ratio"]["numpy"] for c in doc["cases"] if c["status"] == "ok"}
    assert expected  # the quick run produced ratios
    got = _bars(ax)
    assert set(got) == set(expected)
    for name, r in expected.items():
        assert got[name] == pytest.approx(r, rel=1e-12)
    assert ax.get_xscale() == "log"
    colors = {bar.get_facecolor()[:3] for bar in ax.patches}
    assert colors <= {matplotlib.colors.to_rgb("tab:green"), matplotlib.colors.to_rgb("tab:red")}
    # the same from the dict
    assert _bars(plot.speedup(json.loads(path.read_text())).axes[0]) == got


def _train_doc():
    def net(name, np_train, np_pred, tf_train, tf_pred):
        return {"name": name, "key": name.split()[0], "info": {}, "sides": {},
                "ratio": {"train": {"vs_numpy": {"fastnn": np_train, "torch": 0.5}, "torch_over_fastnn": tf_train},
                          "predict": {"vs_numpy": {"fastnn": np_pred}, "torch_over_fastnn": tf_pred}}}

    return {"schema": "fastnn-bench-train/1",
            "environment": {"cpu": "Test CPU", "fastnn": {"arch": "avx2", "num_threads": 2}},
            "options": {"quick": False},
            "networks": [net("mnist-like 784-512-256-10 B=128", 3.0, 1.5, 2.0, None),
                         net("tabular 20-64-64-2 B=32", 0.5, 8.0, None, 0.25)]}


def test_speedup_train_schema_numpy_and_torch(tmp_path):
    doc = _train_doc()
    fig = plot.speedup(doc, path=tmp_path / "t.png")
    assert_png(tmp_path / "t.png")
    assert _bars(fig.axes[0]) == {"mnist-like 784-512-256-10 B=128 [train]": 3.0,
                                  "mnist-like 784-512-256-10 B=128 [predict]": 1.5,
                                  "tabular 20-64-64-2 B=32 [train]": 0.5,
                                  "tabular 20-64-64-2 B=32 [predict]": 8.0}
    assert "Test CPU" in fig.axes[0].get_title() and "2 threads" in fig.axes[0].get_title()
    torch = plot.speedup(doc, peer="torch")
    assert _bars(torch.axes[0]) == {"mnist-like 784-512-256-10 B=128 [train]": 2.0,
                                    "tabular 20-64-64-2 B=32 [predict]": 0.25}
    red = [b for b in torch.axes[0].patches if b.get_width() < 0]
    assert len(red) == 1 and red[0].get_facecolor()[:3] == matplotlib.colors.to_rgb("tab:red")


def test_speedup_all_schema(kernels_json):
    _, kdoc = kernels_json
    doc = {"schema": "fastnn-bench-all/1", "kernels": kdoc, "train": _train_doc()}
    got = _bars(plot.speedup(doc).axes[0])
    assert "train: tabular 20-64-64-2 B=32 [predict]" in got
    assert sum(1 for k in got if not k.startswith("train: ")) == sum(c["status"] == "ok" for c in kdoc["cases"])


def test_speedup_bad_input(tmp_path, kernels_json):
    with pytest.raises(ValueError, match="not a fastnn benchmark report"):
        plot.speedup({"schema": "something-else/1"})
    with pytest.raises(ValueError, match="'cases' list"):
        plot.speedup({"schema": "fastnn-bench-kernels/1", "cases": None})
    with pytest.raises(ValueError, match="no validated case .* 'numpy'"):
        plot.speedup({"schema": "fastnn-bench-kernels/1", "cases": []})
    bad_case = {"name": "x", "status": "invalid", "ratio": {"numpy": 2.0}}
    with pytest.raises(ValueError, match="no validated case"):
        plot.speedup({"schema": "fastnn-bench-kernels/1", "cases": [bad_case]})
    with pytest.raises(ValueError, match=r"peers measured: \['numpy'\]"):
        plot.speedup(kernels_json[0], peer="torch")
    with pytest.raises(ValueError, match="peer"):
        plot.speedup(_train_doc(), peer="tensorflow")
    with pytest.raises(TypeError, match="benchmark report"):
        plot.speedup([1, 2])
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        plot.speedup(broken)
    with pytest.raises(FileNotFoundError):
        plot.speedup(tmp_path / "missing.json")


# ----------------------------------------------------------------------------- import behaviour
def _run_python(code):
    env = dict(os.environ, PYTHONPATH=_PKG_PARENT, MPLBACKEND="Agg")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_import_does_not_load_matplotlib_and_figures_stay_out_of_pyplot():
    out = _run_python(
        "import sys, fastnn, fastnn.plot as P\n"
        "assert 'matplotlib' not in sys.modules\n"
        "fig = P.history({'loss': [1.0, 0.5]})\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "print(type(fig.canvas).__name__)\n")
    assert out.strip() == "FigureCanvasAgg"


def test_figures_are_pyplot_figures_when_pyplot_is_in_use():
    out = _run_python(
        "import matplotlib.pyplot as plt, fastnn.plot as P\n"
        "fig = P.history({'loss': [1.0, 0.5]})\n"
        "print(fig.number in plt.get_fignums())\n")
    assert out.strip() == "True"


def test_search_results_keep_none_and_the_text_none_apart():
    f = plot.search_results([{"params": {"h": None}, "mean_score": 1.0},
                             {"params": {"h": "None"}, "mean_score": 3.0}], "h")
    assert [t.get_text() for t in f.axes[0].get_xticklabels()] == ["None", "'None'"]


@pytest.mark.parametrize("doc", [{"schema": "fastnn-bench-all", "kernels": {"cases": []}},
                                 {"cases": [{"name": "a", "status": "ok", "ratio": [1, 2]}]}])
def test_speedup_of_a_malformed_report_is_a_value_error(doc):
    with pytest.raises(ValueError, match="malformed benchmark report"):
        plot.speedup(doc)
