"""NumPy float64 reference twins of every kernel (the test oracles).

Each section belongs to one area (GEMM, activations, softmax, optimizers); all work in
float64 and return float64.
"""
import numpy as np

# ---------------------------------------------------------------- GEMM / linear


def linear(x, w, b=None, activation=None):
    """``act(x @ w + b)`` and the pre-activation ``z``; activation None/identity or relu."""
    z = np.asarray(x, np.float64) @ np.asarray(w, np.float64)
    if b is not None:
        z = z + np.asarray(b, np.float64).reshape(-1)
    if activation in (None, "identity", "linear"):
        return z.copy(), z
    if activation == "relu":
        return np.maximum(z, 0.0), z
    raise ValueError(f"reference.linear: unsupported activation {activation!r}")


def gemm_error_bound(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """Elementwise ``|alpha| |op(a)| @ |op(b)| + |beta| |c|``: the scale of the rounding
    error of a GEMM (multiply by ~eps * sqrt(k) for a tight, non-flaky tolerance)."""
    a = np.abs(np.asarray(a, np.float64))
    b = np.abs(np.asarray(b, np.float64))
    r = abs(alpha) * ((a.T if trans_a else a) @ (b.T if trans_b else b))
    if c is not None and beta != 0.0:
        r = r + abs(beta) * np.abs(np.asarray(c, np.float64))
    return r


def gemm_tolerance(bound, k, dtype):
    """Elementwise absolute tolerance of a ``dtype`` GEMM with inner dimension ``k`` against
    :func:`gemm`: ``4 eps sqrt(k)`` times :func:`gemm_error_bound` (random-sign data sees
    errors of a few eps times the bound; a lost or doubled term costs ~1/k of it)."""
    eps = np.finfo(dtype).eps
    return 4.0 * eps * (1.0 + np.sqrt(k)) * bound + np.finfo(dtype).tiny


def gemm(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    r = alpha * ((a.T if trans_a else a) @ (b.T if trans_b else b))
    if c is not None and beta != 0.0:
        r = r + beta * np.asarray(c, np.float64)
    return r


# ---------------------------------------------------------------- optimizers
#
# torch.optim's update rules (the single-tensor implementations), one step each, written
# functionally in float64: every function takes the parameters, the gradient and the state
# and returns the new parameters and the new state (nothing is modified in place).


def _f64(*arrays):
    return [None if a is None else np.asarray(a, np.float64).copy() for a in arrays]


def sgd_step(p, g, buf, *, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
             maximize=False, first_step=False):
    """torch.optim.SGD; returns (p, buf). ``first_step``: torch's buffer does not exist yet."""
    p, g, buf = _f64(p, g, buf)
    d = -g if maximize else g
    if weight_decay != 0:
        d = d + weight_decay * p
    if momentum != 0:
        if first_step:
            buf = d.copy()
        else:
            buf = momentum * buf + (1 - dampening) * d
        d = d + momentum * buf if nesterov else buf
    return p - lr * d, buf


def adam_step(p, g, m, v, vmax, t, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
              decoupled_weight_decay=False, amsgrad=False, maximize=False):
    """torch.optim.Adam / AdamW; returns (p, m, v, vmax)."""
    p, g, m, v, vmax = _f64(p, g, m, v, vmax)
    g = -g if maximize else g
    if decoupled_weight_decay:
        p = p * (1 - lr * weight_decay)
    elif weight_decay != 0:
        g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    bc1 = 1 - beta1 ** t
    bc2 = 1 - beta2 ** t
    if amsgrad:
        vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax) / np.sqrt(bc2) + eps
    else:
        denom = np.sqrt(v) / np.sqrt(bc2) + eps
    return p - (lr / bc1) * m / denom, m, v, vmax


def rmsprop_step(p, g, sq, buf, gavg, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
    """torch.optim.RMSprop; returns (p, square_avg, momentum_buffer, grad_avg)."""
    p, g, sq, buf, gavg = _f64(p, g, sq, buf, gavg)
    g = -g if maximize else g
    if weight_decay != 0:
        g = g + weight_decay * p
    sq = alpha * sq + (1 - alpha) * g * g
    if centered:
        gavg = alpha * gavg + (1 - alpha) * g
        avg = np.sqrt(sq - gavg * gavg) + eps
    else:
        avg = np.sqrt(sq) + eps
    if momentum > 0:
        buf = momentum * buf + g / avg
        p = p - lr * buf
    else:
        p = p - lr * g / avg
    return p, sq, buf, gavg


def adagrad_step(p, g, s, t, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=False):
    """torch.optim.Adagrad; returns (p, state_sum)."""
    p, g, s = _f64(p, g, s)
    g = -g if maximize else g
    if weight_decay != 0:
        g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s = s + g * g
    return p - clr * g / (np.sqrt(s) + eps), s


def adadelta_step(p, g, sq, acc, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    """torch.optim.Adadelta; returns (p, square_avg, acc_delta)."""
    p, g, sq, acc = _f64(p, g, sq, acc)
    g = -g if maximize else g
    if weight_decay != 0:
        g = g + weight_decay * p
    sq = rho * sq + (1 - rho) * g * g
    delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
    acc = rho * acc + (1 - rho) * delta * delta
    return p - lr * delta, sq, acc


def adamax_step(p, g, m, u, t, *, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, maximize=False):
    """torch.optim.Adamax; returns (p, exp_avg, exp_inf)."""
    p, g, m, u = _f64(p, g, m, u)
    g = -g if maximize else g
    if weight_decay != 0:
        g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g
    u = np.maximum(beta2 * u, np.abs(g) + eps)
    return p - lr / (1 - beta1 ** t) * m / u, m, u


def nadam_step(p, g, m, v, t, mu_product, *, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
               momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):
    """torch.optim.NAdam; returns (p, exp_avg, exp_avg_sq, mu_product after this step)."""
    p, g, m, v = _f64(p, g, m, v)
    g = -g if maximize else g
    if weight_decay != 0:
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product = mu_product * mu
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    denom = np.sqrt(v / (1 - beta2 ** t)) + eps
    p = p - lr * (1 - mu) / (1 - mu_product) * g / denom
    p = p - lr * mu_next / (1 - mu_product * mu_next) * m / denom
    return p, m, v, mu_product


def global_norm(*arrays):
    """sqrt of the sum of squares of all elements, in float64."""
    return float(np.sqrt(sum(np.sum(np.asarray(a, np.float64) ** 2) for a in arrays)))


def clip_by_global_norm(arrays, max_norm):
    """torch.nn.utils.clip_grad_norm_; returns (clipped copies in float64, total norm)."""
    norm = global_norm(*arrays)
    coef = max_norm / (norm + 1e-6)
    scale = min(coef, 1.0)
    return [np.asarray(a, np.float64) * scale for a in arrays], norm
# ---------------------------------------------------------------- activations / softmax
# Accurate float64 formulations (no overflow, no cancellation) of every activation, its
# derivative and the row-wise softmax family.  Inputs are cast to float64 first.

import math as _math

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = 0.79788456080286535587989211986876
_GELU_C = 0.044715
_INV_SQRT_2PI = 0.39894228040143267793994605993438

_erfc = np.frompyfunc(_math.erfc, 1, 1)


def _act64(x):
    return np.asarray(x, dtype=np.float64)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def _dsigmoid(x):
    e = np.exp(-np.abs(x))
    return e / (1.0 + e) ** 2


def _softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _phi_cdf(x):
    """Standard normal CDF, accurate in both tails (erfc)."""
    return 0.5 * _erfc(-x / np.sqrt(2.0)).astype(np.float64)


def _sech2(x):
    with np.errstate(over="ignore"):
        return 1.0 / np.cosh(x) ** 2


def act_forward(name, x, alpha=None):
    """f(x) for an activation name (canonical names of fastnn._activations)."""
    x = _act64(x)
    if name == "identity":
        return x.copy()
    if name == "relu":
        return np.where(x > 0, x, 0.0)
    if name == "leaky_relu":
        a = 0.01 if alpha is None else alpha
        return np.where(x > 0, x, a * x)
    if name == "elu":
        a = 1.0 if alpha is None else alpha
        return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
    if name == "sigmoid":
        return _sigmoid(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "gelu":
        return x * _phi_cdf(x)
    if name == "gelu_tanh":
        # 0.5 x (1 + tanh(u)) == x * sigmoid(2u), evaluated without cancellation
        xc = np.clip(x, -50, 50)
        u = _SQRT_2_OVER_PI * (xc + _GELU_C * xc**3)
        return x * _sigmoid(2.0 * u)
    if name == "silu":
        return x * _sigmoid(x)
    if name == "mish":
        return x * np.tanh(_softplus(x))
    if name == "softplus":
        return _softplus(x)
    raise ValueError(f"unknown activation {name!r}")


def act_derivative(name, x, alpha=None):
    """f'(x) (the relu-like kinks at 0 take the negative side's slope)."""
    x = _act64(x)
    if name == "identity":
        return np.ones_like(x)
    if name == "relu":
        return np.where(x > 0, 1.0, 0.0)
    if name == "leaky_relu":
        a = 0.01 if alpha is None else alpha
        return np.where(x > 0, 1.0, a)
    if name == "elu":
        a = 1.0 if alpha is None else alpha
        return np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0.0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0.0)))
    if name == "sigmoid":
        return _dsigmoid(x)
    if name == "tanh":
        return _sech2(x)
    if name == "gelu":
        return _phi_cdf(x) + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    if name == "gelu_tanh":
        xc = np.clip(x, -50, 50)
        u = _SQRT_2_OVER_PI * (xc + _GELU_C * xc**3)
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_C * xc**2)
        return _sigmoid(2.0 * u) + xc * _dsigmoid(2.0 * u) * 2.0 * du
    if name == "silu":
        s = _sigmoid(x)
        return s + x * _dsigmoid(x)
    if name == "mish":
        sp = _softplus(x)
        return np.tanh(sp) + x * _sech2(sp) * _sigmoid(x)
    if name == "softplus":
        return _sigmoid(x)
    raise ValueError(f"unknown activation {name!r}")


