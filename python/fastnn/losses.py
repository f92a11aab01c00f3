"""Loss functions (Keras names and semantics), computed by fused native kernels.

Every loss maps a batch ``(y_true, y_pred)`` of ``n`` samples to ``n`` per-sample losses
``l_r`` (float64) and reduces them with optional per-sample weights ``w_r``:

* ``reduction="mean"`` (Keras ``"sum_over_batch_size"``, also accepted): ``sum_r w_r l_r / n``;
* ``"sum"``: ``sum_r w_r l_r``;
* ``"none"`` (or None): the array ``w_r l_r``.

In training (``Model.compile``), ``"mean"`` and ``"sum"`` apply to each batch (the reported
epoch loss averages the batches' losses weighted by their sizes, as Keras); ``"none"`` is
refused there.

``y_pred`` is 2-D ``(n, outputs)``; a 1-D ``y_pred`` counts as ``(n, 1)``.  float32 stays
float32 and float64 stays float64 (float16 computes in float32, integers and bools in
float64); ``y_true`` is cast to that dtype.  Inside the kernels every element is evaluated
and every row accumulated in float64.  The clip constant is ``eps = 1e-7`` for both dtypes.

Differences from Keras, all deliberate:

* In a model, an output ending in softmax (sigmoid) whose loss is the categorical (binary)
  cross-entropy on probabilities has that loss computed from its logits, in one stable
  kernel, in training and in ``evaluate`` alike: no ``eps`` clip of the probabilities there
  (Keras clips, capping a confident miss's loss near ``-log(eps) = 16.1``). The loss object
  called on probabilities clips as described below.

* :class:`Hinge` and :class:`SquaredHinge` map each target equal to 0 to -1 (other values are
  kept); Keras maps the whole batch {0, 1} -> {-1, 1} only when every target is 0 or 1.
* The clip bounds ``eps`` and ``1 - eps`` are applied in float64 also for float32 inputs.
* Only 1-D and 2-D ``y_pred`` are accepted (no extra axes), and ``y_true`` must not hold
  NaN or Inf.
"""
from __future__ import annotations

import numpy as np

from fastnn import _core
from fastnn._loss_inputs import prepare_labels, prepare_pred, prepare_targets, prepare_weight
from fastnn._validate import check_scalar

__all__ = [
    "Loss", "MeanSquaredError", "MeanAbsoluteError", "Huber", "LogCosh", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Hinge", "SquaredHinge",
    "KLDivergence", "Poisson", "get", "serialize", "deserialize", "check_output_loss_pair",
]

_REDUCTIONS = {"mean": "mean", "sum_over_batch_size": "mean", "sum": "sum", "none": "none"}


