"""Model selection: data splits, K-fold cross-validation and hyperparameter searches.

Searches take ``build_fn(params) -> compiled model`` and a ``space`` dict. On the serial
backend, trials that share an architecture and differ only in ``seed``,
``learning_rate``, ``weight_decay``, ``l2`` or ``dropout`` are trained together with
:func:`fastnn.fit_many` (one native call per epoch for all of them), with results bitwise
equal to training each alone; see :mod:`fastnn._ms_trials` for how this is detected.
joblib (threads) and dask (``client=``) backends run one trial per task. pandas,
joblib and dask are optional and imported only when used.
"""
from __future__ import annotations

from fastnn._ms_dist import choice, loguniform, randint, uniform
from fastnn._ms_search import GridSearch, RandomSearch, SuccessiveHalving, cross_validate
from fastnn._ms_split import KFold, StratifiedKFold, train_val_test_split

__all__ = ["train_val_test_split", "KFold", "StratifiedKFold", "cross_validate", "GridSearch", "RandomSearch",
           "SuccessiveHalving", "uniform", "loguniform", "randint", "choice"]
