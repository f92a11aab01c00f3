"""Saving and loading models: one file holding the architecture and compile settings as
JSON and the weights, running statistics, optimizer state and pruning mask (when one is
set) as raw arrays.

The file is a zip archive of ``.npy`` members (numpy's ``.npz`` container) read with
``allow_pickle=False``: loading never unpickles nor evaluates anything. A file that is not a
fastnn model, is truncated, or whose arrays do not match its architecture raises
ValueError. Save -> load -> predict is bitwise equal, and training resumed from a loaded
checkpoint (``fit(initial_epoch=...)``) continues the uninterrupted trajectory exactly
(the shuffle, dropout and schedule streams are keyed by the saved seed and step count).
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from fastnn import layers as _layers
from fastnn import losses as _losses
from fastnn import metrics as _metrics
from fastnn import optimizers as _optimizers
from fastnn import regularizers as _regularizers

__all__ = ["save_model", "load_model", "model_config", "model_from_config"]

FORMAT = "fastnn-model"
VERSION = 1


def model_config(model):
    """The architecture (and compile settings) of a model as a JSON-safe dict."""
    from fastnn.model import Sequential

    layers = []
    for t in model._nodes:
        l = t.layer
        layers.append({"class_name": type(l).__name__, "config": l.get_config(),
                       "inputs": [s.layer.name for s in t.inputs]})
    cfg = {"format": FORMAT, "version": VERSION, "class": "Sequential" if isinstance(model, Sequential) else "Model",
           "name": model.name, "dtype": str(model.dtype), "seed": int(model.seed),
           "inputs": [{"name": t.layer.name, "n_features": t.width} for t in model._inputs],
           "layers": layers, "outputs": [t.layer.name for t in model._outputs],
           "output_names": list(model.output_names), "output_style": model._output_style}
    if model.compiled:
        cfg["compile"] = {
            "optimizer": _optimizers.serialize(model.optimizer),
            "loss": [_losses.serialize(l) for l in model._losses],
            "loss_weights": list(model._loss_weights),
            "metrics": [[_metrics.serialize(m) for m in ms] for ms in model._metric_objs],
            "weighted_metrics": [[_metrics.serialize(m) for m in ms] for ms in model._weighted_metric_objs],
        }
    return cfg


def model_from_config(cfg, dtype=None, custom_objects=None):
    """Rebuild a (compiled, freshly initialized) model from :func:`model_config`."""
    from fastnn.model import Model, Sequential

    try:
        classes = dict(_layers._BUILTIN)
        classes.update(custom_objects or {})
        tensors = {}
        for spec in cfg["inputs"]:
            tensors[spec["name"]] = _layers.Input(int(spec["n_features"]), name=str(spec["name"]))
        for spec in cfg["layers"]:
            name = spec["class_name"]
            cls = classes.get(name)
            if cls is None:
                raise ValueError(f"unknown layer class {name!r} (pass custom_objects={{{name!r}: cls}})")
            conf = dict(spec["config"])
            for k, v in conf.items():  # regularizers written in Python, from custom_objects
                if k.endswith("_regularizer") and isinstance(v, dict):
                    conf[k] = _regularizers.deserialize(v, custom_objects)
            layer = cls.from_config(conf)
            if layer.name in tensors:
                raise ValueError(f"layer {layer.name!r} appears twice")
            ins = [tensors[n] for n in spec["inputs"]]
            tensors[layer.name] = layer(ins if len(ins) > 1 else ins[0])
        outs = [tensors[n] for n in cfg["outputs"]]
        dt = dtype or cfg["dtype"]
        if cfg["class"] == "Sequential":
            m = Sequential(name=cfg["name"], dtype=dt, seed=cfg["seed"])
            m._input = tensors[cfg["inputs"][0]["name"]]
            m._stack = [tensors[s["config"]["name"]].layer for s in cfg["layers"]]
            Model._init_graph(m, [m._input], outs[0])
        else:
            style = cfg.get("output_style", "list")
            o = dict(zip(cfg["output_names"], outs)) if style == "dict" else (outs[0] if style == "single" else outs)
            m = Model([tensors[s["name"]] for s in cfg["inputs"]], o, name=cfg["name"], dtype=dt, seed=cfg["seed"])
        c = cfg.get("compile")
        if c:
            for key in ("loss", "metrics", "loss_weights", "weighted_metrics"):
                if key in c and (not isinstance(c[key], list) or len(c[key]) != len(m.output_names)):
                    raise ValueError(f"compile.{key}: expected one entry per output {m.output_names}")
            m.compile(optimizer=_optimizers.get(c["optimizer"]), loss=[_losses.get(l) for l in c["loss"]],
                      metrics=dict(zip(m.output_names, [[_metrics.get(x) for x in ms] for ms in c["metrics"]])),
                      weighted_metrics=dict(zip(m.output_names, [[_metrics.get(x) for x in ms]
                                                                 for ms in c.get("weighted_metrics", [])])) or None,
                      loss_weights=list(c["loss_weights"]))
        return m
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        raise ValueError(f"invalid model configuration: {type(e).__name__}: {e}") from None


def save_model(model, path):
    """Write ``model`` to ``path`` (atomically: a temporary file renamed into place)."""
    eng = model._engine
    cfg = model_config(model)
    arrays = {"config": np.frombuffer(json.dumps(cfg).encode(), dtype=np.uint8),
              "params": np.array(eng.params), "state": np.array(eng.state),
              "counters": np.array([eng.iterations], dtype=np.int64),
              "nadam_mu_product": np.array([eng.nadam_mu_product], dtype=np.float64)}
    for i, a in enumerate(eng.opt_state):
        arrays[f"opt_{i}"] = np.array(a)
    if eng.mask is not None:  # a pruning mask (fastnn.pruning): restored by load_model
        arrays["mask"] = np.array(eng.mask)
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".fastnn-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_model(path, custom_objects=None, compile=True):
    """Read a model written by :meth:`Model.save`.

    Parameters
    ----------
    path : str or path-like
    custom_objects : dict, optional
        ``{class name: class}`` for custom Python layers.
    compile : bool, default True
        Restore the compile settings and the optimizer state.

    Raises
    ------
    ValueError
        Not a fastnn model file, a corrupted or truncated file, or arrays that do not match
        the architecture.
    """
    try:
        _check_headers(path)
        z = np.load(os.fspath(path), allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):  # a bare .npy array
            raise ValueError(f"a single {type(z).__name__}, not an archive")
        with z:
            members = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError, MemoryError,
            NotImplementedError, RuntimeError) as e:
        # NotImplementedError / RuntimeError: zipfile on a corrupted header (an unknown
        # compression method or zip version, "encrypted" or "patched data" flag bits)
        raise ValueError(f"{path}: not a readable fastnn model file ({type(e).__name__}: {e})") from None
    if not isinstance(members, dict) or "config" not in members:
        raise ValueError(f"{path}: not a fastnn model file (no config)")
    try:
        cfg = json.loads(members["config"].tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"{path}: corrupted model configuration ({e})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise ValueError(f"{path}: not a fastnn model file (format {cfg.get('format') if isinstance(cfg, dict) else '?'!r})")
    if cfg.get("version") != VERSION:
        raise ValueError(f"{path}: unsupported fastnn model version {cfg.get('version')!r}")
    if not compile:
        cfg = dict(cfg)
        cfg.pop("compile", None)
    try:
        model = model_from_config(cfg, custom_objects=custom_objects)
    except MemoryError as e:  # e.g. a crafted config declaring Dense(2**40)
        raise ValueError(f"{path}: the model configuration declares too large a network ({e})") from None
    eng = model._engine
    _fill(path, eng.params, members.get("params"), "params")
    _fill(path, eng.state, members.get("state"), "state")
    if "mask" in members:
        mask = members["mask"]
        if mask.shape != eng.params.shape or mask.dtype != eng.params.dtype or not np.isin(mask, (0, 1)).all():
            raise ValueError(f"{path}: array 'mask' must be 0/1 with shape {eng.params.shape} and dtype "
                             f"{eng.params.dtype}, got shape {mask.shape} and dtype {mask.dtype}")
        eng.set_mask(mask)
    if compile and "compile" in cfg:
        slots = eng.opt_state
        for i, a in enumerate(slots):
            _fill(path, a, members.get(f"opt_{i}"), f"opt_{i}")
        counters = members.get("counters")
        mu = members.get("nadam_mu_product")
        if counters is None or counters.shape != (1,) or counters.dtype != np.int64 or counters[0] < 0:
            raise ValueError(f"{path}: missing or invalid optimizer step counter")
        if mu is None or mu.shape != (1,) or mu.dtype != np.float64 or not np.isfinite(mu).all():
            raise ValueError(f"{path}: missing or invalid optimizer state")
        eng.iterations = int(counters[0])
        eng.nadam_mu_product = float(mu[0])
    return model


def _fill(path, dst, src, name):
    if src is None:
        raise ValueError(f"{path}: missing array {name!r}")
    if src.shape != dst.shape or src.dtype != dst.dtype:
        raise ValueError(f"{path}: array {name!r} has shape {src.shape} and dtype {src.dtype}, the architecture "
                         f"needs {dst.shape} and {dst.dtype}")
    # (NaN and Inf load as saved: a diverged model, or Adam's second moment past float32's
    # range beside finite weights, round-trips like any other state.)
    dst[...] = src


def _check_headers(path):
    """Refuse, before anything is allocated, ``.npy`` members whose header declares more data
    than the member holds (a crafted header claiming, say, 2**60 elements) or an object dtype.
    Files that are not zip archives are left to ``np.load`` (which refuses them)."""
    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        return
    fmt = np.lib.format
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with z.open(info) as f:
                version = fmt.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = fmt.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, _, dtype = fmt.read_array_header_2_0(f)
                else:
                    raise ValueError(f"member {info.filename!r}: unsupported .npy version {version}")
                if dtype.hasobject:
                    raise ValueError(f"member {info.filename!r}: object arrays are not allowed")
                count = 1
                for s in shape:
                    count *= int(s)
                if count * dtype.itemsize > info.file_size:
                    raise ValueError(f"member {info.filename!r} declares shape {shape} of {dtype} "
                                     f"({count * dtype.itemsize} bytes) but holds only {info.file_size} bytes")
