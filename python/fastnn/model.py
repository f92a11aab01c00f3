"""Models: :class:`Sequential` and the functional :class:`Model` (a DAG of layers with one
or more inputs and several named outputs, each with its own loss: multi-task learning).

Parameters, gradients and optimizer state live in one flat native buffer per model; every
layer's weights are numpy views into it. Training runs a whole epoch natively (see
:meth:`Model.fit`)."""
from __future__ import annotations

import os
import threading
import warnings
import weakref

import numpy as np

from fastnn import _core, _data, _graph
from fastnn import layers as _layers
from fastnn import losses as _losses
from fastnn import metrics as _metrics
from fastnn import optimizers as _optimizers
from fastnn.layers import InputLayer, Tensor

__all__ = ["Model", "Sequential"]


def _dtype(d):
    dt = np.dtype(d)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype: expected float32 or float64, got {dt}")
    return dt


class Model:
    """A network of layers from input tensors to output tensors.

    Parameters
    ----------
    inputs : Tensor or list of Tensor
        Made by :func:`fastnn.Input`.
    outputs : Tensor, list of Tensor or dict of name -> Tensor
        Named outputs (a dict) get their own loss, loss weight and metrics in ``compile``.
    name : str, optional
    dtype : "float32" (default) or "float64"
    seed : int, optional
        Seeds the initial weights and the dropout/noise streams (random when None).

    Examples
    --------
    >>> import fastnn as fnn
    >>> inp = fnn.Input(20)
    >>> h = fnn.layers.Dense(64, activation="relu")(inp)
    >>> model = fnn.Model(inp, {"price": fnn.layers.Dense(1)(h), "kind": fnn.layers.Dense(3)(h)}, seed=0)
    >>> model.compile(optimizer="adam", loss={"price": "mse", "kind": "sparse_categorical_crossentropy"},
    ...               loss_weights={"price": 1.0, "kind": 0.5})
    """

    def __init__(self, inputs, outputs, name=None, dtype="float32", seed=None):
        self.name = name or "model"
        self.dtype = _dtype(dtype)
        self.seed = int(np.random.SeedSequence().entropy % (2**63)) if seed is None else _data.seed_int(seed)
        self._lock = threading.RLock()
        self.optimizer = None
        self.loss = None
        self.history = None
        self.stop_training = False
        self.compiled = False
        self._engine = None
        self._init_graph(inputs, outputs)

    # -- construction ----------------------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if not ins or not all(isinstance(t, Tensor) and isinstance(t.layer, InputLayer) for t in ins):
            raise TypeError("inputs: expected fastnn.Input tensors")
        if isinstance(outputs, dict):
            names, outs = list(outputs), list(outputs.values())
            self._output_style = "dict"
        elif isinstance(outputs, (list, tuple)):
            outs = list(outputs)
            names = [t.layer.name for t in outs]
            self._output_style = "list"
        else:
            outs, names = [outputs], [outputs.layer.name if isinstance(outputs, Tensor) else "output"]
            self._output_style = "single"
        if not outs or not all(isinstance(t, Tensor) for t in outs):
            raise TypeError("outputs: expected fastnn Tensors (from calling layers)")
        if any(isinstance(t.layer, InputLayer) for t in outs):
            raise ValueError("outputs: an output must come from a layer, not directly from an input")
        if len(set(names)) != len(names):
            raise ValueError(f"outputs: names must be unique, got {names}")
        nodes = _graph.topo_order(ins, outs)
        layer_names = [t.layer.name for t in ins] + [t.layer.name for t in nodes]
        dup = sorted({n for n in layer_names if layer_names.count(n) > 1})
        if dup:  # names link the layers in a saved configuration
            raise ValueError(f"layer names must be unique within a model, repeated: {dup}")
        self._inputs, self._outputs, self.output_names = ins, outs, names
        self.input_names = [t.layer.name for t in ins]
        self._nodes = nodes
        self.layers = [t.layer for t in self._nodes]
        self._build_engine()

    def _build_engine(self, keep=None):
        """(Re)create the native network; keeps the weights it had (a rebuild), else those the
        layers already hold."""
        own = {(id(l), name): np.array(v) for l, name, v in self._weight_views()} if self._engine is not None else {}
        layout = _graph.Layout(self._nodes)
        nodes, params, py_layers = _graph.build_specs(self._inputs, self._nodes, layout, self.seed)
        tensor_of = {id(t.layer): i for i, t in enumerate(self._nodes)}
        outs = []
        for t in self._outputs:
            o = _core.OutputSpec()
            o.tensor = len(self._inputs) + tensor_of[id(t.layer)]
            outs.append(o)
        _check_size(layout, self._nodes, self._inputs, np.dtype(self.dtype).itemsize)
        Engine = _core.Engine32 if self.dtype == np.float32 else _core.Engine64
        eng = Engine(nodes, [t.width for t in self._inputs], params, layout.n_params, layout.n_state, outs,
                     _core.OptSpec())
        rng = np.random.default_rng(self.seed)
        P, S, G = eng.params, eng.state, eng.grads
        for layer, d, off in layout.entries:
            view = P[off:off + d.size].reshape(d.shape)
            old = own.get((id(layer), d.name), layer._weights.get(d.name))
            if old is not None and old.shape == view.shape:
                view[...] = old
            else:
                init = np.asarray(d.initializer(d.shape, dtype=self.dtype, rng=rng))
                if init.shape != view.shape:  # (a callable initializer's result is not broadcast)
                    raise ValueError(f"{layer.name}.{d.name}: the initializer returned shape {init.shape}, "
                                     f"the weight has {view.shape}")
                view[...] = init
            layer._weights[d.name] = view
            layer.__dict__.setdefault("_grad_views", {})[d.name] = G[off:off + d.size].reshape(d.shape)
        for layer, name, size, value, off in layout.states:
            view = S[off:off + size]
            old = own.get((id(layer), name), layer._weights.get(name))
            view[...] = old if old is not None and old.shape == view.shape else value
            layer._weights[name] = view
        for layer in self.layers:
            layer._model = self
        if self._engine is not None and self._engine.mask is not None:  # (a rebuild keeps the pruning mask)
            eng.set_mask(np.array(self._engine.mask, copy=True))
        if keep is not None:  # a rebuild after trainability changed: keep the optimizer too
            eng.set_outputs(keep._output_specs)
            eng.set_opt(keep.optimizer._spec())
            for a, b in zip(eng.opt_state, keep._engine.opt_state):
                a[...] = b
            eng.iterations = keep._engine.iterations
            eng.nadam_mu_product = keep._engine.nadam_mu_product
        self._py_penalty = _graph.python_penalty(self, layout)
        eng.py_penalty = self._py_penalty is not None
        self._engine, self._layout, self._py_layers = eng, layout, py_layers
        self._signature = _graph.signature(self._nodes)

    def _sync(self):
        """Bring the native engine up to date before a call: rebuild it when trainability,
        regularizers or layer constants changed; apply optimizer hyperparameters and loss
        parameters set since compile (as Keras and torch apply them at the next step); point
        Python layers at this model's buffers."""
        if self._engine is None:  # a Sequential not built yet: built from the data next
            return
        if _graph.signature(self._nodes) != self._signature:
            self._build_engine(keep=self if self.compiled else None)
            if self.compiled:
                self.optimizer._engine = self._engine
        if self.compiled:
            opt_spec, specs = self.optimizer._spec(), self._output_spec_list(self._losses, self._loss_weights)
            applied = (_spec_key(opt_spec), [_spec_key(o) for o in specs])
            if applied != self._applied:
                if applied[1] != self._applied[1]:
                    self._engine.set_outputs(specs)
                    self._output_specs = specs
                if applied[0] != self._applied[0]:
                    self._engine.set_opt(opt_spec)  # (keeps the state; new slots start at zero)
                self._applied = applied
        if self._py_layers:
            P, G = self._engine.params, self._engine.grads
            py = {id(layer) for layer in self._py_layers}
            for layer, d, off in self._layout.entries:
                if id(layer) in py:
                    layer._weights[d.name] = P[off:off + d.size].reshape(d.shape)
                    layer._grad_views[d.name] = G[off:off + d.size].reshape(d.shape)

    def _output_spec_list(self, losses, loss_weights):
        """The native spec of each output: its tensor, loss kernel and parameters, weight."""
        specs = []
        node_ids = [id(n.layer) for n in self._nodes]
        for t, l, w in zip(self._outputs, losses, loss_weights):
            o = _core.OutputSpec()
            o.tensor = len(self._inputs) + node_ids.index(id(t.layer))
            o.loss_id, o.from_logits = l.loss_id, bool(getattr(l, "from_logits", False))
            o.delta = float(getattr(l, "delta", 1.0) or 1.0)
            o.label_smoothing = float(getattr(l, "label_smoothing", 0.0) or 0.0)
            o.weight = w
            o.sum = l.reduction == "sum"
            specs.append(o)
        return specs

    # -- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None):
        """Configure training.

        Parameters
        ----------
        optimizer : str or Optimizer, default "rmsprop" (as Keras)
        loss : str, Loss, or a list/dict with one per output
            A built-in loss. Its ``reduction`` sets a batch's loss: ``"mean"`` (the
            default) divides the weighted sum of the rows' losses by the batch's rows,
            ``"sum"`` keeps the sum (gradients grow with the batch size); ``"none"`` is
            refused (training needs one number per batch).
        metrics : list of str/Metric, or a dict output name -> list
            Unweighted, as in Keras: ``sample_weight`` and ``class_weight`` do not enter them.
        loss_weights : list or dict of floats, optional (multi-task)
        weighted_metrics : list of str/Metric, or a dict output name -> list
            Metrics weighted by ``sample_weight`` (and, in ``fit``, ``class_weight``), as
            Keras' ``weighted_metrics``; logged under their names, prefixed ``weighted_``
            where an unweighted metric has the same name.
        """
        with self._lock:
            opt = _optimizers.get(optimizer)
            if loss is None:
                raise ValueError("loss: required (e.g. 'mse' or 'sparse_categorical_crossentropy')")
            loss_list, lw, metric_lists, weighted_lists = self._compile_args(self.output_names, loss, metrics,
                                                                             loss_weights, weighted_metrics)
            for t, l in zip(self._outputs, loss_list):
                if getattr(l, "sparse", False) and t.width < 2:
                    raise ValueError(f"loss: {l.name} needs an output of >= 2 units, output has {t.width}")
                msg = _losses.check_output_loss_pair(_output_activation(t.layer), l)
                if msg:
                    warnings.warn(f"{t.layer.name}: {msg}", UserWarning, stacklevel=2)
            owner = getattr(opt, "_owner", None)
            if owner is not None and owner() not in (None, self):
                raise ValueError("optimizer: this instance already trains another model (its step count and "
                                 "state belong to that one); give each model its own optimizer")
            specs = self._output_spec_list(loss_list, lw)
            self._engine.set_outputs(specs)
            self._engine.set_opt(opt._spec())
            self._engine.reset_opt_state()
            opt._engine, opt._owner = self._engine, weakref.ref(self)
            self._output_specs, self._applied = specs, (_spec_key(opt._spec()), [_spec_key(o) for o in specs])
            self.optimizer, self.loss, self._losses, self._loss_weights = opt, loss, loss_list, lw
            self._metric_objs, self._weighted_metric_objs = metric_lists, weighted_lists
            self.compiled = True

    def _compile_args(self, names, loss, metrics, loss_weights, weighted_metrics):
        """compile's per-output arguments for outputs ``names``, resolved and checked:
        (losses, loss weights, metric lists, weighted metric lists)."""
        loss_list = [_trainable_loss(l) for l in self._per_output(loss, "loss", names=names)]
        lw = [1.0] * len(names) if loss_weights is None else \
            [float(w) for w in self._per_output(loss_weights, "loss_weights", broadcast=False, names=names)]
        if any(not np.isfinite(w) or w < 0 for w in lw):
            raise ValueError(f"loss_weights: must be finite and >= 0, got {lw}")
        return (loss_list, lw, self._metric_lists(metrics, loss_list, "metrics", names),
                self._metric_lists(weighted_metrics, loss_list, "weighted_metrics", names))

    def _per_output(self, v, name, broadcast=True, names=None):
        names = self.output_names if names is None else names
        if isinstance(v, dict):
            missing = [n for n in names if n not in v]
            extra = [k for k in v if k not in names]
            if missing or extra:
                raise ValueError(f"{name}: expected keys {names}, got {list(v)}")
            return [v[n] for n in names]
        if isinstance(v, (list, tuple)):
            if len(v) != len(names):
                what = "entry" if len(names) == 1 else "entries"
                raise ValueError(f"{name}: expected {len(names)} {what} (one per output {names}), got {len(v)}")
            return list(v)
        if not broadcast and len(names) > 1:
            raise ValueError(f"{name}: expected a list or dict with one entry per output {names}")
        return [v] * len(names)

    def _wants_outputs(self):
        """Per output: whether the epoch collects it (some metric reads it)."""
        return [bool(a) or bool(b) for a, b in zip(self._metric_objs, self._weighted_metric_objs)]

    def _metric_lists(self, metrics, loss_list, what, names):
        if metrics is None:
            return [[] for _ in names]
        if isinstance(metrics, dict):
            extra = [k for k in metrics if k not in names]
            if extra:
                raise ValueError(f"{what}: unknown outputs {extra}; the outputs are {names}")
            per = [metrics.get(n, []) for n in names]
        else:
            if isinstance(metrics, (str, _metrics.Metric)):
                metrics = [metrics]
            per = [list(metrics) for _ in names]
        out = []
        for ms, l in zip(per, loss_list):
            ms = [ms] if isinstance(ms, (str, _metrics.Metric)) else list(ms)
            try:
                out.append([_metrics.resolve(m, loss_name=l._default_name) for m in ms])
            except (ValueError, TypeError) as e:
                raise type(e)(f"{what}: {e}") from None
        return out

    # -- training / inference (implemented in fastnn._fit) --------------------------------
    def fit(self, x, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0, seed=None,
            diagnostics=False, augment=None):
        """Train for ``epochs`` epochs; returns the :class:`~fastnn.callbacks.History`.

        Each epoch runs natively: a seeded shuffle (a pure function of ``seed`` and the epoch
        number), then for every batch: gather, forward, loss, backward, penalties, clipping,
        the optimizer step and collection of the outputs for the metrics — with the GIL
        released and no allocation per step. Python runs only between epochs (or every few
        batches when a live progress bar or a batch callback asks for it).

        Parameters
        ----------
        x : array (n, features), or a list/dict of arrays for several inputs
            C-contiguous float32 and float64 arrays are used in place whatever the model's
            dtype, converted one batch at a time: an ``np.memmap`` or ``np.load(path,
            mmap_mode="r")`` array larger than memory trains without being copied
            (``validation_split`` takes views of it too). Other arrays are converted once.
        y : array, or a list/dict of arrays for several outputs. Sparse losses take integer
            labels (n,); other losses (n, units) targets.
        batch_size : int, default 32 (None: 32, as Keras)
        epochs : int, default 1
        verbose : "auto", 0, 1 or 2
            1: a live progress bar (tqdm when installed); 2: one line per epoch.
        callbacks : list of :class:`~fastnn.callbacks.Callback`
        validation_split : float in [0, 1)
            The last fraction of the rows (before shuffling) is held out, as in Keras.
        validation_data : (x_val, y_val) or (x_val, y_val, sample_weight_val)
        shuffle : bool, default True
        class_weight : dict {class: weight}, optional (single classification output)
        sample_weight : array (n,), optional
        initial_epoch : int, default 0 (to resume: the epoch to start from)
        seed : int, optional
            Shuffle seed (default: the model's seed). Same seed, same data: bitwise the
            same weights, at any thread count.
        diagnostics : bool, default False
            Record per epoch, computed natively: the mean global gradient norm
            ("grad_norm"), per-layer gradient norms ("grad_norm/<layer>"), update-to-weight
            ratios of the last step ("update_ratio/<layer>") and the fraction of ReLU units
            never active in the epoch ("dead_relu/<layer>").
        augment : :class:`fastnn.data.Augment`, optional
            Mixup and/or Gaussian input noise applied to the training batches only (never
            to validation data); its draws are a pure function of ``seed``, the epoch and
            the batch, so results stay bitwise reproducible (threads, ``initial_epoch``).

        Returns
        -------
        History
        """
        from fastnn import _fit

        with self._lock:
            return _fit.fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                            validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                            class_weight=class_weight, sample_weight=sample_weight, initial_epoch=initial_epoch,
                            seed=seed, diagnostics=diagnostics, augment=augment)

    def evaluate(self, x, y, batch_size=None, sample_weight=None, verbose=0, return_dict=False):
        """Loss (with regularization penalties) and metrics in inference mode.

        Returns the loss alone when there are no metrics and one output (as Keras), else
        ``[loss, *metrics]``, or a dict with ``return_dict=True``. ``batch_size`` bounds
        the workspace and does not change results, except for a loss with
        ``reduction="sum"``: its value is, as in training, the batches' summed losses
        averaged by batch size, over batches of ``batch_size`` rows (default 32, as Keras)."""
        from fastnn import _fit

        with self._lock:
            logs = _fit.evaluate(self, x, y, batch_size=batch_size, sample_weight=sample_weight)
        if return_dict:
            return logs
        vals = list(logs.values())
        return vals[0] if len(vals) == 1 else vals

    def predict(self, x, batch_size=None, verbose=0):
        """Outputs in inference mode, computed natively in batches with the GIL released.

        ``batch_size`` only bounds the workspace (default 1024 rows); results do not
        depend on it. Returns an array, or a list/dict like the model's outputs."""
        from fastnn import _fit

        with self._lock:
            return _fit.predict(self, x, batch_size=batch_size)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on the whole of ``x`` as a single batch; returns the loss
        (and metrics on that batch) like :meth:`evaluate`."""
        from fastnn import _fit

        with self._lock:
            logs = _fit.train_on_batch(self, x, y, sample_weight=sample_weight, class_weight=class_weight)
        if return_dict:
            return logs
        vals = list(logs.values())
        return vals[0] if len(vals) == 1 else vals

    # -- weights ---------------------------------------------------------------------------
    def _weight_views(self):
        """``[(layer, weight name, view)]`` in :meth:`get_weights` order: views into this
        model's own buffers (a layer placed in a later model points its own views there)."""
        P, S = self._engine.params, self._engine.state
        params = {(id(l), d.name): P[off:off + d.size].reshape(d.shape) for l, d, off in self._layout.entries}
        states = {(id(l), name): S[off:off + size] for l, name, size, _, off in self._layout.states}
        out = []
        for layer in self.layers:
            out += [(layer, d.name, params[id(layer), d.name]) for d in layer._decls]
            out += [(layer, s[0], states[id(layer), s[0]]) for s in layer._state_decls]
        return out

    def get_weights(self):
        """Copies of every layer's weights, in layer order (Dense: kernel (in, out), bias;
        BatchNormalization also its moving mean and variance)."""
        return [np.array(v) for _, _, v in self._weight_views()]

    def set_weights(self, weights):
        """Set all weights from a list shaped like :meth:`get_weights` (checked in full
        before anything is written). Weights a pruning mask has removed stay zero."""
        weights = list(weights)
        views = self._weight_views()
        if len(weights) != len(views):
            raise ValueError(f"set_weights: expected {len(views)} arrays, got {len(weights)}")
        arrays = [_layers._checked_weight(layer.name, name, view.shape, w, view.dtype)
                  for (layer, name, view), w in zip(views, weights)]
        with self._lock:
            for (_, _, view), a in zip(views, arrays):
                view[...] = a
            mask = self._engine.mask
            if mask is not None:  # pruned weights stay exactly zero (see fastnn.pruning)
                self._engine.set_mask(np.array(mask, copy=True))

    @property
    def trainable(self):
        """Whether any layer trains. Setting it sets every layer's ``trainable`` (as Keras:
        ``model.trainable = False`` freezes the whole model, e.g. a pretrained base)."""
        return any(l.trainable for l in self._layer_list())

    @trainable.setter
    def trainable(self, value):
        value = _layers._flag(value, "trainable")
        for l in self._layer_list():
            l.trainable = value

    def _layer_list(self):
        return self.layers if hasattr(self, "layers") else list(getattr(self, "_stack", []))

    @property
    def weight_layout(self):
        """``[(layer name, weight name, offset, shape), ...]`` in the flat buffer."""
        return [(l.name, d.name, off, d.shape) for l, d, off in self._layout.entries]

    def count_params(self):
        """Number of weights, trainable or not (BatchNormalization's moving statistics
        included, as Keras counts them): the "Total params" of :meth:`summary`."""
        return sum(d.size for _, d, _ in self._layout.entries) + sum(st[2] for st in self._layout.states)

    def summary(self, print_fn=print):
        """Print the layers, their output shapes and parameter counts."""
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for t in self._inputs:
            rows.append((f"{t.layer.name} (InputLayer)", f"(None, {t.width})", "0"))
        trainable = non_trainable = 0
        for t in self._nodes:
            l = t.layer
            n = l.count_params
            n_state = sum(s[1] for s in l._state_decls)
            tr = sum(d.size for d in l._decls if d.trainable and l.trainable)
            trainable += tr
            non_trainable += n - tr + n_state
            rows.append((f"{l.name} ({type(l).__name__})", f"(None, {t.width})", f"{n + n_state:,}"))
        w0 = max(len(r[0]) for r in rows) + 2
        w1 = max(len(r[1]) for r in rows) + 2
        line = "-" * (w0 + w1 + 12)
        print_fn(f'Model: "{self.name}"')
        print_fn(line)
        for i, r in enumerate(rows):
            print_fn(f"{r[0]:<{w0}}{r[1]:<{w1}}{r[2]:>10}")
            if i == 0:
                print_fn("=" * len(line))
        print_fn("=" * len(line))
        print_fn(f"Total params: {trainable + non_trainable:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {non_trainable:,}")
        print_fn(line)

    def save(self, path):
        """Save architecture, weights and optimizer state to one file (see fastnn.io)."""
        from fastnn import io

        with self._lock:
            self._sync()  # (optimizer settings changed since compile are saved as applied)
            io.save_model(self, path)

    def get_config(self):
        from fastnn import io

        return io.model_config(self)


