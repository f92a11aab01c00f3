"""The scikit-learn drop-in benchmark (``fastnn bench sklearn``): ``fastnn.sklearn`` against
scikit-learn on digits, with the same parameters.

For every seed ``s`` in ``0 .. seeds-1``: the digits data (``load_digits``, 1797 x 64, 10
classes, shipped with scikit-learn: nothing is downloaded) is split by
``train_test_split(X, y, test_size=0.25, stratify=y, random_state=s)``, and each side fits

    make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(128, 64),
                                                  batch_size=32, max_iter=100, random_state=s))

with ``MLPClassifier`` either ``fastnn.sklearn.MLPClassifier`` or
``sklearn.neural_network.MLPClassifier`` (every other parameter at its default: relu,
adam, ``alpha=1e-4``, ``tol=1e-4``, ``n_iter_no_change=10``, so a fit may stop before
``max_iter``). Each ``fit`` is timed with ``time.perf_counter`` (garbage collection off),
then the pipeline is scored on the test part (accuracy). ``ConvergenceWarning`` is
silenced (``max_iter`` is often reached on purpose, and ``--quick`` stops at 20).

Each side runs in its own block: a short pause, one untimed warm-up fit (first seed's
split), then one timed fit per seed; scikit-learn first, fastnn second. Blocks rather
than interleaving the two sides seed by seed, as in the other suites: on 2 cores the
worker threads a library leaves spinning after a fit (OpenBLAS's, used by scikit-learn
through NumPy; fastnn's OpenMP team) would take a core from the other library's next
fit, and a block keeps each side warm (its thread pool, caches and allocator) exactly as
its warm-up left it. The price is that a change in the machine's load between the blocks
goes into the ratio; the report gives the load average before and after.

Validation: both sides must fit the requested network (layer widths 64-128-64-10 read
from ``coefs_``) and score a finite accuracy; a side that raises or fits another network
is reported with the reason and not compared.

Per side the report gives the accuracy of every seed and their mean, every fit time and
their median, and ``n_iter_``; then the speedup (scikit-learn's median fit time over
fastnn's), the accuracy difference in percentage points (fastnn's mean minus
scikit-learn's), and the issue's two targets: ``speedup >= 10`` and ``|difference| <=
0.5`` points, judged on full runs (``max_iter=100`` and at least 5 seeds) only.
"""
from __future__ import annotations

import datetime
import gc
import math
import statistics
import sys
import time
import traceback
import warnings

import numpy as np

import fastnn
from fastnn.bench._timing import Schedule, Timing, time_blocks

SCHEMA = "fastnn-bench-sklearn/1"
SIDES = ("sklearn", "fastnn")
HIDDEN = (128, 64)
BATCH = 32
MAX_ITER = 100
QUICK_MAX_ITER = 20
DEFAULT_SEEDS = 5
QUICK_SEEDS = 2
TEST_SIZE = 0.25
MIN_SPEEDUP = 10.0
MAX_ACC_DIFF_PP = 0.5
SETTLE_S = 0.1

# One timed call, no warm-up (the warm-up fit is explicit), no pause.
_ONCE = Schedule(warmup=0, warmup_time=0.0, min_repeats=1, max_repeats=1, min_time=0.0, settle=0.0,
                 max_time=0.0)

__all__ = ["run_sklearn", "SklearnUnavailable", "SCHEMA", "format_report"]


class SklearnUnavailable(ImportError):
    """scikit-learn (or ``fastnn.sklearn``) cannot be used: the suite cannot run."""


class _Libraries:
    """What the suite needs from scikit-learn and fastnn, imported on demand."""

    def __init__(self):
        from fastnn.bench import _env

        try:
            sk_cls = _env.sklearn_classifier()
            import sklearn
            import fastnn.sklearn as fsk
            from sklearn.datasets import load_digits
            from sklearn.exceptions import ConvergenceWarning
            from sklearn.model_selection import train_test_split
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler
        except ImportError as exc:
            raise SklearnUnavailable(f"'bench sklearn' needs scikit-learn: {exc}") from None
        self.sklearn = sklearn
        self.classes = {"sklearn": sk_cls, "fastnn": fsk.MLPClassifier}
        self.load_digits = load_digits
        self.ConvergenceWarning = ConvergenceWarning
        self.train_test_split = train_test_split
        self.make_pipeline = make_pipeline
        self.StandardScaler = StandardScaler

    def pipeline(self, side, seed, max_iter):
        """The side's unfitted pipeline for ``seed``."""
        cls = self.classes[side]
        return self.make_pipeline(self.StandardScaler(),
                                  cls(hidden_layer_sizes=HIDDEN, batch_size=BATCH,
                                      max_iter=max_iter, random_state=seed))

    def splits(self, n_seeds):
        """``(seed, X_train, X_test, y_train, y_test)`` for seeds ``0 .. n_seeds-1``, and
        the data's shape and number of classes."""
        X, y = self.load_digits(return_X_y=True)
        out = [(s, *self.train_test_split(X, y, test_size=TEST_SIZE, stratify=y,
                                          random_state=s))
               for s in range(n_seeds)]
        return out, {"rows": int(X.shape[0]), "features": int(X.shape[1]),
                     "classes": int(len(np.unique(y))), "dtype": str(X.dtype),
                     "train_rows": int(len(out[0][3])), "test_rows": int(len(out[0][4]))}