def act_backward(name, x, dy, alpha=None):
    return _act64(dy) * act_derivative(name, x, alpha)


def softmax(x, axis=-1):
    x = _act64(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    x = _act64(x)
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax_backward(y, dy, axis=-1):
    """Jacobian-vector product through softmax, from its output y."""
    y = _act64(y)
    dy = _act64(dy)
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


def log_softmax_backward(y, dy, axis=-1):
    """Jacobian-vector product through log_softmax, from its output y."""
    y = _act64(y)
    dy = _act64(dy)
    return dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)


# ---- losses ----
# Per-sample losses of fastnn.losses in float64 (Keras semantics, eps = 1e-7), written
# independently of the kernels' formulations: log-sigmoid and log-softmax via logaddexp,
# log cosh via logaddexp.  loss_reduce applies sample weights and the reduction;
# loss_grad_fd is the float64 central-difference gradient of the reduced loss.

LOSS_EPS = 1e-7


def _loss64(a):
    return np.asarray(a, dtype=np.float64)


def _loss_log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _loss_log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return (x - m) - np.logaddexp.reduce(x - m, axis=1, keepdims=True)


def _loss_one_hot(labels, cols):
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    out = np.zeros((labels.shape[0], cols))
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def loss_rows(name, y_true, y_pred, *, from_logits=False, delta=1.0, label_smoothing=0.0):
    """Unweighted per-sample losses, float64 of shape (n,); y_pred (n, cols) or (n,)."""
    p = _loss64(y_pred)
    if p.ndim == 1:
        p = p.reshape(-1, 1)
    n, cols = p.shape
    if name == "sparse_categorical_crossentropy":
        y = _loss_one_hot(y_true, cols)
        name, label_smoothing = "categorical_crossentropy", 0.0
    else:
        y = _loss64(y_true).reshape(n, cols)
    eps = LOSS_EPS
    e = p - y
    if name == "mean_squared_error":
        return np.mean(e * e, axis=1)
    if name == "mean_absolute_error":
        return np.mean(np.abs(e), axis=1)
    if name == "huber":
        a = np.abs(e)
        return np.mean(np.where(a <= delta, 0.5 * e * e, delta * a - 0.5 * delta * delta), axis=1)
    if name == "log_cosh":
        return np.mean(np.logaddexp(e, -e) - np.log(2.0), axis=1)
    if name == "binary_crossentropy":
        t = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
        if from_logits:
            return np.mean(-(t * _loss_log_sigmoid(p) + (1.0 - t) * _loss_log_sigmoid(-p)), axis=1)
        pc = np.clip(p, eps, 1.0 - eps)
        return np.mean(-(t * np.log(pc) + (1.0 - t) * np.log(1.0 - pc)), axis=1)
    if name == "categorical_crossentropy":
        t = y * (1.0 - label_smoothing) + label_smoothing / cols
        if from_logits:
            return -np.sum(t * _loss_log_softmax(p), axis=1)
        q = np.clip(p / p.sum(axis=1, keepdims=True), eps, 1.0 - eps)
        return -np.sum(t * np.log(q), axis=1)
    if name in ("hinge", "squared_hinge"):
        yy = np.where(y == 0.0, -1.0, y)
        h = np.maximum(1.0 - yy * p, 0.0)
        return np.mean(h if name == "hinge" else h * h, axis=1)
    if name == "kl_divergence":
        yc = np.clip(y, eps, 1.0)
        pc = np.clip(p, eps, 1.0)
        return np.sum(yc * np.log(yc / pc), axis=1)
    if name == "poisson":
        return np.mean(p - y * np.log(p + eps), axis=1)
    raise ValueError(f"unknown loss {name!r}")


