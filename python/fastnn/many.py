"""Many small models at once: :func:`fit_many` trains K variants of one architecture in a
single native call per epoch, each thread owning whole models (no synchronization between
models), so networks too small to use several cores alone scale with cores."""
from __future__ import annotations

import numbers

import numpy as np

from fastnn import _augment, _core, _data, _fit, io, layers, regularizers

__all__ = ["fit_many"]

_KEYS = {"seed", "learning_rate", "weight_decay", "l2", "dropout"}


def _variant_model(template, variant):
    cfg = io.model_config(template)
    cfg = dict(cfg)
    cfg["seed"] = int(variant.get("seed", template.seed))
    model = io.model_from_config(cfg)
    if "l2" in variant:
        for l in model.layers:
            if isinstance(l, layers.Dense):
                l.kernel_regularizer = regularizers.L2(float(variant["l2"])) if variant["l2"] else None
                for d in l._decls:
                    if d.name == "kernel":
                        d.regularizer = l.kernel_regularizer
    if "dropout" in variant:
        for l in model.layers:
            if isinstance(l, layers.Dropout):
                l.rate = layers._rate("dropout", variant["dropout"])
    opt = model.optimizer
    if "learning_rate" in variant:
        opt.learning_rate = variant["learning_rate"]
    if "weight_decay" in variant:
        opt.weight_decay = float(variant["weight_decay"])
    model._sync()
    model._engine.set_opt(opt._spec())
    model._engine.reset_opt_state()
    return model


def _check_variants(variants):
    if not isinstance(variants, (list, tuple)) or not variants:
        raise ValueError("variants: expected a non-empty list of dicts")
    keys = None
    for i, v in enumerate(variants):
        if not isinstance(v, dict):
            raise TypeError(f"variants[{i}]: expected a dict, got {type(v).__name__}")
        bad = set(v) - _KEYS
        if bad:
            raise ValueError(f"variants[{i}]: unknown keys {sorted(bad)}; allowed: {sorted(_KEYS)}")
        if keys is not None and set(v) != keys:
            raise ValueError(f"variants[{i}]: keys {sorted(v)} differ from variants[0]'s {sorted(keys)}")
        keys = set(v)
        if "seed" in v and (isinstance(v["seed"], bool) or not isinstance(v["seed"], numbers.Integral)
                            or v["seed"] < 0):
            raise ValueError(f"variants[{i}]: seed must be an int >= 0, got {v['seed']!r}")
        for k in ("learning_rate", "weight_decay", "l2"):
            if k in v and (isinstance(v[k], bool) or not isinstance(v[k], numbers.Real) or not np.isfinite(v[k])
                           or v[k] < 0):
                raise ValueError(f"variants[{i}]: {k} must be a finite number >= 0, got {v[k]!r}")


def fit_many(model, x, y, variants, batch_size=32, epochs=1, shuffle=True, sample_weight=None,
             validation_data=None, augment=None):
    """Train one copy of ``model`` per variant, all at once.

    Each variant is a dict with any of ``seed`` (initial weights, dropout streams and
    shuffles), ``learning_rate``, ``weight_decay`` (the optimizer's), ``l2`` (an L2
    regularizer on every Dense kernel) and ``dropout`` (the rate of every Dropout layer);
    all variants have the same keys. Every epoch is one native call for all models, one
    model per thread. Each returned model equals, bitwise, the model built from the same
    architecture with the variant's settings and trained alone with ``fit(x, y,
    batch_size, epochs, shuffle, augment=augment)``.

    Parameters
    ----------
    model : compiled Model
        The template (architecture, loss, metrics, optimizer); it is not modified.
    x, y : training data, as for :meth:`Model.fit`
    variants : list of dict
    batch_size, epochs, shuffle, sample_weight
        As :meth:`Model.fit`.
    validation_data : (x_val, y_val), optional
        Evaluated after each epoch into each model's ``history`` (``val_`` keys).
    augment : :class:`fastnn.data.Augment`, optional
        As :meth:`Model.fit`; each model's draws come from its own seed.

    Returns
    -------
    list of Model
        Trained models in the order of ``variants``; each has ``history`` (a dict of lists).
    """
    if not model.compiled:
        raise RuntimeError("fit_many: compile the template model first")
    if model._py_layers or model._py_penalty is not None:
        raise ValueError("fit_many: models with Python layers or regularizers cannot train in parallel; use fit")
    _check_variants(variants)
    return _fit_models([_variant_model(model, v) for v in variants], x, y, batch_size, epochs, shuffle,
                       sample_weight, validation_data, augment)


def _fit_models(models, x, y, batch_size=32, epochs=1, shuffle=True, sample_weight=None, validation_data=None,
                augment=None, per_model=None):
    """fit_many's training of already-built variant models (same architecture and dtype, no
    Python layers), in place; returns ``models``. ``per_model``: a list of ``(x, y,
    sample_weight)``, one per model, training each on its own rows instead of the shared
    ``x, y, sample_weight`` (bootstrap resamples)."""
    batch_size = _data.positive_int(batch_size, "batch_size")
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
        raise ValueError(f"epochs: expected an int >= 0, got {epochs!r}")
    m0 = models[0]
    augment = _augment._check(augment, m0)
    if per_model is None:
        shared = _model_data(m0, x, y, sample_weight)
        datas = [shared] * len(models)
    else:
        datas = [_model_data(m0, *d) for d in per_model]
    if validation_data is not None:  # (as Model.fit takes it)
        if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data: expected (x_val, y_val) or (x_val, y_val, sample_weight_val)")
        vx, vy = validation_data[0], validation_data[1]
        vsw = validation_data[2] if len(validation_data) == 3 else None
    run = _core.run_epochs_many if m0.dtype == np.float32 else _core.run_epochs_many64
    for m in models:
        m.history = {"loss": []}
    for epoch in range(epochs):
        calls, collects = [], []
        for m, (xs, floats, labels, sw, n) in zip(models, datas):
            order = _core.shuffle_order(n, m.seed, epoch) if shuffle else np.arange(n, dtype=np.int64)
            n_batches = -(-n // batch_size)
            lrs = m.optimizer._learning_rates(n_batches, epoch)
            collect = [np.empty((n, t.width), dtype=m.dtype) if w else None
                       for t, w in zip(m._outputs, m._wants_outputs())]
            collects.append(collect)
            calls.append((xs, _fit._none_list(floats), _fit._none_list(labels), sw, order, min(batch_size, n), 0,
                          n_batches, lrs, collect, False, False, _augment._native(augment, m.seed, epoch)))
        stats = run([m._engine for m in models], calls)
        for m, st, collect, (_, floats, labels, sw, _) in zip(models, stats, collects, datas):
            logs = {"loss": st["loss_sum"] / max(st["samples"], 1)}
            logs.update(_fit._metric_logs(m, collect, floats, labels, sw))
            if validation_data is not None:
                logs.update(_fit.evaluate(m, vx, vy, sample_weight=vsw, batch_size=batch_size, prefix="val_"))
            for k, v in logs.items():
                m.history.setdefault(k, []).append(v)
    return models


def _model_data(m0, x, y, sample_weight):
    """(inputs, float targets, label targets, sample weights, rows) as the native epoch takes them."""
    xs = _fit._inputs(m0, x)
    floats, labels = _fit._targets(m0, y)
    n = _data.check_rows(xs + floats + labels)
    return xs, floats, labels, _data.as_sample_weight(sample_weight, n, m0.dtype), n