class Loss:
    """Base class of the losses.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"} or None, default "mean"
        How :meth:`__call__` combines the per-sample losses (see the module docstring);
        ``"sum_over_batch_size"`` is an alias of ``"mean"`` and None of ``"none"``.
    name : str or None
        Defaults to the snake_case Keras name of the loss (``"mean_squared_error"``...).

    Attributes
    ----------
    loss_id : int or None
        The native kernel id (a value of ``fastnn._core.LOSS_IDS``); None for a Python
        subclass that overrides :meth:`call`.
    from_logits, delta, label_smoothing : bool, float, float
        Kernel parameters (False, 1.0 and 0.0 where a loss has no such parameter).
    sparse : bool
        True when ``y_true`` holds integer class labels instead of one row per sample.

    Notes
    -----
    A subclass may instead override ``call(y_true, y_pred)`` to return the per-sample
    losses (shape (n,)); :meth:`__call__` and :meth:`per_sample` then use it, but
    :meth:`gradient` and the training engine need a built-in loss.
    """

    _kernel = None  # key of _core.LOSS_IDS
    _default_name = "loss"
    sparse = False

    def __init__(self, reduction="mean", name=None):
        if reduction is None:
            reduction = "none"
        if not isinstance(reduction, str):
            raise TypeError(f"reduction: expected a str, got {type(reduction).__name__}")
        if reduction.lower() not in _REDUCTIONS:
            raise ValueError(
                f"reduction: expected one of {', '.join(sorted(_REDUCTIONS))} or None, got {reduction!r}"
            )
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name: expected a str or None, got {type(name).__name__}")
        self.reduction = reduction.lower()
        self.name = name if name is not None else self._default_name
        self.loss_id = _core.LOSS_IDS[self._kernel] if self._kernel is not None else None
        self.from_logits = False
        self.delta = 1.0
        self.label_smoothing = 0.0

    # ------------------------------------------------------------------ computing

    def _native(self, y_true, y_pred, sample_weight, *, want_grad=False):
        """Validated native call: ``(loss_rows, grad or None, pred_shape, weights)``."""
        if self.loss_id is None:
            raise NotImplementedError(f"{type(self).__name__}: no native kernel; override call()")
        pred, dtype, shape = prepare_pred(y_pred)
        n, cols = pred.shape
        if self.sparse:
            target = prepare_labels(y_true, n, cols)
        else:
            target = prepare_targets(y_true, pred.shape, dtype)
        w = prepare_weight(sample_weight, n, dtype)
        scale = 1.0 / n if _REDUCTIONS[self.reduction] == "mean" else 1.0
        rows, grad = _core.loss_forward(
            self.loss_id, pred, target, w if want_grad else None,
            from_logits=bool(self.from_logits), delta=float(self.delta),
            label_smoothing=float(self.label_smoothing), grad_scale=scale, want_grad=bool(want_grad),
        )
        return rows, grad, shape, w

    def call(self, y_true, y_pred):
        """Per-sample losses as a float64 array of shape (n,) (unweighted).

        Parameters
        ----------
        y_true : array_like
            Targets, shape like ``y_pred`` (integer labels of shape (n,) for sparse losses).
        y_pred : array_like
            Predictions, shape (n, outputs) or (n,).

        Returns
        -------
        numpy.ndarray
        """
        return self._native(y_true, y_pred, None)[0]

    def per_sample(self, y_true, y_pred):
        """Unweighted per-sample losses ``l_r``, a float64 array of shape (n,).

        Parameters
        ----------
        y_true, y_pred : array_like
            As for :meth:`__call__`.

        Returns
        -------
        numpy.ndarray
        """
        return np.asarray(self.call(y_true, y_pred), dtype=np.float64)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss of a batch.

        Parameters
        ----------
        y_true : array_like
            Targets: the shape of ``y_pred`` (a 1-D array counts as (n, 1)), or for
            :class:`SparseCategoricalCrossentropy` integer labels of shape (n,) or (n, 1).
        y_pred : array_like
            Predictions (probabilities, or logits with ``from_logits=True``), (n, outputs) or (n,).
        sample_weight : array_like or None
            A scalar or one weight per sample, finite and >= 0.

        Returns
        -------
        float or numpy.ndarray
            A float for ``"mean"`` and ``"sum"``; the float64 array ``w_r l_r`` for ``"none"``.
        """
        if self.loss_id is None:
            rows = self.per_sample(y_true, y_pred)
            w = prepare_weight(sample_weight, rows.shape[0], np.float64)
        else:
            rows, _, _, w = self._native(y_true, y_pred, sample_weight)
        weighted = rows if w is None else rows * np.asarray(w, dtype=np.float64)
        how = _REDUCTIONS[self.reduction]
        if how == "none":
            return weighted
        total = float(np.sum(weighted))
        return total / rows.shape[0] if how == "mean" else total

    def gradient(self, y_true, y_pred, sample_weight=None):
        """dL/dy_pred of the reduced loss, shaped and typed like ``y_pred``.

        With ``reduction="none"`` it is the gradient of ``sum_r w_r l_r`` (row r holds
        ``w_r dl_r/dy_pred_r``).  At kinks (MAE, hinge) and where a clip is active
        (probabilities outside [eps, 1 - eps]) the subgradient 0 is used.

        Parameters
        ----------
        y_true, y_pred, sample_weight
            As for :meth:`__call__`.

        Returns
        -------
        numpy.ndarray
            float32 for float32/float16 ``y_pred``, else float64.
        """
        if self.loss_id is None:
            raise NotImplementedError(f"{type(self).__name__}: gradient needs a built-in (native) loss")
        _, grad, shape, _ = self._native(y_true, y_pred, sample_weight, want_grad=True)
        return grad.reshape(shape)

    # ------------------------------------------------------------------ configuration

    def get_config(self):
        """The constructor arguments as a dict (JSON-serializable).

        Returns
        -------
        dict
        """
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        """Rebuild a loss from :meth:`get_config`'s dict.

        Parameters
        ----------
        config : dict

        Returns
        -------
        Loss
        """
        if not isinstance(config, dict):
            raise TypeError(f"config: expected a dict, got {type(config).__name__}")
        return cls(**config)

    def serialize(self):
        """``{"class_name": ..., "config": ...}``, the form :func:`get` accepts.

        Returns
        -------
        dict
        """
        return {"class_name": type(self).__name__, "config": self.get_config()}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _check_bool(v, name):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(v).__name__}")
    return bool(v)


class MeanSquaredError(Loss):
    """Mean over outputs of ``(y_true - y_pred)**2``.

    Parameters
    ----------
    reduction, name
        See :class:`Loss`.
    """

    _kernel = "mean_squared_error"
    _default_name = "mean_squared_error"


class MeanAbsoluteError(Loss):
    """Mean over outputs of ``|y_true - y_pred|`` (gradient ``sign(y_pred - y_true)``, 0 at equality).

    Parameters
    ----------
    reduction, name
        See :class:`Loss`.
    """

    _kernel = "mean_absolute_error"
    _default_name = "mean_absolute_error"


class Huber(Loss):
    """Mean over outputs of the Huber loss of ``e = y_pred - y_true``.

    ``0.5 e**2`` where ``|e| <= delta``, else ``delta * (|e| - 0.5 delta)``.

    Parameters
    ----------
    delta : float, default 1.0
        Where the loss turns from quadratic to linear (> 0).
    reduction, name
        See :class:`Loss`.
    """

    _kernel = "huber"
    _default_name = "huber_loss"

    def __init__(self, delta=1.0, reduction="mean", name=None):
        super().__init__(reduction, name)
        self.delta = check_scalar(delta, "delta", low=0.0, low_inclusive=False)

    def get_config(self):
        return dict(super().get_config(), delta=self.delta)


class LogCosh(Loss):
    """Mean over outputs of ``log(cosh(y_pred - y_true))``, computed without overflow.

    Parameters
    ----------
    reduction, name
        See :class:`Loss`.
    """

    _kernel = "log_cosh"
    _default_name = "log_cosh"


class _CrossEntropy(Loss):
    def __init__(self, from_logits=False, label_smoothing=0.0, reduction="mean", name=None):
        super().__init__(reduction, name)
        self.from_logits = _check_bool(from_logits, "from_logits")
        self.label_smoothing = check_scalar(label_smoothing, "label_smoothing", low=0.0, high=1.0)

    def get_config(self):
        return dict(super().get_config(), from_logits=self.from_logits, label_smoothing=self.label_smoothing)


class BinaryCrossentropy(_CrossEntropy):
    """Mean over outputs of the binary cross-entropy.

    Targets are smoothed to ``y * (1 - label_smoothing) + 0.5 * label_smoothing``. From
    probabilities, ``y_pred`` is clipped to ``[eps, 1 - eps]`` (gradient 0 where the clip is
    active); from logits the loss is evaluated stably (``max(x, 0) - x y + log1p(exp(-|x|))``).

    Parameters
    ----------
    from_logits : bool, default False
        Whether ``y_pred`` holds logits (no sigmoid applied) instead of probabilities.
    label_smoothing : float, default 0.0
        In [0, 1].
    reduction, name
        See :class:`Loss`.
    """

    _kernel = "binary_crossentropy"
    _default_name = "binary_crossentropy"


class CategoricalCrossentropy(_CrossEntropy):
    """``-sum_j y_j log p_j`` over the classes of each sample (one-hot or soft targets).

    Targets are smoothed to ``y * (1 - label_smoothing) + label_smoothing / classes``. From
    logits, ``p = softmax(y_pred)`` through a max-shifted log-softmax. From probabilities
    (Keras), ``y_pred`` is divided by its row sum and clipped to ``[eps, 1 - eps]``; the
    gradient goes exactly through both.

    Parameters
    ----------
    from_logits : bool, default False
        Whether ``y_pred`` holds logits instead of probabilities.
    label_smoothing : float, default 0.0
        In [0, 1].
    reduction, name
        See :class:`Loss`.
    """

    _kernel = "categorical_crossentropy"
    _default_name = "categorical_crossentropy"


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer class labels: ``-log p[label]``.

    ``y_true`` holds labels of shape (n,) or (n, 1), integers (or whole-valued floats) in
    ``[0, classes)``.  Probabilities are normalized and clipped as in
    :class:`CategoricalCrossentropy`.

    Parameters
    ----------
    from_logits : bool, default False
        Whether ``y_pred`` holds logits instead of probabilities.
    reduction, name
        See :class:`Loss`.
    """

    _kernel = "sparse_categorical_crossentropy"
    _default_name = "sparse_categorical_crossentropy"
    sparse = True

    def __init__(self, from_logits=False, reduction="mean", name=None):
        super().__init__(reduction, name)
        self.from_logits = _check_bool(from_logits, "from_logits")

    def get_config(self):
        return dict(super().get_config(), from_logits=self.from_logits)


