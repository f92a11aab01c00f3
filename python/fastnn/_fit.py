"""The Python side of training: validate once, then one native call per epoch (or per chunk
of batches when a callback needs them), callbacks between calls."""
from __future__ import annotations

import copy
import math
import numbers
import time

import numpy as np

from fastnn import _augment, _core, _data
from fastnn import losses as _losses

_PREDICT_BATCH = 1024
_SUM_BATCH = 32  # batch rows of evaluate's reduction="sum" losses when batch_size is None (Keras' default)


def _prepare(model):
    if not model.compiled:
        raise RuntimeError("the model must be compiled before training or evaluation: call model.compile(...)")


def _inputs(model, x, y=None):
    if hasattr(model, "_ensure_built"):
        model._ensure_built(x, y)
    xs = _data.split_named(x, model.input_names, "x")
    return [_data.as_matrix(v, "x", model.dtype, t.width, other_float=True) for v, t in zip(xs, model._inputs)]


def _targets(model, y):
    if y is None:
        raise ValueError("y: targets are required")
    ys = _data.split_named(y, model.output_names, "y")
    floats, labels = [], []
    for v, t, l in zip(ys, model._outputs, model._losses):
        if getattr(l, "sparse", False):
            floats.append(None)
            labels.append(_data.as_labels(v, "y", t.width))
        else:
            floats.append(_data.as_targets(v, "y", model.dtype, t.width))
            labels.append(None)
    return floats, labels


def _class_weighted(model, sw, class_weight, floats, labels):
    """Sample weights ``sw`` (or None) times the class weights of the rows' targets (training
    rows only: validation rows keep their sample weights, as in Keras)."""
    if class_weight is not None:
        if len(model._outputs) != 1:
            raise ValueError("class_weight: only for single-output models (use sample_weight)")
        cw = _data.class_weights(class_weight, labels[0] if labels[0] is not None else floats[0],
                                 labels[0] is not None, model.dtype)
        sw = cw if sw is None else (sw * cw).astype(model.dtype)
    return sw


def _link(loss, out):
    """Outputs as probabilities for metrics when the loss takes logits."""
    if not getattr(loss, "from_logits", False):
        return out
    if isinstance(loss, _losses.BinaryCrossentropy):
        return 1.0 / (1.0 + np.exp(-np.clip(out, -500, 500)))
    z = out - out.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _metric_logs(model, preds, floats, labels, sw, prefix=""):
    """The compiled metrics on predictions ``preds``: ``metrics`` unweighted, ``weighted_metrics``
    weighted by ``sw`` (keys prefixed ``weighted_`` where a name repeats)."""
    logs = {}
    multi = len(model._outputs) > 1
    for o, (plain, weighted_ms) in enumerate(zip(model._metric_objs, model._weighted_metric_objs)):
        if not plain and not weighted_ms:
            continue
        y_true = labels[o] if labels[o] is not None else floats[o]
        y_pred = _link(model._losses[o], preds[o])
        for ms, weighted in ((plain, False), (weighted_ms, True)):
            for m in ms:
                key = f"{model.output_names[o]}_{m.name}" if multi else m.name
                if weighted and prefix + key in logs:
                    key = f"{model.output_names[o]}_weighted_{m.name}" if multi else f"weighted_{m.name}"
                m.reset_state()
                try:
                    m.update_state(y_true, y_pred, sample_weight=sw if weighted else None)
                    r = m.result()
                except (ValueError, TypeError) as e:
                    if not np.all(np.isfinite(y_pred)):  # a diverged model: its metrics are NaN
                        logs[prefix + key] = float("nan")
                        continue
                    raise type(e)(f"metric {key!r} ({type(m).__name__}) on output {model.output_names[o]!r}: {e}") \
                        from None
                logs[prefix + key] = r if np.ndim(r) == 0 else np.asarray(r)
    return logs


def _check_metrics(model, floats, labels):
    """Every compiled metric on a few rows of its output's targets (against a zero
    prediction), so that a metric that cannot take them fails before training changes the
    model, not after its first epoch."""
    k = min(4, next(a.shape[0] for a in floats + labels if a is not None))
    preds = [np.zeros((k, t.width), dtype=model.dtype) for t in model._outputs]
    head = lambda v: None if v is None else v[:k]
    try:
        _metric_logs(model, preds, [head(v) for v in floats], [head(v) for v in labels], None)
    finally:
        for ms in model._metric_objs + model._weighted_metric_objs:
            for m in ms:
                m.reset_state()


def _penalty(model):
    """Penalties of the trainable weights: the ones training adds (and Keras counts)."""
    total = 0.0
    P = model._engine.params
    for layer, d, off in model._layout.entries:
        if d.regularizer is not None and layer.trainable and d.trainable:
            total += float(d.regularizer(P[off:off + d.size].reshape(d.shape)))
    return total


