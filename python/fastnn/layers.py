"""Layers: what a model is made of.

Built-in layers run natively inside the epoch; a subclass of :class:`Layer` that defines
``forward`` and ``backward`` on numpy arrays (the fprop/bprop flow-graph objects of the
lectures) also trains, on a slower path (the native loop calls back into Python for it).

Weights live in the model's flat parameter buffer: after a model is built, ``layer.kernel``
and friends are views into it (Dense kernels have the layout ``(in, out)``). A layer placed
in a second model moves its current weights into that model's buffer (the first model keeps
its own copy).
"""
from __future__ import annotations

import numbers

import numpy as np

from fastnn import _activations, initializers, regularizers

__all__ = ["Layer", "Input", "Dense", "Activation", "Dropout", "GaussianNoise", "BatchNormalization",
           "LayerNormalization", "PReLU", "Add", "Concatenate"]

_counts: dict = {}


def _flag(value, name):
    """A bool argument: True/False (numpy's too), never a string such as "no"."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _seed_or_none(seed):
    """A layer's stream seed: None (derived from the model's) or an int in [0, 2**63)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) < 2**63:
        raise (ValueError if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) else TypeError)(
            f"seed: expected None or an int in [0, 2**63), got {type(seed).__name__} {seed!r}")
    return int(seed)


