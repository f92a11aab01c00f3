"""scikit-learn drop-ins: :class:`MLPClassifier` and :class:`MLPRegressor`.

Same constructor parameters (names, meanings, defaults), fitted attributes and methods as
``sklearn.neural_network``'s estimators, trained by fastnn's native engine. With the same
``random_state`` they draw the same initial weights, the same validation split and the
same mini-batch order as scikit-learn, and minimize the same objective (mean loss of the
batch plus ``0.5 * alpha * ||W||^2 / batch_rows``, kernels only). :func:`patch` makes
``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor`` resolve to these classes.

Requires scikit-learn (>= 1.6) and SciPy (for ``solver="lbfgs"``): ``pip install
fastnn[sklearn]``.

Differences from scikit-learn
-----------------------------
* Computation in float32 by default (``dtype="float64"`` for double precision);
  ``solver="lbfgs"`` always works in float64. ``coefs_``/``intercepts_`` have the
  network's dtype and are views of its weights (editing them in place edits the model).
* Adam follows torch's update, where ``epsilon`` is added to the bias-corrected
  ``sqrt(v_hat)`` (scikit-learn adds it to ``sqrt(v)``): the same up to ``epsilon``.
* SGD momentum follows torch (the buffer accumulates gradients, the current learning
  rate scales it); scikit-learn accumulates learning-rate-scaled steps. Identical for a
  constant learning rate; slightly different while ``invscaling``/``adaptive`` change it.
* Log-losses are computed from logits, without scikit-learn's clipping of probabilities
  to ``[eps, 1 - eps]``.
* With ``sample_weight``, stochastic solvers normalize the weights by their mean over the
  training set, where scikit-learn divides each batch by the sum of its weights (the same
  when the weights are equal; ``lbfgs`` is exact).
* Multi-output regression: training follows scikit-learn's gradient (half the squared
  error summed over the outputs), and ``loss_`` reports the loss as scikit-learn does
  (averaged over the outputs); ``lbfgs`` minimizes the former consistently, where
  scikit-learn pairs the averaged loss with the summed gradient.
* Sparse input is accepted and densified.
* ``sample_weight`` must be >= 0 (scikit-learn also takes negative weights, which make
  the loss unbounded below).
* ``MLPRegressor(loss="poisson")`` is not supported.
"""
from __future__ import annotations

try:
    import sklearn  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("fastnn.sklearn needs scikit-learn: pip install 'fastnn[sklearn]'") from e

import numpy as np
from scipy.special import expit as _expit  # (scikit-learn needs scipy)
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from fastnn import _sk_params
from fastnn._sk_base import BaseMLP, _dense, _sk_validate_data

__all__ = ["MLPClassifier", "MLPRegressor", "patch", "unpatch"]