def loss_reduce(rows, sample_weight=None, reduction="mean"):
    """Weighted reduction: mean = sum w l / n, sum = sum w l, none = w l."""
    rows = _loss64(rows)
    w = np.ones_like(rows) if sample_weight is None else _loss64(sample_weight).reshape(-1)
    wl = w * rows
    if reduction == "none":
        return wl
    return wl.sum() / rows.shape[0] if reduction in ("mean", "sum_over_batch_size") else wl.sum()


def loss_grad_fd(name, y_true, y_pred, sample_weight=None, reduction="mean", rel_step=1e-6, abs_step=None, **kw):
    """Central-difference dL/dy_pred (float64) of the reduced loss; "none" differentiates sum w l.

    Step: max(rel_step * |p|, abs_step) with abs_step defaulting to rel_step."""
    p = _loss64(y_pred).copy()
    red = "sum" if reduction == "none" else reduction

    def f(q):
        return loss_reduce(loss_rows(name, y_true, q, **kw), sample_weight, red)

    g = np.empty_like(p)
    for idx in np.ndindex(p.shape):
        old = p[idx]
        h = max(rel_step * abs(old), rel_step if abs_step is None else abs_step)
        hi, lo = old + h, old - h
        p[idx] = hi
        fp = f(p)
        p[idx] = lo
        fm = f(p)
        p[idx] = old
        g[idx] = (fp - fm) / (hi - lo)
    return g

