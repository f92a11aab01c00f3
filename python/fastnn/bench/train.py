"""The training benchmark (``fastnn bench train``): one epoch of Adam, three networks.

Networks (float32, ReLU hidden layers, logits out, softmax cross-entropy on integer labels,
Adam lr=1e-3 betas=(0.9, 0.999) eps=1e-8, Glorot-uniform kernels and zero biases, rows
shuffled every epoch):

====================  ===========  =====================  =====
network               rows x in    layers                 batch
====================  ===========  =====================  =====
``mnist-like``        60000 x 784  784-512-256-10         128
``tabular``           20000 x 20   20-64-64-2             32
``wide``              16384 x 1024 1024-2048-2048-10      256
====================  ===========  =====================  =====

Data are synthetic and seeded: Gaussian X, standardized per column, labels the argmax of a
fixed random linear teacher (so the task is learnable). ``quick=True`` divides the rows by
4 and times one epoch.

Sides, each run in its own block (never interleaved: on 2 cores the worker threads of one
library would steal cores from the other):

- ``numpy``: :class:`fastnn.bench.train_peers.NumpyMLP`, the reference peer;
- ``torch`` (when ``import torch`` works): :class:`fastnn.bench.train_peers.TorchMLP`;
- ``sklearn`` (on request, when scikit-learn is installed):
  :class:`fastnn.bench.train_peers.SklearnMLP`, scikit-learn's ``MLPClassifier`` (relu,
  adam, ``alpha=0``, the same batch size and Adam settings), one ``partial_fit`` an
  epoch, predicting with ``predict_proba``;
- ``fastnn``: ``fnn.Sequential([...]).compile(Adam, SparseCategoricalCrossentropy)``, timed
  through ``model.fit(X, y, batch_size, epochs=1, shuffle=True, verbose=0)`` and
  ``model.predict(X, batch_size=4096)``; "unavailable" when this build has no model API.

NumPy and torch start from the same Glorot-uniform weights; fastnn from its own (seed 0);
scikit-learn from its own (``random_state=0``; it also draws the biases).
Every side first trains one warm-up epoch and is *validated*: its loss (float64
cross-entropy of its own logits on the first 2048 rows) must be finite and lower than
before the epoch, and its logits must match a float64 forward pass through its own
weights (``get_weights()``, on the first 256 rows) within the float32 error bound of the layers' dot products
(``2(k+1)·eps·(|h|@|W|+|b|)``, propagated through the layers). A side that outputs
probabilities (scikit-learn) is compared on that scale instead (:func:`softmax64`), and
its loss is the cross-entropy of its probabilities clipped below at float32's eps (as
scikit-learn's own log-loss does). The NumPy side's float32
loss must also match the float64 loss. Sides that fail are not timed. Then each side
pauses (``SETTLE_S``: another side's threads go idle), runs untimed epochs for at least
``REWARM_S`` (at least one: the cores leave their idle states), trains ``repeats`` more
epochs, each timed (median reported), and predicts over all rows ``repeats`` times
(inference throughput; the same pause and re-warm first).

Ratios: ``vs_numpy`` is NumPy's median time over the side's (above 1: faster than NumPy);
``torch_over_fastnn`` and ``sklearn_over_fastnn`` are torch's and scikit-learn's over
fastnn's.
"""
from __future__ import annotations

import datetime
import gc
import inspect
import math
import sys
import time
import traceback
from dataclasses import dataclass

import numpy as np

from fastnn.bench._timing import Schedule, check_bound, check_close, combine, contention_counter, time_blocks
from fastnn.bench.train_peers import NumpyMLP, SklearnMLP, TorchMLP, glorot_uniform_weights

SCHEMA = "fastnn-bench-train/1"
SIDES = ("numpy", "torch", "sklearn", "fastnn")
ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
PREDICT_BATCH = 4096
EVAL_ROWS = 2048
CHECK_ROWS = 256
DEFAULT_REPEATS = 3
SEED = 20240601
SETTLE_S = 0.1
# Untimed work of the side's own after the pause before each block: at least this long,
# at least one epoch.  After 0.1-0.5 s idle the VM's cores ran the next ~10 ms at half
# speed (a 5 ms epoch took 11-14 ms), so the first timed epoch measured the wake-up.
REWARM_S = 0.05

__all__ = ["Network", "NETWORKS", "networks", "make_data", "run_train", "SCHEMA"]