def _short(exc) -> str:
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0] if msg else ''}".strip()


def _layers(pipe) -> list:
    coefs = pipe[-1].coefs_
    return [int(coefs[0].shape[0])] + [int(w.shape[1]) for w in coefs]


def _run_side(side, lib, splits, max_iter, expected_layers, settle, on_fit):
    """Warm-up fit, then one timed fit per split; the side's JSON-ready record."""
    cls = lib.classes[side]
    rec = {"status": "ok", "reason": "", "estimator": f"{cls.__module__}.{cls.__qualname__}",
           "version": lib.sklearn.__version__ if side == "sklearn" else fastnn.__version__,
           "runs": []}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lib.ConvergenceWarning)
            if settle > 0:
                time.sleep(settle)
            gc.collect()
            seed, Xtr, _, ytr, _ = splits[0]
            warm = lib.pipeline(side, seed, max_iter)
            t0 = time.perf_counter()
            warm.fit(Xtr, ytr)
            rec["warmup_fit_s"] = time.perf_counter() - t0
            rec["layers"] = _layers(warm)
            del warm
            for seed, Xtr, Xte, ytr, yte in splits:
                pipe = lib.pipeline(side, seed, max_iter)
                fit_s = time_blocks({"fit": lambda: pipe.fit(Xtr, ytr)}, _ONCE)["fit"].times[0]
                acc = float(pipe.score(Xte, yte))
                clf = pipe[-1]
                run = {"seed": seed, "fit_s": fit_s, "accuracy": acc,
                       "n_iter": int(clf.n_iter_), "loss": float(clf.loss_),
                       "layers": _layers(pipe)}
                rec["runs"].append(run)
                on_fit(side, run)
    except Exception as exc:  # noqa: BLE001 - one broken side must not stop the suite
        rec["status"], rec["reason"] = "error", _short(exc)
        rec["traceback"] = traceback.format_exc()
        return rec
    bad = [r for r in rec["runs"] if r["layers"] != expected_layers]
    if bad:
        rec["status"] = "invalid"
        rec["reason"] = (f"fitted layers {'-'.join(map(str, bad[0]['layers']))}, expected "
                         f"{'-'.join(map(str, expected_layers))}")
    elif not all(math.isfinite(r["accuracy"]) and 0.0 <= r["accuracy"] <= 1.0
                 for r in rec["runs"]):
        rec["status"], rec["reason"] = "invalid", "accuracy not a number in [0, 1]"
    accs = [r["accuracy"] for r in rec["runs"]]
    rec["accuracy"] = {"mean": statistics.fmean(accs), "per_seed": accs}
    rec["fit_s"] = Timing([r["fit_s"] for r in rec["runs"]]).as_dict()
    rec["n_iter"] = [r["n_iter"] for r in rec["runs"]]
    return rec


def _target(text, value, threshold, ok, judged, why):
    t = {"text": text, "value": value, "threshold": threshold}
    if value is None:
        t.update(status="n/a", why="a side did not run")
    elif not judged:
        t.update(status="n/a", why=why)
    else:
        t["status"] = "met" if ok else "not met"
    return t


