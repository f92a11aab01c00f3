"""Activation names, their native ids and parameters.

The ids mirror ``ActId`` in csrc/include/fastnn/act.h. Strings resolve here for every
public API (``fastnn.ops``, ``Dense(activation=...)``), case-insensitively, with aliases.
"""
from __future__ import annotations

# name -> (native id, parameter name or None, default parameter)
ACTIVATIONS = {
    "identity": (0, None, 0.0),
    "relu": (1, None, 0.0),
    "leaky_relu": (2, "alpha", 0.01),
    "elu": (3, "alpha", 1.0),
    "selu": (4, None, 0.0),
    "sigmoid": (5, None, 0.0),
    "tanh": (6, None, 0.0),
    "gelu": (7, None, 0.0),
    "gelu_tanh": (8, None, 0.0),
    "silu": (9, None, 0.0),
    "mish": (10, None, 0.0),
    "softplus": (11, None, 0.0),
}

# Row-wise activations (over the last axis): not elementwise, so not fusable into the
# GEMM epilogue; resolve() accepts them only with ``allow_rowwise=True``. Their ids are
# outside the native ActId range on purpose.
ROWWISE = {
    "softmax": (100, None, 0.0),
    "log_softmax": (101, None, 0.0),
}

ALIASES = {
    "linear": "identity",
    "none": "identity",
    "logistic": "sigmoid",
    "swish": "silu",
    "leakyrelu": "leaky_relu",
    "gelu_approximate": "gelu_tanh",
    "logsoftmax": "log_softmax",
}


def is_rowwise(name):
    """Whether a canonical activation name is row-wise (softmax, log_softmax)."""
    return name in ROWWISE


def resolve(name, *, allow_rowwise=False, **params):
    """Return ``(canonical_name, native_id, param_value)`` for an activation name.

    ``params`` may hold the activation's parameter (``alpha`` for leaky_relu and elu) and,
    for gelu, ``approximate=True`` to select the tanh form. ``allow_rowwise=True`` also
    accepts ``"softmax"`` and ``"log_softmax"`` (ids 100 and 101, never native act ids).
    """
    if name is None:
        name = "identity"
    if not isinstance(name, str):
        raise TypeError(f"activation: expected a name (str) or None, got {type(name).__name__}")
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    params = dict(params)
    if key == "gelu" and params.pop("approximate", False):
        key = "gelu_tanh"
    table = dict(ACTIVATIONS, **ROWWISE) if allow_rowwise else ACTIVATIONS
    if key not in table:
        known = ", ".join(sorted(table))
        if key in ROWWISE:
            raise ValueError(
                f"activation: {name!r} is row-wise (over the last axis) and not accepted here; "
                f"elementwise names: {known}"
            )
        raise ValueError(f"activation: unknown name {name!r}; known: {known}")
    act_id, pname, default = table[key]
    value = default
    for k, v in params.items():
        if k != pname:
            raise TypeError(f"activation {key!r} takes no parameter {k!r}")
        from fastnn._validate import check_scalar

        value = check_scalar(v, k)
    return key, act_id, value
