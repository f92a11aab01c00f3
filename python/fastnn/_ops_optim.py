"""Fused in-place optimizer updates (the rules of torch.optim; clipping is in _ops_clip).

Each ``*_update`` function is one native pass over the arrays: it reads ``param``,
``grad`` and the optimizer state and writes ``param`` and the state in place, with the
rule of the matching ``torch.optim`` optimizer for the same hyperparameters (written out
in each docstring). Large arrays are split across threads; every element is independent,
so results are bitwise identical at any thread count.

Arrays: ``param`` and every state array are C-contiguous, writable numpy arrays of the
same shape and the same dtype, float32 or float64 (there is no silent cast: a state array
of another dtype would not be updated in place). ``grad`` has that shape and dtype too;
it may have any layout (non-contiguous gradients are copied once). No two arrays may
share memory.
"""
from fastnn import _core
from fastnn._optim_checks import (
    beta,
    disjoint,
    flag,
    grad_like,
    nonneg,
    param_array,
    positive,
    state,
    step_count,
    unit,
)
from fastnn._validate import check_scalar

__all__ = [
    "sgd_update",
    "momentum_update",
    "adam_update",
    "rmsprop_update",
    "adagrad_update",
    "adadelta_update",
    "adamax_update",
    "nadam_update",
]


def sgd_update(param, grad, momentum_buffer=None, *, lr, momentum=0.0, dampening=0.0, nesterov=False,
               weight_decay=0.0, maximize=False, first_step=None):
    """One in-place step of stochastic gradient descent (``torch.optim.SGD``).

    Parameters
    ----------
    param : ndarray, float32 or float64
        Parameters, updated in place (C-contiguous, writable).
    grad : array_like
        Gradient of the loss; same shape and dtype as ``param``.
    momentum_buffer : ndarray, optional
        Momentum state ``b``, updated in place; required when ``momentum != 0`` (ignored
        and left untouched when ``momentum == 0``).
    lr : float
        Learning rate ``gamma >= 0`` (required).
    momentum : float
        Momentum factor ``mu >= 0``.
    dampening : float
        Dampening ``tau`` in [0, 1] of the gradient added to the buffer.
    nesterov : bool
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``, as in torch).
    weight_decay : float
        L2 penalty ``lambda >= 0`` added to the gradient.
    maximize : bool
        Maximize the objective instead of minimizing it.
    first_step : bool or None
        ``True`` on the first update of ``momentum_buffer``: the buffer is then *set* to
        the (weight-decayed) gradient, as torch does when the buffer does not exist yet,
        and its old contents are never read (``np.empty`` is fine). ``False`` or ``None``
        (the default) on later steps. A zero-filled buffer with ``first_step=None`` gives
        the same first step only when ``dampening == 0``.

    Returns
    -------
    None

    Notes
    -----
    With ``g`` the gradient and ``theta`` the parameters, each element does::

        g = -grad if maximize else grad
        if weight_decay != 0:  g = g + lambda * theta
        if momentum != 0:
            b = g                                   (first step)
            b = mu * b + (1 - tau) * g              (later steps)
            g = g + mu * b  if nesterov else  b
        theta = theta - gamma * g

    This is ``torch.optim.SGD``'s implementation (the sign flip for ``maximize`` comes
    first, so weight decay still shrinks the parameters).
    """
    param = param_array(param)
    grad = grad_like(grad, param)
    lr = nonneg(lr, "lr")
    momentum = nonneg(momentum, "momentum")
    dampening = unit(dampening, "dampening")
    weight_decay = nonneg(weight_decay, "weight_decay")
    nesterov = flag(nesterov, "nesterov")
    maximize = flag(maximize, "maximize")
    first_step = False if first_step is None else flag(first_step, "first_step")
    if nesterov and (momentum <= 0.0 or dampening != 0.0):
        raise ValueError(
            f"nesterov: Nesterov momentum requires momentum > 0 and dampening == 0, got momentum={momentum}, "
            f"dampening={dampening}"
        )
    buf = None
    if momentum != 0.0:
        buf = state(momentum_buffer, "momentum_buffer", param, f"when momentum != 0 (momentum={momentum})")
    disjoint(param=param, grad=grad, momentum_buffer=buf)
    _core.sgd_update(param, grad, buf, lr, momentum, dampening, nesterov, weight_decay, maximize, first_step)


