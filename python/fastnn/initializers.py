"""Weight initializers (Keras names, arguments and defaults).

An initializer is called as ``init(shape, dtype="float32", rng=None)`` and returns a new
C-contiguous array of that shape and dtype.

Randomness
----------
* An initializer built with an integer ``seed`` draws from ``np.random.default_rng(seed)``
  created afresh on every call, so it returns the same values every time it is called
  with the same shape (like a seeded Keras 3 initializer).
* Otherwise it draws from ``rng``, the :class:`numpy.random.Generator` the model passes
  (one generator per model makes a whole model reproducible from one seed).
* With neither, a fresh ``np.random.default_rng()`` is used.

Values are drawn in float64 and then cast to ``dtype``.

Fans follow Keras: for a 2-D shape ``(fan_in, fan_out) = shape`` (the Dense kernel layout
``(in, out)``); for a 1-D shape ``fan_in = fan_out = shape[0]``; for a 0-D shape both are 1;
for more dimensions the leading dimensions form a receptive field that multiplies both.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from fastnn._validate import check_scalar, check_size

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomUniform", "RandomNormal",
    "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform",
    "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal", "get", "serialize",
    "deserialize",
]

# Standard deviation of a standard normal truncated to [-2, 2]; dividing by it makes a
# truncated normal have the requested variance (the constant Keras uses).
_TRUNC_STD = 0.87962566103423978


# --------------------------------------------------------------------------- helpers
def _shape(shape):
    if isinstance(shape, numbers.Integral) and not isinstance(shape, (bool, np.bool_)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"shape: expected an int or a tuple of ints, got {type(shape).__name__}") from None
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral):
            raise TypeError(f"shape: expected a tuple of ints, got {shape!r}")
        if d < 0:
            raise ValueError(f"shape: dimensions must be >= 0, got {shape!r}")
    dims = tuple(int(d) for d in dims)
    check_size(dims, "shape")
    return dims


def _dtype(dtype, float_only):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: not a numpy dtype: {dtype!r}") from None
    if dt.kind == "f" or (not float_only and dt.kind in "iu"):
        return dt
    want = "a floating dtype" if float_only else "a real numeric dtype"
    raise TypeError(f"dtype: expected {want}, got {dt}")


def _seed(seed):
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed: expected an int or None, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed: must be >= 0, got {seed}")
    return int(seed)


def _compute_fans(shape):
    """(fan_in, fan_out) of a weight shape, Keras's rule (see the module docstring)."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_standard_normal(gen, shape):
    """Standard normal samples, those outside [-2, 2] redrawn until none are left."""
    z = gen.standard_normal(shape)
    bad = np.abs(z) > 2.0
    n = int(bad.sum())
    while n:
        z[bad] = gen.standard_normal(n)
        bad = np.abs(z) > 2.0
        n = int(bad.sum())
    return z


# --------------------------------------------------------------------------- base class
class Initializer:
    """Base class of the weight initializers.

    Subclasses implement ``_draw(shape, gen)`` returning float64 values (``gen`` is a
    :class:`numpy.random.Generator`) and :meth:`get_config`. Deterministic initializers set
    ``_random = False`` and may also produce integer dtypes.
    """

    _random = True
    seed = None

    def __call__(self, shape, dtype="float32", rng=None):
        """Return a new C-contiguous array of ``shape`` and ``dtype``.

        Parameters
        ----------
        shape : int or tuple of int
            Shape of the weight, e.g. ``(fan_in, fan_out)`` for a Dense kernel.
        dtype : str or numpy.dtype, default "float32"
            Floating dtype of the result (deterministic initializers also accept integer
            dtypes).
        rng : numpy.random.Generator, optional
            Source of randomness when the initializer has no ``seed``.

        Returns
        -------
        numpy.ndarray
        """
        dims = _shape(shape)
        dt = _dtype(dtype, float_only=self._random)
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng: expected a numpy.random.Generator or None, got {type(rng).__name__}")
        gen = None
        if self._random:
            if self.seed is not None:
                gen = np.random.default_rng(self.seed)
            else:
                gen = rng if rng is not None else np.random.default_rng()
        values = self._draw(dims, gen)
        # asarray, not ascontiguousarray: that one would turn a 0-d result into 1-d.
        return np.asarray(values, dtype=dt, order="C")

    def _draw(self, shape, gen):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Build an initializer from :meth:`get_config`'s dict."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros."""

    _random = False

    def _draw(self, shape, gen):
        return np.zeros(shape)