def _check_size(layout, nodes, inputs, itemsize):
    """Refuse, before the engine allocates anything, a network whose parameter count or
    layer widths overflow 64-bit sizes (ValueError) or whose parameters alone exceed the
    machine's physical memory (MemoryError).  (Input(2**32) -> Dense(2**32) hung in the
    native constructor; widths near 2**62 overflowed its size arithmetic.)"""
    limit = np.iinfo(np.int64).max // 16
    widths = [int(t.width) for t in list(inputs) + list(nodes) if getattr(t, "width", None) is not None]
    for w in widths:
        if w > limit // max(itemsize, 1):
            raise ValueError(f"model: a layer width of {w} is too large")
    total = int(layout.n_state)
    for _, d, _ in layout.entries:  # exact Python-int products (a declared size may have wrapped)
        n = 1
        for s in d.shape:
            n *= int(s)
        if n != int(d.size):
            raise ValueError(f"model: weight {d.name!r} of shape {tuple(int(s) for s in d.shape)} is too large")
        total += n
    if total > limit // itemsize:
        raise ValueError(f"model: {total} parameters and state values is too many")
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if phys > 0 and 2 * total * itemsize > phys:  # parameters and their gradients
        raise MemoryError(f"model: {total} parameters need {2 * total * itemsize} bytes (weights and "
                          f"gradients), more than this machine's {phys} bytes of memory")