def momentum_update(param, grad, momentum_buffer, *, lr, momentum=0.9, dampening=0.0, nesterov=False,
                    weight_decay=0.0, maximize=False, first_step=None):
    """One in-place step of SGD with (Nesterov) momentum; :func:`sgd_update` with a buffer.

    Parameters
    ----------
    param : ndarray, float32 or float64
        Parameters, updated in place (C-contiguous, writable).
    grad : array_like
        Gradient; same shape and dtype as ``param``.
    momentum_buffer : ndarray
        Momentum state ``b``, updated in place (required).
    lr : float
        Learning rate ``gamma >= 0`` (required).
    momentum : float
        Momentum factor ``mu > 0``.
    dampening, nesterov, weight_decay, maximize, first_step
        As in :func:`sgd_update` (``first_step=True`` on the first update sets the buffer
        to the gradient, as torch does).

    Returns
    -------
    None

    Notes
    -----
    The rule of ``torch.optim.SGD`` with ``momentum > 0``::

        g = -grad if maximize else grad
        if weight_decay != 0:  g = g + lambda * theta
        b = g  (first step)   or   b = mu * b + (1 - tau) * g
        g = g + mu * b  if nesterov else  b
        theta = theta - gamma * g
    """
    momentum = positive(momentum, "momentum")
    if momentum_buffer is None:
        raise ValueError("momentum_buffer: an array is required, got None")
    sgd_update(param, grad, momentum_buffer, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
               weight_decay=weight_decay, maximize=maximize, first_step=first_step)


def adam_update(param, grad, exp_avg, exp_avg_sq, step, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0.0, decoupled_weight_decay=False, amsgrad=False, max_exp_avg_sq=None,
                maximize=False):
    """One in-place Adam / AdamW step (``torch.optim.Adam``, ``torch.optim.AdamW``).

    Parameters
    ----------
    param : ndarray, float32 or float64
        Parameters, updated in place (C-contiguous, writable).
    grad : array_like
        Gradient; same shape and dtype as ``param``.
    exp_avg, exp_avg_sq : ndarray
        First and second moment estimates ``m``, ``v`` (zeros before the first step),
        updated in place.
    step : int
        The 1-based step count *after* increment (1 on the first update).
    lr : float
        Learning rate ``gamma >= 0``.
    beta1, beta2 : float
        Decay rates in [0, 1) of the moment estimates.
    eps : float
        ``eps > 0`` added to the denominator.
    weight_decay : float
        ``lambda >= 0``: an L2 term added to the gradient (Adam), or with
        ``decoupled_weight_decay=True`` a direct decay of the parameters (AdamW).
    decoupled_weight_decay : bool
        AdamW's decoupled weight decay.
    amsgrad : bool
        Use the running maximum of ``v`` (AMSGrad); needs ``max_exp_avg_sq``.
    max_exp_avg_sq : ndarray, optional
        AMSGrad state ``v_max`` (zeros before the first step), updated in place.
    maximize : bool
        Maximize the objective instead of minimizing it.

    Returns
    -------
    None

    Notes
    -----
    With ``t = step``, each element does::

        g = -grad if maximize else grad
        if decoupled_weight_decay:  theta = theta * (1 - gamma * lambda)
        elif weight_decay != 0:     g = g + lambda * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        if amsgrad:  v_max = max(v_max, v);  v_hat = v_max  else  v_hat = v
        theta = theta - gamma / (1 - beta1**t) * m / (sqrt(v_hat) / sqrt(1 - beta2**t) + eps)

    The bias corrections are computed once per call in float64. The only difference from
    torch is rounding: ``1 / sqrt(1 - beta2**t)`` is applied as a multiplication.
    """
    param = param_array(param)
    grad = grad_like(grad, param)
    exp_avg = state(exp_avg, "exp_avg", param, "")
    exp_avg_sq = state(exp_avg_sq, "exp_avg_sq", param, "")
    step = step_count(step)
    lr = nonneg(lr, "lr")
    beta1 = beta(beta1, "beta1")
    beta2 = beta(beta2, "beta2")
    eps = positive(eps, "eps")
    weight_decay = nonneg(weight_decay, "weight_decay")
    decoupled_weight_decay = flag(decoupled_weight_decay, "decoupled_weight_decay")
    amsgrad = flag(amsgrad, "amsgrad")
    maximize = flag(maximize, "maximize")
    vmax = state(max_exp_avg_sq, "max_exp_avg_sq", param, "when amsgrad=True") if amsgrad else None
    disjoint(param=param, grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq, max_exp_avg_sq=vmax)
    _core.adam_update(param, grad, exp_avg, exp_avg_sq, vmax, step, lr, beta1, beta2, eps, weight_decay,
                      decoupled_weight_decay, amsgrad, maximize)


