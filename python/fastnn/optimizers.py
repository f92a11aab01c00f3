"""Optimizers: each step is one fused native pass over the model's flat parameter buffer.

Every update rule is ``torch.optim``'s for the same hyperparameters (written out in each
class); keyword names and defaults follow Keras (``learning_rate``, ``beta_1``, ``beta_2``,
``epsilon``, ``rho``). Deliberate differences from Keras are named in each docstring; the
main one: ``weight_decay`` is torch's (an L2 term added to the gradient) for every optimizer
except :class:`AdamW` (decoupled), where Keras 3 decouples it everywhere.

Common options (all optimizers), applied in this order before the update:

* ``clipnorm``: each parameter tensor's gradient ``g`` becomes ``g * c / max(||g||, c)``;
* ``global_clipnorm``: all gradients scaled by ``c / max(||G||, c)``, ``||G||`` the norm
  over every trainable tensor (computed in a fixed order: independent of the thread count);
* ``clipvalue``: each gradient element clamped to ``[-c, c]``.

``learning_rate`` is a float or a :mod:`fastnn.schedules` schedule (stepped per batch, or per
epoch for schedules built with ``unit="epoch"``). The optimizer state (``state``,
``iterations``) is inspectable and saved with the model.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from fastnn import _core

__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Adamax", "Nadam", "get",
           "serialize"]


def _num(name, v, *, lo=0.0, hi=math.inf, lo_open=False, hi_open=False, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
        raise ValueError(f"{name}: expected a finite number, got {v!r}")
    v = float(v)
    if v < lo or (lo_open and v == lo) or v > hi or (hi_open and v == hi):
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        raise ValueError(f"{name}: must be in {lb}{lo}, {hi}{rb}, got {v!r}")
    return v


class Optimizer:
    """Base class: learning rate, clipping options, state and serialization.

    Parameters
    ----------
    learning_rate : float or LearningRateSchedule
    weight_decay : float, optional
        See each optimizer (torch semantics).
    clipnorm, clipvalue, global_clipnorm : float, optional
        Gradient clipping (see the module docstring); ``None`` is off.
    name : str, optional
    """

    _kind = None
    _slots: tuple = ()

    def __init__(self, learning_rate=0.001, *, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None):
        self.learning_rate = learning_rate
        self.weight_decay = _num("weight_decay", weight_decay, allow_none=True)
        self.clipnorm = _num("clipnorm", clipnorm, lo_open=True, allow_none=True)
        self.clipvalue = _num("clipvalue", clipvalue, lo_open=True, allow_none=True)
        self.global_clipnorm = _num("global_clipnorm", global_clipnorm, lo_open=True, allow_none=True)
        self.name = name or type(self).__name__.lower()
        self._engine = None

    # -- learning rate -------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The learning rate: a float, or the schedule given at construction."""
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        from fastnn import schedules

        if isinstance(value, schedules.LearningRateSchedule):
            self._lr = value
            return
        self._lr = _num("learning_rate", value)

    def current_learning_rate(self, epoch=0):
        """The learning rate of the next step (at epoch ``epoch`` for per-epoch schedules)."""
        lr = self._lr
        if isinstance(lr, float):
            return lr
        step = epoch if getattr(lr, "unit", "batch") == "epoch" else self.iterations
        return float(lr(step))

    def _learning_rates(self, n_batches, epoch):
        """Learning rate of each of the next ``n_batches`` steps (float64 array)."""
        lr = self._lr
        if isinstance(lr, float):
            return np.full(n_batches, lr)
        if getattr(lr, "unit", "batch") == "epoch":
            return np.full(n_batches, float(lr(epoch)))
        return np.ascontiguousarray(lr.values(self.iterations, n_batches), dtype=np.float64)

    # -- state ---------------------------------------------------------------------------
    @property
    def iterations(self):
        """Number of optimizer steps taken."""
        return int(self._engine.iterations) if self._engine is not None else 0

    @property
    def state(self):
        """Optimizer state: ``{slot name: flat array}`` (views laid out like the model's
        flat parameter buffer; see ``Model.weight_layout``)."""
        if self._engine is None:
            return {}
        return dict(zip(self._slot_names(), self._engine.opt_state))

    def _slot_names(self):
        return list(self._slots)

    def _spec(self):
        s = _core.OptSpec()
        s.kind = self._kind
        s.weight_decay = self.weight_decay or 0.0
        s.clipnorm = self.clipnorm or 0.0
        s.clipvalue = self.clipvalue or 0.0
        s.global_clipnorm = self.global_clipnorm or 0.0
        self._fill(s)
        return s

    def _fill(self, s):
        raise NotImplementedError

    # -- serialization -------------------------------------------------------------------
    def get_config(self):
        from fastnn import schedules

        lr = self._lr
        cfg = {"learning_rate": lr if isinstance(lr, float) else schedules.serialize(lr), "name": self.name,
               "weight_decay": self.weight_decay, "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
               "global_clipnorm": self.global_clipnorm}
        cfg.update(self._extra_config())
        return cfg

    def _extra_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        from fastnn import schedules

        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = schedules.get(lr)
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None and k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with momentum and Nesterov momentum (``torch.optim.SGD``).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.01
    momentum : float, default 0.0
    nesterov : bool, default False
    dampening : float, default 0.0
    weight_decay : float, optional
        L2 penalty ``lambda`` added to the gradient.

    Notes
    -----
    With gradient ``g``, parameters ``theta`` and buffer ``b`` (step t = 1, 2, ...)::

        g = g + lambda * theta
        b = g                         (t == 1)
        b = mu * b + (1 - tau) * g    (t > 1)
        g = g + mu * b  (nesterov)  else  g = b      (when mu != 0)
        theta = theta - lr * g
    """

    _kind = 0
    _slots = ("momentum",)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, dampening=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = _num("momentum", momentum)
        self.nesterov = bool(nesterov)
        self.dampening = _num("dampening", dampening, hi=1.0)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("nesterov: needs momentum > 0 and dampening == 0")

    def _slot_names(self):
        return ["momentum"] if self.momentum != 0 else []

    def _fill(self, s):
        s.momentum, s.nesterov, s.dampening = self.momentum, self.nesterov, self.dampening

    def _extra_config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov, "dampening": self.dampening}


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop`` with ``alpha = rho``).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001
    rho : float, default 0.9
    momentum : float, default 0.0
    epsilon : float, default 1e-7
    centered : bool, default False

    Notes
    -----
    ::

        g = g + lambda * theta
        v = rho * v + (1 - rho) * g^2
        a = g_avg = rho * g_avg + (1 - rho) * g;  v~ = v - a^2   (centered)   else v~ = v
        b = mu * b + g / (sqrt(v~) + eps);  theta -= lr * b        (mu > 0)
        theta -= lr * g / (sqrt(v~) + eps)                         (mu == 0)

    Keras puts ``epsilon`` inside the square root; torch (and fastnn) outside.
    """

    _kind = 1

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = _num("rho", rho, hi=1.0, hi_open=True)
        self.momentum = _num("momentum", momentum)
        self.epsilon = _num("epsilon", epsilon)
        self.centered = bool(centered)

    def _slot_names(self):
        return ["square_avg"] + (["momentum_buffer"] if self.momentum else []) + (["grad_avg"] if self.centered else [])

    def _fill(self, s):
        s.rho, s.momentum, s.eps, s.centered = self.rho, self.momentum, self.epsilon, self.centered

    def _extra_config(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad (``torch.optim.Adagrad``).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001
    initial_accumulator_value : float, default 0.1
    epsilon : float, default 1e-7
    lr_decay : float, default 0.0

    Notes
    -----
    ::

        g = g + lambda * theta
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s = s + g^2                       (s starts at initial_accumulator_value)
        theta = theta - lr_t * g / (sqrt(s) + eps)
    """

    _kind = 2
    _slots = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, lr_decay=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = _num("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = _num("epsilon", epsilon)
        self.lr_decay = _num("lr_decay", lr_decay)

    def _fill(self, s):
        s.initial_accumulator_value, s.eps, s.lr_decay = self.initial_accumulator_value, self.epsilon, self.lr_decay

    def _extra_config(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon,
                "lr_decay": self.lr_decay}


class Adadelta(Optimizer):
    """Adadelta (``torch.optim.Adadelta``).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001 (Keras's; torch uses 1.0)
    rho : float, default 0.95
    epsilon : float, default 1e-7

    Notes
    -----
    ::

        g = g + lambda * theta
        v = rho * v + (1 - rho) * g^2
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d^2
        theta = theta - lr * d
    """

    _kind = 3
    _slots = ("square_avg", "acc_delta")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = _num("rho", rho, hi=1.0)
        self.epsilon = _num("epsilon", epsilon)

    def _fill(self, s):
        s.rho, s.eps = self.rho, self.epsilon

    def _extra_config(self):
        return {"rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``), optionally AMSGrad.

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001
    beta_1, beta_2 : float, default 0.9, 0.999
    epsilon : float, default 1e-7 (Keras's; torch uses 1e-8)
    amsgrad : bool, default False
    weight_decay : float, optional
        L2 penalty added to the gradient (torch's Adam; use :class:`AdamW` for decoupled).

    Notes
    -----
    ::

        g = g + lambda * theta
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g^2
        v^ = max(v^, v) (amsgrad)   else v^ = v
        theta = theta - lr * (m / (1 - beta_1^t)) / (sqrt(v^ / (1 - beta_2^t)) + eps)
    """

    _kind = 4
    _decoupled = False

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _num("beta_1", beta_1, hi=1.0, hi_open=True)
        self.beta_2 = _num("beta_2", beta_2, hi=1.0, hi_open=True)
        self.epsilon = _num("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def _slot_names(self):
        return ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if self.amsgrad else [])

    def _fill(self, s):
        s.beta1, s.beta2, s.eps, s.amsgrad = self.beta_1, self.beta_2, self.epsilon, self.amsgrad
        s.decoupled_weight_decay = self._decoupled

    def _extra_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001
    weight_decay : float, default 0.004 (Keras's; torch uses 0.01)
    beta_1, beta_2, epsilon, amsgrad
        As :class:`Adam`.

    Notes
    -----
    ::

        theta = theta * (1 - lr * lambda)
        then the Adam step of :class:`Adam` without the L2 term.
    """

    _decoupled = True

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)


class Adamax(Optimizer):
    """Adamax, Adam with the infinity norm (``torch.optim.Adamax``).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001
    beta_1, beta_2 : float, default 0.9, 0.999
    epsilon : float, default 1e-7

    Notes
    -----
    ::

        g = g + lambda * theta
        m = beta_1 * m + (1 - beta_1) * g
        u = max(beta_2 * u, |g| + eps)
        theta = theta - lr / (1 - beta_1^t) * m / u
    """

    _kind = 5
    _slots = ("exp_avg", "exp_inf")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _num("beta_1", beta_1, hi=1.0, hi_open=True)
        self.beta_2 = _num("beta_2", beta_2, hi=1.0, hi_open=True)
        self.epsilon = _num("epsilon", epsilon)

    def _fill(self, s):
        s.beta1, s.beta2, s.eps = self.beta_1, self.beta_2, self.epsilon

    def _extra_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum (``torch.optim.NAdam``).

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001
    beta_1, beta_2 : float, default 0.9, 0.999
    epsilon : float, default 1e-7
    momentum_decay : float, default 0.004 (torch's psi)

    Notes
    -----
    ::

        g = g + lambda * theta
        mu_t = beta_1 * (1 - 0.5 * 0.96^(t * psi)),  mu_{t+1} likewise
        m = beta_1 * m + (1 - beta_1) * g;   v = beta_2 * v + (1 - beta_2) * g^2
        theta = theta - lr * (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g / (sqrt(v^) + eps)
                      - lr * mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m / (sqrt(v^) + eps)
        with v^ = v / (1 - beta_2^t)

    Keras's Nadam uses a slightly different momentum schedule; fastnn follows torch.
    """

    _kind = 6
    _slots = ("exp_avg", "exp_avg_sq")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, momentum_decay=0.004, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _num("beta_1", beta_1, hi=1.0, hi_open=True)
        self.beta_2 = _num("beta_2", beta_2, hi=1.0, hi_open=True)
        self.epsilon = _num("epsilon", epsilon)
        self.momentum_decay = _num("momentum_decay", momentum_decay)

    def _fill(self, s):
        s.beta1, s.beta2, s.eps, s.momentum_decay = self.beta_1, self.beta_2, self.epsilon, self.momentum_decay

    def _extra_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "momentum_decay": self.momentum_decay}


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adadelta": Adadelta, "adam": Adam,
            "adamw": AdamW, "adamax": Adamax, "nadam": Nadam}
_CLASSES = {c.__name__: c for c in _BY_NAME.values()}


def get(identifier):
    """An optimizer from an instance, a name ("adam", "sgd", ...) or a serialized dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower()) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"optimizer: unknown name {identifier!r}; expected one of {sorted(_BY_NAME)}")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _CLASSES.get(identifier["class_name"]) or _BY_NAME.get(str(identifier["class_name"]).lower())
        if cls is None:
            raise ValueError(f"optimizer: unknown class {identifier['class_name']!r}")
        return cls.from_config(identifier.get("config", {}))
    raise TypeError(f"optimizer: expected an Optimizer, a name or a config dict, got {type(identifier).__name__}")


def serialize(opt):
    """``{"class_name": ..., "config": ...}`` for :func:`get`."""
    return {"class_name": type(opt).__name__, "config": opt.get_config()}