def _spec_key(spec):
    """A native spec's settings as a comparable tuple."""
    return tuple((k, getattr(spec, k)) for k in dir(spec) if not k.startswith("_"))


def _trainable_loss(identifier):
    """The loss for ``identifier``; the native training loop needs a built-in loss."""
    loss = _losses.get(identifier)
    if loss.reduction == "none":
        raise ValueError(f"loss: {loss.name} has reduction='none'; training needs a batch loss: 'mean' (the "
                         "default) or 'sum'")
    if loss.loss_id is None:
        raise TypeError(f"loss: {type(loss).__name__} overrides call() and has no native kernel; training needs "
                        "one of fastnn.losses' built-in losses (a subclass may set their parameters)")
    return loss


def _output_activation(layer):
    act = getattr(layer, "activation", None)
    return act[0] if act else None


class Sequential(Model):
    """A linear stack of layers.

    Parameters
    ----------
    layers : list, optional
        Optionally starting with :func:`fastnn.layers.Input`; without it the model is
        built at the first ``fit``/``predict`` from the data's width (or by ``build``).
    name, dtype, seed
        As :class:`Model`.
    """

    def __init__(self, layers=None, name=None, dtype="float32", seed=None):
        self.name = name or "sequential"
        self.dtype = _dtype(dtype)
        self.seed = int(np.random.SeedSequence().entropy % (2**63)) if seed is None else _data.seed_int(seed)
        self._lock = threading.RLock()
        self.optimizer = None
        self.loss = None
        self.history = None
        self.stop_training = False
        self.compiled = False
        self._engine = None
        self._input = None
        self._stack = []
        self._pending_compile = None
        for l in layers or []:
            self.add(l)

    def add(self, layer):
        """Append a layer (or set the input with ``fastnn.layers.Input``)."""
        if isinstance(layer, Tensor) and isinstance(layer.layer, InputLayer):
            if self._input is not None or self._stack:
                raise ValueError("Input must be the first entry of a Sequential model")
            self._input = layer
            return
        if not isinstance(layer, _layers.Layer) or isinstance(layer, InputLayer):
            raise TypeError(f"add: expected a fastnn layer, got {type(layer).__name__}")
        if getattr(layer, "_multi_input", False):
            raise ValueError(f"{layer.name}: {type(layer).__name__} needs several inputs; use the functional Model")
        if self._engine is not None:
            raise ValueError("add: the model is already built; create a new Sequential to extend it")
        self._stack.append(layer)
        if self._input is not None:
            pass  # built lazily (at compile or first use)

    @property
    def built(self):
        return self._engine is not None

    def build(self, n_features=None):
        """Create the weights for inputs of ``n_features`` columns."""
        if self._engine is not None:
            return
        if self._input is None:
            if n_features is None:
                raise ValueError("build: the model has no Input; pass n_features or fit/predict data")
            self._input = _layers.Input(int(n_features))
        if not self._stack:
            raise ValueError("a Sequential model needs at least one layer")
        t = self._input
        for l in self._stack:
            t = l(t)
        Model._init_graph(self, [self._input], t)
        if self._pending_compile is not None:
            args = self._pending_compile
            self._pending_compile = None
            try:
                self.compile(**args)
            except Exception:
                self.compiled = False  # not half-configured: compile again with arguments that fit
                raise

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None):
        if self._engine is None and self._input is None:
            # Keras allows compiling before the input width is known: resolve now, apply at build.
            if loss is None:
                raise ValueError("loss: required (e.g. 'mse' or 'sparse_categorical_crossentropy')")
            opt = _optimizers.get(optimizer)
            self._check_deferred(loss, metrics, loss_weights, weighted_metrics)
            self.optimizer = opt
            self._pending_compile = dict(optimizer=self.optimizer, loss=loss, metrics=metrics,
                                         loss_weights=loss_weights, weighted_metrics=weighted_metrics)
            self.compiled = True
            return
        self.build()
        Model.compile(self, optimizer, loss, metrics, loss_weights, weighted_metrics)

    def _check_deferred(self, loss, metrics, loss_weights, weighted_metrics):
        """What compile can check before the model is built: its arguments for the one
        output, named after the last layer."""
        if not self._stack:
            raise ValueError("a Sequential model needs at least one layer")
        self._compile_args([self._stack[-1].name], loss, metrics, loss_weights, weighted_metrics)

    def _built_or_raise(self):
        if self._engine is None:
            if self._input is None:
                raise ValueError(f"{self.name}: the model is not built yet (it has no Input): call build(n_features), "
                                 "fit or predict first")
            self.build()

    def get_weights(self):
        """As :meth:`Model.get_weights`; a model with an Input is built first."""
        self._built_or_raise()
        return Model.get_weights(self)

    def set_weights(self, weights):
        """As :meth:`Model.set_weights`; a model with an Input is built first."""
        self._built_or_raise()
        Model.set_weights(self, weights)

    def count_params(self):
        """As :meth:`Model.count_params`; a model with an Input is built first."""
        self._built_or_raise()
        return Model.count_params(self)

    def summary(self, print_fn=print):
        """As :meth:`Model.summary`; a model with an Input is built first."""
        self._built_or_raise()
        Model.summary(self, print_fn)

    @property
    def weight_layout(self):
        """As :attr:`Model.weight_layout`; a model with an Input is built first."""
        self._built_or_raise()
        return Model.weight_layout.fget(self)

    def save(self, path):
        """As :meth:`Model.save`; a model with an Input is built first."""
        self._built_or_raise()
        Model.save(self, path)

    def get_config(self):
        """As :meth:`Model.get_config`; a model with an Input is built first."""
        self._built_or_raise()
        return Model.get_config(self)

    def _ensure_built(self, x, y=None):
        """Build for the width of ``x`` (when not built yet); with ``y``, only once their rows
        agree (a transposed x must not build the model for the wrong width)."""
        if self._engine is None:
            one = _data.unwrap_one
            shape = np.shape(one(x))
            if len(shape) != 2:
                raise ValueError(f"x: expected a 2-D array (samples, features), got shape {shape}")
            y_shape = np.shape(one(y)) if y is not None and not isinstance(one(y), (list, tuple, dict)) else ()
            if y_shape and y_shape[0] != shape[0]:
                raise ValueError(f"x and y: all arrays must have the same number of rows, got x {shape[0]} and "
                                 f"y {y_shape[0]} (the model is not built yet: x's columns would set its width)")
            self.build(shape[1])