def compare(sides, *, judged, why="") -> dict:
    """Speedup, accuracy difference and the two targets from the two side records.

    Parameters
    ----------
    sides : dict
        ``{"sklearn": record, "fastnn": record}`` as :func:`run_sklearn` builds them.
    judged : bool
        Whether the targets are judged (full runs); otherwise their status is ``"n/a"``.
    why : str
        Why they are not judged.

    Returns
    -------
    dict
        ``speedup`` (scikit-learn's median fit time over fastnn's), ``speedup_best``
        (the same from the minimum times), ``accuracy_diff_pp`` (fastnn's mean accuracy
        minus scikit-learn's, in percentage points), ``accuracy_diff_pp_per_seed`` and
        ``targets`` (``speedup`` and ``accuracy``: text, value, threshold, status ``met``,
        ``not met`` or ``n/a``). Values are None when a side is not ok.
    """
    sk, fz = sides["sklearn"], sides["fastnn"]
    both = sk["status"] == "ok" and fz["status"] == "ok"
    speedup = sk["fit_s"]["median_s"] / fz["fit_s"]["median_s"] if both else None
    best = sk["fit_s"]["min_s"] / fz["fit_s"]["min_s"] if both else None
    diff = 100.0 * (fz["accuracy"]["mean"] - sk["accuracy"]["mean"]) if both else None
    per_seed = ([100.0 * (a - b) for a, b in zip(fz["accuracy"]["per_seed"],
                                                 sk["accuracy"]["per_seed"])] if both else [])
    return {
        "speedup": speedup, "speedup_best": best, "accuracy_diff_pp": diff,
        "accuracy_diff_pp_per_seed": per_seed,
        "targets": {
            "speedup": _target(f"fit >= {MIN_SPEEDUP:g}x faster (median)", speedup, MIN_SPEEDUP,
                               speedup is not None and speedup >= MIN_SPEEDUP, judged, why),
            "accuracy": _target(f"|accuracy diff| <= {MAX_ACC_DIFF_PP:g} pp (mean of seeds)",
                                diff, MAX_ACC_DIFF_PP,
                                diff is not None and abs(diff) <= MAX_ACC_DIFF_PP, judged, why),
        },
    }


# ---------------------------------------------------------------- report
def _header_lines(env, options) -> list:
    from fastnn.bench import report

    quick = ", quick run" if options["quick"] else ""
    d = options["data"]
    lines = [
        f"fastnn {env['fastnn']['version']} scikit-learn drop-in benchmark: digits, "
        f"StandardScaler + MLPClassifier(hidden_layer_sizes={HIDDEN}, batch_size={BATCH}, "
        f"max_iter={options['max_iter']}, random_state=seed), seeds 0..{options['seeds'] - 1}"
        f"{quick}; each side in its own block: an untimed warm-up fit, then one timed fit "
        "per seed",
    ]
    lines += report.machine_lines(env)
    lines.append(f"  sklearn     : {env['sklearn']['version']}")
    lines.append(f"  data        : load_digits {d['rows']} x {d['features']} ({d['dtype']}), "
                 f"{d['classes']} classes; train_test_split(test_size={TEST_SIZE}, stratify=y, "
                 f"random_state=seed): {d['train_rows']} train / {d['test_rows']} test rows")
    for note in options.get("notes", []):
        lines.append(f"  note        : {note}")
    return lines


RUN_COLS = f"{'side':<8}  {'seed':>4}  {'fit s':>7}  {'n_iter':>6}  {'test acc':>8}  {'loss':>7}"


def format_run(side, run) -> str:
    """The table line of one timed fit."""
    return (f"{side:<8}  {run['seed']:>4}  {run['fit_s']:>7.3f}  {run['n_iter']:>6}  "
            f"{run['accuracy']:>8.4f}  {run['loss']:>7.4f}")


def _range(values) -> str:
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}..{hi}"


def format_report(doc) -> list:
    """The lines after the per-fit table: per side, then the comparison and targets."""
    cols = f"{'side':<8}  {'fit s med/min':>15}  {'acc mean':>8}  {'n_iter':>7}"
    lines = [cols, "-" * len(cols)]
    for side, r in doc["sides"].items():
        if r["status"] != "ok":
            lines.append(f"{side:<8}  {r['status'].upper()}: {r['reason']}")
            continue
        t = r["fit_s"]
        lines.append(f"{side:<8}  {t['median_s']:>7.3f}/{t['min_s']:<7.3f}  "
                     f"{r['accuracy']['mean']:>8.4f}  {_range(r['n_iter']):>7}")
    c = doc["comparison"]
    tg = c["targets"]

    def status(t):
        s = {"met": "met", "not met": "NOT MET"}.get(t["status"], t["status"])
        return s + (f" ({t['why']})" if t.get("why") else "")

    lines.append("")
    if c["speedup"] is None:
        lines.append("no comparison: a side did not complete")
        return lines
    n = doc["options"]["seeds"]
    lines.append(f"speedup  (scikit-learn median fit / fastnn median fit): {c['speedup']:6.2f}x"
                 f"   (from the minimum times: {c['speedup_best']:.2f}x)   target >= "
                 f"{MIN_SPEEDUP:g}x: {status(tg['speedup'])}")
    lines.append(f"accuracy (fastnn - scikit-learn, mean of {n} seed{'s' if n != 1 else ''}): "
                 f"{c['accuracy_diff_pp']:+6.2f} pp   target |diff| <= {MAX_ACC_DIFF_PP:g} pp: "
                 f"{status(tg['accuracy'])}")
    return lines


