"""Consistency check of an output activation with a loss (re-exported by fastnn.losses)."""
from __future__ import annotations

_PROBABILITY_OUTPUTS = {"sigmoid", "softmax"}
# Outputs that are not probabilities (log_softmax gives valid logits, not probabilities).
_NON_PROBABILITY = {"identity", "relu", "leaky_relu", "elu", "selu", "tanh", "gelu", "gelu_tanh", "silu",
                    "mish", "softplus", "log_softmax"}
_BOUNDED = {"sigmoid", "tanh", "softmax"}
_CROSS_ENTROPY = {"binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"}
_REGRESSION = {"mean_squared_error", "mean_absolute_error", "huber", "log_cosh"}


def _activation_name(activation):
    """Canonical name of an activation given by name (None: linear), or None if unknown."""
    from fastnn import _activations

    if activation is None:
        return "identity"
    if not isinstance(activation, str):
        return None
    try:
        return _activations.resolve(activation, allow_rowwise=True)[0]
    except (TypeError, ValueError):
        return None


def check_output_loss_pair(output_activation, loss):
    """A warning message when an output activation and a loss do not fit together, else None.

    Flags the pairs commonly taught as mistakes:

    (a) ``from_logits=True`` after a sigmoid or softmax output (the squashing is applied twice);
    (b) a cross-entropy from probabilities after an output that does not give probabilities
        (linear, relu, tanh, ...);
    (c) a regression loss (MSE, MAE, Huber, log-cosh) after a bounded sigmoid, tanh or
        softmax output;
    (d) binary cross-entropy after softmax, or categorical cross-entropy after sigmoid.

    Parameters
    ----------
    output_activation : str or None
        The last layer's activation name (None or ``"linear"``: no activation).  Names this
        package does not know (and callables) are never flagged.
    loss : Loss, str or dict
        Anything :func:`fastnn.losses.get` resolves.

    Returns
    -------
    str or None
        The message (the model emits it with ``warnings.warn``), or None when the pair is fine.
    """
    from fastnn import _core, losses

    act = _activation_name(output_activation)
    lo = losses.get(loss)
    if act is None or lo is None or lo.loss_id is None:
        return None
    kind = {v: k for k, v in _core.LOSS_IDS.items()}[lo.loss_id]
    shown = "linear" if act == "identity" else act
    if kind in _CROSS_ENTROPY:
        if lo.from_logits and act in _PROBABILITY_OUTPUTS:
            return (f"loss {lo.name!r} has from_logits=True but the output activation is {shown!r}: the "
                    f"{shown} would be applied twice. Use a linear output (activation=None) with "
                    f"from_logits=True, or keep {shown!r} and set from_logits=False.")
        if not lo.from_logits and act in _NON_PROBABILITY:
            want = "sigmoid" if kind == "binary_crossentropy" else "softmax"
            return (f"loss {lo.name!r} expects probabilities (from_logits=False) but the output activation "
                    f"{shown!r} does not produce them. Use from_logits=True with a linear output "
                    f"(recommended: more stable), or a {want!r} output.")
        if kind == "binary_crossentropy" and act == "softmax":
            return (f"loss {lo.name!r} after a 'softmax' output: softmax ties the outputs together (they "
                    "sum to 1) while binary cross-entropy scores each one independently. Use 'sigmoid' "
                    "for independent (multi-label) outputs, or categorical cross-entropy for one class "
                    "out of several.")
        if kind != "binary_crossentropy" and act == "sigmoid":
            return (f"loss {lo.name!r} after a 'sigmoid' output: sigmoid outputs do not sum to 1, so they "
                    "are not a distribution over classes. Use a 'softmax' output (or a linear output "
                    "with from_logits=True).")
    if kind in _REGRESSION and act in _BOUNDED:
        return (f"regression loss {lo.name!r} after a {shown!r} output: the predictions are confined to a "
                f"bounded range and the gradient vanishes where it saturates. Use a linear output "
                "(activation=None) for regression.")
    return None