# ---- model reference ----
#
# A stack of Dense layers (an MLP) in float64, as fastnn's engine trains it: forward pass,
# the batch loss (mean over the batch of the weighted per-sample losses), backward pass,
# L1/L2 penalties, the clipping options of fastnn.optimizers and one optimizer step with
# the torch-rule twins above.  Parameters are a list of (kernel (in, out), bias) pairs.


def mlp_forward(x, params, activations):
    """Pre-activations and outputs of every layer: a list of (z, a)."""
    a = np.asarray(x, np.float64)
    out = []
    for (w, b), act in zip(params, activations):
        z = a @ np.asarray(w, np.float64) + np.asarray(b, np.float64)
        if act == "softmax":
            a = softmax(z)
        elif act == "log_softmax":
            a = log_softmax(z)
        else:
            a = act_forward(act or "identity", z)
        out.append((z, a))
    return out


def mlp_predict(x, params, activations):
    return mlp_forward(x, params, activations)[-1][1]


def _loss_rows(loss, z, a, y):
    """Per-sample losses and their gradient with respect to the last layer's output ``a``
    (``"mse"``, ``"sparse_ce_logits"``) or, for the fused probability cross-entropy
    (``"sparse_ce"`` after a softmax output), with respect to ``z``."""
    if loss == "mse":
        y = np.asarray(y, np.float64).reshape(a.shape)
        return np.mean((a - y) ** 2, axis=1), 2.0 * (a - y) / a.shape[1]
    if loss in ("sparse_ce_logits", "sparse_ce"):
        logits = a if loss == "sparse_ce_logits" else z
        lab = np.asarray(y, np.int64)
        onehot = np.eye(logits.shape[1])[lab]
        return -np.sum(onehot * log_softmax(logits), axis=1), softmax(logits) - onehot
    raise ValueError(f"reference: unsupported loss {loss!r}")


