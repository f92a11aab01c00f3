"""Plots of training histories, hyperparameter searches and benchmark speedups.

Needs matplotlib (the optional extra ``fastnn[plot]``); it is imported only when a function
here is called, so ``import fastnn`` never pulls it in.

Every function returns a :class:`matplotlib.figure.Figure` and, given ``path``, also writes
it there as a PNG. When :mod:`matplotlib.pyplot` has already been imported (an interactive
session), the figure is made with ``pyplot.figure`` so ``plt.show()`` displays it;
otherwise it is a stand-alone ``Figure`` rendered with the Agg backend: no display, no GUI
toolkit and no global pyplot state is needed (headless servers, CI).

Examples
--------
>>> from fastnn import plot
>>> history = model.fit(X, y, validation_split=0.2, epochs=20, diagnostics=True)  # doctest: +SKIP
>>> fig = plot.history(history, path="history.png")                                 # doctest: +SKIP
"""
from __future__ import annotations

import json
import math
import numbers
import os
import sys

import numpy as np

__all__ = ["history", "search_results", "speedup"]

# History keys that are not metrics: bookkeeping, the learning rate and diagnostics.
_NOT_METRICS = frozenset({"loss", "lr", "learning_rate", "time", "nan_batch", "batch", "size", "epoch",
                          "grad_norm"})
_LR_KEYS = ("lr", "learning_rate")
_MARKER_MAX_POINTS = 30