def rmsprop_update(param, grad, square_avg, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                   centered=False, momentum_buffer=None, grad_avg=None, maximize=False):
    """One in-place RMSprop step (``torch.optim.RMSprop``).

    Parameters
    ----------
    param : ndarray, float32 or float64
        Parameters, updated in place (C-contiguous, writable).
    grad : array_like
        Gradient; same shape and dtype as ``param``.
    square_avg : ndarray
        Running average ``v`` of the squared gradient (zeros at the start), in place.
    lr : float
        Learning rate ``gamma >= 0``.
    alpha : float
        Smoothing constant in [0, 1].
    eps : float
        ``eps > 0`` added to the denominator.
    weight_decay : float
        L2 penalty ``lambda >= 0`` added to the gradient.
    momentum : float
        Momentum factor ``mu >= 0``; ``momentum > 0`` needs ``momentum_buffer``.
    centered : bool
        Normalize by an estimate of the variance instead of the second moment; needs
        ``grad_avg``.
    momentum_buffer : ndarray, optional
        Momentum state ``b`` (zeros at the start), updated in place.
    grad_avg : ndarray, optional
        Running average ``g_avg`` of the gradient (zeros at the start), updated in place.
    maximize : bool
        Maximize the objective instead of minimizing it.

    Returns
    -------
    None

    Notes
    -----
    Each element does::

        g = -grad if maximize else grad
        if weight_decay != 0:  g = g + lambda * theta
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            d = sqrt(v - g_avg * g_avg) + eps
        else:
            d = sqrt(v) + eps
        if momentum > 0:
            b = mu * b + g / d
            theta = theta - gamma * b
        else:
            theta = theta - gamma * g / d
    """
    param = param_array(param)
    grad = grad_like(grad, param)
    square_avg = state(square_avg, "square_avg", param, "")
    lr = nonneg(lr, "lr")
    alpha = unit(alpha, "alpha")
    eps = positive(eps, "eps")
    weight_decay = nonneg(weight_decay, "weight_decay")
    momentum = nonneg(momentum, "momentum")
    centered = flag(centered, "centered")
    maximize = flag(maximize, "maximize")
    buf = state(momentum_buffer, "momentum_buffer", param, f"when momentum > 0 (momentum={momentum})") \
        if momentum > 0.0 else None
    gavg = state(grad_avg, "grad_avg", param, "when centered=True") if centered else None
    disjoint(param=param, grad=grad, square_avg=square_avg, momentum_buffer=buf, grad_avg=gavg)
    _core.rmsprop_update(param, grad, square_avg, lr, alpha, eps, weight_decay, momentum, centered, buf, gavg,
                         maximize)