def mlp_loss_and_grads(x, y, params, activations, loss, sample_weight=None, l1=0.0, l2=0.0):
    """The training loss (with the L1/L2 penalty on every kernel and bias) and the
    gradients ``[(dW, db), ...]``, all in float64."""
    fw = mlp_forward(x, params, activations)
    z, a = fw[-1]
    n = a.shape[0]
    rows, d = _loss_rows(loss, z, a, y)
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    value = float(np.sum(sw * rows) / n)
    d = d * (sw / n)[:, None]
    fused = loss == "sparse_ce"
    if fused and activations[-1] != "softmax":
        raise ValueError("reference: 'sparse_ce' is the fused case and needs a softmax output")
    grads = [None] * len(params)
    for i in range(len(params) - 1, -1, -1):
        zi, _ = fw[i]
        act = activations[i] or "identity"
        if i == len(params) - 1 and fused:
            dz = d
        elif act in ("softmax", "log_softmax"):
            raise ValueError("reference: row-wise activations only as the fused output")
        else:
            dz = act_backward(act, zi, d)
        xin = np.asarray(x, np.float64) if i == 0 else fw[i - 1][1]
        grads[i] = (xin.T @ dz, dz.sum(axis=0))
        d = dz @ np.asarray(params[i][0], np.float64).T
    penalty = 0.0
    if l1 or l2:
        out = []
        for (w, b), (gw, gb) in zip(params, grads):
            w = np.asarray(w, np.float64)
            b = np.asarray(b, np.float64)
            penalty += l1 * (np.abs(w).sum() + np.abs(b).sum()) + l2 * ((w * w).sum() + (b * b).sum())
            out.append((gw + l1 * np.sign(w) + 2 * l2 * w, gb + l1 * np.sign(b) + 2 * l2 * b))
        grads = out
    return value + penalty, grads


def clip_gradients(grads, clipnorm=None, global_clipnorm=None, clipvalue=None):
    """fastnn's clipping of a list of gradient tensors, in its order: per tensor
    ``g * c / max(||g||, c)``, then all by ``c / max(||G||, c)``, then clamped to [-c, c]."""
    gs = [np.asarray(g, np.float64).copy() for g in grads]
    if clipnorm:
        gs = [g * clipnorm / max(np.sqrt(np.sum(g * g)), clipnorm) for g in gs]
    if global_clipnorm:
        norm = global_norm(*gs)
        gs = [g * global_clipnorm / max(norm, global_clipnorm) for g in gs]
    if clipvalue:
        gs = [np.clip(g, -clipvalue, clipvalue) for g in gs]
    return gs