_PARAMS_DOC = """
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Units of each hidden layer.
    activation : str, default="relu"
        Hidden activation: "identity", "logistic", "tanh", "relu" (scikit-learn's) or
        fastnn's "gelu", "silu", "elu", "selu", "leaky_relu", "mish", "softplus".
    solver : str, default="adam"
        "adam", "sgd" or "lbfgs" (scipy's L-BFGS-B over the native full-batch loss and
        gradient, in float64), or fastnn's "adamw", "rmsprop", "adagrad", "adadelta",
        "adamax", "nadam".
    alpha : float, default=1e-4
        L2 penalty: ``0.5 * alpha * ||W||^2 / b`` is added to the mean loss of a batch of
        ``b`` rows (kernels only, not intercepts).
    batch_size : int or "auto", default="auto"
        Rows per batch of the stochastic solvers; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Rule for ``solver="sgd"``: constant; ``learning_rate_init / (t + 1) ** power_t``
        after each epoch, ``t`` the samples seen so far (``fastnn.schedules.PowerDecay``
        evaluated at ``t``); or divided by 5 each time ``n_iter_no_change`` epochs in a
        row fail to improve by ``tol`` (stopping below 1e-6).
    learning_rate_init : float, default=0.001
        Initial learning rate of the stochastic solvers.
    power_t : float, default=0.5
        Exponent of "invscaling".
    max_iter : int, default=200
        Epochs (stochastic solvers) or iterations (lbfgs).
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the validation split, the shuffles and dropout.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement (and lbfgs's ``gtol``).
    verbose : bool, default=False
        Print the loss of every epoch.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution.
    momentum : float, default=0.9
        Momentum of "sgd".
    nesterovs_momentum : bool, default=True
        Nesterov momentum for "sgd" (when ``momentum > 0``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified for single-output
        classification) and stop when the validation score (accuracy or R^2) has not
        improved by ``tol`` for ``n_iter_no_change`` epochs; the best weights are kept.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping.
    beta_1, beta_2 : float, default=0.9, 0.999
        Moment decay rates of "adam", "adamw", "adamax" and "nadam".
    epsilon : float, default=1e-8
        Numerical-stability term of the adaptive solvers.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping (or, for "adaptive", dividing the
        learning rate).
    max_fun : int, default=15000
        Most loss evaluations of "lbfgs".
    dropout : float, default=0.0
        fastnn extra: dropout rate after every hidden layer (stochastic solvers only).
    batch_norm : bool, default=False
        fastnn extra: batch normalization before every hidden activation (stochastic
        solvers only; running statistics with momentum 0.9).
    clipnorm, global_clipnorm : float, optional
        fastnn extras: clip each gradient tensor's norm, or the global norm (stochastic
        solvers only).
    lr_schedule : fastnn.schedules.LearningRateSchedule, optional
        fastnn extra: the learning rate of any stochastic solver, stepped per batch (or per
        epoch for ``unit="epoch"``); replaces ``learning_rate_init`` and ``learning_rate``.
    validation_data : tuple, optional
        fastnn extra: ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)`` scored
        every epoch into ``validation_scores_``; with ``early_stopping=True`` it replaces
        the held-out fraction (stochastic solvers only).
    weight_decay : float, optional
        fastnn extra: the optimizer's weight decay (decoupled for "adamw", whose default
        0.004 applies when None; for the other stochastic solvers ``weight_decay * w`` is
        added to the gradient of every weight, intercepts included).
    dtype : {"float32", "float64"}, default="float32"
        fastnn extra: precision of the stochastic solvers. float32 is about twice as fast;
        its results agree with float64 training to float32 rounding, so fits that are equal
        in exact arithmetic (integer sample weights and the same rows repeated, say) agree
        to ~1e-7 relative rather than bitwise. Use "float64" where that matters; the
        "lbfgs" solver always works in float64."""

_ATTRS_DOC = """
    loss_ : float
        Loss (with the penalty) of the last epoch, or at the lbfgs solution.
    best_loss_ : float or None
        Lowest training loss (None with early stopping; stochastic solvers only).
    loss_curve_ : list of float
        Loss of every epoch (stochastic solvers only).
    validation_scores_ : list of float or None
        Validation score of every epoch (with early stopping or ``validation_data``).
    best_validation_score_ : float or None
        Best validation score (with early stopping).
    t_ : int
        Training samples seen.
    coefs_ : list of ndarray
        Kernel of each layer, shape ``(fan_in, fan_out)``.
    intercepts_ : list of ndarray
        Bias of each layer.
    n_features_in_ : int
        Features seen by fit.
    feature_names_in_ : ndarray of str
        Column names when X was a DataFrame with string column names.
    n_iter_ : int
        Epochs (or lbfgs iterations) run by the last fit.
    n_layers_ : int
        Layers including input and output.
    n_outputs_ : int
        Output units.
    out_activation_ : str
        "softmax", "logistic" or "identity"."""