def predict(model, x, batch_size=None):
    model._sync()
    xs = _inputs(model, x)
    n = xs[0].shape[0]
    _data.check_rows(xs, "x")
    bs = _PREDICT_BATCH if batch_size is None else _data.positive_int(batch_size, "batch_size")
    outs = [np.empty((n, t.width), dtype=model.dtype) for t in model._outputs]
    model._engine.predict(xs, n, bs, outs, model._py_layers)
    if model._output_style == "single":
        return outs[0]
    if model._output_style == "dict":
        return dict(zip(model.output_names, outs))
    return outs


def evaluate(model, x, y, batch_size=None, sample_weight=None, prefix=""):
    _prepare(model)
    model._sync()
    xs = _inputs(model, x, y)
    floats, labels = _targets(model, y)
    n = _data.check_rows(xs + floats + labels)
    sw = _data.as_sample_weight(sample_weight, n, model.dtype)
    return _evaluate_arrays(model, xs, floats, labels, sw, batch_size, prefix)


def _evaluate_arrays(model, xs, floats, labels, sw, batch_size=None, prefix=""):
    """evaluate() on validated arrays."""
    n = xs[0].shape[0]
    bs = _PREDICT_BATCH if batch_size is None else _data.positive_int(batch_size, "batch_size")
    preds = [np.empty((n, t.width), dtype=model.dtype) for t in model._outputs]
    # An output whose cross-entropy training computes from the logits (a softmax/sigmoid
    # output with a loss on probabilities) is scored from them here too: the same loss as
    # training reports, where clipped probabilities would cap a confident miss's loss.
    fused = model._engine.fused_outputs
    logits = [np.empty((n, t.width), dtype=model.dtype) if f else None for t, f in zip(model._outputs, fused)]
    model._engine.predict(xs, n, bs, preds, model._py_layers, logits if any(fused) else None)
    total = _penalty(model)
    per = {}
    for o, l in enumerate(model._losses):
        yt = labels[o] if labels[o] is not None else floats[o]
        pred = preds[o]
        if fused[o]:  # (a copy: a subclass's constructor may not take from_logits)
            l, pred = copy.copy(l), logits[o]
            l.from_logits = True
        v = _batched_sum_loss(l, yt, pred, sw, batch_size or _SUM_BATCH) if l.reduction == "sum" else \
            float(l(yt, pred, sample_weight=sw))
        per[o] = v
        total += model._loss_weights[o] * v
    logs = {prefix + "loss": total}
    if len(model._outputs) > 1:
        for o, name in enumerate(model.output_names):
            logs[f"{prefix}{name}_loss"] = per[o]
    logs.update(_metric_logs(model, preds, floats, labels, sw, prefix))
    return logs


def _batched_sum_loss(loss, y_true, y_pred, sw, batch_size):
    """A reduction="sum" loss as training reports it: each batch of ``batch_size`` rows
    sums its (weighted) sample losses; the batches' sums are averaged, weighted by their
    sizes (as Keras does)."""
    l = loss.per_sample(y_true, y_pred)
    if sw is not None:
        l = l * np.asarray(sw, dtype=np.float64)
    n = l.shape[0]
    starts = np.arange(0, n, batch_size)
    sums = np.add.reduceat(l, starts)
    sizes = np.minimum(starts + batch_size, n) - starts
    return float(np.dot(sizes, sums) / n)


def train_on_batch(model, x, y, sample_weight=None, class_weight=None):
    _prepare(model)
    model._sync()
    xs = _inputs(model, x, y)
    floats, labels = _targets(model, y)
    n = _data.check_rows(xs + floats + labels)
    sw = _class_weighted(model, _data.as_sample_weight(sample_weight, n, model.dtype), class_weight, floats, labels)
    _check_metrics(model, floats, labels)
    order = np.arange(n, dtype=np.int64)
    lrs = model.optimizer._learning_rates(1, 0)
    collect = [np.empty((n, t.width), dtype=model.dtype) if w else None
               for t, w in zip(model._outputs, model._wants_outputs())]
    snapshot = _snapshot(model) if _calls_python(model) else None  # (see fit)
    st = model._engine.run_epoch(xs, _none_list(floats), _none_list(labels), sw, order, n, 0, 1, lrs, collect,
                                 False, False, model._py_layers, py_penalty=model._py_penalty)
    err = st.get("error")
    if err is not None:  # a Python layer raised (Ctrl-C included), or Ctrl-C after the step
        if st["batches"] == 0 and snapshot is not None:
            _restore(model, snapshot)
        raise err
    logs = _loss_logs(model, st)
    logs.update(_metric_logs(model, collect, floats, labels, sw))
    return logs