def optimizer_init(kind, params, initial_accumulator_value=0.1):
    """Fresh optimizer state for ``optimizer_update`` (one entry per parameter tensor)."""
    zeros = [np.zeros_like(np.asarray(p, np.float64)) for p in params]
    st = {"m": [z.copy() for z in zeros], "v": [z.copy() for z in zeros], "u": [z.copy() for z in zeros],
          "mu_product": 1.0}
    if kind == "adagrad":
        st["v"] = [z + initial_accumulator_value for z in zeros]
    return st


def optimizer_update(kind, params, grads, state, t, hp):
    """One step (``t`` = 1, 2, ...) of the fastnn optimizer ``kind`` (its class name in lower
    case) with hyperparameters ``hp`` (its keyword names and defaults) over a list of
    tensors, through the torch-rule twins.  Returns the new parameters; updates ``state``."""
    lr = hp.get("learning_rate", 0.001 if kind != "sgd" else 0.01)
    wd = hp.get("weight_decay") or 0.0
    b1, b2 = hp.get("beta_1", 0.9), hp.get("beta_2", 0.999)
    eps = hp.get("epsilon", 1e-7)
    out = []
    mu_product = state["mu_product"]
    for i, (p, g) in enumerate(zip(params, grads)):
        m, v, u = state["m"][i], state["v"][i], state["u"][i]
        if kind == "sgd":
            p, m = sgd_step(p, g, m, lr=lr, momentum=hp.get("momentum", 0.0), dampening=hp.get("dampening", 0.0),
                            nesterov=hp.get("nesterov", False), weight_decay=wd, first_step=t == 1)
        elif kind == "rmsprop":
            p, v, m, u = rmsprop_step(p, g, v, m, u, lr=lr, alpha=hp.get("rho", 0.9), eps=eps, weight_decay=wd,
                                      momentum=hp.get("momentum", 0.0), centered=hp.get("centered", False))
        elif kind == "adagrad":
            p, v = adagrad_step(p, g, v, t, lr=lr, lr_decay=hp.get("lr_decay", 0.0), weight_decay=wd, eps=eps)
        elif kind == "adadelta":
            p, v, u = adadelta_step(p, g, v, u, lr=lr, rho=hp.get("rho", 0.95), eps=eps, weight_decay=wd)
        elif kind in ("adam", "adamw"):
            if kind == "adamw":
                wd = hp.get("weight_decay", 0.004)
            p, m, v, u = adam_step(p, g, m, v, u, t, lr=lr, beta1=b1, beta2=b2, eps=eps, weight_decay=wd,
                                   decoupled_weight_decay=kind == "adamw", amsgrad=hp.get("amsgrad", False))
        elif kind == "adamax":
            p, m, u = adamax_step(p, g, m, u, t, lr=lr, beta1=b1, beta2=b2, eps=eps, weight_decay=wd)
        elif kind == "nadam":
            p, m, v, new_mu = nadam_step(p, g, m, v, t, state["mu_product"], lr=lr, beta1=b1, beta2=b2, eps=eps,
                                         weight_decay=wd, momentum_decay=hp.get("momentum_decay", 4e-3))
            mu_product = new_mu
        else:
            raise ValueError(f"reference: unknown optimizer {kind!r}")
        state["m"][i], state["v"][i], state["u"][i] = m, v, u
        out.append(p)
    state["mu_product"] = mu_product
    return out


def mlp_train_step(x, y, params, activations, loss, kind, hp, state, t, sample_weight=None, l1=0.0, l2=0.0):
    """One training step of an MLP: loss, gradients, clipping (``hp``'s clipnorm,
    global_clipnorm, clipvalue), optimizer update.  Returns (loss, new params)."""
    value, grads = mlp_loss_and_grads(x, y, params, activations, loss, sample_weight, l1, l2)
    flat_p = [np.asarray(a, np.float64) for pair in params for a in pair]
    flat_g = clip_gradients([a for pair in grads for a in pair], hp.get("clipnorm"), hp.get("global_clipnorm"),
                            hp.get("clipvalue"))
    new = optimizer_update(kind, flat_p, flat_g, state, t, hp)
    return value, [(new[2 * i], new[2 * i + 1]) for i in range(len(params))]
