"""The activation functions as the benchmark's peers and references compute them.

For each activation name (the names of :mod:`fastnn._activations`):

- ``REF_FWD[name](x)`` / ``REF_BWD[name](x, dy)``: float64 references for validation;
- ``NUMPY_FWD[name](x)`` / ``NUMPY_BWD[name](x, dy)``: the NumPy peer, the natural
  expression a NumPy user writes (float32 in, float32 out; constants are Python floats so
  they never promote float32 to float64). Where the naive expression overflows for large
  inputs (softplus, mish) the peer uses the stable ``np.logaddexp(x, 0)``;
- ``torch_forms(torch)``: the PyTorch peer, ``torch.nn.functional`` for the forward pass
  and the ATen backward kernels autograd runs for the backward pass (relu, sigmoid and
  tanh backward read the saved output, as autograd does).

Default parameters: leaky_relu alpha=0.01, elu alpha=1.0; gelu is the exact erf form and
gelu_tanh the tanh approximation. The erf-gelu NumPy peer needs ``scipy.special.erf``;
without SciPy it is skipped and its float64 reference uses :func:`math.erf` on a subset.
"""
from __future__ import annotations

import math

import numpy as np

NAMES = ["relu", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "gelu", "gelu_tanh",
         "silu", "mish", "softplus"]

LEAKY = 0.01
ELU = 1.0
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
GELU_C = math.sqrt(2.0 / math.pi)
GELU_K = 0.044715

try:  # optional: only for the erf-gelu NumPy peer and a full float64 reference
    from scipy.special import erf as _scipy_erf
except ImportError:  # pragma: no cover - depends on the environment
    _scipy_erf = None

# Without scipy the float64 erf reference runs math.erf element by element: validate on
# this many leading elements only.
ERF_SUBSET = 1 << 15


def fastnn_call(name: str):
    """``(forward_attr, forward_kwargs, grad_name)`` of the fastnn spelling of ``name``."""
    if name == "gelu_tanh":
        return "gelu", {"approximate": True}, "gelu_tanh"
    return name, {}, name


def have_erf():
    """Whether ``scipy.special.erf`` is available."""
    return _scipy_erf is not None


def _erf64(x):
    if _scipy_erf is not None:
        return _scipy_erf(x)
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _sig64(x):
    # stable logistic in float64
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus64(x):
    return np.logaddexp(x, 0.0)


# ---------------------------------------------------------------- float64 references
REF_FWD = {
    "relu": lambda x: np.maximum(x, 0.0),
    "leaky_relu": lambda x: np.where(x > 0, x, LEAKY * x),
    "elu": lambda x: np.where(x > 0, x, ELU * np.expm1(x)),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "sigmoid": _sig64,
    "tanh": np.tanh,
    "gelu": lambda x: 0.5 * x * (1.0 + _erf64(x * INV_SQRT2)),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + np.tanh(GELU_C * (x + GELU_K * x ** 3))),
    "silu": lambda x: x * _sig64(x),
    "mish": lambda x: x * np.tanh(_softplus64(x)),
    "softplus": _softplus64,
}


def _ref_gelu_tanh_grad(x, dy):
    t = np.tanh(GELU_C * (x + GELU_K * x ** 3))
    return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_K * x * x))


def _ref_mish_grad(x, dy):
    t = np.tanh(_softplus64(x))
    return dy * (t + x * _sig64(x) * (1.0 - t * t))


REF_BWD = {
    "relu": lambda x, dy: dy * (x > 0),
    "leaky_relu": lambda x, dy: dy * np.where(x > 0, 1.0, LEAKY),
    "elu": lambda x, dy: dy * np.where(x > 0, 1.0, ELU * np.exp(x)),
    "selu": lambda x, dy: dy * SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(x)),
    "sigmoid": lambda x, dy: dy * _sig64(x) * (1.0 - _sig64(x)),
    "tanh": lambda x, dy: dy * (1.0 - np.tanh(x) ** 2),
    "gelu": lambda x, dy: dy * (0.5 * (1.0 + _erf64(x * INV_SQRT2))
                                + x * INV_SQRT_2PI * np.exp(-0.5 * x * x)),
    "gelu_tanh": _ref_gelu_tanh_grad,
    "silu": lambda x, dy: dy * _sig64(x) * (1.0 + x * (1.0 - _sig64(x))),
    "mish": _ref_mish_grad,
    "softplus": lambda x, dy: dy * _sig64(x),
}


# ---------------------------------------------------------------- NumPy peer (float32)
def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_gelu(x):
    return 0.5 * x * (1 + _scipy_erf(x * INV_SQRT2))


