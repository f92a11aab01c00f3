"""The training logic shared by :class:`fastnn.sklearn.MLPClassifier` and
:class:`fastnn.sklearn.MLPRegressor`: scikit-learn's initialization, random-number stream,
validation split, stopping rules, learning-rate rules and fitted attributes, with the
epochs run by fastnn's native engine (see ``_sk_net``)."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from fastnn import _sk_net, _sk_params
from fastnn.schedules import PowerDecay

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _sk_validate_data(est, *args, **kwargs):
        return est._validate_data(*args, **kwargs)

def _net_layout(p):
    """The hyperparameters a stochastic solver's network is built with besides its sizes."""
    return (p.activation, p.dropout, p.batch_norm)


class _OptimizerState:
    """What scikit-learn keeps in ``_optimizer`` besides the native state: the current
    learning rate (changed by ``invscaling`` and ``adaptive``) and the epoch count (for
    per-epoch schedules)."""

    def __init__(self, learning_rate):
        self.learning_rate = float(learning_rate)
        self.epoch = 0


def _dense(X):
    return X.toarray() if hasattr(X, "toarray") else X


class BaseMLP(BaseEstimator):
    """Shared implementation (not public)."""

    _regressor = False

    # -- data --------------------------------------------------------------------------
    def _validate_X(self, X, reset):
        X = _sk_validate_data(self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=reset)
        return _dense(X)

    def _sample_weight(self, sample_weight, n):
        if sample_weight is None:
            return None
        if np.isscalar(sample_weight) and not isinstance(sample_weight, (str, bytes)):
            sw = np.full(n, float(sample_weight))
        else:
            sw = np.asarray(sample_weight, dtype=np.float64)
            if sw.ndim != 1:
                raise ValueError(f"sample_weight: expected a 1-D array of shape ({n},), got shape {sw.shape}")
            if sw.shape[0] != n:
                raise ValueError(f"sample_weight.shape == {sw.shape}, expected ({n},)!")
        if not np.isfinite(sw).all() or (sw < 0).any():
            raise ValueError("sample_weight: weights must be finite and >= 0")
        if not sw.sum() > 0:
            raise ValueError("sample_weight: the weights must not all be zero")
        return sw

    # -- the network -------------------------------------------------------------------
    def _net_dtype(self, p):
        return np.dtype(np.float64) if p.solver == "lbfgs" else p.dtype

    def _new_net(self, p, layer_units, first_pass, l2):
        """A fresh network for this fit, holding the current weights (``coefs_`` at the
        first pass, else everything the previous network held)."""
        dt = self._net_dtype(p)
        seed = int(self._random_state.randint(np.iinfo(np.int32).max)) if p.dropout > 0 else 0
        net = _sk_net.build(layer_units[0], p.hidden, p.activation, layer_units[-1], dtype=dt, seed=seed,
                            dropout=p.dropout, batch_norm=p.batch_norm, l2=l2)
        old = getattr(self, "_net", None)
        if first_pass or old is None:
            self._load_coefs(net, self.coefs_, self.intercepts_)
        else:
            self._sync_params()
            ow = old.get_weights()
            nw = net.get_weights()
            if len(ow) == len(nw) and all(a.shape == b.shape for a, b in zip(ow, nw)):
                net.set_weights(ow)
            else:
                self._load_coefs(net, self.coefs_, self.intercepts_)
        self._set_net(net)
        return net

    @staticmethod
    def _load_coefs(net, coefs, intercepts):
        dense = _sk_net.dense_layers(net)
        if len(coefs) != len(dense) or len(intercepts) != len(dense):
            raise ValueError(f"coefs_/intercepts_: expected {len(dense)} layers, got {len(coefs)} and "
                             f"{len(intercepts)} (hidden_layer_sizes changed after fitting?)")
        for layer, c, b in zip(dense, coefs, intercepts):
            c, b = np.asarray(c), np.asarray(b)
            if c.shape != layer.kernel.shape or b.shape != layer.bias.shape:
                raise ValueError(f"coefs_/intercepts_: a layer of shape {layer.kernel.shape} cannot take weights "
                                 f"of shape {c.shape} and {b.shape} (architecture changed after fitting?)")
            layer.kernel[...] = c
            layer.bias[...] = b

    def _set_net(self, net):
        self._net = net
        self._twins = {}
        dense = _sk_net.dense_layers(net)
        self.coefs_ = [layer.kernel for layer in dense]
        self.intercepts_ = [layer.bias for layer in dense]

    def _sync_params(self):
        """Write ``coefs_``/``intercepts_`` entries the user replaced into the network."""
        dense = _sk_net.dense_layers(self._net)
        for name, attr in (("coefs_", "kernel"), ("intercepts_", "bias")):
            cur = getattr(self, name)
            views = [getattr(layer, attr) for layer in dense]
            if len(cur) != len(views):
                raise ValueError(f"{name}: expected {len(views)} arrays, got {len(cur)}")
            for i, (a, v) in enumerate(zip(cur, views)):
                if a is v:
                    continue
                a = np.asarray(a)
                if a.shape != v.shape:
                    raise ValueError(f"{name}[{i}]: expected shape {v.shape}, got {a.shape}")
                v[...] = a
                cur[i] = v

    # -- fitting -----------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, incremental=False):
        p = _sk_params.validate(self, regressor=self._regressor)
        first_pass = not hasattr(self, "coefs_") or (not p.warm_start and not incremental)
        if not first_pass:
            return self._fit_pass(X, y, sample_weight, incremental, p, first_pass)
        before = dict(self.__dict__)
        try:
            return self._fit_pass(X, y, sample_weight, incremental, p, first_pass)
        except Exception:
            # A first pass that fails leaves the estimator as it was (not fitted, or fitted
            # before), never weights without the network that predicts with them.
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_pass(self, X, y, sample_weight, incremental, p, first_pass):
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        n, n_features = X.shape
        sw = self._sample_weight(sample_weight, n)
        sw = self._apply_class_weight(sw, Y, p, incremental)
        self.n_outputs_ = Y.shape[1]
        layer_units = [n_features] + p.hidden + [self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, layer_units, p)
        elif self.n_layers_ != len(layer_units):
            raise ValueError(f"hidden_layer_sizes: the fitted network has {self.n_layers_ - 2} hidden layers, "
                             f"got {p.hidden} (warm_start/partial_fit need the same architecture)")
        if p.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sw, p, layer_units, first_pass)
        else:
            self._fit_stochastic(X, Y, sw, p, layer_units, first_pass, incremental)
        if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain large "
                             "values and need to be preprocessed.")
        return self

    def _apply_class_weight(self, sw, Y, p, incremental):
        return sw

    def _initialize(self, Y, layer_units, p):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._out_activation()
        self.coefs_, self.intercepts_ = [], []
        factor = 2.0 if self.activation == "logistic" else 6.0
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            self.coefs_.append(self._random_state.uniform(-bound, bound, (fan_in, fan_out)))
            self.intercepts_.append(self._random_state.uniform(-bound, bound, fan_out))
        self._best_params = None
        for a in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_", "_optimizer"):
            self.__dict__.pop(a, None)
        if p.solver != "lbfgs":
            self._stochastic_state(p)

    def _stochastic_state(self, p):
        """The bookkeeping of the stochastic solvers, created at the first pass (or when a
        warm start switches from lbfgs, or turns early stopping or validation data on)."""
        if not hasattr(self, "loss_curve_"):
            self.loss_curve_ = []
            self._no_improvement_count = 0
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf
        if (p.early_stopping or p.validation_data is not None) and self.validation_scores_ is None:
            self.validation_scores_ = []
        if p.early_stopping:
            if self.best_validation_score_ is None:
                self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        elif self.best_loss_ is None:
            self.best_loss_ = np.inf

    def _net_arrays(self, net, X, Y, sw):
        X = np.ascontiguousarray(X, dtype=net.dtype)
        if self._task == "multiclass":
            labels, targets = np.ascontiguousarray(np.argmax(Y, axis=1), dtype=np.int64), None
        else:
            labels, targets = None, np.ascontiguousarray(Y, dtype=net.dtype)
        w = None if sw is None else np.ascontiguousarray(sw, dtype=net.dtype)
        return _sk_net.EpochData(net, X, targets, labels, w)

    def _fit_lbfgs(self, X, Y, sw, p, layer_units, first_pass):
        n = X.shape[0]
        sw_sum = float(n) if sw is None else float(sw.sum())
        if sw is not None:
            sw = sw * (n / sw_sum)
            if np.all(sw == 1.0):
                sw = None
        net = self._new_net(p, layer_units, first_pass, 0.5 * p.alpha / sw_sum)
        _sk_net.compile_net(net, self._task, self.n_outputs_, _sk_net.make_optimizer(p))
        data = self._net_arrays(net, X, Y, sw)
        res = _sk_net.lbfgs(net, data, p.max_iter, p.max_fun, p.tol, p.verbose)
        if res.status != 0:
            msg = res.message.decode("latin1") if isinstance(res.message, bytes) else res.message
            warnings.warn(f"lbfgs failed to converge after {res.nit} iteration(s) (status={res.status}):\n{msg}\n\n"
                          f"Increase the number of iterations to improve the convergence "
                          f"(max_iter={p.max_iter}).\nYou might also want to scale the data.",
                          ConvergenceWarning, stacklevel=4)
        self.n_iter_ = int(min(res.nit, p.max_iter))
        _, w_train, w_report = _sk_net.loss_for(self._task, self.n_outputs_)
        pen = _sk_net.penalty(net)
        self.loss_ = float(pen + (res.fun - pen) * w_report / w_train)

    def _split(self, X, Y, sw, p, incremental):
        """Training rows and validation rows (scikit-learn's split with early stopping, or
        ``validation_data``)."""
        if p.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if p.validation_data is not None:
            vd = p.validation_data
            Xv = self._validate_X(vd[0], reset=False)
            yv = self._validation_targets(vd[1], Xv.shape[0])
            swv = self._sample_weight(vd[2], Xv.shape[0]) if len(vd) == 3 else None
            return X, Y, sw, Xv, yv, swv
        if not p.early_stopping:
            return X, Y, sw, None, None, None
        stratify = Y if (not self._regressor and self.n_outputs_ == 1) else None
        if sw is None:
            Xt, Xv, Yt, Yv = train_test_split(X, Y, random_state=self._random_state,
                                              test_size=p.validation_fraction, stratify=stratify)
            swt = swv = None
        else:
            Xt, Xv, Yt, Yv, swt, swv = train_test_split(X, Y, sw, random_state=self._random_state,
                                                        test_size=p.validation_fraction, stratify=stratify)
        if Xv.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your "
                             "dataset.")
        return Xt, Yt, swt, Xv, self._decode(Yv), swv

    def _fit_stochastic(self, X, Y, sw, p, layer_units, first_pass, incremental):
        self._stochastic_state(p)
        X, Y, sw, Xv, yv, swv = self._split(X, Y, sw, p, incremental)
        n = X.shape[0]
        if p.batch_size == "auto":
            B = min(200, n)
        else:
            if p.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
            B = int(np.clip(p.batch_size, 1, n))
        wbar = 1.0
        if sw is not None:
            wbar = float(sw.mean())
            sw = sw / wbar
            if np.all(sw == 1.0):
                sw = None
        l2_full = 0.5 * p.alpha / (B * wbar)
        l2_last = 0.5 * p.alpha / ((n % B or B) * wbar)
        new_opt = not incremental or not hasattr(self, "_optimizer")
        net = getattr(self, "_net", None)
        carried = None  # the optimizer state a partial_fit carries into a rebuilt network
        if not incremental or net is None or net.dtype != self._net_dtype(p):
            net = self._new_net(p, layer_units, first_pass, l2_full)
            new_opt = True
        elif getattr(self, "_net_layout", None) not in (None, _net_layout(p)):
            # activation, dropout or batch normalization set since the last call: a network
            # of the new kind, with the weights (and, when its buffers match, the optimizer
            # state) of the old one, as scikit-learn's next partial_fit uses them
            old = net._engine
            carried = ([np.array(a) for a in old.opt_state], old.iterations, old.nadam_mu_product)
            net = self._new_net(p, layer_units, False, l2_full)
            new_opt = True
        else:
            self._sync_params()
        if new_opt:
            _sk_net.compile_net(net, self._task, self.n_outputs_, _sk_net.make_optimizer(p))
            self._twins = {}
            eng = net._engine
            if carried is not None and [a.shape for a in carried[0]] == [a.shape for a in eng.opt_state]:
                for a, b in zip(eng.opt_state, carried[0]):
                    a[...] = b
                eng.iterations, eng.nadam_mu_product = carried[1], carried[2]
            elif incremental and hasattr(self, "_optimizer"):
                pass  # (a new buffer layout: the rule's state restarts, its schedule goes on)
            else:
                self._optimizer = _OptimizerState(p.learning_rate_init)
        self._net_layout = _net_layout(p)
        if self._best_params is None or self._best_params[0].shape != net._engine.params.shape:
            self._best_params = (np.array(net._engine.params), np.array(net._engine.state))
        data = self._net_arrays(net, X, Y, sw)
        _, w_train, w_report = _sk_net.loss_for(self._task, self.n_outputs_)
        nb = -(-n // B)
        sample_idx = np.arange(n, dtype=np.int64)
        plain_sgd = p.solver == "sgd" and p.lr_schedule is None
        rs = self._random_state
        self.n_iter_ = 0
        try:
            for _ in range(p.max_iter):
                if p.shuffle:  # scikit-learn's sklearn.utils.shuffle(sample_idx, random_state=rs)
                    perm = np.arange(n)
                    rs.shuffle(perm)
                    sample_idx = sample_idx[perm]
                lrs = _sk_net.learning_rates(net, p.lr_schedule, nb, self._optimizer.epoch,
                                             self._optimizer.learning_rate)
                loss = _sk_net.run_epoch(net, self._twins, data, sample_idx, B, lrs, l2_full, l2_last,
                                         w_train - w_report)
                self._optimizer.epoch += 1
                self.n_iter_ += 1
                self.loss_ = float(loss)
                self.t_ += n
                self.loss_curve_.append(self.loss_)
                if p.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                self._update_no_improvement_count(p, Xv, yv, swv)
                if plain_sgd and p.learning_rate == "invscaling":
                    self._optimizer.learning_rate = PowerDecay(p.learning_rate_init, p.power_t)(self.t_)
                if self._no_improvement_count > p.n_iter_no_change:
                    what = "Validation score" if p.early_stopping else "Training loss"
                    msg = (f"{what} did not improve more than tol={p.tol:f} for {p.n_iter_no_change} "
                           f"consecutive epochs.")
                    if self._trigger_stopping(p, msg, plain_sgd):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == p.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({p.max_iter}) reached and the "
                                  "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=4)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if p.early_stopping:
            eng = net._engine
            eng.params[...] = self._best_params[0]
            eng.state[...] = self._best_params[1]

    def _trigger_stopping(self, p, msg, plain_sgd):
        if not (plain_sgd and p.learning_rate == "adaptive"):
            if p.verbose:
                print(msg + " Stopping.")
            return True
        if self._optimizer.learning_rate <= 1e-6:
            if p.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._optimizer.learning_rate /= 5.0
        if p.verbose:
            print(msg + " Setting learning rate to %f" % self._optimizer.learning_rate)
        return False

    def _update_no_improvement_count(self, p, Xv, yv, swv):
        if Xv is not None:
            score = self._score_arrays(Xv, yv, swv)
            self.validation_scores_.append(score)
            if p.verbose:
                print("Validation score: %f" % score)
        if p.early_stopping:
            last = self.validation_scores_[-1]
            if last < self.best_validation_score_ + p.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last > self.best_validation_score_:
                self.best_validation_score_ = last
                eng = self._net._engine
                self._best_params = (np.array(eng.params), np.array(eng.state))
        else:
            if self.loss_curve_[-1] > self.best_loss_ - p.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    # -- inference ---------------------------------------------------------------------
    def _raw(self, X, check_input=True):
        """Network outputs (logits for classifiers) as float64, and X's dtype."""
        check_is_fitted(self)
        if check_input:
            X = self._validate_X(X, reset=False)
        self._sync_params()
        out = _sk_net.predict(self._net, X)
        return np.asarray(out, dtype=np.float64), X.dtype

    def _score_arrays(self, X, y, sample_weight):
        out, _ = self._raw(X, check_input=False)
        if not np.isfinite(out).all():
            return np.nan
        return self._score_function(y, self._from_raw(out, X.dtype), sample_weight)

    # -- pickling ----------------------------------------------------------------------
    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        net = state.pop("_net", None)
        state.pop("_twins", None)
        if net is not None:
            self._sync_params()
            state["_net_blob"] = _sk_net.dump(net)
            state.pop("coefs_", None)
            state.pop("intercepts_", None)
        return state

    def __setstate__(self, state):
        state = dict(state)
        blob = state.pop("_net_blob", None)
        super().__setstate__(state)
        if blob is not None:
            self._set_net(_sk_net.load(blob))
