"""Weight regularizers (Keras names, arguments and defaults).

A regularizer adds ``penalty(w)`` to the loss and ``gradient(w)`` to the weight's
gradient. A :class:`Regularizer` subclass written in Python trains too: the native loop
calls it after every step's backward pass (slower than the built-in ones, and it turns off
the overlap of the optimizer update with the backward pass). The built-in ones are all the
elastic-net penalty

    penalty(w)  = l1 * sum(|w|) + l2 * sum(w ** 2)
    gradient(w) = l1 * sign(w) + 2 * l2 * w

(``sign(0) = 0``, the subgradient the native training loop uses too), and expose ``l1``
and ``l2`` as attributes so the training loop can apply them without calling Python.
"""
from __future__ import annotations

import numpy as np

from fastnn._validate import as_array, check_scalar

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get", "serialize", "deserialize"]


class Regularizer:
    """Base class of the regularizers.

    Subclasses implement ``__call__(w) -> float`` (the penalty), ``gradient(w)`` (its
    derivative, an array shaped like ``w``) and :meth:`get_config`.
    """

    def __call__(self, w):
        """The penalty added to the loss for weight ``w`` (a float)."""
        raise NotImplementedError

    def gradient(self, w):
        """The derivative of the penalty with respect to ``w``."""
        raise NotImplementedError

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Build a regularizer from :meth:`get_config`'s dict."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _factor(value, name):
    return check_scalar(value, name, low=0.0)


class _ElasticNet(Regularizer):
    """Shared penalty/gradient of L1, L2 and L1L2 (``l1``, ``l2`` validated on set)."""

    _l1 = 0.0
    _l2 = 0.0

    @property
    def l1(self):
        """L1 factor (a finite float >= 0)."""
        return self._l1

    @l1.setter
    def l1(self, value):
        self._l1 = _factor(value, "l1")

    @property
    def l2(self):
        """L2 factor (a finite float >= 0)."""
        return self._l2

    @l2.setter
    def l2(self, value):
        self._l2 = _factor(value, "l2")

    def __call__(self, w):
        """Penalty ``l1 * sum(|w|) + l2 * sum(w ** 2)``, accumulated in float64.

        Parameters
        ----------
        w : array_like of real numbers

        Returns
        -------
        float
        """
        x = np.asarray(as_array(w, "w"), dtype=np.float64)
        total = 0.0
        if self._l1:
            total += self._l1 * float(np.sum(np.abs(x)))
        if self._l2:
            total += self._l2 * float(np.sum(x * x))
        return float(total)

    def gradient(self, w):
        """Gradient ``l1 * sign(w) + 2 * l2 * w``, computed in float64.

        Parameters
        ----------
        w : array_like of real numbers

        Returns
        -------
        numpy.ndarray
            Shaped like ``w``; the dtype of ``w`` when it is floating, else float64.
        """
        a = as_array(w, "w")
        dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
        x = np.asarray(a, dtype=np.float64)
        g = np.zeros(x.shape)
        if self._l1:
            g += self._l1 * np.sign(x)
        if self._l2:
            g += (2.0 * self._l2) * x
        return g.astype(dtype, copy=False)


class L1(_ElasticNet):
    """L1 penalty ``l1 * sum(|w|)``; gradient ``l1 * sign(w)``.

    Parameters
    ----------
    l1 : float, default 0.01
        Finite, ``>= 0``. The attribute ``l2`` is 0.
    """

    def __init__(self, l1=0.01):
        self.l1 = l1

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"l1": self.l1}


class L2(_ElasticNet):
    """L2 penalty ``l2 * sum(w ** 2)``; gradient ``2 * l2 * w``.

    Parameters
    ----------
    l2 : float, default 0.01
        Finite, ``>= 0``. The attribute ``l1`` is 0.
    """

    def __init__(self, l2=0.01):
        self.l2 = l2

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"l2": self.l2}


class L1L2(_ElasticNet):
    """Elastic-net penalty ``l1 * sum(|w|) + l2 * sum(w ** 2)``; gradient
    ``l1 * sign(w) + 2 * l2 * w``.

    Parameters
    ----------
    l1 : float, default 0.0
        Finite, ``>= 0``.
    l2 : float, default 0.0
        Finite, ``>= 0``.
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = l1
        self.l2 = l2

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"l1": self.l1, "l2": self.l2}


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
# Names -> factory with that name's default factors. "l1_l2" gives 0.01 for both, as the
# tf.keras helper ``l1_l2()`` did (Keras 3 would build L1L2() with both factors 0).
_NAMES = {"l1": L1, "L1": L1, "l2": L2, "L2": L2,
          "l1_l2": lambda: L1L2(0.01, 0.01), "L1L2": lambda: L1L2(0.01, 0.01)}


def serialize(regularizer):
    """``{"class_name": ..., "config": ...}`` for a regularizer.

    Parameters
    ----------
    regularizer : Regularizer

    Returns
    -------
    dict
    """
    if not isinstance(regularizer, Regularizer):
        raise TypeError(f"regularizer: expected a Regularizer, got {type(regularizer).__name__}")
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def deserialize(config, custom_objects=None):
    """Build a regularizer from :func:`serialize`'s dict (extra Keras keys such as
    ``module`` are ignored; ``config`` may be omitted, giving the class defaults).

    Parameters
    ----------
    config : dict
    custom_objects : dict, optional
        ``{class name: Regularizer subclass}`` for regularizers written in Python.

    Returns
    -------
    Regularizer
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"config: expected a dict with 'class_name' and 'config', got {config!r}")
    name = config["class_name"]
    custom = (custom_objects or {}).get(name)
    cls = custom if isinstance(custom, type) and issubclass(custom, Regularizer) else _CLASSES.get(name)
    if cls is None:
        raise ValueError(f"identifier: unknown regularizer {name!r}; known names: {', '.join(sorted(_CLASSES))} "
                         f"(pass custom_objects={{{name!r}: cls}} for one written in Python)")
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise TypeError(f"config: 'config' must be a dict, got {type(inner).__name__}")
    return cls.from_config(dict(inner))


def native_factors(regularizer):
    """``(l1, l2)`` of a regularizer the native training loop applies itself (L1, L2, L1L2
    and subclasses that keep their penalty and gradient), else None (written in Python:
    the loop calls it every step)."""
    if regularizer is None:
        return 0.0, 0.0
    t = type(regularizer)
    if isinstance(regularizer, _ElasticNet) and t.__call__ is _ElasticNet.__call__ and \
            t.gradient is _ElasticNet.gradient:
        return regularizer.l1, regularizer.l2
    return None


def get(identifier):
    """Resolve a regularizer.

    Parameters
    ----------
    identifier : Regularizer, str, dict or None
        An instance (returned as is); ``"l1"`` / ``"L1"`` (``L1(0.01)``), ``"l2"`` /
        ``"L2"`` (``L2(0.01)``), ``"l1_l2"`` / ``"L1L2"`` (``L1L2(l1=0.01, l2=0.01)``,
        like tf.keras's ``l1_l2()``; Keras 3 would give zero factors); a dict
        ``{"class_name": ..., "config": ...}``; ``None`` gives ``None``.

    Returns
    -------
    Regularizer or None

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known names).
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        make = _NAMES.get(identifier)
        if make is None:
            raise ValueError(
                f"identifier: unknown regularizer {identifier!r}; known names: {', '.join(sorted(_NAMES))}")
        return make()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"identifier: cannot interpret {type(identifier).__name__} as a regularizer")
