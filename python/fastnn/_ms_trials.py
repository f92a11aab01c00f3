"""Running trials: scoring, batching trials that differ only in fit_many's variant keys into
one :func:`fastnn.fit_many` call, and the serial / joblib / dask backends.

How shared architectures are detected (serial backend): every trial's model is built with
``build_fn(params)``; from each model we read the variant settings fit_many can change
(``seed``, the optimizer's ``learning_rate`` and ``weight_decay``, one ``l2`` on every Dense
kernel, one ``dropout`` rate on every Dropout layer). Trials are grouped by architecture:
the configuration (layers renamed to their positions) with all those settings fixed to
neutral values. Within a group, the keys whose values differ become the variants and the
first trial's model is the template. A trial joins the
fit_many batch only if the model fit_many would build for it has, after renaming layers
to their positions, exactly the same configuration and the same initial weights as
``build_fn(params)``; any other trial is trained alone with ``fit``. So the result of every
trial is bitwise what training ``build_fn(params)`` alone gives.
"""
from __future__ import annotations

import copy
import json
import numbers
import time

import numpy as np

_LOWER_IS_BETTER = {"loss", "mse", "mae", "mape", "msle", "rmse", "mean_squared_error", "mean_absolute_error",
                    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "root_mean_squared_error",
                    "hinge", "squared_hinge", "log_cosh", "huber"}
_MANY_FIT_KEYS = {"batch_size", "epochs", "shuffle", "sample_weight", "verbose"}


class Scorer:
    """A score of a trained model on validation data, and whether greater is better.

    ``scoring`` is a metric name as :meth:`Model.evaluate` reports it, with or without the
    ``val_`` prefix ("val_loss", "val_accuracy", "mse", ...; losses and error metrics are
    minimized, others maximized), or a callable ``f(model, x_val, y_val) -> float``
    (maximized, as in scikit-learn)."""

    def __init__(self, scoring):
        if callable(scoring):
            self.fn, self.name, self.greater_is_better = scoring, getattr(scoring, "__name__", "score"), True
        elif isinstance(scoring, str) and scoring:
            self.fn = None
            self.name = scoring[4:] if scoring.startswith("val_") else scoring
            words = self.name.split("_")  # an output's or "weighted_" prefix: "price_mse" is an mse
            lower = any("_".join(words[i:]) in _LOWER_IS_BETTER for i in range(len(words)))
            self.greater_is_better = not (lower or self.name.endswith("loss") or self.name.endswith("error"))
        else:
            raise ValueError(f"scoring: expected a metric name such as 'val_loss' or a callable, got {scoring!r}")

    def __call__(self, model, x_val, y_val):
        if self.fn is not None:
            return float(self.fn(model, x_val, y_val))
        logs = model.evaluate(x_val, y_val, return_dict=True)
        if self.name not in logs:
            raise ValueError(f"scoring: {self.name!r} is not reported by evaluate (available: {sorted(logs)})")
        return float(logs[self.name])

    def best_index(self, scores):
        s = np.asarray(scores, dtype=np.float64)
        s = np.where(np.isfinite(s), s, -np.inf if self.greater_is_better else np.inf)
        return int(np.argmax(s) if self.greater_is_better else np.argmin(s))


def rows(v, idx):
    """Rows ``idx`` of an array / pandas object / list or dict of arrays."""
    if v is None:
        return None
    if isinstance(v, dict):
        return {k: rows(a, idx) for k, a in v.items()}
    if isinstance(v, (list, tuple)) and v and hasattr(v[0], "shape"):
        return [rows(a, idx) for a in v]
    if hasattr(v, "to_numpy") and not isinstance(v, np.ndarray):
        v = v.to_numpy()
    return np.asarray(v)[idx]


def concat_rows(a, b):
    """The rows of ``a`` then those of ``b``: arrays, pandas objects, or lists/dicts of them
    (one per model input or output, as ``rows`` takes them)."""
    if isinstance(a, dict):
        if not isinstance(b, dict) or set(a) != set(b):
            raise ValueError("validation_data: its inputs/targets must be named like the training data's")
        return {k: concat_rows(a[k], b[k]) for k in a}
    if isinstance(a, (list, tuple)) and a and hasattr(a[0], "shape"):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):
            raise ValueError("validation_data: needs as many input/target arrays as the training data")
        return [concat_rows(u, v) for u, v in zip(a, b)]
    as_np = lambda v: v.to_numpy() if hasattr(v, "to_numpy") and not isinstance(v, np.ndarray) else np.asarray(v)
    return np.concatenate([as_np(a), as_np(b)])