@dataclass(frozen=True)
class Network:
    """One benchmark network: ``rows`` samples of ``features`` inputs, hidden widths,
    ``classes`` outputs, minibatch size."""

    key: str
    rows: int
    features: int
    hidden: tuple
    classes: int
    batch: int

    @property
    def sizes(self) -> tuple:
        """Layer widths from the input to the output."""
        return (self.features,) + tuple(self.hidden) + (self.classes,)

    @property
    def name(self) -> str:
        """``"<key> <widths> B=<batch>"``, as shown in the table."""
        return f"{self.key} {'-'.join(map(str, self.sizes))} B={self.batch}"

    @property
    def n_params(self) -> int:
        """Number of trainable parameters (kernels and biases)."""
        s = self.sizes
        return sum(a * b + b for a, b in zip(s[:-1], s[1:]))

    def info(self) -> dict:
        """The JSON ``info`` record of this network."""
        return {"rows": self.rows, "features": self.features, "hidden": list(self.hidden),
                "classes": self.classes, "batch": self.batch, "dtype": "float32",
                "params": self.n_params, "batches_per_epoch": -(-self.rows // self.batch),
                "activation": "relu", "loss": "softmax cross-entropy (integer labels)",
                "optimizer": dict(ADAM, name="adam"), "init": "glorot_uniform, zero bias",
                "predict_batch": PREDICT_BATCH, "eval_rows": min(EVAL_ROWS, self.rows)}


NETWORKS = (
    Network("mnist-like", 60000, 784, (512, 256), 10, 128),
    Network("tabular", 20000, 20, (64, 64), 2, 32),
    Network("wide", 16384, 1024, (2048, 2048), 10, 256),
)


def networks(quick=False, scale=1.0, filter=None) -> list:
    """The networks a run uses: rows divided by 4 when ``quick``, times ``scale`` (at least
    8 batches: Adam's first steps raise the loss of the wide network); only those whose name contains one of the comma-separated ``filter``
    substrings."""
    pats = [p.strip().lower() for p in str(filter or "").split(",") if p.strip()]
    out = []
    for net in NETWORKS:
        rows = max(8 * net.batch, int(round(net.rows * (0.25 if quick else 1.0) * scale)))
        n = Network(net.key, rows, net.features, net.hidden, net.classes, net.batch)
        if not pats or any(p in n.name.lower() for p in pats):
            out.append(n)
    return out


def make_data(net: Network, seed=SEED):
    """Seeded synthetic data for ``net``: ``(X, y)``.

    X is standard Gaussian, standardized per column (float32, C order); y (int64) is the
    argmax of a fixed random linear teacher ``X @ T + c``.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((net.rows, net.features), dtype=np.float32)
    X -= X.mean(axis=0)
    X /= X.std(axis=0) + np.float32(1e-12)
    teacher = rng.standard_normal((net.features, net.classes)) / math.sqrt(net.features)
    shift = 0.1 * rng.standard_normal(net.classes)
    y = np.argmax(X.astype(np.float64) @ teacher + shift, axis=1).astype(np.int64)
    return np.ascontiguousarray(X), y


# ---------------------------------------------------------------- validation helpers
def xent64(logits, y) -> float:
    """Mean softmax cross-entropy of ``logits`` against integer labels, in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def accuracy(logits, y) -> float:
    """Fraction of rows whose largest logit is at the label."""
    return float(np.mean(np.argmax(logits, axis=1) == y))


def forward64(weights, X):
    """Float64 forward pass through ``[W1, b1, ...]`` and the componentwise error bound of
    a float32 evaluation: ``(logits, bound)``."""
    eps = float(np.finfo(np.float32).eps)
    h = X.astype(np.float64)
    err = np.zeros((X.shape[0], weights[0].shape[0]))
    n = len(weights) // 2
    for i in range(n):
        w = np.asarray(weights[2 * i], dtype=np.float64)
        b = np.asarray(weights[2 * i + 1], dtype=np.float64)
        aw = np.abs(w)
        z = h @ w + b
        err = 2.0 * (w.shape[0] + 1) * eps * (np.abs(h) @ aw + np.abs(b)) + err @ aw
        h = np.maximum(z, 0.0) if i < n - 1 else z
    return h, err + np.finfo(np.float32).tiny


def softmax64(logits, bound):
    """Float64 softmax of reference ``logits`` and the error bound of probabilities computed
    in float32 from logits within ``bound``: ``(proba, bound)``.

    Logits off by at most ``B`` (the row's largest bound) change each probability by a
    factor within ``exp(±2B)``; the float32 softmax itself adds a relative
    ``(k + 4 + zmax - z)·eps`` (shift, exp, sum of ``k`` terms, division), and ``2·eps``
    absolute covers a logistic unit's ``1 - p``.
    """
    eps = float(np.finfo(np.float32).eps)
    z = np.asarray(logits, dtype=np.float64)
    gap = z.max(axis=1, keepdims=True) - z
    e = np.exp(-gap)
    p = e / e.sum(axis=1, keepdims=True)
    big = np.asarray(bound, dtype=np.float64).max(axis=1, keepdims=True)
    rel = np.expm1(2.0 * big) + (z.shape[1] + 4 + gap) * eps
    return p, p * rel + 2.0 * eps


def _as_logits(runner, out):
    """A side's outputs as logits: as they are, or for a side that outputs probabilities
    their logarithms (float64, probabilities clipped below at float32's eps)."""
    if getattr(runner, "outputs", "logits") == "proba":
        p = np.asarray(out, dtype=np.float64)
        return np.log(np.maximum(p, float(np.finfo(np.float32).eps)))
    return np.asarray(out)


def _validate(side, runner, Xs, ys, loss_before):
    """The checks after the warm-up epoch: dict of name -> Check-like dict, and ok."""
    raw = np.asarray(runner.predict(Xs, PREDICT_BATCH))
    logits = _as_logits(runner, raw)
    after = xent64(logits, ys)
    dec = {"ok": bool(math.isfinite(after) and after < loss_before), "before": loss_before,
           "after": after}
    if not dec["ok"]:
        dec["detail"] = f"loss {after:.6g} after one epoch, {loss_before:.6g} before"
    out = {"loss_decreased": dec}
    weights = runner.get_weights()
    if weights is None:
        out["forward"] = {"ok": None, "skipped": "no get_weights()"}
    else:
        nf = min(CHECK_ROWS, len(ys))
        ref, bound = forward64(weights, Xs[:nf])
        if getattr(runner, "outputs", "logits") == "proba":
            ref, bound = softmax64(ref, bound)
            out["forward"] = check_bound(raw[:nf], ref, bound, name="probabilities").as_dict()
        else:
            out["forward"] = check_bound(logits[:nf].astype(np.float32, copy=False), ref, bound,
                                         name="logits").as_dict()
        if side == "numpy":
            loss32 = runner.loss(Xs[:nf], ys[:nf])
            # the loss function itself, then the whole float32 forward + loss
            lo = xent64(ref, ys[:nf])
            slack = 2.0 * float(np.mean(bound.max(axis=1)))
            chk = combine([
                check_close(np.float64(loss32), np.float64(xent64(logits[:nf], ys[:nf])),
                            rtol=1e-5, atol=1e-6, name="loss vs float64 loss of the same logits"),
                check_close(np.float64(loss32), np.float64(lo), rtol=1e-5, atol=1e-6 + slack,
                            name="loss vs float64 forward"),
            ])
            out["loss"] = dict(chk.as_dict(), value=float(loss32), reference=lo)
    ok = all(v.get("ok") is not False for v in out.values())
    return out, ok, logits


# ---------------------------------------------------------------- the three sides
class _Unavailable(Exception):
    """The fastnn model API is not in this build."""


def _accepts(fn, name) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _fastnn_api():
    import importlib

    import fastnn as fnn

    found = {}
    for mod in ("layers", "optimizers", "losses"):
        m = getattr(fnn, mod, None)
        if m is None:
            try:
                m = importlib.import_module(f"fastnn.{mod}")
            except ModuleNotFoundError as exc:
                if exc.name != f"fastnn.{mod}":
                    raise
                raise _Unavailable(f"fastnn.{mod} not available in this build") from None
        found[mod] = m
    try:
        return (fnn.Sequential, found["layers"].Input, found["layers"].Dense,
                found["optimizers"].Adam, found["losses"].SparseCategoricalCrossentropy)
    except AttributeError as exc:
        raise _Unavailable(f"fastnn model API not available in this build ({exc})") from None


class _NumpySide:
    def __init__(self, net, X, y, weights):
        self.model = NumpyMLP(weights, seed=SEED, **ADAM)
        self.X, self.y, self.batch = X, y, net.batch
        self.info = {"impl": "NumpyMLP: float32 @ (NumPy BLAS), in-place NumPy Adam"}

    def train_epoch(self):
        self.model.train_epoch(self.X, self.y, self.batch)

    def predict(self, X, batch_size):
        return self.model.predict(X, batch_size)

    def get_weights(self):
        return self.model.get_weights()

    def loss(self, X, y):
        return self.model.loss(X, y)


class _TorchSide(_NumpySide):
    def __init__(self, net, X, y, weights, torch):
        self.model = TorchMLP(torch, weights, seed=SEED, **ADAM)
        self.X, self.y, self.batch = X, y, net.batch
        self.info = {"impl": "eager nn.Sequential(Linear, ReLU), F.cross_entropy, "
                             "torch.optim.Adam (default implementation)",
                     "version": torch.__version__, "threads": torch.get_num_threads()}


class _SklearnSide(_NumpySide):
    def __init__(self, net, X, y, MLPClassifier):
        import sklearn

        self.model = SklearnMLP(MLPClassifier, net.hidden, net.classes, batch_size=net.batch,
                                seed=0, **ADAM)
        self.model.start(X, y)
        self.outputs = self.model.outputs
        self.X, self.y, self.batch = X, y, net.batch
        est = self.model.model
        self.info = {"impl": "sklearn.neural_network.MLPClassifier(activation='relu', "
                             "solver='adam', alpha=0.0, shuffle=True, random_state=0): one "
                             "partial_fit per epoch; predict_proba",
                     "version": sklearn.__version__, "batch_size": est.batch_size,
                     "learning_rate_init": est.learning_rate_init, "beta_1": est.beta_1,
                     "beta_2": est.beta_2, "epsilon": est.epsilon,
                     "outputs": "probabilities" + (" (one logistic unit)" if net.classes == 2
                                                   else " (softmax)")}

    def loss(self, X, y):  # pragma: no cover - only the NumPy side's loss is checked
        raise NotImplementedError


class _FastnnSide:
    def __init__(self, net, X, y):
        Sequential, Input, Dense, Adam, SCCE = _fastnn_api()
        dense_kw = {k: v for k, v in (("kernel_initializer", "glorot_uniform"),
                                      ("bias_initializer", "zeros")) if _accepts(Dense, k)}
        layers = [Input(net.features)]
        layers += [Dense(h, activation="relu", **dense_kw) for h in net.hidden]
        layers.append(Dense(net.classes, **dense_kw))
        seq_kw = {"seed": 0} if _accepts(Sequential, "seed") else {}
        self.model = Sequential(layers, **seq_kw)
        adam_kw = {k: v for k, v in (("beta_1", ADAM["beta1"]), ("beta_2", ADAM["beta2"]),
                                     ("epsilon", ADAM["eps"])) if _accepts(Adam, k)}
        self.model.compile(optimizer=Adam(ADAM["lr"], **adam_kw), loss=SCCE(from_logits=True))
        self._fit_seed = _accepts(self.model.fit, "seed")
        self._epoch = 0
        self.X, self.y, self.batch = X, y, net.batch
        self.info = {"impl": "fastnn.Sequential.fit(epochs=1, shuffle=True, verbose=0)",
                     "adam_kwargs": dict(adam_kw), "dense_kwargs": dict(dense_kw),
                     "seeded": bool(seq_kw)}

    def train_epoch(self):
        kw = {"seed": self._epoch} if self._fit_seed else {}
        self._epoch += 1
        self.model.fit(self.X, self.y, batch_size=self.batch, epochs=1, shuffle=True,
                       verbose=0, **kw)

    def predict(self, X, batch_size):
        return np.asarray(self.model.predict(X, batch_size=batch_size))

    def get_weights(self):
        get = getattr(self.model, "get_weights", None)
        return None if get is None else [np.asarray(w) for w in get()]


def _short(exc) -> str:
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0] if msg else ''}".strip()