class Hinge(Loss):
    """Mean over outputs of ``max(0, 1 - y_true * y_pred)``, targets in {-1, 1}.

    A target equal to 0 counts as -1 (so {0, 1} labels work); see the module notes.

    Parameters
    ----------
    reduction, name
        See :class:`Loss`.
    """

    _kernel = "hinge"
    _default_name = "hinge"


class SquaredHinge(Loss):
    """Mean over outputs of ``max(0, 1 - y_true * y_pred)**2``; targets as for :class:`Hinge`.

    Parameters
    ----------
    reduction, name
        See :class:`Loss`.
    """

    _kernel = "squared_hinge"
    _default_name = "squared_hinge"


class KLDivergence(Loss):
    """``sum_j y log(y / p)`` with ``y`` and ``p`` clipped to ``[eps, 1]``.

    Parameters
    ----------
    reduction, name
        See :class:`Loss`.
    """

    _kernel = "kl_divergence"
    _default_name = "kl_divergence"


class Poisson(Loss):
    """Mean over outputs of ``y_pred - y_true * log(y_pred + eps)`` (``y_pred`` > -eps).

    Parameters
    ----------
    reduction, name
        See :class:`Loss`.
    """

    _kernel = "poisson"
    _default_name = "poisson"


# ---------------------------------------------------------------------- lookup