def adagrad_update(param, grad, state_sum, step, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10,
                   maximize=False):
    """One in-place Adagrad step (``torch.optim.Adagrad``).

    Parameters
    ----------
    param : ndarray, float32 or float64
        Parameters, updated in place (C-contiguous, writable).
    grad : array_like
        Gradient; same shape and dtype as ``param``.
    state_sum : ndarray
        Sum of squared gradients ``s``, updated in place; fill it with torch's
        ``initial_accumulator_value`` (default 0) before the first step.
    step : int
        The 1-based step count after increment.
    lr : float
        Learning rate ``gamma >= 0``.
    lr_decay : float
        Learning-rate decay ``eta >= 0``.
    weight_decay : float
        L2 penalty ``lambda >= 0`` added to the gradient.
    eps : float
        ``eps > 0`` added to the denominator.
    maximize : bool
        Maximize the objective instead of minimizing it.

    Returns
    -------
    None

    Notes
    -----
    With ``t = step``, each element does::

        g = -grad if maximize else grad
        if weight_decay != 0:  g = g + lambda * theta
        s = s + g * g
        theta = theta - gamma / (1 + (t - 1) * eta) * g / (sqrt(s) + eps)
    """
    param = param_array(param)
    grad = grad_like(grad, param)
    state_sum = state(state_sum, "state_sum", param, "")
    step = step_count(step)
    lr = nonneg(lr, "lr")
    lr_decay = nonneg(lr_decay, "lr_decay")
    weight_decay = nonneg(weight_decay, "weight_decay")
    eps = positive(eps, "eps")
    maximize = flag(maximize, "maximize")
    disjoint(param=param, grad=grad, state_sum=state_sum)
    _core.adagrad_update(param, grad, state_sum, step, lr, lr_decay, weight_decay, eps, maximize)


def adadelta_update(param, grad, square_avg, acc_delta, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0,
                    maximize=False):
    """One in-place Adadelta step (``torch.optim.Adadelta``).

    Parameters
    ----------
    param : ndarray, float32 or float64
        Parameters, updated in place (C-contiguous, writable).
    grad : array_like
        Gradient; same shape and dtype as ``param``.
    square_avg : ndarray
        Running average ``v`` of the squared gradient (zeros at the start), in place.
    acc_delta : ndarray
        Running average ``u`` of the squared updates (zeros at the start), in place.
    lr : float
        Coefficient ``gamma >= 0`` that scales the update.
    rho : float
        Decay rate in [0, 1] of the running averages.
    eps : float
        ``eps > 0`` added inside the square roots.
    weight_decay : float
        L2 penalty ``lambda >= 0`` added to the gradient.
    maximize : bool
        Maximize the objective instead of minimizing it.

    Returns
    -------
    None

    Notes
    -----
    Each element does::

        g = -grad if maximize else grad
        if weight_decay != 0:  g = g + lambda * theta
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        theta = theta - gamma * delta
    """
    param = param_array(param)
    grad = grad_like(grad, param)
    square_avg = state(square_avg, "square_avg", param, "")
    acc_delta = state(acc_delta, "acc_delta", param, "")
    lr = nonneg(lr, "lr")
    rho = unit(rho, "rho")
    eps = positive(eps, "eps")
    weight_decay = nonneg(weight_decay, "weight_decay")
    maximize = flag(maximize, "maximize")
    disjoint(param=param, grad=grad, square_avg=square_avg, acc_delta=acc_delta)
    _core.adadelta_update(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize)


def adamax_update(param, grad, exp_avg, exp_inf, step, *, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                  weight_decay=0.0, maximize=False):
    """One in-place Adamax step (``torch.optim.Adamax``, Adam with the infinity norm).

    Parameters
    ----------
    param : ndarray, float32 or float64
        Parameters, updated in place (C-contiguous, writable).
    grad : array_like
        Gradient; same shape and dtype as ``param``.
    exp_avg : ndarray
        First moment ``m`` (zeros at the start), updated in place.
    exp_inf : ndarray
        Exponentially weighted infinity norm ``u`` (zeros at the start), in place.
    step : int
        The 1-based step count after increment.
    lr : float
        Learning rate ``gamma >= 0``.
    beta1, beta2 : float
        Decay rates in [0, 1).
    eps : float
        ``eps > 0``.
    weight_decay : float
        L2 penalty ``lambda >= 0`` added to the gradient.
    maximize : bool
        Maximize the objective instead of minimizing it.

    Returns
    -------
    None

    Notes
    -----
    With ``t = step``, each element does::

        g = -grad if maximize else grad
        if weight_decay != 0:  g = g + lambda * theta
        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)
        theta = theta - gamma / (1 - beta1**t) * m / u
    """
    param = param_array(param)
    grad = grad_like(grad, param)
    exp_avg = state(exp_avg, "exp_avg", param, "")
    exp_inf = state(exp_inf, "exp_inf", param, "")
    step = step_count(step)
    lr = nonneg(lr, "lr")
    beta1 = beta(beta1, "beta1")
    beta2 = beta(beta2, "beta2")
    eps = positive(eps, "eps")
    weight_decay = nonneg(weight_decay, "weight_decay")
    maximize = flag(maximize, "maximize")
    disjoint(param=param, grad=grad, exp_avg=exp_avg, exp_inf=exp_inf)
    _core.adamax_update(param, grad, exp_avg, exp_inf, step, lr, beta1, beta2, eps, weight_decay, maximize)