def _run_side(side, make, X, y, schedule):
    """Build, validate (warm-up epoch) and time one side; its JSON-ready record."""
    rec = {"status": "ok", "reason": "", "info": {}, "validation": {}, "loss": {},
           "accuracy": {}, "timing": {}, "samples_per_s": {}}
    runner = None
    try:
        try:
            runner = make()
        except _Unavailable as exc:
            rec["status"], rec["reason"] = "unavailable", str(exc)
            return rec
        rec["info"] = dict(runner.info)
        n_eval = min(EVAL_ROWS, X.shape[0])
        Xs, ys = X[:n_eval], y[:n_eval]
        logits0 = _as_logits(runner, runner.predict(Xs, PREDICT_BATCH))
        rec["loss"]["initial"] = xent64(logits0, ys)
        rec["accuracy"]["initial"] = accuracy(logits0, ys)
        runner.train_epoch()  # warm-up
        checks, ok, logits1 = _validate(side, runner, Xs, ys, rec["loss"]["initial"])
        rec["validation"] = checks
        rec["loss"]["after_warmup"] = checks["loss_decreased"]["after"]
        rec["accuracy"]["after_warmup"] = accuracy(logits1, ys)
        if not ok:
            bad = [f"{k}: {v.get('detail', 'failed')}" for k, v in checks.items()
                   if v.get("ok") is False]
            rec["status"], rec["reason"] = "invalid", "; ".join(bad)
            return rec
        timings = time_blocks({"train": runner.train_epoch}, schedule, disturbed=contention_counter())
        timings.update(time_blocks({"predict": lambda: runner.predict(X, PREDICT_BATCH)},
                                   schedule, disturbed=contention_counter()))
        for k, t in timings.items():
            rec["timing"][k] = t.as_dict()
            rec["samples_per_s"][k] = X.shape[0] / t.median
        logits = _as_logits(runner, runner.predict(Xs, PREDICT_BATCH))
        rec["loss"]["final"] = xent64(logits, ys)
        rec["accuracy"]["final"] = accuracy(logits, ys)
        tt = timings["train"]
        rec["epochs_trained"] = 1 + tt.warmup_calls + len(tt.times) + tt.discarded_calls
        return rec
    except Exception as exc:  # noqa: BLE001 - one broken side must not stop the suite
        rec["status"], rec["reason"] = "error", _short(exc)
        rec["traceback"] = traceback.format_exc()
        return rec
    finally:
        del runner
        gc.collect()


