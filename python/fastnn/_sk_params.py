"""Validation of the hyperparameters of :mod:`fastnn.sklearn`'s estimators (at ``fit``, as
scikit-learn does: ``__init__`` and ``set_params`` only store them)."""
from __future__ import annotations

import numbers
from types import SimpleNamespace

import numpy as np

# scikit-learn's hidden activations plus fastnn's; value: fastnn's activation name.
ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu", "gelu": "gelu",
               "silu": "silu", "elu": "elu", "selu": "selu", "leaky_relu": "leaky_relu", "mish": "mish",
               "softplus": "softplus"}
STOCHASTIC = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam")
SOLVERS = ("lbfgs",) + STOCHASTIC
LEARNING_RATES = ("constant", "invscaling", "adaptive")

try:  # scikit-learn's own: a ValueError and a TypeError, so either except clause catches it
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # pragma: no cover (fastnn.sklearn needs scikit-learn)
    class InvalidParameterError(ValueError, TypeError):
        """An invalid hyperparameter (as scikit-learn's InvalidParameterError)."""


def _real(est, name, lo=None, hi=None, lo_open=False, hi_open=False, allow_none=False):
    v = getattr(est, name)
    if v is None and allow_none:
        return None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise InvalidParameterError(f"{name}: expected a real number, got {type(v).__name__} ({v!r})")
    v = float(v)
    bad = not np.isfinite(v) or (lo is not None and (v < lo or (lo_open and v == lo))) or \
        (hi is not None and (v > hi or (hi_open and v == hi)))
    if bad:
        lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
        rng = f"{lb}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{rb}"
        raise InvalidParameterError(f"{name}: must be a finite number in {rng}, got {v!r}")
    return v


def _int(est, name, lo=1, allow_inf=False):
    v = getattr(est, name)
    if allow_inf and isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and v == np.inf:
        return np.inf
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise InvalidParameterError(f"{name}: expected an int, got {type(v).__name__} ({v!r})")
    if int(v) < lo:
        raise InvalidParameterError(f"{name}: must be >= {lo}, got {int(v)}")
    return int(v)


def _bool(est, name):
    v = getattr(est, name)
    if not isinstance(v, (bool, np.bool_)):
        raise InvalidParameterError(f"{name}: expected a bool, got {type(v).__name__} ({v!r})")
    return bool(v)


def _choice(est, name, options):
    v = getattr(est, name)
    if not isinstance(v, str) or v not in options:
        raise InvalidParameterError(f"{name}: expected one of {list(options)}, got {v!r}")
    return v