def n_samples(v):
    if isinstance(v, dict):
        v = next(iter(v.values()))
    elif isinstance(v, (list, tuple)) and v and hasattr(v[0], "shape"):
        v = v[0]
    if hasattr(v, "shape"):
        return int(v.shape[0])
    return len(v)


# -- detecting trials fit_many can train together ----------------------------------------------
def _canon(model):
    from fastnn import io

    cfg = copy.deepcopy(io.model_config(model))
    names = {}
    for i, s in enumerate(cfg["inputs"]):
        names[s["name"]] = f"in{i}"
        s["name"] = names[s["name"]]
    for i, s in enumerate(cfg["layers"]):
        names[s["config"]["name"]] = f"l{i}"
        s["config"]["name"] = f"l{i}"
        s["inputs"] = [names[n] for n in s["inputs"]]
    cfg["outputs"] = [names[n] for n in cfg["outputs"]]
    cfg["output_names"] = [names.get(n, n) for n in cfg["output_names"]]
    cfg["name"] = None
    return json.dumps(cfg, sort_keys=True, default=str)


def _settings(model):
    """The fit_many variant values of a built model (None where not expressible)."""
    from fastnn import layers, regularizers

    opt = model.optimizer
    lr = opt.learning_rate
    out = {"seed": int(model.seed),
           "learning_rate": float(lr) if isinstance(lr, numbers.Real) and not isinstance(lr, bool) else None,
           "weight_decay": opt.weight_decay, "l2": None, "dropout": None}
    dense = [l for l in model.layers if isinstance(l, layers.Dense)]
    l2s = set()
    for l in dense:
        r = l.kernel_regularizer
        if r is None:
            l2s.add(0.0)
        elif type(r) is regularizers.L2:
            l2s.add(float(r.l2))
        else:
            l2s.add(None)
    if len(l2s) == 1:
        out["l2"] = l2s.pop()
    rates = {float(l.rate) for l in model.layers if isinstance(l, layers.Dropout)}
    if len(rates) == 1:
        out["dropout"] = rates.pop()
    return out


def _architecture(canon):
    """A model's canonical configuration (_canon) with every setting fit_many can vary blanked out (seed,
    learning rate, weight decay, L2 kernel regularizers, dropout rates): trials with equal
    architectures may be batched (verified by building the variant in _plan_one)."""
    cfg = json.loads(canon)
    cfg["seed"] = None
    opt = cfg.get("compile", {}).get("optimizer", {}).get("config", {})
    for k in ("learning_rate", "weight_decay"):
        if k in opt:
            opt[k] = None
    for spec in cfg["layers"]:
        c = spec["config"]
        if spec["class_name"] == "Dense" and (c.get("kernel_regularizer") is None or
                                              c["kernel_regularizer"].get("class_name") == "L2"):
            c["kernel_regularizer"] = None
        if spec["class_name"] == "Dropout":
            c["rate"] = None
    return json.dumps(cfg, sort_keys=True)


def _plan_one(models, members, canon):
    """One fit_many batch for trials of one architecture: (members, variant models), alone.
    Each variant model is built by fit_many's own rule and kept only if it equals the trial's
    model (configuration and initial weights); those are the models trained."""
    from fastnn.many import _variant_model

    sets = {i: _settings(models[i]) for i in members}
    first = sets[members[0]]
    keys = [k for k in first if len({json.dumps(sets[i][k]) for i in members}) > 1]
    if any(sets[i][k] is None for i in members for k in keys):
        return None, list(members)
    variants = {i: {k: sets[i][k] for k in keys} for i in members}
    template = models[members[0]]
    group, alone = [], []
    for i in members:
        try:
            vm = _variant_model(template, variants[i])
        except Exception:
            alone.append(i)
            continue
        if _canon(vm) == canon[i] and np.array_equal(np.asarray(vm._engine.params),
                                                      np.asarray(models[i]._engine.params)):
            group.append((i, vm))
        else:
            alone.append(i)
    if len(group) < 2:
        return None, list(members)
    return ([i for i, _ in group], [vm for _, vm in group]), alone