def _ratios(sides, kind) -> dict:
    med = {s: r["timing"][kind]["median_s"] for s, r in sides.items()
           if r["status"] == "ok" and kind in r["timing"]}
    vs = {s: med["numpy"] / t for s, t in med.items() if s != "numpy" and "numpy" in med}
    out = {"vs_numpy": vs}
    for peer in ("torch", "sklearn"):
        out[f"{peer}_over_fastnn"] = (med[peer] / med["fastnn"] if peer in med and "fastnn" in med
                                      else None)
    return out


def run_network(net: Network, *, peers, torch, schedule, sklearn_cls=None,
                sklearn_missing="") -> dict:
    """Data, then each side in turn (numpy, torch, sklearn, fastnn); the network's record.

    ``sklearn_cls`` is scikit-learn's ``MLPClassifier`` when ``"sklearn"`` is among the
    peers and importable; otherwise ``sklearn_missing`` says why not.
    """
    X, y = make_data(net)
    init = glorot_uniform_weights(net.sizes, SEED)
    makers = {"numpy": lambda: _NumpySide(net, X, y, init)}
    skipped = {}
    if "torch" in peers and torch is not None:
        makers["torch"] = lambda: _TorchSide(net, X, y, init, torch)
    elif "torch" in peers:
        skipped["torch"] = "torch is not installed"
    else:
        skipped["torch"] = "not requested (--peers numpy,torch)"
    if "sklearn" in peers and sklearn_cls is not None:
        makers["sklearn"] = lambda: _SklearnSide(net, X, y, sklearn_cls)
    elif "sklearn" not in peers:
        skipped["sklearn"] = "not requested (--peers numpy,sklearn)"
    makers["fastnn"] = lambda: _FastnnSide(net, X, y)
    rec = {"name": net.name, "key": net.key, "info": net.info(),
           "label_counts": np.bincount(y, minlength=net.classes).tolist(), "sides": {}}
    with np.errstate(all="ignore"):
        for side in SIDES:
            if side in skipped:
                rec["sides"][side] = {"status": "skipped", "reason": skipped[side]}
                continue
            if side not in makers:
                rec["sides"][side] = {"status": "unavailable", "reason": sklearn_missing}
                continue
            rec["sides"][side] = _run_side(side, makers[side], X, y, schedule)
    rec["ratio"] = {k: _ratios(rec["sides"], k) for k in ("train", "predict")}
    return rec