def _np_gelu_grad(x, dy):
    return dy * (0.5 * (1 + _scipy_erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * np.exp(-0.5 * x * x))


def _np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(GELU_C * (x + GELU_K * x * x * x)))


def _np_gelu_tanh_grad(x, dy):
    t = np.tanh(GELU_C * (x + GELU_K * x * x * x))
    return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * GELU_K * x * x))


def _np_sigmoid_grad(x, dy):
    s = 1 / (1 + np.exp(-x))
    return dy * s * (1 - s)


def _np_tanh_grad(x, dy):
    t = np.tanh(x)
    return dy * (1 - t * t)


def _np_silu_grad(x, dy):
    s = 1 / (1 + np.exp(-x))
    return dy * s * (1 + x * (1 - s))


def _np_mish_grad(x, dy):
    t = np.tanh(np.logaddexp(x, 0))
    s = 1 / (1 + np.exp(-x))
    return dy * (t + x * s * (1 - t * t))


NUMPY_FWD = {
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, LEAKY * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "sigmoid": _np_sigmoid,
    "tanh": np.tanh,
    "gelu": _np_gelu,
    "gelu_tanh": _np_gelu_tanh,
    "silu": lambda x: x / (1 + np.exp(-x)),
    "mish": lambda x: x * np.tanh(np.logaddexp(x, 0)),
    "softplus": lambda x: np.logaddexp(x, 0),
}

NUMPY_BWD = {
    "relu": lambda x, dy: dy * (x > 0),
    "leaky_relu": lambda x, dy: np.where(x > 0, dy, LEAKY * dy),
    "elu": lambda x, dy: np.where(x > 0, dy, dy * np.exp(x)),
    "selu": lambda x, dy: np.where(x > 0, SELU_SCALE * dy, (SELU_SCALE * SELU_ALPHA) * dy * np.exp(x)),
    "sigmoid": _np_sigmoid_grad,
    "tanh": _np_tanh_grad,
    "gelu": _np_gelu_grad,
    "gelu_tanh": _np_gelu_tanh_grad,
    "silu": _np_silu_grad,
    "mish": _np_mish_grad,
    "softplus": lambda x, dy: dy / (1 + np.exp(-x)),
}

def numpy_missing(name):
    """Why the NumPy peer of ``name`` cannot run here, or None."""
    if name == "gelu" and _scipy_erf is None:
        return "numpy peer needs scipy.special.erf (SciPy not installed)"
    return None


# ---------------------------------------------------------------- PyTorch peer
def torch_forms(torch):
    """``(fwd, bwd, bwd_uses_output)`` dicts of the torch peer for each name.

    ``fwd[name](x)``; ``bwd[name](x_or_y, dy)`` where the first argument is the forward
    output ``y`` when ``bwd_uses_output[name]`` (autograd saves the output for these).
    """
    F = torch.nn.functional
    aten = torch.ops.aten
    fwd = {
        "relu": F.relu,
        "leaky_relu": lambda x: F.leaky_relu(x, LEAKY),
        "elu": lambda x: F.elu(x, ELU),
        "selu": F.selu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "gelu": lambda x: F.gelu(x, approximate="none"),
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "silu": F.silu,
        "mish": F.mish,
        "softplus": F.softplus,
    }
    bwd = {
        "relu": lambda y, dy: aten.threshold_backward(dy, y, 0),
        "leaky_relu": lambda x, dy: aten.leaky_relu_backward(dy, x, LEAKY, False),
        "elu": lambda x, dy: aten.elu_backward(dy, ELU, 1.0, 1.0, False, x),
        "selu": lambda x, dy: aten.elu_backward(dy, SELU_ALPHA, SELU_SCALE, 1.0, False, x),
        "sigmoid": lambda y, dy: aten.sigmoid_backward(dy, y),
        "tanh": lambda y, dy: aten.tanh_backward(dy, y),
        "gelu": lambda x, dy: aten.gelu_backward(dy, x, approximate="none"),
        "gelu_tanh": lambda x, dy: aten.gelu_backward(dy, x, approximate="tanh"),
        "silu": lambda x, dy: aten.silu_backward(dy, x),
        "mish": lambda x, dy: aten.mish_backward(dy, x),
        "softplus": lambda x, dy: aten.softplus_backward(dy, x, 1.0, 20.0),
    }
    uses_output = {n: n in ("relu", "sigmoid", "tanh") for n in NAMES}
    return fwd, bwd, uses_output