# ------------------------------------------------------------------------- figures
def _figure(width, height):
    """A new figure: pyplot-managed when pyplot is in use, else a stand-alone Agg figure."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("fastnn.plot needs matplotlib: pip install matplotlib (or fastnn[plot])") from None
    managed = "matplotlib.pyplot" in sys.modules
    if managed:
        import matplotlib.pyplot as plt

        make = plt.figure
    else:
        make = Figure
    try:
        fig = make(figsize=(width, height), layout="constrained")
    except TypeError:  # matplotlib < 3.5
        fig = make(figsize=(width, height), constrained_layout=True)
    if not managed:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)  # render with Agg: no display or GUI toolkit needed
    return fig


def _finish(fig, path):
    if path is not None:
        fig.savefig(os.fspath(path), format="png", dpi=100)
    return fig


def _panels(n, width=4.6, height=3.4):
    """A figure with ``n`` axes on a grid of at most 3 columns (unused cells hidden)."""
    ncols = 1 if n == 1 else 2 if n <= 4 else 3
    nrows = -(-n // ncols)
    fig = _figure(width * ncols, height * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, list(axes[:n])


def _spans_decades(values, decades):
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return v.size > 0 and bool(np.all(v > 0)) and v.max() / v.min() > 10.0 ** decades


# ------------------------------------------------------------------------- history
def _history_series(h):
    """``(epochs, {key: float64 array}, non_scalar_keys)`` from a History or its dict."""
    if hasattr(h, "history") and isinstance(getattr(h, "history"), dict):
        logs, epochs = h.history, getattr(h, "epoch", None)
    elif isinstance(h, dict):
        logs, epochs = h, None
    else:
        raise TypeError(f"history: expected a fastnn.callbacks.History or its .history dict, got "
                        f"{type(h).__name__}")
    if not logs:
        raise ValueError("history: empty (no epoch recorded)")
    series, non_scalar, n = {}, set(), None
    for key, values in logs.items():
        if not isinstance(key, str):
            raise TypeError(f"history: keys must be str, got {key!r}")
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise ValueError(f"history[{key!r}]: expected a list of per-epoch values, got {type(values).__name__}")
        if n is None:
            n = len(values)
        elif len(values) != n:
            raise ValueError(f"history: every key needs one value per epoch; {key!r} has {len(values)}, "
                             f"{next(iter(logs))!r} has {n}")
        if any(np.ndim(v) > 0 for v in values):
            non_scalar.add(key)
            continue
        try:
            series[key] = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"history[{key!r}]: values must be numbers, got {list(values)[:3]!r}...") from None
    if n == 0:
        raise ValueError("history: empty (no epoch recorded)")
    if epochs is not None and len(epochs) == n:
        x = np.asarray(epochs, dtype=np.float64) + 1.0  # 1-based, as the progress display
    else:
        x = np.arange(1, n + 1, dtype=np.float64)
    return x, series, non_scalar


def _default_metrics(series):
    names = []
    for key in series:
        base = key[4:] if key.startswith("val_") else key
        if base in _NOT_METRICS or "/" in base or base in names:
            continue
        names.append(base)
    return names


def _resolve_metrics(metrics, series, non_scalar):
    if metrics is None:
        return _default_metrics(series)
    if isinstance(metrics, str):
        metrics = [metrics]
    out = []
    for m in metrics:
        if not isinstance(m, str):
            raise TypeError(f"metrics: expected names (str), got {m!r}")
        base = m[4:] if m.startswith("val_") and m[4:] in series else m
        if base in non_scalar or "val_" + base in non_scalar:
            raise ValueError(f"metrics: {m!r} is not a scalar per epoch and cannot be plotted")
        if base not in series and "val_" + base not in series:
            raise ValueError(f"metrics: {m!r} not in the history; recorded keys: {sorted(series)}")
        if base not in out and base != "loss":
            out.append(base)
    return out


def _plot_pair(ax, x, series, name, marker):
    """Training curve solid, validation curve dashed (same colour)."""
    line = None
    if name in series:
        (line,) = ax.plot(x, series[name], marker=marker, markersize=3, label="training")
    val = "val_" + name
    if val in series:
        kw = {"color": line.get_color()} if line is not None else {}
        ax.plot(x, series[val], linestyle="--", marker=marker, markersize=3, label="validation", **kw)
    drawn = [series[k] for k in (name, val) if k in series]
    if drawn and _spans_decades(np.concatenate(drawn), 2):
        ax.set_yscale("log")
    ax.set_title(name)
    ax.set_xlabel("epoch")
    ax.grid(True, alpha=0.3)
    if name in series and val in series:
        ax.legend()


def history(history, path=None, metrics=None):
    """Plot the training history: loss, metrics, learning rate and gradient norm per epoch.

    One panel per quantity: the loss, then each metric, training curve solid and validation
    (``val_``) curve dashed; then, when recorded, the learning rate (log scale) and the
    mean global gradient norm (``fit(..., diagnostics=True)`` records ``grad_norm``).
    A panel whose positive values span more than two decades gets a log y-axis. The
    loss panel marks the epoch of the lowest validation loss. Epochs are numbered from
    1, as the progress display does. Missing values (NaN) leave gaps.

    Parameters
    ----------
    history : History or dict of str to list
        What :meth:`fastnn.Model.fit` returns, or its ``.history`` dict (one list of
        per-epoch values per key, as Keras').
    path : str or path-like, optional
        Also write the figure to this file as a PNG.
    metrics : list of str, optional
        Metric panels to draw (names without the ``val_`` prefix). Default: every scalar
        key except the loss, learning rate, timing and per-layer diagnostics
        (``grad_norm/<layer>``, ``update_ratio/...``, ``dead_relu/...``); ``[]``: none.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        ``history`` is neither a History nor a dict.
    ValueError
        An empty history, lists of different lengths, non-numeric values, or a requested
        metric that was not recorded.
    """
    x, series, non_scalar = _history_series(history)
    names = _resolve_metrics(metrics, series, non_scalar)
    panels = []
    if "loss" in series or "val_loss" in series:
        panels.append(("loss", None))
    panels += [(m, None) for m in names]
    lr_key = next((k for k in _LR_KEYS if k in series and np.isfinite(series[k]).any()), None)
    if lr_key is not None:
        panels.append(("learning rate", lr_key))
    if "grad_norm" in series and np.isfinite(series["grad_norm"]).any():
        panels.append(("gradient norm", "grad_norm"))
    if not panels:
        raise ValueError(f"history: nothing to plot (no loss, metric, lr or grad_norm); keys: {sorted(series)}")
    fig, axes = _panels(len(panels))
    marker = "o" if len(x) <= _MARKER_MAX_POINTS else None
    for ax, (name, key) in zip(axes, panels):
        if key is None:
            _plot_pair(ax, x, series, name, marker)
            if name == "loss" and "val_loss" in series and np.isfinite(series["val_loss"]).any():
                best = int(np.nanargmin(series["val_loss"]))
                ax.axvline(x[best], color="gray", linestyle=":", linewidth=1,
                           label=f"best val_loss (epoch {x[best]:g})")
                ax.legend()
            continue
        ax.plot(x, series[key], marker=marker, markersize=3, color="tab:purple")
        if key == "grad_norm":
            ax.set_title("gradient norm (mean per epoch)")
            if _spans_decades(series[key], 2):
                ax.set_yscale("log")
        else:
            ax.set_title("learning rate")
            if np.all(series[key][np.isfinite(series[key])] > 0):
                ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
    return _finish(fig, path)


# ------------------------------------------------------------------------- search results
def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _std_key(score):
    return "std_" + score[5:] if score.startswith("mean_") else None


def _trials(results, score):
    """A list of trial dicts from a list of dicts or an sklearn-style ``cv_results_`` dict."""
    if isinstance(results, dict):
        if "params" not in results or score not in results:
            raise ValueError(f"results: a dict must be cv_results_-like with 'params' and {score!r} columns, got "
                             f"keys {sorted(results)}")
        params = list(results["params"])
        cols = [k for k in (score, _std_key(score)) if k and k in results]
        for k in cols:
            if len(results[k]) != len(params):
                raise ValueError(f"results: column {k!r} has {len(results[k])} entries, 'params' {len(params)}")
        return [dict({"params": p}, **{k: results[k][i] for k in cols}) for i, p in enumerate(params)]
    if isinstance(results, (str, bytes)) or not isinstance(results, (list, tuple)):
        raise TypeError(f"results: expected a list of trial dicts, got {type(results).__name__}")
    return list(results)


def search_results(results, param, score="mean_score", path=None):
    """Plot the score of each trial of a hyperparameter search against one hyperparameter.

    Numeric hyperparameters give a scatter of the trials (with ``std_score`` as error bars
    when present), on a log x-axis when the values span more than two decades (learning
    rates, regularization strengths). Other values (strings, booleans, None, tuples) are
    categories: one bar per value, its height the mean score of the trials that used it,
    the trials drawn as dots on top. Trials whose score is missing or not finite (failed
    trials) are left out.

    Parameters
    ----------
    results : list of dict
        One dict per trial: ``{"params": {name: value, ...}, "mean_score": float,
        "std_score": float (optional)}``. An sklearn ``cv_results_`` dict (columns
        ``"params"``, ``score`` and its ``std_`` twin) is accepted too.
    param : str
        The hyperparameter on the x-axis (a key of each trial's ``"params"``; trials
        without it are left out).
    score : str, default "mean_score"
        The trial key on the y-axis; its spread is read from ``"std_" + score[5:]`` when
        ``score`` starts with ``"mean_"``.
    path : str or path-like, optional
        Also write the figure to this file as a PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        ``results`` is not a list of dicts, or ``param`` not a str.
    ValueError
        No trials, a trial without ``"params"``, or no trial with both ``param`` and a
        finite ``score``.
    """
    if not isinstance(param, str):
        raise TypeError(f"param: expected a str, got {type(param).__name__}")
    if not isinstance(score, str):
        raise TypeError(f"score: expected a str, got {type(score).__name__}")
    trials = _trials(results, score)
    if not trials:
        raise ValueError("results: empty (no trials)")
    std_key = _std_key(score)
    xs, ys, es = [], [], []
    for i, t in enumerate(trials):
        if not isinstance(t, dict) or not isinstance(t.get("params"), dict):
            raise ValueError(f"results[{i}]: expected a dict with a 'params' dict, got {t!r}")
        if param not in t["params"]:
            continue
        s = t.get(score)
        if s is None or not _is_number(s) or not math.isfinite(float(s)):
            continue
        e = t.get(std_key) if std_key else None
        xs.append(t["params"][param])
        ys.append(float(s))
        es.append(float(e) if e is not None and _is_number(e) and math.isfinite(float(e)) else math.nan)
    if not xs:
        seen = sorted({k for t in trials if isinstance(t, dict) for k in (t.get("params") or {})})
        raise ValueError(f"results: no trial has both param {param!r} and a finite {score!r}; "
                         f"hyperparameters seen: {seen}")
    ys_a, es_a = np.asarray(ys), np.asarray(es)
    numeric = all(_is_number(v) and math.isfinite(float(v)) for v in xs)
    fig = _figure(6.4, 4.2)
    ax = fig.subplots()
    if numeric:
        xa = np.asarray(xs, dtype=np.float64)
        ax.errorbar(xa, ys_a, yerr=None if np.isnan(es_a).all() else np.nan_to_num(es_a), fmt="o",
                    capsize=3, alpha=0.85)
        if _spans_decades(xa, 2):
            ax.set_xscale("log")
    else:
        labels = [_label(v) for v in xs]
        if len(set(labels)) < len({(type(v), _label(v)) for v in xs}):  # e.g. None and "None": quote the text
            labels = [repr(v) if isinstance(v, str) else lab for v, lab in zip(xs, labels)]
        cats = list(dict.fromkeys(labels))
        idx = np.array([cats.index(lab) for lab in labels])
        means = np.array([ys_a[idx == c].mean() for c in range(len(cats))])
        errs = []
        for c in range(len(cats)):
            sel = idx == c
            errs.append(ys_a[sel].std() if sel.sum() > 1 else (0.0 if np.isnan(es_a[sel][0]) else es_a[sel][0]))
        ax.bar(np.arange(len(cats)), means, yerr=errs, capsize=4, color="tab:blue", alpha=0.6)
        ax.plot(idx, ys_a, "o", color="black", markersize=3)
        ax.set_xticks(np.arange(len(cats)))
        ax.set_xticklabels(cats)
        lo, hi = float(ys_a.min()), float(ys_a.max())
        pad = 0.1 * (hi - lo) if hi > lo else 0.1 * max(abs(hi), 1e-12)
        ax.set_ylim(min(lo, means.min()) - pad, max(hi, means.max()) + pad)
    ax.set_xlabel(param)
    ax.set_ylabel(score)
    ax.set_title(f"{score} vs {param} ({len(xs)} trial{'s' if len(xs) != 1 else ''})")
    ax.grid(True, alpha=0.3)
    return _finish(fig, path)


def _label(v):
    return v if isinstance(v, str) else repr(v.item() if isinstance(v, np.generic) else v)


# ------------------------------------------------------------------------- benchmark speedups
def _load_bench(doc):
    if isinstance(doc, (str, os.PathLike)):
        with open(os.fspath(doc), encoding="utf-8") as f:
            try:
                doc = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"bench_json_or_path: {os.fspath(doc)!r} is not JSON ({e})") from None
    if not isinstance(doc, dict):
        raise TypeError(f"bench_json_or_path: expected a benchmark report (dict) or a path to its JSON, got "
                        f"{type(doc).__name__}")
    return doc


def _kernel_rows(doc, peer):
    cases = doc.get("cases")
    if not isinstance(cases, list):
        raise ValueError("bench_json_or_path: a kernels report needs a 'cases' list")
    rows, peers = [], set()
    for c in cases:
        if not isinstance(c, dict) or c.get("status") != "ok":
            continue
        ratio = c.get("ratio") or {}
        peers.update(k for k, v in ratio.items() if v is not None)
        r = ratio.get(peer)
        if r is not None:
            rows.append((str(c.get("name", "?")), float(r)))
    return rows, peers


def _train_rows(doc, peer):
    nets = doc.get("networks")
    if not isinstance(nets, list):
        raise ValueError("bench_json_or_path: a train report needs a 'networks' list")
    rows, peers = [], set()
    for net in nets:
        if not isinstance(net, dict):
            continue
        for kind in ("train", "predict"):
            ratio = (net.get("ratio") or {}).get(kind) or {}
            vs = ratio.get("vs_numpy") or {}
            if vs.get("fastnn") is not None:
                peers.add("numpy")
            if ratio.get("torch_over_fastnn") is not None:
                peers.add("torch")
            r = vs.get("fastnn") if peer == "numpy" else ratio.get("torch_over_fastnn") if peer == "torch" else None
            if r is not None:
                rows.append((f"{net.get('name', '?')} [{kind}]", float(r)))
    return rows, peers


def _bench_rows(doc, peer):
    schema = str(doc.get("schema", ""))
    if schema.startswith("fastnn-bench-all") or ("kernels" in doc and "train" in doc):
        k_rows, k_peers = _kernel_rows(_load_bench(doc["kernels"]), peer)
        t_rows, t_peers = _train_rows(_load_bench(doc["train"]), peer)
        return k_rows + [(f"train: {n}", r) for n, r in t_rows], k_peers | t_peers, doc["kernels"]
    if schema.startswith("fastnn-bench-kernels") or (not schema and "cases" in doc):
        return (*_kernel_rows(doc, peer), doc)
    if schema.startswith("fastnn-bench-train") or (not schema and "networks" in doc):
        return (*_train_rows(doc, peer), doc)
    raise ValueError(f"bench_json_or_path: not a fastnn benchmark report (schema {doc.get('schema')!r}; "
                     "expected the JSON of 'fastnn bench kernels|train|all --json FILE')")


def _env_line(doc):
    env = doc.get("environment") if isinstance(doc.get("environment"), dict) else {}
    fz = env.get("fastnn") if isinstance(env.get("fastnn"), dict) else {}
    parts = []
    if env.get("cpu"):
        parts.append(str(env["cpu"]))
    if fz.get("arch"):
        parts.append(f"{fz['arch']} kernels")
    if fz.get("num_threads") is not None:
        parts.append(f"{fz['num_threads']} threads")
    if (doc.get("options") or {}).get("quick"):
        parts.append("quick run (tiny sizes)")
    return ", ".join(parts)


def _ratio_text(r):
    return f"{r:.0f}x" if r >= 100 else f"{r:.1f}x" if r >= 10 else f"{r:.2f}x" if r >= 0.1 else f"{r:.2g}x"


def speedup(bench_json_or_path, path=None, peer="numpy"):
    """Plot fastnn's speedup over a peer library for every case of a benchmark report.

    One horizontal bar per case, drawn from 1 on a log axis: to the right (green) where
    fastnn is faster, to the left (red) where it is slower; each bar is labelled with the
    ratio. The speedup is the peer's median time over fastnn's, measured in the same run:
    ``ratio[peer]`` of each validated (``status == "ok"``) kernel case, and for each
    network of the training benchmark ``ratio[kind]["vs_numpy"]["fastnn"]`` (peer numpy)
    or ``ratio[kind]["torch_over_fastnn"]`` (peer torch), for ``kind`` train and predict.

    Parameters
    ----------
    bench_json_or_path : dict, str or path-like
        The report of ``fastnn bench kernels --json F``, ``fastnn bench train --json F`` or
        ``fastnn bench all --json F`` (the dict, or the path of the file).
    path : str or path-like, optional
        Also write the figure to this file as a PNG.
    peer : {"numpy", "torch"}, default "numpy"

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        The report is neither a dict nor a path.
    ValueError
        Not a fastnn benchmark report, invalid JSON, an unknown peer, or no case with a
        ratio against ``peer`` (the message lists the peers that were measured).
    FileNotFoundError
        The path does not exist.
    """
    if peer not in ("numpy", "torch"):
        raise ValueError(f"peer: expected 'numpy' or 'torch', got {peer!r}")
    doc = _load_bench(bench_json_or_path)
    try:
        rows, peers, env_doc = _bench_rows(doc, peer)
    except (KeyError, TypeError, AttributeError, IndexError) as e:  # a report of the wrong shape
        raise ValueError(f"bench_json_or_path: malformed benchmark report ({type(e).__name__}: {e})") from None
    rows = [(n, r) for n, r in rows if math.isfinite(r) and r > 0]
    if not rows:
        raise ValueError(f"bench_json_or_path: no validated case has a speedup over {peer!r}; "
                         f"peers measured: {sorted(peers) or 'none'}")
    names = [n for n, _ in rows]
    ratios = np.array([r for _, r in rows])
    fig = _figure(8.0, 1.4 + 0.32 * len(rows))
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    colors = ["tab:green" if r >= 1 else "tab:red" for r in ratios]
    ax.barh(y, ratios - 1.0, left=1.0, color=colors, alpha=0.8, height=0.7)
    ax.set_xscale("log")
    lo, hi = min(ratios.min(), 1.0), max(ratios.max(), 1.0)
    pad = max(1.6, (hi / lo) ** 0.12)  # room for the labels beside the bars
    ax.set_xlim(lo / pad, hi * pad)
    ax.axvline(1.0, color="black", linewidth=1)
    for yi, r in zip(y, ratios):
        ax.text(r * (1.04 if r >= 1 else 1 / 1.04), yi, _ratio_text(r), va="center",
                ha="left" if r >= 1 else "right", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(f"speedup: {peer} time / fastnn time (log scale; > 1: fastnn faster)")
    title = f"fastnn vs {peer}"
    env = _env_line(env_doc)
    ax.set_title(title + (f"\n{env}" if env else ""), fontsize=10)
    ax.grid(True, axis="x", alpha=0.3, which="both")
    return _finish(fig, path)
