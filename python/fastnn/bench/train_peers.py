"""The training benchmark's peers: the same MLP trained with plain NumPy and with PyTorch.

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
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["glorot_uniform_weights", "NumpyMLP", "TorchMLP", "ADAM_DEFAULTS"]

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