def plan_groups(models, fit_kwargs):
    """Split trial indices into fit_many batches ``[(indices, variant models)]`` (one per
    architecture) and a list of indices to train alone."""
    idx = list(range(len(models)))
    from fastnn._fit import _calls_python

    if len(models) < 2 or set(fit_kwargs) - _MANY_FIT_KEYS or any(_calls_python(m) for m in models):
        return [], idx
    by_arch, alone = {}, []
    canon = [_canon(m) for m in models]
    for i, m in enumerate(models):
        a = _architecture(canon[i])
        if a is None:
            alone.append(i)
        else:
            by_arch.setdefault(a, []).append(i)
    groups = []
    for members in by_arch.values():
        if len(members) < 2:
            alone.extend(members)
            continue
        g, rest = _plan_one(models, members, canon)
        if g is not None:
            groups.append(g)
        alone.extend(rest)
    return groups, sorted(alone)


def _fit_alone(model, x, y, fit_kwargs):
    kw = dict(fit_kwargs)
    kw.setdefault("verbose", 0)
    t0 = time.perf_counter()
    model.fit(x, y, **kw)
    return time.perf_counter() - t0


def train_serial(build_fn, params_list, x, y, fit_kwargs, use_many=True):
    """Build and train one model per params dict; returns (models, fit times)."""
    from fastnn.many import _fit_models

    models = [build_fn(dict(p)) for p in params_list]
    for i, m in enumerate(models):
        if not getattr(m, "compiled", False):
            raise TypeError(f"build_fn must return a compiled fastnn model; params {params_list[i]!r} gave "
                            f"{type(m).__name__}")
    times = [0.0] * len(models)
    groups, alone = plan_groups(models, fit_kwargs) if use_many else ([], list(range(len(models))))
    for members, variant_models in groups:
        kw = {k: v for k, v in fit_kwargs.items() if k != "verbose"}
        t0 = time.perf_counter()
        trained = _fit_models(variant_models, x, y, **kw)
        dt = (time.perf_counter() - t0) / len(members)
        for i, m in zip(members, trained):
            models[i], times[i] = m, dt
    for i in alone:
        times[i] = _fit_alone(models[i], x, y, fit_kwargs)
    return models, times


def _remote_trial(build_fn, params, x, y, xv, yv, fit_kwargs, scoring):
    """One trial on a worker: returns plain data (score, fit time, weights)."""
    m = build_fn(dict(params))
    dt = _fit_alone(m, x, y, fit_kwargs)
    return {"score": Scorer(scoring)(m, xv, yv), "fit_time": dt, "weights": m.get_weights()}


def run_trials(build_fn, params_list, split, fit_kwargs, scorer, scoring, backend, n_jobs=None, client=None):
    """Train and score every params dict on one split ``(x, y, x_val, y_val)``.

    Returns (scores, fit times, models); models of remote backends are rebuilt with
    ``build_fn`` and the trained weights (no optimizer state or history)."""
    x, y, xv, yv = split
    if backend == "serial":
        models, times = train_serial(build_fn, params_list, x, y, fit_kwargs)
        return [scorer(m, xv, yv) for m in models], times, models
    if backend == "joblib":
        try:
            import joblib
        except ImportError:
            raise ImportError("backend='joblib' needs joblib (pip install joblib)") from None
        out = joblib.Parallel(n_jobs=n_jobs or -1, prefer="threads")(
            joblib.delayed(_remote_trial)(build_fn, p, x, y, xv, yv, fit_kwargs, scoring) for p in params_list)
    elif backend == "dask":
        if client is None:
            raise ValueError("client: backend='dask' needs client=dask.distributed.Client(...)")
        # the data travel to the workers once (scattered), not once per trial
        data = [client.scatter(a, broadcast=True) if isinstance(a, np.ndarray) else a for a in (x, y, xv, yv)]
        futs = [client.submit(_remote_trial, build_fn, p, *data, fit_kwargs, scoring, pure=False)
                for p in params_list]
        out = client.gather(futs)
    else:
        raise ValueError(f"backend: expected 'serial', 'joblib' or 'dask', got {backend!r}")
    models = []
    for p, r in zip(params_list, out):
        m = build_fn(dict(p))
        m.set_weights(r["weights"])
        models.append(m)
    return [r["score"] for r in out], [r["fit_time"] for r in out], models