def _stochastic(est):
    if est.solver not in _sk_params.STOCHASTIC:
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. {est.solver} is not "
                             "stochastic.")
    return True


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron classifier trained by fastnn (a drop-in for
    ``sklearn.neural_network.MLPClassifier``).

    Multiclass targets get a softmax output and the cross-entropy; binary targets one
    logistic unit; a label-indicator matrix (multilabel) one logistic unit per label and
    the binary cross-entropy summed over labels.

    Parameters
    ----------{_PARAMS_DOC}
    class_weight : dict, "balanced" or None, default=None
        fastnn extra: per-class weights multiplied into the sample weights ("balanced":
        ``n_samples / (n_classes * bincount(y))``; not with multilabel targets).

    Attributes
    ----------
    classes_ : ndarray
        Class labels.{_ATTRS_DOC}

    Examples
    --------
    >>> from fastnn.sklearn import MLPClassifier
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((32,), max_iter=300, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, batch_norm=False, class_weight=None,
                 clipnorm=None, global_clipnorm=None, lr_schedule=None, validation_data=None, weight_decay=None,
                 dtype="float32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.class_weight = class_weight
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.lr_schedule = lr_schedule
        self.validation_data = validation_data
        self.weight_decay = weight_decay
        self.dtype = dtype

    # -- targets -----------------------------------------------------------------------
    @property
    def _task(self):
        t = self._label_binarizer.y_type_
        return "multilabel" if t.startswith("multilabel") else ("multiclass" if t == "multiclass" else "binary")

    def _out_activation(self):
        return "softmax" if self._task == "multiclass" else "logistic"

    def _validate_input(self, X, y, incremental, reset):
        X, y = _sk_validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                                 dtype=(np.float64, np.float32), reset=reset)
        X = _dense(X)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(f"warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        Y = self._label_binarizer.transform(y).astype(bool)
        return X, Y

    def _apply_class_weight(self, sw, Y, p, incremental):
        cw = p.class_weight
        if cw is None:
            return sw
        if self._task == "multilabel":
            raise ValueError("class_weight: not supported for multilabel targets (use sample_weight)")
        idx = np.argmax(Y, axis=1) if Y.shape[1] > 1 else Y[:, 0].astype(np.int64)
        n_cls = len(self.classes_)
        if cw == "balanced":
            if incremental:
                raise ValueError("class_weight='balanced' is not supported by partial_fit (the class frequencies "
                                 "of the whole data are unknown); pass a dict")
            counts = np.bincount(idx, minlength=n_cls).astype(np.float64)
            table = np.where(counts > 0, len(idx) / (n_cls * np.maximum(counts, 1)), 1.0)
        else:
            table = np.ones(n_cls)
            for k, w in cw.items():
                pos = np.flatnonzero(self.classes_ == k)
                if pos.size == 0:
                    raise ValueError(f"class_weight: class {k!r} is not among the classes {list(self.classes_)}")
                table[pos[0]] = float(w)
        w = table[idx]
        sw = w if sw is None else sw * w
        if not sw.sum() > 0:
            raise ValueError("class_weight: the weights of the classes present must not all be zero")
        return sw

    def _decode(self, Y):
        return self._label_binarizer.inverse_transform(Y)

    def _validation_targets(self, y, n):
        y = column_or_1d(y, warn=False) if np.ndim(y) == 2 and np.shape(y)[1] == 1 else np.asarray(y)
        if y.shape[0] != n:
            raise ValueError(f"validation_data: X_val has {n} rows, y_val {y.shape[0]}")
        return y

    def _score_function(self, y, y_pred, sample_weight):
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    def _proba_from_raw(self, out):
        if self._task == "multiclass":
            z = out - out.max(axis=1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)
        return _expit(out)

    def _from_raw(self, out, dtype=None):
        if self._task == "multiclass":
            return self.classes_[np.argmax(self._proba_from_raw(out), axis=1)]
        if self._task == "multilabel":  # (a sparse indicator matrix when fitted on one, as scikit-learn)
            return self._label_binarizer.inverse_transform((out > 0).astype(int))
        return self.classes_[(out[:, 0] > 0).astype(np.int64)] if len(self.classes_) > 1 else \
            np.repeat(self.classes_, out.shape[0])

    # -- public API ----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and class labels (or a label-indicator matrix) ``y``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self : MLPClassifier
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), optional
        classes : array-like, optional
            Every class of the whole data; required at the first call.

        Returns
        -------
        self : MLPClassifier
        """
        if hasattr(self, "classes_"):
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"`classes={classes!r}` is not the same as on the first call to partial_fit, "
                                 f"was: {self.classes_!r}")
            return self._fit(X, y, sample_weight=sample_weight, incremental=True)
        if classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        self._label_binarizer = LabelBinarizer()
        if type_of_target(y).startswith("multilabel"):
            self._label_binarizer.fit(y)
        else:
            self._label_binarizer.fit(classes)
        self.classes_ = self._label_binarizer.classes_
        try:
            return self._fit(X, y, sample_weight=sample_weight, incremental=True)
        except Exception:  # a failed first call leaves no classes behind
            del self.classes_, self._label_binarizer
            raise

    def predict(self, X):
        """Predicted class labels (or label-indicator rows for multilabel targets).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_labels)
        """
        out, _ = self._raw(X)
        return self._from_raw(out)

    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            For one logistic output (binary targets) the columns are ``1 - p`` and ``p``.
        """
        out, dtype = self._raw(X)
        p = self._proba_from_raw(out)
        if self.n_outputs_ == 1:
            p = np.column_stack([1.0 - p[:, 0], p[:, 0]])
        return p.astype(dtype, copy=False)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        p = self.predict_proba(X)
        return np.log(p, out=p)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = f"""Multi-layer perceptron regressor trained by fastnn (a drop-in for
    ``sklearn.neural_network.MLPRegressor``), minimizing half the mean squared error.

    Parameters
    ----------
    loss : {{"squared_error"}}, default="squared_error"
        scikit-learn's "poisson" is not supported.{_PARAMS_DOC}

    Attributes
    ----------{_ATTRS_DOC}

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", random_state=0).fit(X, X[:, 0] ** 2)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _regressor = True
    _task = "regression"

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, batch_norm=False,
                 clipnorm=None, global_clipnorm=None, lr_schedule=None, validation_data=None, weight_decay=None,
                 dtype="float32"):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.lr_schedule = lr_schedule
        self.validation_data = validation_data
        self.weight_decay = weight_decay
        self.dtype = dtype

    def _out_activation(self):
        return "identity"

    def _validate_input(self, X, y, incremental, reset):
        X, y = _sk_validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
                                 dtype=(np.float64, np.float32), reset=reset)
        X = _dense(X)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if hasattr(self, "n_outputs_") and not reset and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y: the model was fitted with {self.n_outputs_} outputs, got {Y.shape[1]}")
        return X, Y

    def _decode(self, Y):
        return Y[:, 0] if Y.shape[1] == 1 else Y

    def _validation_targets(self, y, n):
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.shape[0] != n:
            raise ValueError(f"validation_data: X_val has {n} rows, y_val {y.shape[0]}")
        return y

    def _score_function(self, y, y_pred, sample_weight):
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def _from_raw(self, out, dtype=None):
        out = out[:, 0] if out.shape[1] == 1 else out
        return out if dtype is None else out.astype(dtype, copy=False)

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` and real targets ``y``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self : MLPRegressor
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self : MLPRegressor
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        out, dtype = self._raw(X)
        return self._from_raw(out, dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# -- patching scikit-learn ------------------------------------------------------------------
_ORIGINALS: dict = {}


def _targets():
    import sklearn.neural_network as nn
    import sklearn.neural_network._multilayer_perceptron as mlp

    return [(m, name) for m in (nn, mlp) for name in ("MLPClassifier", "MLPRegressor")]


def patch():
    """Make ``sklearn.neural_network.MLPClassifier``/``MLPRegressor`` (and the names in
    ``sklearn.neural_network._multilayer_perceptron``) resolve to fastnn's classes.

    Code that looks the names up after the call (``from sklearn.neural_network import
    MLPClassifier`` run later, or ``sklearn.neural_network.MLPClassifier``) gets fastnn's.
    Calling it twice is harmless; :func:`unpatch` restores scikit-learn's.
    """
    ours = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}
    for mod, name in _targets():
        cur = getattr(mod, name)
        if cur is not ours[name]:
            _ORIGINALS[(mod.__name__, name)] = cur
        setattr(mod, name, ours[name])


def unpatch():
    """Undo :func:`patch` (does nothing when not patched)."""
    for mod, name in _targets():
        orig = _ORIGINALS.pop((mod.__name__, name), None)
        if orig is not None:
            setattr(mod, name, orig)
