"""Gradient checking: the native backward pass against float64 central differences."""
from __future__ import annotations

import numpy as np

from fastnn import _data, _fit

__all__ = ["gradient_check"]


def gradient_check(model, x, y, sample_weight=None, eps=1e-6, max_per_tensor=None, seed=0, step=0):
    """Compare the model's gradients with central differences of its loss, in float64.

    The loss is the compiled training loss on ``(x, y)`` as one batch, in training mode
    (dropout and noise draw the same values at every evaluation: they are keyed by
    ``step``), plus the regularization penalties. A float32 model is copied to float64
    first (same architecture and weights); the model itself is never modified.

    Parameters
    ----------
    model : compiled Model
    x, y : training data (a few rows suffice)
    sample_weight : array, optional
    eps : float, default 1e-6
        Central-difference step.
    max_per_tensor : int, optional
        Check at most this many elements of each weight (a seeded random subset).
    seed : int
        Seeds the subset.
    step : int
        Keys dropout/noise draws.

    Returns
    -------
    dict
        ``{"<layer>.<weight>": max relative error}``, the relative error of each element
        being ``|g - n| / max(|g| + |n|, 1e-4)`` with ``g`` the analytic and ``n`` the
        numerical derivative. The floor 1e-4 keeps round-off in the central differences
        of derivatives near zero (about 1e-10 absolute) from reading as a large relative
        error; a wrong derivative of any size still shows.
    """
    if not model.compiled:
        raise RuntimeError("gradient_check: compile the model first")
    model._sync()  # trainability changed since compile: check the model as it is now
    m = model if model.dtype == np.float64 else _as_float64(model)
    xs = _fit._inputs(m, x)
    floats, labels = _fit._targets(m, y)
    n = _data.check_rows(xs + floats + labels)
    sw = _data.as_sample_weight(sample_weight, n, m.dtype)
    eng = m._engine
    yl, ll = _fit._none_list(floats), _fit._none_list(labels)

    def loss():
        return eng.compute_gradients(xs, yl, ll, sw, n, step, m._py_layers, m._py_penalty)

    P, G = eng.params, eng.grads
    saved = P.copy()
    rng = np.random.default_rng(seed)
    out = {}
    try:
        loss()
        grad = G.copy()
        for layer, d, off in m._layout.entries:
            if not (layer.trainable and d.trainable):
                continue
            idx = np.arange(d.size)
            if max_per_tensor is not None and d.size > max_per_tensor:
                idx = np.sort(rng.choice(d.size, size=max_per_tensor, replace=False))
            worst = 0.0
            for i in idx:
                j = off + int(i)
                P[j] = saved[j] + eps
                lp = loss()
                P[j] = saved[j] - eps
                lm = loss()
                P[j] = saved[j]
                num = (lp - lm) / (2 * eps)
                g = float(grad[j])
                err = abs(g - num) / max(abs(g) + abs(num), 1e-4)
                worst = max(worst, err)
            out[f"{layer.name}.{d.name}"] = worst
    finally:
        P[...] = saved
    return out


def _as_float64(model):
    from fastnn import io

    custom = {type(l).__name__: type(l) for l in model.layers}  # custom Python layers rebuild too
    clone = io.model_from_config(io.model_config(model), dtype="float64", custom_objects=custom)
    clone.set_weights(model.get_weights())
    clone.compile(optimizer=type(model.optimizer).from_config(model.optimizer.get_config()), loss=model.loss,
                  loss_weights=getattr(model, "_loss_weights", None))
    return clone