# ---------------------------------------------------------------- report
def _header_lines(env, options) -> list:
    from fastnn.bench import report

    quick = ", quick run" if options["quick"] else ""
    lines = [
        f"fastnn {env['fastnn']['version']} training benchmark: one epoch of Adam (float32), "
        f"each side validated, then timed in its own block (median of {options['repeats']}{quick})",
    ]
    lines += report.machine_lines(env)
    t = env.get("torch")
    lines.append("  torch       : " + (t["version"] if t and t.get("version")
                                      else (t or {}).get("note", "not requested")))
    sk = env.get("sklearn")
    if sk is not None:
        lines.append("  sklearn     : " + (sk["version"] or sk.get("note", "")))
    for note in options.get("notes", []):
        lines.append(f"  note        : {note}")
    return lines


_COLS = (f"{'network / side':<34}  {'s/epoch med/min':>17}  {'train smp/s':>11}  "
         f"{'x numpy':>7}  {'predict smp/s':>13}  {'x numpy':>7}  {'loss 0 > 1 > end':>20}  "
         f"{'acc':>5}")


def _n(v, fmt="{:.0f}", width=9):
    return f"{'-':>{width}}" if v is None else f"{fmt.format(v):>{width}}"


def _side_row(side, r, ratio) -> str:
    head = f"  {side:<32}"
    if r["status"] != "ok":
        label = {"unavailable": "unavailable", "skipped": "skipped", "invalid": "INVALID",
                 "error": "ERROR"}[r["status"]]
        return f"{head}  {label}: {r['reason']}"
    tt = r["timing"]["train"]
    sec = f"{tt['median_s']:.3f}/{tt['min_s']:.3f}"
    ls = r["loss"]
    loss = f"{ls['initial']:.3f}>{ls['after_warmup']:.3f}>{ls['final']:.3f}"
    return (f"{head}  {sec:>17}  {_n(r['samples_per_s']['train'], width=11)}  "
            f"{_n(ratio['train']['vs_numpy'].get(side), '{:.2f}x', 7)}  "
            f"{_n(r['samples_per_s']['predict'], width=13)}  "
            f"{_n(ratio['predict']['vs_numpy'].get(side), '{:.2f}x', 7)}  "
            f"{loss:>20}  {r['accuracy']['final']:>5.3f}")