def _nadam_mu(step, beta1=0.9, momentum_decay=4e-3):
    """NAdam's momentum coefficient ``mu_t = beta1 * (1 - 0.5 * 0.96**(t * psi))``."""
    return beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))


def nadam_update(param, grad, exp_avg, exp_avg_sq, step, mu_product, *, lr=2e-3, beta1=0.9, beta2=0.999,
                 eps=1e-8, weight_decay=0.0, momentum_decay=4e-3, decoupled_weight_decay=False,
                 maximize=False):
    """One in-place NAdam step (``torch.optim.NAdam``); returns the new ``mu_product``.

    Parameters
    ----------
    param : ndarray, float32 or float64
        Parameters, updated in place (C-contiguous, writable).
    grad : array_like
        Gradient; same shape and dtype as ``param``.
    exp_avg, exp_avg_sq : ndarray
        First and second moments ``m``, ``v`` (zeros at the start), updated in place.
    step : int
        The 1-based step count after increment.
    mu_product : float
        The product ``mu_1 * ... * mu_{t-1}`` of the previous steps' momentum
        coefficients: ``1.0`` before the first step, then the value this function
        returned on the previous step. Must be in (0, 1].
    lr : float
        Learning rate ``gamma >= 0``.
    beta1, beta2 : float
        Decay rates in [0, 1).
    eps : float
        ``eps > 0`` added to the denominator.
    weight_decay : float
        ``lambda >= 0``: L2 term added to the gradient, or with
        ``decoupled_weight_decay=True`` a direct decay of the parameters (NAdamW).
    momentum_decay : float
        ``psi >= 0``.
    decoupled_weight_decay : bool
        Decoupled weight decay, as in AdamW.
    maximize : bool
        Maximize the objective instead of minimizing it.

    Returns
    -------
    float
        ``mu_product * mu_t``: pass it as ``mu_product`` on the next step.

    Notes
    -----
    With ``t = step`` and ``P = mu_product * mu_t``, each element does::

        mu_t      = beta1 * (1 - 0.5 * 0.96**(t * psi))
        mu_{t+1}  = beta1 * (1 - 0.5 * 0.96**((t + 1) * psi))
        g = -grad if maximize else grad
        if decoupled_weight_decay:  theta = theta * (1 - gamma * lambda)
        elif weight_decay != 0:     g = g + lambda * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        d = sqrt(v / (1 - beta2**t)) + eps
        theta = theta - gamma * (1 - mu_t) / (1 - P) * g / d
                      - gamma * mu_{t+1} / (1 - P * mu_{t+1}) * m / d

    The scalars are computed once per call in float64 (torch keeps ``mu_product`` as a
    float32 tensor unless the default dtype is float64, so its values can differ in the
    last bits).
    """
    param = param_array(param)
    grad = grad_like(grad, param)
    exp_avg = state(exp_avg, "exp_avg", param, "")
    exp_avg_sq = state(exp_avg_sq, "exp_avg_sq", param, "")
    step = step_count(step)
    mu_product = check_scalar(mu_product, "mu_product", low=0.0, low_inclusive=False, high=1.0)
    lr = nonneg(lr, "lr")
    beta1 = beta(beta1, "beta1")
    beta2 = beta(beta2, "beta2")
    eps = positive(eps, "eps")
    weight_decay = nonneg(weight_decay, "weight_decay")
    momentum_decay = nonneg(momentum_decay, "momentum_decay")
    decoupled_weight_decay = flag(decoupled_weight_decay, "decoupled_weight_decay")
    maximize = flag(maximize, "maximize")
    disjoint(param=param, grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq)
    _core.nadam_update(param, grad, exp_avg, exp_avg_sq, step, mu_product, lr, beta1, beta2, eps, weight_decay,
                       momentum_decay, decoupled_weight_decay, maximize)
    return mu_product * _nadam_mu(step, beta1, momentum_decay)