def _loss_logs(model, st):
    """The loss (and, for several outputs, each output's loss) of engine stats ``st``."""
    n = max(st["samples"], 1)
    logs = {"loss": st["loss_sum"] / n}
    if len(model._outputs) > 1:
        for o, name in enumerate(model.output_names):
            logs[f"{name}_loss"] = float(st["output_loss_sum"][o] / n)
    return logs


def _none_list(v):
    return [a if a is not None else np.empty(0) for a in v]


def _split_validation(xs, floats, labels, sw, split):
    if isinstance(split, (bool, np.bool_)) or not (isinstance(split, numbers.Real) and 0 <= split < 1):
        raise ValueError(f"validation_split: expected a number in [0, 1), got {split!r}")
    n = xs[0].shape[0]
    n_val = int(math.floor(n * split))
    if split == 0 or n_val == 0:
        return xs, floats, labels, sw, None
    if n - n_val < 1:
        raise ValueError(f"validation_split={split} leaves no training rows of {n}")
    cut = n - n_val

    def head(v):
        return None if v is None else np.ascontiguousarray(v[:cut])

    def tail(v):
        return None if v is None else np.ascontiguousarray(v[cut:])

    val = ([tail(v) for v in xs], [tail(v) for v in floats], [tail(v) for v in labels], tail(sw))
    return [head(v) for v in xs], [head(v) for v in floats], [head(v) for v in labels], head(sw), val


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
        class_weight, sample_weight, initial_epoch, seed, diagnostics, augment=None):
    from fastnn import callbacks as cbm

    _prepare(model)
    batch_size = 32 if batch_size is None else _data.positive_int(batch_size, "batch_size")  # (None: Keras's 32)
    epochs = int(epochs) if not isinstance(epochs, bool) and isinstance(epochs, (int, np.integer)) else None
    if epochs is None or epochs < 0:
        raise ValueError("epochs: expected an int >= 0")
    if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
        raise ValueError(f"initial_epoch: expected an int >= 0, got {initial_epoch!r}")
    model._sync()
    _augment._check(augment, None)  # its type and values before anything is built
    xs = _inputs(model, x, y)
    augment = _augment._check(augment, model)  # the losses exist now (a Sequential builds at its first fit)
    floats, labels = _targets(model, y)
    n_all = _data.check_rows(xs + floats + labels)
    sw = _data.as_sample_weight(sample_weight, n_all, model.dtype)
    if validation_data is not None:
        if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data: expected (x_val, y_val) or (x_val, y_val, sample_weight_val)")
        vx = _inputs(model, validation_data[0])
        vf, vl = _targets(model, validation_data[1])
        nv = _data.check_rows(vx + vf + vl, "validation_data")
        vsw = _data.as_sample_weight(validation_data[2] if len(validation_data) == 3 else None, nv, model.dtype)
        val = (vx, vf, vl, vsw)
    else:
        xs, floats, labels, sw, val = _split_validation(xs, floats, labels, sw, validation_split)
    sw = _class_weighted(model, sw, class_weight, floats, labels)
    n = xs[0].shape[0]
    if verbose == "auto":
        verbose = 1
    if isinstance(verbose, bool) or not isinstance(verbose, (int, np.integer)) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose: expected 'auto', 0, 1 or 2, got {verbose!r}")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle: expected a bool, got {type(shuffle).__name__} {shuffle!r}")
    seed = model.seed if seed is None else _data.seed_int(seed, "seed")
    n_batches = -(-n // batch_size)
    # The engine sizes its batch workspace from batch_size: a batch never exceeds the data
    # (batch_size=2**62 made the native workspace size overflow and crash; 2**40 bad_alloc).
    cbl = cbm.CallbackList(callbacks, model=model, add_history=True, add_progress=verbose,
                           params={"epochs": epochs, "steps": n_batches, "samples": n, "batch_size": batch_size,
                                   "verbose": verbose})
    stop_on_nan = any(isinstance(c, cbm.TerminateOnNaN) for c in (callbacks or []))
    # Chunks end where some callback's batch frequency divides the batches done since the
    # call began (a checkpoint every 4 batches saves at 4, 8, 12, ... across epochs).
    freqs = cbl.batch_frequencies
    freq = bool(freqs)
    steps_done = 0
    collect = [np.empty((n, t.width), dtype=model.dtype) if w else None
               for t, w in zip(model._outputs, model._wants_outputs())]
    yl, ll = _none_list(floats), _none_list(labels)
    _check_metrics(model, floats, labels)
    model.stop_training = False
    interrupt = None
    error = None
    # A Python layer or regularizer may raise mid-epoch: keep a copy so a failed fit leaves
    # the model as it was.
    snapshot = _snapshot(model) if _calls_python(model) else None
    ended = False
    cbl.on_train_begin({})
    try:
        for epoch in range(initial_epoch, epochs):
            cbl.on_epoch_begin(epoch, {})
            order = _core.shuffle_order(n, seed, epoch) if shuffle else np.arange(n, dtype=np.int64)
            t0 = time.perf_counter()
            tot = {"loss_sum": 0.0, "samples": 0, "output_loss_sum": np.zeros(len(model._outputs)),
                   "grad_norm_sum": 0.0, "batches": 0}
            diag = {}
            aug = _augment._native(augment, seed, epoch)
            nan_batch = -1
            b = 0
            while b < n_batches:
                e = min(n_batches, b + min(f - steps_done % f for f in freqs)) if freqs else n_batches
                if freq:
                    cbl.on_train_batch_begin(b, {"batch": b})
                lrs = model.optimizer._learning_rates(e - b, epoch)
                st = model._engine.run_epoch(xs, yl, ll, sw, order, min(batch_size, n), b, e, lrs, collect, stop_on_nan,
                                             bool(diagnostics), model._py_layers, aug, model._py_penalty)
                tot["loss_sum"] += st["loss_sum"]
                tot["samples"] += st["samples"]
                tot["batches"] += st["batches"]
                tot["output_loss_sum"] += np.asarray(st["output_loss_sum"])
                tot["grad_norm_sum"] += st["grad_norm_sum"]
                if diagnostics:
                    _merge_diag(diag, st, model)
                if st["nan_batch"] >= 0 and nan_batch < 0:
                    nan_batch = st["nan_batch"]
                err = st.get("error")
                if err is not None:
                    if isinstance(err, KeyboardInterrupt) or st["interrupted"]:
                        interrupt = err
                    else:
                        error = err
                    break
                b += st["batches"]
                steps_done += st["batches"]
                if st["batches"] == 0:
                    break
                if nan_batch >= 0 and stop_on_nan:
                    break
                if e < n_batches or freq:
                    blogs = {"batch": b - 1, "size": tot["samples"], "loss": tot["loss_sum"] / max(tot["samples"], 1)}
                    cbl.on_train_batch_end(b - 1, blogs)
                    if model.stop_training:
                        break
            if error is not None:
                raise error
            logs = _loss_logs(model, tot)
            if tot["samples"] == n and interrupt is None:
                logs.update(_metric_logs(model, collect, floats, labels, sw))
            if nan_batch >= 0:
                logs["nan_batch"] = nan_batch
            if diagnostics and tot["batches"]:
                logs["grad_norm"] = tot["grad_norm_sum"] / tot["batches"]
                for k, v in diag.items():
                    logs[k] = v / tot["batches"] if k.startswith("grad_norm/") else v
            if val is not None and interrupt is None:
                cbl.on_test_begin({})
                vlogs = _evaluate_arrays(model, *val, batch_size=batch_size, prefix="val_")
                cbl.on_test_end({k[4:]: v for k, v in vlogs.items()})
                logs.update(vlogs)
            logs["lr"] = model.optimizer.current_learning_rate(epoch)
            logs["time"] = time.perf_counter() - t0
            if interrupt is not None:
                break
            cbl.on_epoch_end(epoch, logs)
            if model.stop_training or (nan_batch >= 0 and stop_on_nan):
                break
    except Exception:
        # A Python layer or regularizer raised (in a step or in validation): the callbacks
        # end first (files close; EarlyStopping may restore its best weights), then the
        # model goes back to the state before the call.
        ended = True
        try:
            cbl.on_train_end({})
        finally:
            if snapshot is not None:
                _restore(model, snapshot)
        raise
    finally:
        if not ended:
            cbl.on_train_end({})
    if interrupt is not None:
        raise interrupt
    return model.history


def _calls_python(model):
    """Whether the native epoch calls back into Python (layers or regularizers written in it)."""
    return bool(model._py_layers) or model._py_penalty is not None


def _snapshot(model):
    e = model._engine
    return (e.params.copy(), e.state.copy(), [a.copy() for a in e.opt_state], e.iterations, e.nadam_mu_product)


def _restore(model, snap):
    e = model._engine
    e.params[...], e.state[...] = snap[0], snap[1]
    for a, b in zip(e.opt_state, snap[2]):
        a[...] = b
    e.iterations, e.nadam_mu_product = snap[3], snap[4]


def _merge_diag(diag, st, model):
    names = {}
    for k, (layer, d, off) in enumerate(model._layout.entries):
        names[k] = f"{layer.name}.{d.name}"
    for k, v in enumerate(st["tensor_grad_norm_sum"]):
        key = f"grad_norm/{names[k]}"
        diag[key] = diag.get(key, 0.0) + v
    for k, v in enumerate(st["update_ratio"]):
        diag[f"update_ratio/{names[k]}"] = v
    for i, v in enumerate(st["dead_fraction"]):
        if not math.isnan(v):
            diag[f"dead_relu/{model.layers[i].name}"] = v
