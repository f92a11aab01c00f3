"""Augmentation of training batches, applied natively while a batch is gathered
(:class:`Augment`; public as ``fastnn.data.Augment``)."""
from __future__ import annotations

import math
import numbers

from fastnn import _core

__all__ = ["Augment"]

# Losses whose targets are labels a convex mix of which is no label (a hinge target of 0
# counts as -1, so a mixed 0.3 would mean something else): mixup is refused for them.
_NO_MIXUP = frozenset({_core.LOSS_IDS["hinge"], _core.LOSS_IDS["squared_hinge"]})


def _rate(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name}: expected a real number >= 0, got {type(v).__name__} {v!r}")
    f = float(v)
    if not (math.isfinite(f) and f >= 0):
        raise ValueError(f"{name}: expected a finite number >= 0, got {v!r}")
    return f


class Augment:
    """Random augmentation of training batches: mixup, then additive Gaussian noise.

    Pass it to :meth:`fastnn.Model.fit` (``augment=``) or :func:`fastnn.fit_many`. It is
    applied natively to each training batch while the batch is gathered (no extra pass
    over the data, no copy of the data set) and only there: validation data,
    :meth:`~fastnn.Model.evaluate`, :meth:`~fastnn.Model.predict` and
    :meth:`~fastnn.Model.train_on_batch` always see the data unchanged.

    Parameters
    ----------
    noise : float, default 0.0
        Standard deviation of zero-mean Gaussian noise added to every input feature of
        every training sample (after mixup), independently per element and per epoch.
        0 turns it off. The noise is added in float64 and rounded once to the model's
        type; it is the same for every model input's scale, so standardize the inputs
        first (see :class:`Standardizer`).
    mixup : float, default 0.0
        The alpha of mixup (Zhang et al., 2018); 0 turns it off. Row ``r`` of a batch
        becomes ``lam[r] * x[r] + (1 - lam[r]) * x[p[r]]`` with ``lam[r] ~ Beta(alpha,
        alpha)`` drawn per row and ``p`` a random permutation of the batch's rows;
        targets and sample weights are mixed with the same ``lam`` and ``p``. For
        classification the integer labels (sparse categorical cross-entropy) and one-hot
        targets are mixed as soft targets (``lam`` on one class, ``1 - lam`` on the
        other). Small alphas (0.1 - 0.4) keep most rows close to an original sample;
        alpha = 1 draws ``lam`` uniformly. Refused (ValueError at ``fit``) for the hinge
        losses, whose {-1, 1} targets have no meaningful mixture.

    Notes
    -----
    Every draw is a pure function of ``fit``'s ``seed``, the epoch and the batch's
    position in the epoch, so training with augmentation is reproducible bitwise: at
    any thread count, with an epoch cut into several native calls (progress bars, batch
    callbacks) or resumed with ``initial_epoch``. The training loss of an epoch is the
    loss on the augmented batches (as in Keras); training metrics compare the
    predictions on the augmented inputs with the original (unmixed) targets, so read
    ``val_`` metrics to judge the model. Unlike the original paper, which draws one
    ``lam`` per batch, ``lam`` is drawn per row.

    Examples
    --------
    >>> import numpy as np, fastnn as fnn
    >>> x = np.random.default_rng(0).normal(size=(256, 8)).astype(np.float32)
    >>> y = (x[:, 0] > 0).astype(np.int64)
    >>> model = fnn.Sequential([fnn.layers.Input(8), fnn.layers.Dense(2)], seed=0)
    >>> model.compile("adam", fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> h = model.fit(x, y, epochs=2, verbose=0, augment=fnn.data.Augment(noise=0.1, mixup=0.2))
    """

    def __init__(self, noise=0.0, mixup=0.0):
        self.noise = _rate(noise, "noise")
        self.mixup = _rate(mixup, "mixup")

    @property
    def active(self):
        """True when noise or mixup is on."""
        return self.noise > 0 or self.mixup > 0

    def __repr__(self):
        return f"Augment(noise={self.noise!r}, mixup={self.mixup!r})"

    def __eq__(self, other):
        return isinstance(other, Augment) and (self.noise, self.mixup) == (other.noise, other.mixup)

    def __hash__(self):
        return hash((Augment, self.noise, self.mixup))

    def get_config(self):
        """``{"noise": ..., "mixup": ...}``."""
        return {"noise": self.noise, "mixup": self.mixup}


def _check(augment, model, name="augment"):
    """The validated Augment of a fit call, or None when off (model None: type and values only)."""
    if augment is None:
        return None
    if not isinstance(augment, Augment):
        raise TypeError(f"{name}: expected a fastnn.data.Augment or None, got {type(augment).__name__}")
    # Re-validate: the attributes are plain and may have been changed after construction.
    noise, mixup = _rate(augment.noise, f"{name}.noise"), _rate(augment.mixup, f"{name}.mixup")
    if mixup > 0 and model is not None:
        for out, loss in zip(model.output_names, model._losses):
            if loss.loss_id in _NO_MIXUP:
                raise ValueError(f"{name}: mixup={mixup} is meaningless for the {loss.name} loss of output "
                                 f"{out!r} (its targets are {{-1, 1}} labels); use noise only")
    if noise == 0 and mixup == 0:
        return None
    return Augment(noise, mixup)


def _native(augment, seed, epoch):
    """The run_epoch argument for one epoch."""
    return None if augment is None else (augment.noise, augment.mixup, int(seed), int(epoch))
