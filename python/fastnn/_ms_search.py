"""Hyperparameter searches (grid, random, successive halving) and cross_validate."""
from __future__ import annotations

import math
import numbers
import time

import numpy as np

from fastnn import _ms_dist, _ms_split
from fastnn._ms_trials import Scorer, concat_rows, n_samples, rows, run_trials


def _fit_alone(build_fn, x, y, fit_kwargs):
    m = build_fn()
    kw = dict(fit_kwargs)
    kw.setdefault("verbose", 0)
    t0 = time.perf_counter()
    m.fit(x, y, **kw)
    return m, time.perf_counter() - t0


def _split_kwargs(fit_kwargs, idx):
    kw = dict(fit_kwargs)
    if kw.get("sample_weight") is not None:
        kw["sample_weight"] = rows(kw["sample_weight"], idx)
    return kw


def cross_validate(build_fn, x, y, cv=5, scoring="val_loss", fit_kwargs=None):
    """Train a fresh model per fold and score it on the held-out fold.

    Parameters
    ----------
    build_fn : callable () -> compiled Model
    x, y : training data (arrays or pandas objects)
    cv : int or splitter, default 5
        An int means ``KFold(cv)``; any object with ``split(x, y)`` (KFold,
        StratifiedKFold) is used as is.
    scoring : str or callable, default "val_loss"
        See :class:`fastnn._ms_trials.Scorer` ("val_loss", "accuracy", ... or
        ``f(model, x_val, y_val)``).
    fit_kwargs : dict, optional
        Passed to :meth:`Model.fit` (``verbose`` defaults to 0).

    Returns
    -------
    dict
        ``scores`` and ``fit_times`` (ndarrays, one entry per fold), ``mean_score``,
        ``std_score``.
    """
    scorer = Scorer(scoring)
    n = n_samples(y)
    splitter = _ms_split.check_cv(cv, n, y)
    fit_kwargs = dict(fit_kwargs or {})
    scores, times = [], []
    for tr, te in splitter.split(np.empty((n, 1)), _labels_of(y)):
        m, dt = _fit_alone(build_fn, rows(x, tr), rows(y, tr), _split_kwargs(fit_kwargs, tr))
        scores.append(scorer(m, rows(x, te), rows(y, te)))
        times.append(dt)
    s = np.asarray(scores)
    return {"scores": s, "fit_times": np.asarray(times), "mean_score": float(s.mean()), "std_score": float(s.std())}


def _labels_of(y):
    if isinstance(y, (dict, list, tuple)) and not hasattr(y, "shape"):
        return None
    return y