def _checked_weight(layer_name, name, shape, w, dtype):
    """``w`` as a ``dtype`` array for weight ``name`` of ``shape``: real numbers of that
    shape, finite in ``dtype`` (1e300 is no float32 weight)."""
    a = np.asarray(w)
    if a.shape != tuple(shape):
        raise ValueError(f"{layer_name}.set_weights: {name} expects shape {tuple(shape)}, got {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise ValueError(f"{layer_name}.set_weights: {name} must be finite real numbers, got dtype {a.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        cast = a.astype(dtype)
    if not np.all(np.isfinite(cast)):
        raise ValueError(f"{layer_name}.set_weights: {name} must be finite real numbers (as {np.dtype(dtype).name}), "
                         f"got NaN, Inf or values out of range")
    return cast


def _auto_name(prefix):
    n = _counts.get(prefix, 0)
    _counts[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def _reserve_name(name):
    """Keep automatic names clear of an explicit one ("dense_3" moves "dense" past 3), so a
    loaded model's layers and new auto-named ones never share a name."""
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str, got {type(name).__name__}")
    prefix, _, tail = name.rpartition("_")
    if prefix and tail.isdigit():
        _counts[prefix] = max(_counts.get(prefix, 0), int(tail) + 1)
    else:
        _counts[name] = max(_counts.get(name, 0), 1)
    return name


def _positive_int(name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or int(v) < 1:
        raise ValueError(f"{name}: expected a positive int, got {v!r}")
    return int(v)


def _rate(name, v, hi_open=True):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0 or (v >= 1 if hi_open else v > 1):
        raise ValueError(f"{name}: expected a number in [0, 1), got {v!r}")
    return float(v)


class Tensor:
    """A symbolic tensor of the functional API: the output of ``layer(inputs)``."""

    def __init__(self, width, layer, inputs):
        self.width = int(width)
        self.layer = layer
        self.inputs = list(inputs)
        self.shape = (None, self.width)

    def __repr__(self):
        return f"<Tensor shape=(None, {self.width}) from {self.layer.name!r}>"


class Weight:
    """Declaration of one weight of a layer (shape, initializer, regularizer, trainability)."""

    def __init__(self, name, shape, initializer, regularizer=None, trainable=True):
        self.name, self.shape = name, tuple(int(s) for s in shape)
        self.initializer, self.regularizer, self.trainable = initializer, regularizer, trainable

    @property
    def size(self):
        return int(np.prod(self.shape))


class Layer:
    """Base class of every layer.

    Subclass it for a custom layer written in Python: define ``build(input_width) ->
    output_width`` (declaring weights with :meth:`add_weight`), ``forward(x, training) ->
    y`` and ``backward(dy) -> dx`` on numpy arrays, where ``backward`` also stores the
    gradient of each weight in ``self.grads[name]`` (same shape as the weight). ``forward``
    may keep what ``backward`` needs on ``self``.

    Parameters
    ----------
    name : str, optional
    trainable : bool, default True
        Frozen layers (``False``) keep their weights; gradients still flow through them.
    """

    _kind = None  # native node kind; None: Python layer

    def __init__(self, name=None, trainable=True):
        self.name = _reserve_name(name) if name else _auto_name(_snake(type(self).__name__))
        self.trainable = _flag(trainable, "trainable")
        self._weights: dict = {}      # name -> ndarray (a view into the model's buffer once built)
        self._decls: list = []
        self._state_decls: list = []
        self._model = None
        self.input_width = None
        self.output_width = None
        self.grads: dict = {}

    # -- functional API ------------------------------------------------------------------
    def __call__(self, inputs):
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        for t in ins:
            if not isinstance(t, Tensor):
                raise TypeError(f"{self.name}: call a layer on fastnn Tensors (from fastnn.Input), got "
                                f"{type(t).__name__}")
        width = self._build_widths([t.width for t in ins])
        return Tensor(width, self, ins)

    def _build_widths(self, widths):
        if len(widths) != 1 and not self._multi_input:
            raise ValueError(f"{self.name}: takes one input, got {len(widths)}")
        w = self._output_width(widths)
        if self.input_width is not None and list(self._in_widths) != list(widths):
            raise ValueError(f"{self.name}: already built for inputs of width {self._in_widths}, got {widths}")
        self._in_widths = list(widths)
        self.input_width = widths[0]
        if self.output_width is None:
            self._decls = []
            self._state_decls = []
            out = self.build(widths[0] if not self._multi_input else widths)
            self.output_width = int(out if out is not None else w)
        return self.output_width

    _multi_input = False

    def _output_width(self, widths):
        return widths[0]

    def build(self, input_width):
        """Declare weights (custom layers); return the output width."""
        return input_width

    def add_weight(self, name, shape, initializer="glorot_uniform", regularizer=None, trainable=True):
        """Declare a weight (call from ``build``); returns nothing: the weight exists once the
        model is built, as ``layer.weights_dict[name]``."""
        self._decls.append(Weight(name, shape, initializers.get(initializer), regularizers.get(regularizer),
                                  trainable))

    def _add_state(self, name, size, value):
        self._state_decls.append((name, int(size), float(value)))

    # -- weights -------------------------------------------------------------------------
    @property
    def weights_dict(self):
        """``{name: ndarray}``: the layer's weights (views into the model's buffer)."""
        return dict(self._weights)

    def get_weights(self):
        """Copies of the layer's weights (and non-trainable state such as running means)."""
        return [np.array(self._weights[d.name]) for d in self._decls] + \
               [np.array(self._weights[s[0]]) for s in self._state_decls]

    def set_weights(self, weights):
        """Set the weights from a list shaped like :meth:`get_weights`."""
        names = [d.name for d in self._decls] + [s[0] for s in self._state_decls]
        weights = list(weights)
        if len(weights) != len(names):
            raise ValueError(f"{self.name}.set_weights: expected {len(names)} arrays ({names}), got {len(weights)}")
        arrays = []
        for n, w in zip(names, weights):
            cur = self._weights.get(n)
            if cur is None:
                raise ValueError(f"{self.name}.set_weights: the layer is not built yet")
            arrays.append(_checked_weight(self.name, n, cur.shape, w, cur.dtype))
        for n, a in zip(names, arrays):
            self._weights[n][...] = a

    def reinitialize(self, seed=None):
        """Draw fresh initial weights (and reset state), e.g. for transfer learning."""
        rng = np.random.default_rng(seed)
        for d in self._decls:
            w = self._weights[d.name]
            w[...] = d.initializer(d.shape, dtype=w.dtype, rng=rng)
        for name, _, value in self._state_decls:
            self._weights[name][...] = value

    @property
    def count_params(self):
        return sum(d.size for d in self._decls)

    # -- custom-layer bridge (called by the native loop with the GIL) --------------------
    def _native_forward(self, xs, y, training):
        x = np.array(xs[0]) if len(xs) == 1 else [np.array(v) for v in xs]
        out = np.asarray(self.forward(x, training=bool(training)))
        if out.shape != y.shape:
            raise ValueError(f"{self.name}.forward: expected output shape {y.shape}, got {out.shape}")
        y[...] = out

    def _native_backward(self, xs, y, dy, dxs, accumulate):
        self.grads = {}
        dx = self.backward(np.array(dy))
        dx_list = dx if isinstance(dx, (list, tuple)) else [dx]
        if len(dx_list) != len(dxs):
            raise ValueError(f"{self.name}.backward: expected {len(dxs)} input gradients, got {len(dx_list)}")
        for target, g, acc in zip(dxs, dx_list, accumulate):
            if target is None:
                continue
            g = np.asarray(g)
            if g.shape != target.shape:
                raise ValueError(f"{self.name}.backward: expected dx of shape {target.shape}, got {g.shape}")
            if acc:
                target += g
            else:
                target[...] = g
        for d in self._decls:
            if not (d.trainable and self.trainable):
                continue
            g = self.grads.get(d.name)
            if g is None:
                raise ValueError(f"{self.name}.backward: set self.grads[{d.name!r}]")
            g = np.asarray(g)
            if g.shape != d.shape:
                raise ValueError(f"{self.name}.backward: grads[{d.name!r}] must have shape {d.shape}, got {g.shape}")
            self._grad_views[d.name][...] = g

    def forward(self, x, training=False):
        raise NotImplementedError(f"{type(self).__name__}: a custom layer must define forward(x, training)")

    def backward(self, dy):
        raise NotImplementedError(f"{type(self).__name__}: a custom layer must define backward(dy)")

    # -- config --------------------------------------------------------------------------
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        trainable = config.pop("trainable", True)
        layer = cls(**config)
        layer.trainable = _flag(trainable, "trainable")
        return layer

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _snake(name):
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(c.lower())
    return "".join(out)


class InputLayer(Layer):
    """The source of a model input (made by :func:`Input`)."""

    def __init__(self, n_features, name=None):
        super().__init__(name=name or _auto_name("input"), trainable=False)
        self.n_features = _positive_int("n_features", n_features)
        self.output_width = self.n_features

    def get_config(self):
        return {"n_features": self.n_features, "name": self.name}


def Input(n_features, name=None):
    """A model input of ``n_features`` columns (a symbolic tensor for the functional API;
    also accepted as the first entry of a :class:`~fastnn.Sequential` list)."""
    layer = InputLayer(n_features, name=name)
    t = Tensor(layer.n_features, layer, [])
    layer._tensor = t
    return t


class Dense(Layer):
    """A fully connected layer: ``y = activation(x @ kernel + bias)``, kernel ``(in, units)``.

    Parameters
    ----------
    units : int
    activation : str or None
        Any fastnn activation ("relu", "tanh", "sigmoid", "softmax", "gelu", ...); fused into
        the GEMM epilogue.
    use_bias : bool, default True
    kernel_initializer : default "glorot_uniform"
    bias_initializer : default "zeros"
    kernel_regularizer, bias_regularizer : Regularizer or str, optional
    trainable : bool, default True
    """

    _kind = 0

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, trainable=True, name=None,
                 **act_kwargs):
        super().__init__(name=name, trainable=trainable)
        self.units = _positive_int("units", units)
        self.activation = _act_spec(activation, act_kwargs)
        self.use_bias = _flag(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def build(self, input_width):
        self.add_weight("kernel", (input_width, self.units), self.kernel_initializer, self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer, self.bias_regularizer)
        return self.units

    @property
    def kernel(self):
        return self._weights.get("kernel")

    @property
    def bias(self):
        return self._weights.get("bias")

    def get_config(self):
        cfg = super().get_config()
        cfg.update(units=self.units, activation=self.activation[0], use_bias=self.use_bias,
                   kernel_initializer=initializers.serialize(self.kernel_initializer),
                   bias_initializer=initializers.serialize(self.bias_initializer),
                   kernel_regularizer=_ser_reg(self.kernel_regularizer),
                   bias_regularizer=_ser_reg(self.bias_regularizer))
        cfg.update(self.activation[2])
        return cfg


def _ser_reg(r):
    return None if r is None else regularizers.serialize(r)


def _act_spec(activation, kwargs):
    """(canonical name, (native code, alpha), params) for an activation name (None: linear)."""
    if activation is None or activation == "linear":
        return ("linear", (0, 0.0), {})
    if not isinstance(activation, str):
        raise TypeError(f"activation: expected a name, got {type(activation).__name__}")
    params = {k: kwargs[k] for k in ("alpha", "approximate") if k in kwargs}
    unknown = set(kwargs) - {"alpha", "approximate"}
    if unknown:
        raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")
    name, code, alpha = _activations.resolve(activation, allow_rowwise=True, **params)
    params.pop("approximate", None)  # the canonical name ("gelu" / "gelu_tanh") holds it
    return (name, (int(code), float(alpha or 0.0)), params)


class Activation(Layer):
    """Applies an activation: ``y = f(x)`` (``alpha`` for leaky_relu/elu, ``approximate``
    for gelu)."""

    _kind = 1

    def __init__(self, activation, name=None, **act_kwargs):
        super().__init__(name=name)
        self.activation = _act_spec(activation, act_kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(activation=self.activation[0], **self.activation[2])
        return cfg


class Dropout(Layer):
    """Inverted dropout (training only): each unit is zeroed with probability ``rate`` and
    the survivors scaled by ``1 / (1 - rate)``. Masks come from a counter-based generator
    keyed by ``seed`` and the step: independent of the thread count, reproduced on resume.

    Parameters
    ----------
    rate : float in [0, 1)
    seed : int, optional (default: derived from the model's seed and the layer position)
    """

    _kind = 2

    def __init__(self, rate, seed=None, name=None):
        super().__init__(name=name)
        self.rate = _rate("rate", rate)
        self.seed = _seed_or_none(seed)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(rate=self.rate, seed=self.seed)
        return cfg


class GaussianNoise(Layer):
    """Adds ``stddev * N(0, 1)`` noise during training only (a regularizer)."""

    _kind = 3

    def __init__(self, stddev, seed=None, name=None):
        super().__init__(name=name)
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or not np.isfinite(stddev) or stddev < 0:
            raise ValueError(f"stddev: expected a finite number >= 0, got {stddev!r}")
        self.stddev = float(stddev)
        self.seed = _seed_or_none(seed)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(stddev=self.stddev, seed=self.seed)
        return cfg


class BatchNormalization(Layer):
    """Batch normalization over the batch axis (Keras semantics).

    Training: ``y = gamma * (x - mean_B) / sqrt(var_B + epsilon) + beta`` with the batch's
    mean and (biased) variance, and ``running = momentum * running + (1 - momentum) * batch``.
    Inference (and a frozen layer, ``trainable=False``, as in Keras): the running statistics.

    Parameters
    ----------
    momentum : float, default 0.99
    epsilon : float, default 1e-3
    center, scale : bool, default True
    """

    _kind = 4

    def __init__(self, momentum=0.99, epsilon=1e-3, center=True, scale=True, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.momentum = _rate("momentum", momentum, hi_open=False)
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not 0 < epsilon < float("inf"):
            raise ValueError(f"epsilon: expected a finite number > 0, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.center, self.scale = _flag(center, "center"), _flag(scale, "scale")

    def build(self, input_width):
        if self.scale:
            self.add_weight("gamma", (input_width,), "ones")
        if self.center:
            self.add_weight("beta", (input_width,), "zeros")
        self._add_state("moving_mean", input_width, 0.0)
        self._add_state("moving_variance", input_width, 1.0)
        return input_width

    def get_config(self):
        cfg = super().get_config()
        cfg.update(momentum=self.momentum, epsilon=self.epsilon, center=self.center, scale=self.scale)
        return cfg


class LayerNormalization(Layer):
    """Layer normalization over the features of each sample:
    ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    Parameters
    ----------
    epsilon : float, default 1e-3
    center, scale : bool, default True
    """

    _kind = 5

    def __init__(self, epsilon=1e-3, center=True, scale=True, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not 0 < epsilon < float("inf"):
            raise ValueError(f"epsilon: expected a finite number > 0, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.center, self.scale = _flag(center, "center"), _flag(scale, "scale")

    def build(self, input_width):
        if self.scale:
            self.add_weight("gamma", (input_width,), "ones")
        if self.center:
            self.add_weight("beta", (input_width,), "zeros")
        return input_width

    def get_config(self):
        cfg = super().get_config()
        cfg.update(epsilon=self.epsilon, center=self.center, scale=self.scale)
        return cfg


class PReLU(Layer):
    """Parametric ReLU: ``y = x`` for ``x > 0``, ``alpha_j * x`` otherwise, with one learned
    slope per feature (initialized to 0.25, as He et al. and torch; Keras uses zeros)."""

    _kind = 6

    def __init__(self, alpha_initializer=0.25, alpha_regularizer=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        if isinstance(alpha_initializer, numbers.Real) and not isinstance(alpha_initializer, bool):
            alpha_initializer = initializers.Constant(float(alpha_initializer))
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)

    def build(self, input_width):
        self.add_weight("alpha", (input_width,), self.alpha_initializer, self.alpha_regularizer)
        return input_width

    def get_config(self):
        cfg = super().get_config()
        cfg.update(alpha_initializer=initializers.serialize(self.alpha_initializer),
                   alpha_regularizer=_ser_reg(self.alpha_regularizer))
        return cfg


class Add(Layer):
    """Sum of several inputs of the same width (functional API)."""

    _kind = 7
    _multi_input = True

    def _output_width(self, widths):
        if len(set(widths)) != 1:
            raise ValueError(f"{self.name}: inputs must have the same width, got {widths}")
        return widths[0]

    def build(self, input_width):
        return self._output_width(input_width)


class Concatenate(Layer):
    """Concatenation of several inputs along the features (functional API)."""

    _kind = 8
    _multi_input = True

    def _output_width(self, widths):
        return int(sum(widths))

    def build(self, input_width):
        return self._output_width(input_width)


_BUILTIN = {c.__name__: c for c in (Dense, Activation, Dropout, GaussianNoise, BatchNormalization, LayerNormalization,
                                    PReLU, Add, Concatenate, InputLayer)}