def summarize(sides, comparison) -> dict:
    """Statuses of the sides and counts of the targets met, not met and not judged."""
    st = [t["status"] for t in comparison["targets"].values()]
    return {"sides": {k: v["status"] for k, v in sides.items()},
            "fastnn_failed": sides["fastnn"]["status"] != "ok",
            "targets_met": st.count("met"), "targets_not_met": st.count("not met"),
            "targets_na": st.count("n/a")}


# ---------------------------------------------------------------- driver
def run_sklearn(*, quick=False, seeds=None, threads=None, json_path=None, file=None) -> dict:
    """Run the scikit-learn drop-in benchmark.

    Parameters
    ----------
    quick : bool
        Two seeds and ``max_iter=20`` (a smoke test); the targets are not judged.
    seeds : int, optional
        Number of seeds (``0 .. seeds-1``); default 5, or 2 with ``quick``. The targets
        are judged with at least 5.
    threads : int, optional
        Threads for fastnn (``fastnn.set_num_threads``) and, through threadpoolctl when
        it is installed, NumPy's BLAS (which scikit-learn's MLP uses). Default: leave
        each library's setting alone. Restored afterwards.
    json_path : str, optional
        Also write the report as JSON to this path.
    file : text stream, optional
        Where the table goes (default ``sys.stdout``).

    Returns
    -------
    dict
        The report (schema ``fastnn-bench-sklearn/1``): ``environment``, ``options``,
        ``data``, ``sides`` (per side: ``status``, ``reason``, ``runs`` with each seed's
        ``fit_s``, ``accuracy``, ``n_iter`` and ``loss``, ``accuracy`` ``{mean,
        per_seed}``, ``fit_s`` ``{median_s, min_s, repeats, times_s}``, ``n_iter``,
        ``warmup_fit_s``, ``layers``), ``comparison`` (see :func:`compare`) and
        ``summary``.

    Raises
    ------
    SklearnUnavailable
        When scikit-learn (or ``fastnn.sklearn``) cannot be imported.
    ValueError
        For a bad ``seeds``.
    """
    from fastnn.bench import _env, report

    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer))
                              or seeds < 1):
        raise ValueError(f"seeds: expected a positive integer, got {seeds!r}")
    n_seeds = int(seeds) if seeds is not None else (QUICK_SEEDS if quick else DEFAULT_SEEDS)
    max_iter = QUICK_MAX_ITER if quick else MAX_ITER
    lib = _Libraries()
    out = file or sys.stdout
    splits, data = lib.splits(n_seeds)
    expected = [data["features"], *HIDDEN, data["classes"]]
    judged = not quick and n_seeds >= DEFAULT_SEEDS
    why = ("quick run: the targets are for max_iter 100" if quick else
           f"the targets average {DEFAULT_SEEDS} seeds" if not judged else "")
    settle = 0.0 if quick else SETTLE_S
    settings = _env.ThreadSettings(threads, None)
    try:
        env = _env.environment(None, ("sklearn",), lib.sklearn)
        options = {"suite": "sklearn", "quick": bool(quick), "threads": threads,
                   "seeds": n_seeds, "max_iter": max_iter, "hidden_layer_sizes": list(HIDDEN),
                   "batch_size": BATCH, "test_size": TEST_SIZE, "warmup_fits": 1,
                   "settle_s": settle, "order": list(SIDES), "data": data,
                   "targets_judged": judged, "notes": list(settings.notes)}
        for line in _header_lines(env, options):
            print(line, file=out)
        print(file=out)
        print(RUN_COLS, file=out)
        print("-" * len(RUN_COLS), file=out)

        def show(side, run):
            print(format_run(side, run), file=out, flush=True)

        t0 = time.perf_counter()
        sides = {}
        for side in SIDES:
            sides[side] = _run_side(side, lib, splits, max_iter, expected, settle, show)
        elapsed = time.perf_counter() - t0
        comparison = compare(sides, judged=judged, why=why)
        env["load_average_after"] = _env.load_average()
        created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        doc = {"schema": SCHEMA, "created": created, "environment": env, "options": options,
               "elapsed_s": elapsed, "data": data, "sides": sides, "comparison": comparison,
               "summary": summarize(sides, comparison)}
        print(file=out)
        for line in format_report(doc):
            print(line, file=out)
        load = env["load_average_after"]
        print(f"{2 * n_seeds + 2} fits in {elapsed:.1f} s"
              + (f"; load avg {load[0]:.2f} (1 min) after the run" if load else ""), file=out)
        if json_path:
            report.write_json(json_path, doc, out)
        return doc
    finally:
        settings.restore()
