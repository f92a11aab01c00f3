"""The training benchmark's peers: the same MLP trained with plain NumPy, with PyTorch and
with scikit-learn.

Both peers train a multilayer perceptron with ReLU hidden layers and a linear output
(logits) on softmax cross-entropy with integer labels (mean over the batch), with Adam
following ``torch.optim.Adam``'s update rule::

    m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g
    p -= lr/(1-b1**t) * m / (sqrt(v)/sqrt(1-b2**t) + eps)

Each epoch visits the rows in a fresh random order (seeded) in minibatches; the last one
may be smaller. Weights are passed in as Keras-style lists ``[W1, b1, W2, b2, ...]`` with
kernels of shape ``(in, out)``, so both peers can start from the same initial values.

- :class:`NumpyMLP` is what a careful NumPy user writes: float32 throughout, ``@`` for
  the matrix products (NumPy's BLAS), in-place Adam with NumPy operations and one scratch
  buffer per parameter. It is the reference peer of ``fastnn bench train``.
- :class:`TorchMLP` is the usual eager PyTorch loop: ``nn.Sequential`` of ``nn.Linear``
  and ``nn.ReLU``, ``torch.optim.Adam`` (its default implementation), ``F.cross_entropy``,
  minibatches gathered from ``torch.from_numpy`` views with ``torch.randperm`` indices.
- :class:`SklearnMLP` is scikit-learn's ``MLPClassifier`` with the same architecture and
  Adam settings, trained by one ``partial_fit`` per epoch. It draws its own initial weights
  (scikit-learn has no public way to set them) and outputs probabilities
  (``predict_proba``); with two classes its network has one logistic output unit.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["glorot_uniform_weights", "NumpyMLP", "TorchMLP", "SklearnMLP", "ADAM_DEFAULTS"]

#: Learning rate of the one step that makes scikit-learn draw its initial weights (see
#: :meth:`SklearnMLP.start`): float32 weights do not move at all.
INIT_LR = 1e-30

ADAM_DEFAULTS = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def glorot_uniform_weights(sizes, seed) -> list:
    """Glorot-uniform kernels and zero biases for layer widths ``sizes``.

    Parameters
    ----------
    sizes : sequence of int
        Widths from the input to the output, e.g. ``(784, 512, 256, 10)``.
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    list of numpy.ndarray
        ``[W1, b1, W2, b2, ...]`` in float32; ``Wi`` has shape ``(sizes[i-1], sizes[i])``
        and entries uniform in ``±sqrt(6 / (fan_in + fan_out))``.
    """
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        out.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        out.append(np.zeros(fan_out, dtype=np.float32))
    return out


def _check_weights(weights):
    if len(weights) < 2 or len(weights) % 2:
        raise ValueError(f"weights: expected [W1, b1, W2, b2, ...], got {len(weights)} arrays")
    for i in range(0, len(weights), 2):
        w, b = weights[i], weights[i + 1]
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise ValueError(f"weights: layer {i // 2} has kernel shape {w.shape} and bias "
                             f"shape {b.shape}")


class NumpyMLP:
    """ReLU MLP with softmax cross-entropy and Adam, written in plain NumPy (float32).

    Parameters
    ----------
    weights : list of numpy.ndarray
        Initial ``[W1, b1, W2, b2, ...]`` (copied, cast to float32); kernels ``(in, out)``.
    lr, beta1, beta2, eps : float
        Adam hyperparameters (torch.optim.Adam's defaults but ``lr=1e-3``).
    seed : int
        Seed of the generator that shuffles the rows each epoch.
    """

    def __init__(self, weights, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, seed=0):
        _check_weights(weights)
        self.params = [np.array(p, dtype=np.float32, order="C") for p in weights]
        self.grads = [np.empty_like(p) for p in self.params]
        self._m = [np.zeros_like(p) for p in self.params]
        self._v = [np.zeros_like(p) for p in self.params]
        self._tmp = [np.empty_like(p) for p in self.params]
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self._rng = np.random.default_rng(seed)

    @property
    def n_layers(self) -> int:
        """Number of Dense layers."""
        return len(self.params) // 2

    def get_weights(self) -> list:
        """Copies of ``[W1, b1, W2, b2, ...]``."""
        return [p.copy() for p in self.params]

    def forward(self, x, keep=False):
        """Logits of ``x``; with ``keep=True`` also the list of layer inputs/outputs."""
        acts = [x]
        h = x
        for i in range(self.n_layers):
            z = h @ self.params[2 * i]
            z += self.params[2 * i + 1]
            if i < self.n_layers - 1:
                np.maximum(z, 0, out=z)
            if keep:
                acts.append(z)
            h = z
        return (h, acts) if keep else h

    def predict(self, X, batch_size=4096) -> np.ndarray:
        """Logits of every row of ``X``, computed ``batch_size`` rows at a time."""
        out = np.empty((X.shape[0], self.params[-1].shape[0]), dtype=np.float32)
        for i in range(0, X.shape[0], batch_size):
            out[i:i + batch_size] = self.forward(X[i:i + batch_size])
        return out

    @staticmethod
    def _softmax_xent(logits, y):
        """Mean cross-entropy (float) and its gradient with respect to the logits."""
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = float(np.mean(np.log(s[:, 0]) - z[rows, y]))
        e /= s
        e[rows, y] -= 1.0
        e *= np.float32(1.0 / len(y))
        return loss, e

    def loss(self, X, y) -> float:
        """Mean softmax cross-entropy of ``X`` against integer labels ``y``, in float32."""
        return self._softmax_xent(self.forward(X), y)[0]

    def train_step(self, xb, yb) -> float:
        """One forward/backward pass and Adam step on a minibatch; returns its loss."""
        logits, acts = self.forward(xb, keep=True)
        loss, g = self._softmax_xent(logits, yb)
        for i in reversed(range(self.n_layers)):
            a = acts[i]
            np.matmul(a.T, g, out=self.grads[2 * i])
            np.sum(g, axis=0, out=self.grads[2 * i + 1])
            if i > 0:
                g = g @ self.params[2 * i].T
                g *= a > 0
        self._adam()
        return loss

    def _adam(self):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step = self.lr / (1.0 - b1 ** self.t)
        sqrt_bc2 = math.sqrt(1.0 - b2 ** self.t)
        for p, g, m, v, tmp in zip(self.params, self.grads, self._m, self._v, self._tmp):
            m *= b1
            np.multiply(g, 1.0 - b1, out=tmp)
            m += tmp
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1.0 - b2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= sqrt_bc2
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step
            p -= tmp

    def train_epoch(self, X, y, batch_size) -> float:
        """One epoch over ``X`` in shuffled minibatches; returns the mean batch loss."""
        order = self._rng.permutation(X.shape[0])
        total, count = 0.0, 0
        for i in range(0, X.shape[0], batch_size):
            idx = order[i:i + batch_size]
            total += self.train_step(X[idx], y[idx])
            count += 1
        return total / max(count, 1)


class TorchMLP:
    """The same network and optimizer in eager PyTorch (float32).

    Parameters
    ----------
    torch : module
        The imported ``torch`` (an optional dependency, imported by the caller).
    weights : list of numpy.ndarray
        Initial ``[W1, b1, W2, b2, ...]``, kernels ``(in, out)`` (copied into
        ``nn.Linear``, whose weight is ``(out, in)``).
    lr, beta1, beta2, eps : float
        ``torch.optim.Adam`` hyperparameters.
    seed : int
        Seed of the ``torch.Generator`` behind ``torch.randperm``.
    """

    def __init__(self, torch, weights, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, seed=0):
        _check_weights(weights)
        nn = torch.nn
        mods = []
        n_layers = len(weights) // 2
        for i in range(n_layers):
            w, b = weights[2 * i], weights[2 * i + 1]
            lin = nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T, dtype=np.float32)))
                lin.bias.copy_(torch.from_numpy(np.asarray(b, dtype=np.float32)))
            mods.append(lin)
            if i < n_layers - 1:
                mods.append(nn.ReLU())
        self.torch = torch
        self.model = nn.Sequential(*mods)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr, betas=(beta1, beta2),
                                          eps=eps)
        self._gen = torch.Generator().manual_seed(int(seed))
        self._n_out = weights[-1].shape[0]

    def get_weights(self) -> list:
        """``[W1, b1, ...]`` as NumPy float32 copies, kernels ``(in, out)``."""
        out = []
        for mod in self.model:
            if isinstance(mod, self.torch.nn.Linear):
                out.append(mod.weight.detach().numpy().T.copy())
                out.append(mod.bias.detach().numpy().copy())
        return out

    def train_epoch(self, X, y, batch_size) -> float:
        """One epoch over ``X`` (NumPy arrays, shared with torch) in shuffled minibatches;
        returns the mean batch loss."""
        torch = self.torch
        F = torch.nn.functional
        xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        order = torch.randperm(xt.shape[0], generator=self._gen)
        model, opt = self.model, self.optimizer
        model.train()
        total, count = 0.0, 0
        for i in range(0, xt.shape[0], batch_size):
            idx = order[i:i + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item()
            count += 1
        return total / max(count, 1)

    def predict(self, X, batch_size=4096) -> np.ndarray:
        """Logits of every row of ``X`` (``torch.inference_mode``), ``batch_size`` rows at
        a time."""
        torch = self.torch
        xt = torch.from_numpy(X)
        out = np.empty((X.shape[0], self._n_out), dtype=np.float32)
        ot = torch.from_numpy(out)
        self.model.eval()
        with torch.inference_mode():
            for i in range(0, xt.shape[0], batch_size):
                ot[i:i + batch_size] = self.model(xt[i:i + batch_size])
        return out


class SklearnMLP:
    """scikit-learn's ``MLPClassifier`` (relu, adam, no L2 penalty), one ``partial_fit`` an
    epoch.

    Parameters
    ----------
    MLPClassifier : type
        scikit-learn's class (an optional dependency, imported by the caller).
    hidden : sequence of int
        Hidden layer widths.
    n_classes : int
        Number of classes; the labels are ``0 .. n_classes - 1``.
    batch_size : int
        Minibatch size.
    lr, beta1, beta2, eps : float
        Adam hyperparameters (``learning_rate_init``, ``beta_1``, ``beta_2``, ``epsilon``;
        scikit-learn adds ``epsilon`` to ``sqrt(v)`` rather than to the bias-corrected
        ``sqrt(v_hat)``, a difference of the order of ``epsilon``).
    seed : int
        ``random_state``: seeds the initial weights and the shuffles. scikit-learn reseeds
        its generator from it on every ``partial_fit``, so every epoch after the first
        visits the rows in the same order.

    Notes
    -----
    float32 input is trained and predicted in float32. The model is created by
    :meth:`start`, which must be called before :meth:`predict`.
    """

    outputs = "proba"

    def __init__(self, MLPClassifier, hidden, n_classes, *, batch_size, lr=1e-3, beta1=0.9,
                 beta2=0.999, eps=1e-8, seed=0):
        self.model = MLPClassifier(hidden_layer_sizes=tuple(hidden), activation="relu",
                                   solver="adam", alpha=0.0, batch_size=int(batch_size),
                                   learning_rate_init=lr, beta_1=beta1, beta_2=beta2,
                                   epsilon=eps, shuffle=True, random_state=seed)
        self.classes = np.arange(n_classes)
        self.n_classes = int(n_classes)
        self._current = None   # the estimator predict() and get_weights() read

    def start(self, X, y):
        """Make the initial model available to :meth:`predict` without training.

        scikit-learn draws its weights in the first ``partial_fit``. A clone of the model
        (same ``random_state``, data shape and classes, hence the same initial weights)
        takes one Adam step with learning rate :data:`INIT_LR` on the first minibatch:
        each weight moves by at most about ``INIT_LR``, which leaves float32 values
        unchanged.
        """
        from sklearn.base import clone

        init = clone(self.model).set_params(learning_rate_init=INIT_LR)
        b = self.model.batch_size
        init.partial_fit(X[:b], y[:b], classes=self.classes)
        self._current = init

    def train_epoch(self, X, y, batch_size=None) -> float:
        """One ``partial_fit`` over ``X`` (the batch size is the estimator's); returns
        scikit-learn's ``loss_`` (mean batch loss of the epoch)."""
        self.model.partial_fit(X, y, classes=self.classes)
        self._current = self.model
        return float(self.model.loss_)

    def predict(self, X, batch_size=4096) -> np.ndarray:
        """Class probabilities of every row of ``X`` (``predict_proba``), ``batch_size``
        rows at a time."""
        if self._current is None:
            raise RuntimeError("SklearnMLP: call start() or train_epoch() first")
        proba = self._current.predict_proba
        first = proba(X[:batch_size])
        out = np.empty((X.shape[0], first.shape[1]), dtype=first.dtype)
        out[:len(first)] = first
        for i in range(batch_size, X.shape[0], batch_size):
            out[i:i + batch_size] = proba(X[i:i + batch_size])
        return out

    def get_weights(self) -> list:
        """``[W1, b1, ...]`` (copies, kernels ``(in, out)``) of a network with one logit per
        class: with two classes scikit-learn's single logistic unit ``z`` becomes the
        logits ``(0, z)``, whose softmax is its ``(1 - sigmoid(z), sigmoid(z))``."""
        est = self._current
        out = []
        for w, b in zip(est.coefs_, est.intercepts_):
            out += [np.array(w), np.array(b)]
        if self.n_classes == 2 and out[-1].shape == (1,):
            w, b = out[-2], out[-1]
            out[-2] = np.concatenate([np.zeros_like(w), w], axis=1)
            out[-1] = np.concatenate([np.zeros_like(b), b])
        return out
