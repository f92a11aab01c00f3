"""Ensembles of fastnn models: weighted averaging of outputs or class probabilities,
bagging on bootstrap resamples, and seed ensembles trained at once with
:func:`fastnn.fit_many`.

:class:`Bagging` trains all its estimators in one native call per epoch (one model per
thread, each on its own copy of its resample) unless a model calls back into Python or
``fit`` gets arguments that path does not take; then they train one after another. Either
way each estimator equals the model trained alone on its resample.
"""
from __future__ import annotations

import inspect
import numbers

import numpy as np

from fastnn import losses as _losses

_MANY_KEYS = {"batch_size", "epochs", "shuffle", "validation_data", "augment", "verbose"}

__all__ = ["Ensemble", "Bagging", "seed_ensemble"]


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _proba(model, out):
    """Probabilities from a single-output model's predictions."""
    out = np.asarray(out, dtype=np.float64)
    loss = model._losses[0] if getattr(model, "_losses", None) else None
    if loss is not None and getattr(loss, "from_logits", False):
        return 1 / (1 + np.exp(-out)) if out.shape[1] == 1 else _softmax(out)
    return out


class Ensemble:
    """Average the predictions of several single-output models.

    Parameters
    ----------
    models : list of Model
        Trained models with the same input and output widths.
    weights : list of float, optional
        Non-negative weights (normalized to sum to 1); default equal.
    """

    def __init__(self, models, weights=None):
        self._set(models, weights)

    def _set(self, models, weights):
        if not isinstance(models, (list, tuple)) or not models:
            raise ValueError("models: expected a non-empty list of models")
        for i, m in enumerate(models):
            if not hasattr(m, "predict") or len(getattr(m, "_outputs", [None])) != 1:
                raise ValueError(f"models[{i}]: expected a fastnn model with one output")
        if weights is None:
            w = np.full(len(models), 1.0 / len(models))
        else:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != (len(models),) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
                raise ValueError(f"weights: expected {len(models)} finite non-negative numbers with a positive sum, "
                                 f"got {weights!r}")
            w = w / w.sum()
        self.models, self.weights = list(models), w

    def _average(self, fn):
        out = None
        for m, w in zip(self.models, self.weights):
            p = w * fn(m)
            if out is None:
                out = p
            elif p.shape != out.shape:
                raise ValueError(f"models: output shapes differ ({p.shape} vs {out.shape})")
            else:
                out = out + p
        return out

    def predict(self, x):
        """Weighted mean of the models' raw outputs (float64), e.g. for regression."""
        return self._average(lambda m: np.asarray(m.predict(x), dtype=np.float64))

    def predict_proba(self, x):
        """Weighted mean of the models' probabilities (logits of ``from_logits`` losses
        go through softmax, or sigmoid for one unit, first)."""
        return self._average(lambda m: _proba(m, m.predict(x)))

    def predict_classes(self, x):
        """Class indices: arg max of :meth:`predict_proba` (``> 0.5`` for one unit)."""
        p = self.predict_proba(x)
        return (p[:, 0] > 0.5).astype(np.int64) if p.shape[1] == 1 else p.argmax(axis=1)

    def evaluate(self, x, y):
        """Scores of the averaged prediction, as a dict.

        Classification (``y`` integer labels (n,) or one-hot): ``accuracy`` and ``log_loss``
        (mean negative log probability of the true class). Regression (float targets
        (n, units)): ``mse`` and ``mae``.
        """
        ya = y.to_numpy() if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray) else np.asarray(y)
        loss = getattr(self.models[0], "_losses", [None])[0]
        onehot = ya.ndim == 2 and isinstance(loss, (_losses.CategoricalCrossentropy, _losses.BinaryCrossentropy))
        if (ya.ndim == 1 and ya.dtype.kind in "iub") or onehot:
            p = self.predict_proba(x)
            if p.shape[1] == 1:
                p = np.hstack([1 - p, p])
            if onehot:  # one-hot rows (a binary cross-entropy's single column: the class-1 target)
                lab = (ya[:, 0] > 0.5).astype(np.int64) if ya.shape[1] == 1 else ya.argmax(axis=1)
            else:
                lab = ya.astype(np.int64)
            if lab.min() < 0 or lab.max() >= p.shape[1]:
                raise ValueError(f"y: labels must be in [0, {p.shape[1]}), got [{lab.min()}, {lab.max()}]")
            pt = np.clip(p[np.arange(len(lab)), lab], 1e-12, 1.0)
            return {"accuracy": float(np.mean(p.argmax(axis=1) == lab)), "log_loss": float(-np.mean(np.log(pt)))}
        out = self.predict(x)
        yt = ya.reshape(out.shape).astype(np.float64)
        return {"mse": float(np.mean((out - yt) ** 2)), "mae": float(np.mean(np.abs(out - yt)))}


def _takes_seed(build_fn):
    try:
        return len(inspect.signature(build_fn).parameters) >= 1
    except (TypeError, ValueError):
        return False


def _call_build(build_fn, seed):
    return build_fn(seed) if _takes_seed(build_fn) else build_fn()