class _Search:
    """Shared machinery of the searches (see GridSearch for the parameters)."""

    def __init__(self, build_fn, space, *, scoring="val_loss", validation_split=0.2, validation_data=None, cv=None,
                 seed=None, refit=False, backend="serial", n_jobs=None, client=None):
        if not callable(build_fn):
            raise TypeError(f"build_fn: expected a callable params -> compiled model, got {type(build_fn).__name__}")
        self.build_fn, self.space = build_fn, space
        self.scoring, self._scorer = scoring, Scorer(scoring)
        if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) or not (
                0 < validation_split < 1):
            raise ValueError(f"validation_split: expected a fraction in (0, 1), got {validation_split!r}")
        self.validation_split, self.validation_data, self.cv = float(validation_split), validation_data, cv
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"seed: expected an int >= 0 or None, got {seed!r}")
        if backend not in ("serial", "joblib", "dask"):
            raise ValueError(f"backend: expected 'serial', 'joblib' or 'dask', got {backend!r}")
        if backend == "dask" and client is None:
            raise ValueError("client: backend='dask' needs client=dask.distributed.Client(...)")
        self.seed, self.refit, self.backend, self.n_jobs, self.client = seed, bool(refit), backend, n_jobs, client
        self.results_ = []
        self.best_params_ = self.best_score_ = self.best_model_ = None

    def _splits(self, x, y, fit_kwargs):
        """[(x_tr, y_tr, x_val, y_val, fit kwargs)] from validation_data, cv or the split."""
        if self.validation_data is not None:
            vd = self.validation_data
            if not isinstance(vd, (list, tuple)) or len(vd) != 2:
                raise ValueError("validation_data: expected (x_val, y_val)")
            return [(x, y, vd[0], vd[1], fit_kwargs)]
        n = n_samples(y)
        if self.cv is not None:
            sp = _ms_split.check_cv(self.cv, n, y)
            return [(rows(x, tr), rows(y, tr), rows(x, te), rows(y, te), _split_kwargs(fit_kwargs, tr))
                    for tr, te in sp.split(np.empty((n, 1)), _labels_of(y))]
        n_val = int(math.floor(n * self.validation_split))  # the last rows, as Keras' validation_split
        if n_val < 1 or n_val >= n:
            raise ValueError(f"validation_split={self.validation_split} leaves no training or validation rows "
                             f"of {n}")
        tr, te = np.arange(n - n_val), np.arange(n - n_val, n)
        return [(rows(x, tr), rows(y, tr), rows(x, te), rows(y, te), _split_kwargs(fit_kwargs, tr))]

    def _evaluate(self, params_list, splits):
        """Score every params dict on every split; returns results and first-split models."""
        per_split, times, first = [], [], None
        for xs, ys, xv, yv, kw in splits:
            s, t, models = run_trials(self.build_fn, params_list, (xs, ys, xv, yv), kw, self._scorer, self.scoring,
                                      self.backend, self.n_jobs, self.client)
            per_split.append(s)
            times.append(t)
            if first is None:
                first = models
        S, T = np.asarray(per_split, dtype=np.float64), np.asarray(times)
        results = [{"params": dict(p), "mean_score": float(S[:, i].mean()), "std_score": float(S[:, i].std()),
                    "fit_time": float(T[:, i].sum()), "scores": S[:, i].tolist()} for i, p in enumerate(params_list)]
        return results, first

    def _finish(self, results, models, x, y, fit_kwargs):
        best = self._scorer.best_index([r["mean_score"] for r in results])
        self.best_params_ = dict(results[best]["params"])
        self.best_score_ = results[best]["mean_score"]
        if self.refit:
            m = self.build_fn(dict(self.best_params_))
            xa, ya = x, y
            if self.validation_data is not None:
                xa = concat_rows(x, self.validation_data[0])
                ya = concat_rows(y, self.validation_data[1])
            kw = dict(fit_kwargs)
            if self.validation_data is not None and kw.get("sample_weight") is not None:
                vd = self.validation_data
                vw = vd[2] if len(vd) > 2 and vd[2] is not None else np.ones(n_samples(vd[1]))
                kw["sample_weight"] = concat_rows(kw["sample_weight"], vw)
            kw.setdefault("verbose", 0)
            m.fit(xa, ya, **kw)
            self.best_model_ = m
        else:
            self.best_model_ = models[best]
        return self

    def fit(self, x, y, **fit_kwargs):
        """Train and score every candidate, then set ``results_``, ``best_params_``,
        ``best_score_`` and ``best_model_``. ``fit_kwargs`` go to :meth:`Model.fit` (or
        :func:`fastnn.fit_many`)."""
        params_list = self._candidates()
        splits = self._splits(x, y, fit_kwargs)
        self.results_, models = self._evaluate(params_list, splits)
        return self._finish(self.results_, models, x, y, fit_kwargs)

    def results_frame(self):
        """``results_`` as a pandas DataFrame (one column per parameter); needs pandas."""
        import pandas as pd

        return pd.DataFrame([{**{f"param_{k}": v for k, v in r["params"].items()},
                              **{k: v for k, v in r.items() if k != "params"}} for r in self.results_])


_DOC_PARAMS = """
    Parameters
    ----------
    build_fn : callable params -> compiled Model
        Builds a fresh model for one parameter dict.
    space : dict
        ``{name: values}``; values are lists (grid points / equally likely choices),
        distributions (:class:`uniform`, :class:`loguniform`, :class:`randint`,
        :class:`choice`; random search only) or constants.
    scoring : str or callable, default "val_loss"
        A metric that :meth:`Model.evaluate` reports on the validation data ("val_loss",
        "val_accuracy", ...; losses/errors are minimized, others maximized) or
        ``f(model, x_val, y_val) -> float`` (maximized).
    validation_split : float, default 0.2
        The last fraction of rows (before any shuffling, as Keras) is the validation set.
    validation_data : (x_val, y_val), optional
        Used instead of ``validation_split``.
    cv : int or splitter, optional
        Cross-validate every candidate instead (``mean_score``/``std_score`` over folds).
    seed : int, optional
        Seeds the sampling of candidates: same seed, same trials on every backend.
    refit : bool, default False
        Retrain the best parameters on all the data (train + validation) as ``best_model_``;
        otherwise ``best_model_`` is the best trial's model (first fold with ``cv``).
    backend : "serial", "joblib" or "dask", default "serial"
        serial trains trials that differ only in seed / learning_rate / weight_decay / l2 /
        dropout together with :func:`fastnn.fit_many` (see :mod:`fastnn._ms_trials`).
        joblib runs one trial per thread (``n_jobs``); dask submits one task per trial to
        ``client`` (scheduling and retries are dask's). Remote backends return weights:
        their models are rebuilt with ``build_fn`` (no optimizer state or history).
    n_jobs : int, optional (joblib)
    client : dask.distributed.Client (dask)

    Attributes
    ----------
    results_ : list of dict
        ``params``, ``mean_score``, ``std_score``, ``fit_time`` (seconds; a fit_many batch's
        time is shared equally), ``scores`` (per split).
    best_params_, best_score_, best_model_
"""


