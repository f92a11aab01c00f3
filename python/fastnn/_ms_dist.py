"""Search-space distributions (each with ``.sample(rng)``) and space validation/sampling."""
from __future__ import annotations

import itertools
import numbers

import numpy as np


def _real(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, got {v!r}")
    return float(v)


class uniform:
    """Uniform on ``[low, high)``.

    Parameters
    ----------
    low, high : float, low < high
    """

    def __init__(self, low, high):
        self.low, self.high = _real(low, "low"), _real(high, "high")
        if not self.low < self.high:
            raise ValueError(f"uniform: expected low < high, got low={low!r}, high={high!r}")

    def sample(self, rng):
        """One draw (a Python float) from ``rng`` (a numpy Generator)."""
        return float(rng.uniform(self.low, self.high))

    def __repr__(self):
        return f"{type(self).__name__}({self.low!r}, {self.high!r})"


class loguniform(uniform):
    """Log-uniform on ``[low, high)``: ``exp(uniform(log low, log high))``; needs 0 < low < high."""

    def __init__(self, low, high):
        super().__init__(low, high)
        if self.low <= 0:
            raise ValueError(f"loguniform: expected 0 < low < high, got low={low!r}")

    def sample(self, rng):
        """One draw (a Python float)."""
        return float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))


class randint:
    """Integers uniform on ``[low, high)`` (high excluded, as numpy); needs low < high."""

    def __init__(self, low, high):
        for n, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise ValueError(f"randint: {n} must be an int, got {v!r}")
        if not low < high:
            raise ValueError(f"randint: expected low < high, got low={low!r}, high={high!r}")
        self.low, self.high = int(low), int(high)

    def sample(self, rng):
        """One draw (a Python int)."""
        return int(rng.integers(self.low, self.high))

    def __repr__(self):
        return f"randint({self.low}, {self.high})"


class choice:
    """One of ``options``, each equally likely."""

    def __init__(self, options):
        if isinstance(options, (str, bytes)) or not hasattr(options, "__len__") or len(options) == 0:
            raise ValueError(f"choice: expected a non-empty sequence of options, got {options!r}")
        self.options = list(options)

    def sample(self, rng):
        """One of the options."""
        return _py(self.options[int(rng.integers(len(self.options)))])

    def __repr__(self):
        return f"choice({self.options!r})"


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


def check_space(space, grid=False):
    """Validate a space dict: values are distributions, non-empty lists/tuples, or
    constants; a grid accepts lists and constants only."""
    if not isinstance(space, dict):
        raise TypeError(f"space: expected a dict {{name: values}}, got {type(space).__name__}")
    if not space:
        raise ValueError("space: empty search space (give at least one parameter)")
    for k, v in space.items():
        if not isinstance(k, str):
            raise TypeError(f"space: parameter names must be strings, got {k!r}")
        if isinstance(v, (list, tuple)):
            if not v:
                raise ValueError(f"space[{k!r}]: empty list of values")
        elif hasattr(v, "sample"):
            if grid:
                raise ValueError(f"space[{k!r}]: GridSearch needs lists of values, got a distribution {v!r}")
    return space


def grid(space):
    """All combinations of a grid space, in order (last key varies fastest)."""
    keys = list(space)
    vals = [list(v) if isinstance(v, (list, tuple)) else [v] for v in space.values()]
    return [{k: _py(x) for k, x in zip(keys, combo)} for combo in itertools.product(*vals)]


def sample(space, n, seed):
    """``n`` parameter dicts drawn from ``space`` by a Generator seeded with ``seed`` (keys
    drawn in the space's order, so the same seed gives the same trials everywhere)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        p = {}
        for k, v in space.items():
            if hasattr(v, "sample"):
                p[k] = v.sample(rng)
            elif isinstance(v, (list, tuple)):
                p[k] = _py(v[int(rng.integers(len(v)))])
            else:
                p[k] = v
        out.append(p)
    return out