_CLASSES = {c.__name__: c for c in (
    MeanSquaredError, MeanAbsoluteError, Huber, LogCosh, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, Hinge, SquaredHinge, KLDivergence, Poisson)}

_NAMES = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "log_cosh": LogCosh, "logcosh": LogCosh,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy, "cce": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "hinge": Hinge, "squared_hinge": SquaredHinge,
    "kld": KLDivergence, "kl_divergence": KLDivergence, "kullback_leibler_divergence": KLDivergence,
    "poisson": Poisson,
}


def get(identifier):
    """Resolve a loss from an instance, a name, a class or a serialized dict.

    Parameters
    ----------
    identifier : Loss, str, type, dict or None
        A :class:`Loss` (returned as is); a name such as ``"mse"``, ``"mean_squared_error"``,
        ``"categorical_crossentropy"`` or ``"kld"`` (case-insensitive; a new instance with
        default arguments); a :class:`Loss` subclass (instantiated); or
        ``{"class_name": ..., "config": {...}}`` as :meth:`Loss.serialize` writes.
        None gives None.

    Returns
    -------
    Loss or None

    Raises
    ------
    ValueError
        For an unknown name or class name (the message lists the known ones).
    TypeError
        For any other kind of identifier.
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        if key not in _NAMES:
            raise ValueError(f"loss: unknown name {identifier!r}; known: {', '.join(sorted(_NAMES))}")
        return _NAMES[key]()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"loss: a dict needs 'class_name' and 'config' keys, got keys {sorted(identifier)}")
        cname = identifier["class_name"]
        cls = _CLASSES.get(cname) if isinstance(cname, str) else None
        if cls is None and isinstance(cname, str):
            cls = _NAMES.get(cname.strip().lower())
        if cls is None:
            raise ValueError(f"loss: unknown class_name {cname!r}; known: {', '.join(sorted(_CLASSES))}")
        return cls.from_config(dict(identifier.get("config") or {}))
    raise TypeError(f"loss: expected a Loss, a name, a Loss class or a dict, got {type(identifier).__name__}")


def serialize(loss):
    """``loss.serialize()`` for a loss or anything :func:`get` resolves.

    Parameters
    ----------
    loss : Loss, str or dict

    Returns
    -------
    dict
    """
    return get(loss).serialize()


def deserialize(config):
    """The loss a :func:`serialize` dict describes (same as :func:`get`).

    Parameters
    ----------
    config : dict

    Returns
    -------
    Loss
    """
    return get(config)


from fastnn._loss_pairs import check_output_loss_pair  # noqa: E402  (re-export)
