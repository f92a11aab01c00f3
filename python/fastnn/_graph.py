"""From layers to the native network: topological order, the flat parameter layout and the
engine's node descriptions."""
from __future__ import annotations

import numpy as np

from fastnn import _core, regularizers
from fastnn.layers import InputLayer, Layer, Tensor

_ALIGN = 16  # parameter tensors start on 64-byte boundaries (float32)


def topo_order(inputs, outputs):
    """Layers (excluding inputs) in topological order, and each output's producing tensor."""
    order, seen, visiting = [], set(), set()
    input_layers = [t.layer for t in inputs]

    def visit(t):  # (by tensor: a layer called twice makes two tensors, refused below)
        layer = t.layer
        if id(t) in seen:
            return
        if id(t) in visiting:
            raise ValueError("the layer graph has a cycle")
        if isinstance(layer, InputLayer):
            if layer not in input_layers:
                raise ValueError(f"output depends on input {layer.name!r}, which is not among the model's inputs")
            seen.add(id(t))
            return
        visiting.add(id(t))
        for s in t.inputs:
            visit(s)
        visiting.discard(id(t))
        seen.add(id(t))
        order.append(t)

    for t in outputs:
        visit(t)
    layers = [t.layer for t in order]
    if len({id(l) for l in layers}) != len(layers):
        twice = sorted({l.name for l in layers if sum(m is l for m in layers) > 1})
        raise ValueError(f"layer {', '.join(map(repr, twice))} is used twice in one model (weight sharing within "
                         "a model is not supported)")
    return order


class Layout:
    """Offsets of every weight and state array in the flat buffers."""

    def __init__(self, node_tensors):
        self.entries = []   # (layer, decl, offset) for parameters
        self.states = []    # (layer, name, size, value, offset)
        off = 0
        soff = 0
        for t in node_tensors:
            layer = t.layer
            for d in layer._decls:
                self.entries.append((layer, d, off))
                off += -(-d.size // _ALIGN) * _ALIGN
            for name, size, value in layer._state_decls:
                self.states.append((layer, name, size, value, soff))
                soff += size
        self.n_params = off
        self.n_state = soff


def build_specs(inputs, node_tensors, layout, model_seed):
    """NodeSpec and ParamSpec lists for the engine."""
    tensor_id = {id(t.layer): i for i, t in enumerate(inputs)}
    n_in = len(inputs)
    for i, t in enumerate(node_tensors):
        tensor_id[id(t.layer)] = n_in + i
    offs = {(id(l), d.name): o for l, d, o in layout.entries}
    soffs = {(id(l), n): o for l, n, _, _, o in layout.states}
    nodes, params, py_layers = [], [], []
    for i, t in enumerate(node_tensors):
        layer = t.layer
        nd = _core.NodeSpec()
        nd.inputs = [tensor_id[id(s.layer)] for s in t.inputs]
        nd.width = t.width
        nd.trainable = layer.trainable
        kind = layer._kind
        if kind is None or type(layer).forward is not Layer.forward:
            if kind is not None:
                raise TypeError(f"{layer.name}: built-in layers cannot override forward")
            kind = 9
            nd.py_index = len(py_layers)
            py_layers.append(layer)
        nd.kind = kind
        if kind in (0, 1):
            code, alpha = layer.activation[1]
            nd.act, nd.alpha = code, alpha
        if kind == 0:
            nd.use_bias = layer.use_bias
            nd.w_off = offs[(id(layer), "kernel")]
            nd.b_off = offs.get((id(layer), "bias"), -1)
        elif kind in (2, 3):
            seed = layer.seed if layer.seed is not None else _derive_seed(model_seed, i)
            nd.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
            nd.rate = getattr(layer, "rate", 0.0)
            nd.stddev = getattr(layer, "stddev", 0.0)
        elif kind in (4, 5):
            nd.w_off = offs.get((id(layer), "gamma"), -1)
            nd.b_off = offs.get((id(layer), "beta"), -1)
            nd.eps = layer.epsilon
            if kind == 4:
                nd.momentum = layer.momentum
                nd.s_off = soffs[(id(layer), "moving_mean")]
        elif kind == 6:
            nd.w_off = offs[(id(layer), "alpha")]
        nodes.append(nd)
    for layer, d, off in layout.entries:
        p = _core.ParamSpec()
        p.off, p.size = off, d.size
        p.trainable = bool(layer.trainable and d.trainable)
        factors = regularizers.native_factors(d.regularizer)  # (None: the Python penalty applies it)
        p.l1, p.l2 = (float(factors[0]), float(factors[1])) if factors is not None else (0.0, 0.0)
        p.node = tensor_id[id(layer)] - n_in
        params.append(p)
    return nodes, params, py_layers


def python_penalty(model, layout):
    """The per-step penalty callback of the weights whose regularizers are written in Python
    (None when there are none): adds each one's gradient to the model's gradient buffer and
    returns the sum of their penalties. Reads the model's current buffers at every call."""
    entries = [(l, d, off) for l, d, off in layout.entries
               if d.regularizer is not None and regularizers.native_factors(d.regularizer) is None]
    if not entries:
        return None

    def penalty():
        P, G = model._engine.params, model._engine.grads
        total = 0.0
        for layer, d, off in entries:
            if not (layer.trainable and d.trainable):
                continue
            w = P[off:off + d.size].reshape(d.shape)
            total += float(d.regularizer(w))
            g = np.asarray(d.regularizer.gradient(w))
            if g.shape != w.shape:
                raise ValueError(f"{layer.name}.{d.name}: {type(d.regularizer).__name__}.gradient returned shape "
                                 f"{g.shape}, the weight has {w.shape}")
            G[off:off + d.size] += g.reshape(-1)
        return total

    return penalty


def _derive_seed(model_seed, index):
    ss = np.random.SeedSequence([0 if model_seed is None else int(model_seed), 0x5EED, index])
    return int(ss.generate_state(1, dtype=np.uint64)[0])


def signature(node_tensors):
    """What, when changed, needs new native specs: trainability, regularizers, and every
    layer attribute build_specs copies into them (rates, seeds, normalization constants)."""
    sig = []
    for t in node_tensors:
        l = t.layer
        sig.append((l.trainable, tuple((d.trainable, type(d.regularizer).__name__, repr(getattr(d.regularizer, "l1", None)),
                                        repr(getattr(d.regularizer, "l2", None))) for d in l._decls),
                    tuple(repr(getattr(l, a, None)) for a in ("rate", "stddev", "seed", "epsilon", "momentum"))))
    return tuple(sig)
