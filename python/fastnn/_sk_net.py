"""The fastnn network behind :mod:`fastnn.sklearn`'s estimators: building it, the optimizer,
one training epoch on the native engine with scikit-learn's per-batch L2 penalty, the
L-BFGS objective, and (de)serialization for pickling.

scikit-learn adds ``0.5 * alpha * ||W||^2 / b`` to the mean loss of a batch of ``b`` rows
(kernels only). fastnn's ``L2(l2)`` adds ``l2 * ||W||^2`` to every batch, so the network's
kernels carry ``L2(0.5 * alpha / B)`` for the full batches of size ``B``; a last, smaller
batch of ``r`` rows runs on a twin engine (same network and optimizer, kernels regularized
with ``0.5 * alpha / r``) that the weights and optimizer state are copied into and back
from. The objective is then scikit-learn's for every batch.
"""
from __future__ import annotations

import numpy as np

from fastnn import _core, _graph
from fastnn import layers as L
from fastnn import losses as _losses
from fastnn import optimizers as _opt
from fastnn import regularizers as _reg

_MAX_TWINS = 4


def build(n_in, hidden, activation, n_out, *, dtype, seed, dropout, batch_norm, l2):
    """A built Sequential: Dense hidden layers (optionally batch-normalized before the
    activation, optionally followed by dropout) and a linear output layer (logits)."""
    from fastnn.model import Sequential

    reg = _reg.L2(l2) if l2 > 0 else None
    stack = [L.Input(int(n_in))]
    for h in hidden:
        if batch_norm:
            stack += [L.Dense(h, kernel_regularizer=reg), L.BatchNormalization(momentum=0.9),
                      L.Activation(activation)]
        else:
            stack.append(L.Dense(h, activation=activation, kernel_regularizer=reg))
        if dropout > 0:
            stack.append(L.Dropout(dropout))
    stack.append(L.Dense(n_out, kernel_regularizer=reg))
    model = Sequential(stack, dtype=dtype, seed=seed)
    model.build()
    return model


def dense_layers(model):
    """The Dense layers of ``model`` in order (their kernels are ``coefs_``)."""
    return [layer for layer in model.layers if isinstance(layer, L.Dense)]


def loss_for(task, n_out):
    """(fastnn loss, training weight, reporting weight) giving scikit-learn's loss.

    Multiclass: mean cross-entropy of the softmax; binary and multilabel: binary
    cross-entropy summed over the outputs (fastnn averages them, hence the weight
    ``n_out``). Regression: scikit-learn's gradient is that of half the squared error
    summed over the outputs (weight ``0.5 * n_out`` on fastnn's mean over outputs) while
    its ``loss_`` reports half the squared error averaged over them (weight 0.5); the
    two differ for multi-output regression only.
    """
    if task == "multiclass":
        return _losses.SparseCategoricalCrossentropy(from_logits=True), 1.0, 1.0
    if task in ("binary", "multilabel"):
        return _losses.BinaryCrossentropy(from_logits=True), float(n_out), float(n_out)
    return _losses.MeanSquaredError(), 0.5 * n_out, 0.5


def make_optimizer(p):
    """The fastnn optimizer for a validated parameter namespace (see ``_sk_params``)."""
    lr = p.lr_schedule if p.lr_schedule is not None else p.learning_rate_init
    common = {"clipnorm": p.clipnorm, "global_clipnorm": p.global_clipnorm}
    if p.weight_decay is not None:
        common["weight_decay"] = p.weight_decay
    s = p.solver
    if s in ("sgd", "lbfgs"):
        mom = p.momentum if s == "sgd" else 0.0
        return _opt.SGD(lr, momentum=mom, nesterov=bool(p.nesterov and mom > 0), **common)
    if s in ("adam", "adamw"):
        cls = _opt.Adam if s == "adam" else _opt.AdamW
        return cls(lr, beta_1=p.beta_1, beta_2=p.beta_2, epsilon=p.epsilon, **common)
    if s == "adamax":
        return _opt.Adamax(lr, beta_1=p.beta_1, beta_2=p.beta_2, epsilon=p.epsilon, **common)
    if s == "nadam":
        return _opt.Nadam(lr, beta_1=p.beta_1, beta_2=p.beta_2, epsilon=p.epsilon, **common)
    if s == "rmsprop":
        return _opt.RMSprop(lr, epsilon=p.epsilon, **common)
    if s == "adagrad":
        return _opt.Adagrad(lr, epsilon=p.epsilon, **common)
    return _opt.Adadelta(lr, epsilon=p.epsilon, **common)


def compile_net(model, task, n_out, optimizer):
    """Compile with the task's loss; resets the optimizer state."""
    loss, weight, _ = loss_for(task, n_out)
    model.compile(optimizer=optimizer, loss=loss, loss_weights=[weight])


def penalty(model):
    """The kernels' L2 penalty ``l2 * sum ||W||^2`` of the network (float64)."""
    l2 = net_l2(model)
    return l2 * sum(float(np.sum(np.square(layer.kernel, dtype=np.float64))) for layer in dense_layers(model))


def net_l2(model):
    """The L2 factor the network's kernels carry (0.0 when none)."""
    reg = dense_layers(model)[0].kernel_regularizer
    return float(reg.l2) if reg is not None else 0.0


# -- twin engines ------------------------------------------------------------------------
def _twin(model, l2):
    nodes, params, _ = _graph.build_specs(model._inputs, model._nodes, model._layout, model.seed)
    for ps, (layer, d, _off) in zip(params, model._layout.entries):
        if isinstance(layer, L.Dense) and d.name == "kernel":
            ps.l2 = float(l2)
    eng = type(model._engine)(nodes, [t.width for t in model._inputs], params, model._layout.n_params,
                              model._layout.n_state, model._output_specs, _core.OptSpec())
    eng.set_opt(model.optimizer._spec())
    return eng