class GridSearch(_Search):
    __doc__ = "Exhaustive search over every combination of a grid ``space`` of lists.\n" + _DOC_PARAMS

    def __init__(self, build_fn, space, **kwargs):
        super().__init__(build_fn, space, **kwargs)
        _ms_dist.check_space(space, grid=True)

    def _candidates(self):
        return _ms_dist.grid(_ms_dist.check_space(self.space, grid=True))


class RandomSearch(_Search):
    __doc__ = ("Random search: ``n_trials`` parameter dicts sampled from ``space``.\n" + _DOC_PARAMS
               + "    n_trials : int, default 10 (keyword)\n")

    def __init__(self, build_fn, space, n_trials=10, **kwargs):
        super().__init__(build_fn, space, **kwargs)
        if isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral) or n_trials < 1:
            raise ValueError(f"n_trials: expected an int >= 1, got {n_trials!r}")
        self.n_trials = int(n_trials)
        _ms_dist.check_space(space)

    def _candidates(self):
        return _ms_dist.sample(_ms_dist.check_space(self.space), self.n_trials, self.seed)


class SuccessiveHalving(_Search):
    __doc__ = ("Successive halving with epochs as the budget: all candidates train for "
               "``min_epochs``, the best ``1/factor`` go on to ``factor`` times the epochs, and so on "
               "until one candidate is left or ``max_epochs`` is reached. Every rung retrains from "
               "scratch (so each score is exactly that of a model trained alone for that many "
               "epochs); ``results_`` has one entry per candidate and rung, with an ``epochs`` key, "
               "and the best is chosen on the last rung. Candidates: the grid when ``space`` holds "
               "only lists and constants and ``n_candidates`` is None, else ``n_candidates`` "
               "(default 9) random draws.\n" + _DOC_PARAMS
               + "    n_candidates, min_epochs (1), max_epochs (None), factor (3) : int (keywords)\n")

    def __init__(self, build_fn, space, n_candidates=None, min_epochs=1, max_epochs=None, factor=3, **kwargs):
        super().__init__(build_fn, space, **kwargs)
        for name, v, lo in (("min_epochs", min_epochs, 1), ("factor", factor, 2)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
                raise ValueError(f"{name}: expected an int >= {lo}, got {v!r}")
        if n_candidates is not None and (isinstance(n_candidates, bool) or not isinstance(
                n_candidates, numbers.Integral) or n_candidates < 1):
            raise ValueError(f"n_candidates: expected an int >= 1, got {n_candidates!r}")
        if max_epochs is not None and (not isinstance(max_epochs, numbers.Integral) or max_epochs < min_epochs):
            raise ValueError(f"max_epochs: expected an int >= min_epochs, got {max_epochs!r}")
        self.n_candidates, self.min_epochs, self.max_epochs, self.factor = n_candidates, min_epochs, max_epochs, factor
        _ms_dist.check_space(space)

    def _candidates(self):
        space = _ms_dist.check_space(self.space)
        if self.n_candidates is None and not any(hasattr(v, "sample") for v in space.values()):
            return _ms_dist.grid(space)
        return _ms_dist.sample(space, self.n_candidates or 9, self.seed)

    def fit(self, x, y, **fit_kwargs):
        """Run the rungs (``epochs`` in ``fit_kwargs`` is ignored: the rung sets it)."""
        alive = self._candidates()
        fit_kwargs = {k: v for k, v in fit_kwargs.items() if k != "epochs"}
        splits = self._splits(x, y, fit_kwargs)
        epochs, self.results_ = self.min_epochs, []
        while True:
            sp = [(a, b, c, d, {**kw, "epochs": epochs}) for a, b, c, d, kw in splits]
            res, models = self._evaluate(alive, sp)
            for r in res:
                r["epochs"] = epochs
            self.results_.extend(res)
            nxt = epochs * self.factor
            if len(alive) == 1 or (self.max_epochs is not None and nxt > self.max_epochs):
                break
            # (NaN scores leave first: a NaN among the keys breaks the sort's order)
            finite = [i for i in range(len(res)) if np.isfinite(res[i]["mean_score"])] or list(range(len(res)))
            order = sorted(finite, key=lambda i: res[i]["mean_score"], reverse=self._scorer.greater_is_better)
            alive = [alive[i] for i in order[:max(1, len(alive) // self.factor)]]
            epochs = nxt
        fit_kwargs = {**fit_kwargs, "epochs": epochs}
        return self._finish(res, models, x, y, fit_kwargs)
