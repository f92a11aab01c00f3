"""NumPy-style drop-in kernels: one native call per op, numpy arrays in and out.

float32 stays float32 and float64 stays float64; see :mod:`fastnn._validate` for the
rules on other dtypes. Large inputs run multithreaded with the GIL released.
"""
from fastnn._ops_act import (
    activation,
    activation_grad,
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    log_softmax_grad,
    mish,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softmax_grad,
    softplus,
    swish,
    tanh,
)
from fastnn._ops_linalg import gemm, linear, matmul

__all__ = ["matmul", "gemm", "linear"]
__all__ += [
    "activation",
    "activation_grad",
    "elu",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "log_softmax_grad",
    "mish",
    "relu",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softmax_grad",
    "softplus",
    "swish",
    "tanh",
]