def _copy_engine(src, dst):
    dst.params[...] = src.params
    dst.state[...] = src.state
    for a, b in zip(dst.opt_state, src.opt_state):
        a[...] = b
    dst.iterations = src.iterations
    dst.nadam_mu_product = src.nadam_mu_product


def engine_for(model, twins, l2):
    """The engine whose kernels carry ``L2(l2)``: the model's own, or a cached twin."""
    if l2 == net_l2(model):
        return model._engine
    eng = twins.pop(l2, None)
    if eng is None:
        eng = _twin(model, l2)
    twins[l2] = eng  # most recently used last
    while len(twins) > _MAX_TWINS:
        twins.pop(next(iter(twins)))
    return eng


# -- training ----------------------------------------------------------------------------
class EpochData:
    """Training arrays converted once for the native loop."""

    def __init__(self, model, X, targets, labels, sample_weight):
        self.xs = [X]
        self.ys = [targets if targets is not None else np.empty(0, dtype=model.dtype)]
        self.labels = [labels if labels is not None else np.empty(0, dtype=np.int64)]
        self.sw = sample_weight
        self.n = X.shape[0]


def run_epoch(model, twins, data, order, batch_size, lrs, l2_full, l2_last, report_shift=0.0):
    """One pass over ``data`` in ``order`` (batches of ``batch_size``); returns the mean
    training loss with penalties (scikit-learn's ``loss_``).

    ``l2_full`` and ``l2_last`` are the kernel L2 factors of the full batches and of a
    last smaller one; ``lrs`` holds one learning rate per batch. ``report_shift`` is the
    training loss weight minus the reporting one (see :func:`loss_for`).
    """
    n = data.n
    nb = -(-n // batch_size)
    n_full = n // batch_size
    if n_full == nb or l2_full == l2_last:
        segments = [(0, nb, l2_full)]
    else:
        segments = ([(0, n_full, l2_full)] if n_full else []) + [(n_full, nb, l2_last)]
    main = model._engine
    total = 0.0
    interrupted = False
    for b0, b1, l2 in segments:
        eng = engine_for(model, twins, l2)
        if eng is not main:
            _copy_engine(main, eng)
        st = eng.run_epoch(data.xs, data.ys, data.labels, data.sw, order, batch_size, b0, b1,
                           np.ascontiguousarray(lrs[b0:b1], dtype=np.float64), [None], False, False, None)
        if eng is not main:
            _copy_engine(eng, main)
        total += st["loss_sum"] - report_shift * float(st["output_loss_sum"][0])
        err = st.get("error")
        if st["interrupted"] or isinstance(err, KeyboardInterrupt):
            interrupted = True
            break
        if err is not None:
            raise err
    if interrupted:
        raise KeyboardInterrupt
    return total / n


def learning_rates(model, schedule, n_batches, epoch, lr):
    """One learning rate per batch: ``lr`` throughout, or the schedule's values (stepped
    by optimizer updates, or by ``epoch`` for ``unit="epoch"`` schedules)."""
    if schedule is None:
        return np.full(n_batches, float(lr))
    if getattr(schedule, "unit", "batch") == "epoch":
        return np.full(n_batches, float(schedule(epoch)))
    return schedule.values(int(model._engine.iterations), n_batches)


def predict(model, X):
    """Raw outputs (logits for classifiers) of the network for an already validated X."""
    return model.predict(np.ascontiguousarray(X, dtype=model.dtype))


# -- L-BFGS ------------------------------------------------------------------------------
def lbfgs(model, data, max_iter, max_fun, tol, verbose):
    """Minimize the full-batch loss (with penalties) over the trainable parameters with
    scipy's L-BFGS-B, using the native loss and gradient; returns scipy's result."""
    import scipy.optimize

    eng = model._engine
    idx = np.concatenate([np.arange(off, off + d.size) for layer, d, off in model._layout.entries
                          if layer.trainable and d.trainable]) if model._layout.entries else np.zeros(0, np.int64)
    P, G = eng.params, eng.grads
    calls = [0]

    def fun(x):
        P[idx] = x
        loss = eng.compute_gradients(data.xs, data.ys, data.labels, data.sw, data.n, 0, None)
        calls[0] += 1
        return loss, np.asarray(G[idx], dtype=np.float64)

    def progress(intermediate_result):
        if verbose:
            print(f"Iteration {progress.it}, loss = {float(intermediate_result.fun):.8f}")
        progress.it += 1

    progress.it = 1
    x0 = np.asarray(P[idx], dtype=np.float64)
    res = scipy.optimize.minimize(fun, x0, method="L-BFGS-B", jac=True, callback=progress,
                                  options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol})
    P[idx] = res.x
    return res


# -- pickling ----------------------------------------------------------------------------
def dump(model):
    """The network as plain data: its configuration and copies of its buffers."""
    from fastnn import io

    eng = model._engine
    return {"config": io.model_config(model), "params": np.array(eng.params), "state": np.array(eng.state),
            "opt_state": [np.array(a) for a in eng.opt_state], "iterations": int(eng.iterations),
            "nadam_mu_product": float(eng.nadam_mu_product)}


def load(blob):
    """Rebuild a network written by :func:`dump` (weights, statistics and optimizer state)."""
    from fastnn import io

    model = io.model_from_config(blob["config"])
    eng = model._engine
    eng.params[...] = blob["params"]
    eng.state[...] = blob["state"]
    if len(eng.opt_state) == len(blob["opt_state"]):
        for a, b in zip(eng.opt_state, blob["opt_state"]):
            a[...] = b
        eng.iterations = int(blob["iterations"])
        eng.nadam_mu_product = float(blob["nadam_mu_product"])
    return model