def format_network(rec) -> list:
    """Table lines for one network record."""
    i = rec["info"]
    lines = [f"{rec['name']}  ({i['rows']} rows, {i['params']} params, "
             f"{i['batches_per_epoch']} batches/epoch)"]
    for side, r in rec["sides"].items():
        lines.append(_side_row(side, r, rec["ratio"]))
    for peer in ("torch", "sklearn"):
        key = f"{peer}_over_fastnn"
        tf = [f"{k} {rec['ratio'][k][key]:.2f}x" for k in ("train", "predict")
              if rec["ratio"][k].get(key) is not None]
        if tf:
            lines.append(f"  {peer} time / fastnn time: {', '.join(tf)}")
    return lines


def summarize(records) -> dict:
    """Per side, how many networks ended ok, invalid, error, unavailable, skipped."""
    s = {"networks": len(records)}
    for side in SIDES:
        counts = dict.fromkeys(("ok", "invalid", "error", "unavailable", "skipped"), 0)
        for r in records:
            counts[r["sides"][side]["status"]] += 1
        s[side] = counts
    s["fastnn_failed"] = s["fastnn"]["invalid"] + s["fastnn"]["error"]
    return s


# ---------------------------------------------------------------- driver
def run_train(*, quick=False, threads=None, peers=("numpy", "torch"), repeats=None,
              json_path=None, file=None, scale=1.0, filter=None) -> dict:
    """Run the training benchmark.

    Parameters
    ----------
    quick : bool
        Rows divided by 4 and one timed epoch per side (a smoke test).
    threads : int, optional
        Threads for fastnn, PyTorch and (through threadpoolctl, when installed) NumPy's
        BLAS. Default: leave each library's setting alone.
    peers : sequence of str
        Subset of ``("numpy", "torch", "sklearn")``. NumPy is always measured (the
        reference for the ratios); torch and scikit-learn are reported "unavailable" when
        they cannot be imported.
    repeats : int, optional
        Timed epochs (and predict passes) per side after the warm-up epoch; default 3,
        or 1 with ``quick``.
    json_path : str, optional
        Also write the report as JSON to this path.
    file : text stream, optional
        Where the table goes (default ``sys.stdout``).
    scale : float
        Extra factor on the number of rows (at least 8 batches remain); for tests.
    filter : str, optional
        Run only the networks whose name contains one of these comma-separated substrings.

    Returns
    -------
    dict
        The report (schema ``fastnn-bench-train/1``); ``summary["fastnn_failed"]`` counts
        the networks whose fastnn side failed validation or raised.
    """
    from fastnn.bench import PEERS, _env, report

    out = file or sys.stdout
    peers = tuple(dict.fromkeys(("numpy",) + tuple(peers)))
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise ValueError(f"peers: unknown peer {unknown[0]!r}; choose from {', '.join(PEERS)}")
    if not (isinstance(scale, (int, float)) and scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale: expected a positive number, got {scale!r}")
    reps = int(repeats) if repeats is not None else (1 if quick else DEFAULT_REPEATS)
    if reps < 1:
        raise ValueError(f"repeats: expected a positive integer, got {repeats!r}")
    schedule = Schedule(warmup=0, warmup_time=0.0 if quick else REWARM_S, min_repeats=reps, max_repeats=reps,
                        min_time=0.0, settle=0.0 if quick else SETTLE_S, max_time=float("inf"))
    torch = _env.import_torch() if "torch" in peers else None
    sklearn_cls, sklearn_missing = None, ""
    if "sklearn" in peers:
        try:
            sklearn_cls = _env.sklearn_classifier()
        except ImportError as exc:
            sklearn_missing = str(exc)
    nets = networks(quick, scale, filter)
    settings = _env.ThreadSettings(threads, torch)
    try:
        env = _env.environment(torch, peers, _env.import_sklearn() if sklearn_cls else None)
        if sklearn_missing and env.get("sklearn"):
            env["sklearn"]["note"] = sklearn_missing
        run_peers = [p for p in peers if (p != "torch" or torch is not None)
                     and (p != "sklearn" or sklearn_cls is not None)]
        options = {"suite": "train", "quick": bool(quick), "scale": scale, "filter": filter,
                   "threads": threads, "peers": run_peers, "requested_peers": list(peers),
                   "repeats": reps, "warmup_epochs": 1, "settle_s": schedule.settle,
                   "rewarm_s": schedule.warmup_time,
                   "predict_batch": PREDICT_BATCH, "eval_rows": EVAL_ROWS, "seed": SEED,
                   "notes": list(settings.notes)}
        for line in _header_lines(env, options):
            print(line, file=out)
        print(file=out)
        if not nets:
            print(f"no network matches filter {filter!r}", file=out)
        else:
            print("x numpy: NumPy's median time over the side's (above 1: faster). loss: on the "
                  f"first {EVAL_ROWS} rows before training > after the warm-up epoch > at the "
                  "end; acc: accuracy there at the end.", file=out)
            print(_COLS, file=out)
            print("-" * len(_COLS), file=out)
        t0 = time.perf_counter()
        records = []
        for net in nets:
            rec = run_network(net, peers=peers, torch=torch, schedule=schedule,
                              sklearn_cls=sklearn_cls, sklearn_missing=sklearn_missing)
            records.append(rec)
            for line in format_network(rec):
                print(line, file=out, flush=True)
        elapsed = time.perf_counter() - t0
        created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        doc = {"schema": SCHEMA, "created": created,
               "environment": env, "options": options, "elapsed_s": elapsed,
               "summary": summarize(records), "networks": records}
        s = doc["summary"]
        print(file=out)
        print(f"{s['networks']} network{'s' if s['networks'] != 1 else ''} in {elapsed:.1f} s; fastnn: {s['fastnn']['ok']} ok, "
              f"{s['fastnn']['unavailable']} unavailable, {s['fastnn']['invalid']} invalid, "
              f"{s['fastnn']['error']} errors", file=out)
        if json_path:
            report.write_json(json_path, doc, out)
        return doc
    finally:
        settings.restore()