class Ones(Initializer):
    """All ones."""

    _random = False

    def _draw(self, shape, gen):
        return np.ones(shape)


class Constant(Initializer):
    """Every element equal to ``value``.

    Parameters
    ----------
    value : float, default 0.0
        A finite real scalar.
    """

    _random = False

    def __init__(self, value=0.0):
        self.value = check_scalar(value, "value")

    def _draw(self, shape, gen):
        return np.full(shape, self.value)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"value": self.value}


class RandomUniform(Initializer):
    """Uniform on ``[minval, maxval)``.

    Parameters
    ----------
    minval, maxval : float, default -0.05, 0.05
        Bounds; ``minval <= maxval``.
    seed : int, optional
        Makes the initializer deterministic (see the module docstring).
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = check_scalar(minval, "minval")
        self.maxval = check_scalar(maxval, "maxval")
        if self.maxval < self.minval:
            raise ValueError(f"maxval: must be >= minval ({self.minval}), got {self.maxval}")
        self.seed = _seed(seed)

    def _draw(self, shape, gen):
        return gen.uniform(self.minval, self.maxval, shape)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    """Normal with ``mean`` and ``stddev``.

    Parameters
    ----------
    mean : float, default 0.0
    stddev : float, default 0.05
        ``>= 0``.
    seed : int, optional
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = check_scalar(mean, "mean")
        self.stddev = check_scalar(stddev, "stddev", low=0.0)
        self.seed = _seed(seed)

    def _draw(self, shape, gen):
        return self.mean + self.stddev * gen.standard_normal(shape)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal with ``mean`` and ``stddev``, values beyond two ``stddev`` from the mean
    redrawn (so the spread of the result is about ``0.88 * stddev``).

    Parameters
    ----------
    mean : float, default 0.0
    stddev : float, default 0.05
        ``>= 0``; the standard deviation before truncation.
    seed : int, optional
    """

    def _draw(self, shape, gen):
        return self.mean + self.stddev * _truncated_standard_normal(gen, shape)


class VarianceScaling(Initializer):
    """Samples whose variance is ``scale / n``, ``n`` chosen by ``mode``.

    ``n`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2`` (``mode`` "fan_in",
    "fan_out", "fan_avg"), at least 1. With ``distribution``:

    * ``"truncated_normal"`` (alias ``"normal"``): a normal with standard deviation
      ``sqrt(scale / n) / 0.87962566103423978`` truncated at two standard deviations; the
      constant is the standard deviation of a standard normal truncated to [-2, 2], so the
      result has variance ``scale / n``;
    * ``"untruncated_normal"``: a normal with standard deviation ``sqrt(scale / n)``;
    * ``"uniform"``: uniform on ``[-limit, limit)`` with ``limit = sqrt(3 * scale / n)``.

    Parameters
    ----------
    scale : float, default 1.0
        ``> 0``.
    mode : {"fan_in", "fan_out", "fan_avg"}, default "fan_in"
    distribution : {"truncated_normal", "untruncated_normal", "uniform"}, default "truncated_normal"
    seed : int, optional
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        self.scale = check_scalar(scale, "scale", low=0.0, low_inclusive=False)
        if not isinstance(mode, str) or mode.lower() not in self._MODES:
            raise ValueError(f"mode: expected one of {self._MODES}, got {mode!r}")
        if not isinstance(distribution, str):
            raise ValueError(f"distribution: expected one of {self._DISTRIBUTIONS}, got {distribution!r}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"distribution: expected one of {self._DISTRIBUTIONS}, got {distribution!r}")
        self.mode = mode.lower()
        self.distribution = distribution
        self.seed = _seed(seed)

    def _variance(self, shape):
        fan_in, fan_out = _compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, float(n))

    def _draw(self, shape, gen):
        var = self._variance(shape)
        if self.distribution == "truncated_normal":
            return (math.sqrt(var) / _TRUNC_STD) * _truncated_standard_normal(gen, shape)
        if self.distribution == "untruncated_normal":
            return math.sqrt(var) * gen.standard_normal(shape)
        limit = math.sqrt(3.0 * var)
        return gen.uniform(-limit, limit, shape)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling preset whose only argument is ``seed``."""

    _preset = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed=None):
        super().__init__(*self._preset, seed=seed)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"seed": self.seed}


class GlorotUniform(_FixedVarianceScaling):
    """Glorot (Xavier) uniform: uniform on ``[-limit, limit)``,
    ``limit = sqrt(6 / (fan_in + fan_out))``.

    Parameters
    ----------
    seed : int, optional
    """

    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Glorot (Xavier) normal: truncated normal with variance ``2 / (fan_in + fan_out)``
    (standard deviation ``sqrt(2 / (fan_in + fan_out)) / 0.87962566103423978`` before
    truncation at two standard deviations).

    Parameters
    ----------
    seed : int, optional
    """

    _preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """He (Kaiming) uniform: uniform on ``[-limit, limit)``, ``limit = sqrt(6 / fan_in)``.

    Parameters
    ----------
    seed : int, optional
    """

    _preset = (2.0, "fan_in", "uniform")


class HeNormal(_FixedVarianceScaling):
    """He (Kaiming) normal: truncated normal with variance ``2 / fan_in``.

    Parameters
    ----------
    seed : int, optional
    """

    _preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: uniform on ``[-limit, limit)``, ``limit = sqrt(3 / fan_in)``.

    Parameters
    ----------
    seed : int, optional
    """

    _preset = (1.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """LeCun normal: truncated normal with variance ``1 / fan_in``.

    Parameters
    ----------
    seed : int, optional
    """

    _preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``.

    The shape is flattened to ``(prod(shape[:-1]), shape[-1])``. A standard normal matrix
    of shape ``(max(rows, cols), min(rows, cols))`` is factored ``A = QR``; the columns of
    ``Q`` are multiplied by the signs of ``diag(R)`` (which makes ``Q`` uniformly
    distributed over the orthogonal matrices) and ``Q`` is transposed when
    ``rows < cols``. So the rows (``rows <= cols``) or columns (``rows >= cols``) of the
    result are orthogonal with norm ``gain``.

    Parameters
    ----------
    gain : float, default 1.0
    seed : int, optional

    Raises
    ------
    ValueError
        When called with a shape of fewer than two dimensions.
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = check_scalar(gain, "gain")
        self.seed = _seed(seed)

    def _draw(self, shape, gen):
        if len(shape) < 2:
            raise ValueError(f"shape: Orthogonal needs at least 2 dimensions, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        if rows == 0 or cols == 0:
            return np.zeros(shape)
        a = gen.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.where(np.diagonal(r) < 0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape)

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {"gain": self.gain, "seed": self.seed}


# --------------------------------------------------------------------------- lookup
_CLASSES = [Zeros, Ones, Constant, RandomUniform, RandomNormal, TruncatedNormal,
            VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
            LecunUniform, LecunNormal, Orthogonal]
_SNAKE = {"zeros": Zeros, "ones": Ones, "constant": Constant,
          "random_uniform": RandomUniform, "random_normal": RandomNormal,
          "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
          "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
          "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform,
          "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
          # Keras aliases
          "zero": Zeros, "one": Ones, "uniform": RandomUniform, "normal": RandomNormal}
_BY_NAME = {**_SNAKE, **{c.__name__: c for c in _CLASSES}}


def _lookup(name):
    cls = _BY_NAME.get(name)
    if cls is None:
        names = ", ".join(sorted(_BY_NAME))
        raise ValueError(f"identifier: unknown initializer {name!r}; known names: {names}")
    return cls


def serialize(initializer):
    """``{"class_name": ..., "config": ...}`` for an initializer.

    Parameters
    ----------
    initializer : Initializer

    Returns
    -------
    dict
    """
    if not isinstance(initializer, Initializer):
        raise TypeError(f"initializer: expected an Initializer, got {type(initializer).__name__}")
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config):
    """Build an initializer from :func:`serialize`'s dict (extra Keras keys such as
    ``module`` are ignored; ``config`` may be omitted).

    Parameters
    ----------
    config : dict

    Returns
    -------
    Initializer
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"config: expected a dict with 'class_name' and 'config', got {config!r}")
    cls = _lookup(config["class_name"])
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise TypeError(f"config: 'config' must be a dict, got {type(inner).__name__}")
    return cls.from_config(dict(inner))


def get(identifier):
    """Resolve an initializer.

    Parameters
    ----------
    identifier : Initializer, str, dict, type, callable or None
        An instance (returned as is); a name such as ``"glorot_uniform"``, ``"he_normal"``,
        ``"zeros"``, ``"orthogonal"`` or a class name such as ``"GlorotUniform"`` (built
        with default arguments); a dict ``{"class_name": ..., "config": ...}``; an
        Initializer subclass (instantiated); any other callable (returned as is, it must
        accept ``(shape, dtype=..., rng=...)``); ``None`` gives ``None``.

    Returns
    -------
    Initializer or callable or None

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known names).
    """
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"identifier: cannot interpret {type(identifier).__name__} as an initializer")