def hidden_sizes(value):
    """``hidden_layer_sizes`` as a list of positive ints (an int means one layer)."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise InvalidParameterError(f"hidden_layer_sizes: expected an int or a sequence of ints, got {value!r}")
    items = [value] if isinstance(value, numbers.Integral) else value
    try:
        items = list(items)
    except TypeError:
        raise InvalidParameterError(f"hidden_layer_sizes: expected an int or a sequence of ints, got "
                        f"{type(value).__name__}") from None
    out = []
    for h in items:
        if isinstance(h, (bool, np.bool_)) or not isinstance(h, numbers.Integral):
            raise InvalidParameterError(f"hidden_layer_sizes: expected ints, got {h!r} in {value!r}")
        if int(h) <= 0:
            raise InvalidParameterError(f"hidden_layer_sizes must be > 0, got {[int(x) for x in items]}.")
        out.append(int(h))
    return out


def validate(est, regressor=False):
    """Check every hyperparameter of ``est``; returns them validated in a namespace.

    Raises
    ------
    InvalidParameterError
        scikit-learn's (a ValueError and a TypeError), naming the parameter and the value
        given.
    """
    from fastnn import schedules

    p = SimpleNamespace()
    p.hidden = hidden_sizes(est.hidden_layer_sizes)
    act = est.activation
    if not isinstance(act, str) or act not in ACTIVATIONS:
        raise InvalidParameterError(f"activation: expected one of {list(ACTIVATIONS)}, got {act!r}")
    p.activation = ACTIVATIONS[act]
    p.solver = _choice(est, "solver", SOLVERS)
    p.alpha = _real(est, "alpha", lo=0.0)
    bs = est.batch_size
    if isinstance(bs, str):
        if bs != "auto":
            raise InvalidParameterError(f"batch_size: expected 'auto' or an int >= 1, got {bs!r}")
        p.batch_size = "auto"
    else:
        p.batch_size = _int(est, "batch_size")
    p.learning_rate = _choice(est, "learning_rate", LEARNING_RATES)
    p.learning_rate_init = _real(est, "learning_rate_init", lo=0.0, lo_open=True)
    p.power_t = _real(est, "power_t", lo=0.0)
    p.max_iter = _int(est, "max_iter")
    p.shuffle = _bool(est, "shuffle")
    p.tol = _real(est, "tol", lo=0.0)
    v = est.verbose
    if not isinstance(v, (bool, np.bool_, numbers.Integral)) or int(v) < 0:
        raise InvalidParameterError(f"verbose: expected a bool or an int >= 0, got {type(v).__name__} ({v!r})")
    p.verbose = int(v)
    p.warm_start = _bool(est, "warm_start")
    p.momentum = _real(est, "momentum", lo=0.0, hi=1.0)
    p.nesterov = _bool(est, "nesterovs_momentum")
    p.early_stopping = _bool(est, "early_stopping")
    p.validation_fraction = _real(est, "validation_fraction", lo=0.0, hi=1.0, hi_open=True)
    p.beta_1 = _real(est, "beta_1", lo=0.0, hi=1.0, hi_open=True)
    p.beta_2 = _real(est, "beta_2", lo=0.0, hi=1.0, hi_open=True)
    p.epsilon = _real(est, "epsilon", lo=0.0, lo_open=True)
    p.n_iter_no_change = _int(est, "n_iter_no_change", allow_inf=True)
    p.max_fun = _int(est, "max_fun")
    # fastnn's extras
    p.dropout = _real(est, "dropout", lo=0.0, hi=1.0, hi_open=True)
    p.batch_norm = _bool(est, "batch_norm")
    p.clipnorm = _real(est, "clipnorm", lo=0.0, lo_open=True, allow_none=True)
    p.global_clipnorm = _real(est, "global_clipnorm", lo=0.0, lo_open=True, allow_none=True)
    p.weight_decay = _real(est, "weight_decay", lo=0.0, allow_none=True)
    sched = est.lr_schedule
    if sched is not None and not isinstance(sched, schedules.LearningRateSchedule):
        raise InvalidParameterError(f"lr_schedule: expected a fastnn.schedules.LearningRateSchedule or None, got "
                        f"{type(sched).__name__}")
    p.lr_schedule = sched
    vd = est.validation_data
    if vd is not None and (not isinstance(vd, (tuple, list)) or len(vd) not in (2, 3)):
        raise InvalidParameterError("validation_data: expected (X_val, y_val) or (X_val, y_val, sample_weight_val), got "
                         f"{type(vd).__name__}")
    p.validation_data = vd
    try:
        dt = np.dtype(est.dtype)
    except TypeError:
        raise InvalidParameterError(f"dtype: expected 'float32' or 'float64', got {est.dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise InvalidParameterError(f"dtype: expected 'float32' or 'float64', got {est.dtype!r}")
    p.dtype = dt
    if regressor:
        loss = est.loss
        if loss == "poisson":
            raise InvalidParameterError("loss: 'poisson' is not supported by fastnn (it needs an exponential output "
                             "activation); use loss='squared_error'")
        if loss != "squared_error":
            raise InvalidParameterError(f"loss: expected 'squared_error', got {loss!r}")
        p.class_weight = None
    else:
        cw = est.class_weight
        if cw is not None and cw != "balanced" and not isinstance(cw, dict):
            raise InvalidParameterError(f"class_weight: expected None, 'balanced' or a dict {{class: weight}}, got {cw!r}")
        if isinstance(cw, dict):
            for k, w in cw.items():
                if isinstance(w, (bool, np.bool_)) or not isinstance(w, numbers.Real) or not np.isfinite(w) or w < 0:
                    raise InvalidParameterError(f"class_weight: the weight of class {k!r} must be a finite number >= 0, "
                                     f"got {w!r}")
        p.class_weight = cw
    if p.solver == "lbfgs":
        if p.dropout > 0:
            raise InvalidParameterError(f"dropout: not supported with solver='lbfgs' (a deterministic full-batch "
                             f"optimizer), got dropout={p.dropout}")
        if p.batch_norm:
            raise InvalidParameterError("batch_norm: not supported with solver='lbfgs' (the full-batch optimizer never "
                             "updates the running statistics)")
    return p
