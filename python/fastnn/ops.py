"""NumPy-style drop-in kernels: one native call per op, numpy arrays in and out.

float32 stays float32 and float64 stays float64; see :mod:`fastnn._validate` for the
rules on other dtypes. Large inputs run multithreaded with the GIL released.
"""
from fastnn._ops_clip import clip_by_global_norm_, clip_by_value_, global_norm
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
from fastnn._ops_optim import (
    adadelta_update,
    adagrad_update,
    adam_update,
    adamax_update,
    momentum_update,
    nadam_update,
    rmsprop_update,
    sgd_update,
)

__all__ = ["matmul", "gemm", "linear"]
__all__ += [
    "sgd_update", "momentum_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update", "adamax_update",
    "nadam_update", "clip_by_value_", "global_norm", "clip_by_global_norm_",
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
