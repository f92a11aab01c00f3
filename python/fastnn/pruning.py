"""Magnitude pruning and lottery tickets on top of the engine's pruning mask.

The native engine multiplies the parameters by a 0/1 mask when it is set and after every
optimizer step, so pruned weights stay exactly zero through training. The mask is saved
with the model (:func:`fastnn.io.save_model`) and restored by :func:`fastnn.load_model`.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["magnitude_prune", "get_masks", "sparsity", "rewind", "lottery_ticket"]


def _check_model(model):
    if getattr(model, "_engine", None) is None:
        raise ValueError("model: build the model (give it an Input) before pruning")


def _eligible(model, include_bias):
    names = ("kernel", "bias") if include_bias else ("kernel",)
    return [(l, w, off, shape) for l, w, off, shape in model.weight_layout if w in names]


def _current_mask(model):
    m = model._engine.mask
    p = np.asarray(model._engine.params)
    return np.ones_like(p) if m is None else np.array(m, copy=True)


def magnitude_prune(model, fraction, scope="layer", include_bias=False):
    """Zero the smallest-magnitude weights and keep them at zero through training.

    ``fraction`` of the weights still alive is pruned (already pruned weights stay
    pruned), so calling it ``r`` times with ``f`` leaves ``(1 - f) ** r`` of them: the
    iterative schedule of lottery tickets.

    Parameters
    ----------
    model : built Model
    fraction : float in [0, 1)
    scope : "layer" or "global", default "layer"
        "layer": prune ``fraction`` of each weight tensor; "global": rank all eligible
        weights together (layers with small weights lose more).
    include_bias : bool, default False
        Also prune biases (by default only Dense kernels are pruned).

    Returns
    -------
    dict
        ``{"layer/weight": 0/1 array shaped like the weight}`` for every eligible weight.
        Ties at the threshold are broken by position (exactly the requested count is pruned).
    """
    _check_model(model)
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 <= fraction < 1:
        raise ValueError(f"fraction: expected a number in [0, 1), got {fraction!r}")
    if scope not in ("layer", "global"):
        raise ValueError(f"scope: expected 'layer' or 'global', got {scope!r}")
    entries = _eligible(model, include_bias)
    if not entries:
        raise ValueError("model: no prunable weights (Dense kernels)")
    params = np.asarray(model._engine.params)
    mask = _current_mask(model)
    groups = [[e] for e in entries] if scope == "layer" else [entries]
    for group in groups:
        idx = np.concatenate([np.arange(off, off + int(np.prod(shape))) for _, _, off, shape in group])
        alive = idx[mask[idx] != 0]
        k = int(round(float(fraction) * alive.size))
        if k:
            order = np.argsort(np.abs(params[alive].astype(np.float64)), kind="stable")
            mask[alive[order[:k]]] = 0
    model._engine.set_mask(mask)
    return get_masks(model, include_bias)


def get_masks(model, include_bias=True):
    """``{"layer/weight": 0/1 array}`` of the current mask (all ones when none is set)."""
    _check_model(model)
    mask = _current_mask(model)
    return {f"{l}/{w}": mask[off:off + int(np.prod(shape))].reshape(shape).copy()
            for l, w, off, shape in _eligible(model, include_bias)}


def sparsity(model, include_bias=False):
    """Fraction of the eligible weights (Dense kernels, plus biases if asked) that are pruned."""
    masks = get_masks(model, include_bias)
    total = sum(m.size for m in masks.values())
    return float(sum((m == 0).sum() for m in masks.values()) / max(total, 1))


def rewind(model, initial_weights):
    """Lottery-ticket rewind: surviving weights back to their initial values, pruned ones
    stay exactly zero, optimizer state and step counter reset.

    Parameters
    ----------
    model : Model with a pruning mask (or none: then simply a reset to the initial weights)
    initial_weights : list of arrays
        ``model.get_weights()`` taken before training.
    """
    _check_model(model)
    if not isinstance(initial_weights, (list, tuple)):
        raise TypeError(f"initial_weights: expected a list like model.get_weights(), got "
                        f"{type(initial_weights).__name__}")
    model.set_weights(initial_weights)  # (keeps the mask's zeros)
    if model.compiled:
        model._engine.reset_opt_state()
        model._engine.iterations = 0
    return model


def lottery_ticket(build_fn, x, y, fraction=0.2, rounds=3, fit_kwargs=None, scope="layer"):
    """Iterative magnitude pruning with rewinding (Frankle & Carbin, 2019).

    Each round trains the model, prunes ``fraction`` of the surviving weights by magnitude
    and rewinds the survivors to their initial values; the final ticket is then trained
    once more.

    Parameters
    ----------
    build_fn : callable () -> compiled Model
    x, y : training data
    fraction : float in [0, 1), default 0.2
    rounds : int >= 1, default 3
    fit_kwargs : dict, optional (to :meth:`Model.fit`; ``verbose`` defaults to 0)
    scope : "layer" or "global"

    Returns
    -------
    model : the trained winning ticket (its mask set)
    history : list of dict
        One per training run: ``round``, ``sparsity`` and the last epoch's ``logs``.
    """
    if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral) or rounds < 1:
        raise ValueError(f"rounds: expected an int >= 1, got {rounds!r}")
    kw = dict(fit_kwargs or {})
    kw.setdefault("verbose", 0)
    model = build_fn()
    init = model.get_weights()
    history = []
    for r in range(rounds + 1):
        h = model.fit(x, y, **kw)
        history.append({"round": r, "sparsity": sparsity(model),
                        "logs": {k: v[-1] for k, v in h.history.items() if v}})
        if r == rounds:
            break
        magnitude_prune(model, fraction, scope=scope)
        rewind(model, init)
    return model, history