class Bagging(Ensemble):
    """Bootstrap aggregating: each model trains on its own resample of the rows.

    Parameters
    ----------
    build_fn : callable
        ``build_fn()`` or ``build_fn(seed)`` (an int per estimator, to vary the initial
        weights, dropout and shuffling; without it every estimator starts from the same
        model and differs by its resample only) returning a compiled single-output model.
    n_estimators : int, default 10
    seed : int, optional
        Seeds the resamples (and the per-estimator seeds given to ``build_fn``).
    max_samples : float in (0, 1], default 1.0
        Rows per resample, as a fraction of the training rows.
    bootstrap : bool, default True
        Draw with replacement; False draws without replacement (pasting).

    The estimators are built as ``build_fn(seed_0)`` with each estimator's seed in turn
    (as :func:`fastnn.fit_many` varies a template's seed) and trained together, one native
    call per epoch with one model per thread, when the fit arguments are fit_many's
    (batch_size, epochs, shuffle, sample_weight, validation_data, augment, verbose) and the
    model has no Python layers; each resample is then copied (``n_estimators`` copies of
    ``max_samples`` of the rows at once). Otherwise they are built with ``build_fn(seed)``
    and trained one after another with :meth:`Model.fit`. Either way each estimator equals
    the model trained alone on its resample, bitwise. ``sample_weight`` is resampled with
    the rows.

    Attributes
    ----------
    models, weights, indices_ (the rows each model trained on)
    """

    def __init__(self, build_fn, n_estimators=10, seed=None, max_samples=1.0, bootstrap=True):
        if not callable(build_fn):
            raise TypeError(f"build_fn: expected a callable, got {type(build_fn).__name__}")
        if isinstance(n_estimators, bool) or not isinstance(n_estimators, numbers.Integral) or n_estimators < 1:
            raise ValueError(f"n_estimators: expected an int >= 1, got {n_estimators!r}")
        if isinstance(max_samples, bool) or not isinstance(max_samples, numbers.Real) or not 0 < max_samples <= 1:
            raise ValueError(f"max_samples: expected a fraction in (0, 1], got {max_samples!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"seed: expected an int >= 0 or None, got {seed!r}")
        self.build_fn, self.n_estimators, self.seed = build_fn, int(n_estimators), seed
        self.max_samples, self.bootstrap = float(max_samples), bool(bootstrap)
        self.models, self.weights, self.indices_ = [], None, []

    def fit(self, x, y, **fit_kwargs):
        """Train the estimators (``fit_kwargs`` go to :meth:`Model.fit`; verbose defaults to 0)."""
        xa = x.to_numpy() if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray) else np.asarray(x)
        ya = y.to_numpy() if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray) else np.asarray(y)
        n = xa.shape[0]
        if ya.shape[0] != n:
            raise ValueError(f"y: expected {n} rows like x, got shape {ya.shape}")
        rng = np.random.default_rng(self.seed)
        seeds = rng.integers(0, 2**31 - 1, size=self.n_estimators).tolist()
        k = max(1, int(round(self.max_samples * n)))
        kw = dict(fit_kwargs)
        sw = kw.pop("sample_weight", None)
        if sw is not None:
            sw = np.asarray(sw)
            if sw.ndim != 1 or sw.shape[0] != n:
                raise ValueError(f"sample_weight: expected shape ({n},), got {sw.shape} dtype {sw.dtype}")
        indices = []  # (set with the models once they trained: a failed fit changes neither)
        for _ in seeds:
            if not self.bootstrap and k == n:
                indices.append(np.arange(n))
            else:
                indices.append(rng.integers(0, n, size=k) if self.bootstrap else np.sort(rng.permutation(n)[:k]))
        template = _call_build(self.build_fn, seeds[0])
        from fastnn import many
        from fastnn._fit import _calls_python

        if not _calls_python(template) and set(kw) <= _MANY_KEYS:
            # All estimators in one native call per epoch, one model per thread; each equals
            # the model trained alone on its resample (rows copied: one resample per model).
            kw.pop("verbose", None)
            models = [template] + [_call_build(self.build_fn, s) for s in seeds[1:]]  # what fit alone trains
            if not self.bootstrap and k == n:
                models = many._fit_models(models, xa, ya, sample_weight=sw, **kw)
            else:
                per = [(xa[i], ya[i], None if sw is None else sw[i]) for i in indices]
                models = many._fit_models(models, None, None, per_model=per, **kw)
        else:
            kw.setdefault("verbose", 0)
            models = []
            for s, idx in zip(seeds, indices):
                m = _call_build(self.build_fn, s)
                m.fit(xa[idx], ya[idx], sample_weight=None if sw is None else sw[idx], **kw)
                models.append(m)
        self._set(models, None)
        self.indices_ = indices
        return self


def seed_ensemble(model, x, y, n_models=5, seed=0, weights=None, **fit_kwargs):
    """Train ``n_models`` copies of ``model``'s architecture that differ only in their seed
    (initial weights, dropout and shuffles), all at once with :func:`fastnn.fit_many`.

    Parameters
    ----------
    model : compiled Model (the template; not modified)
    x, y : training data
    n_models : int, default 5
    seed : int, default 0
        Model ``i`` gets seed ``seed + i``.
    weights : optional, as :class:`Ensemble`
    **fit_kwargs : batch_size, epochs, shuffle, sample_weight, validation_data (fit_many's)

    Returns
    -------
    Ensemble
    """
    from fastnn.many import fit_many

    if isinstance(n_models, bool) or not isinstance(n_models, numbers.Integral) or n_models < 1:
        raise ValueError(f"n_models: expected an int >= 1, got {n_models!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    models = fit_many(model, x, y, [{"seed": int(seed) + i} for i in range(n_models)], **fit_kwargs)
    return Ensemble(models, weights)
