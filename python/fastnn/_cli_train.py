"""``fastnn train`` and ``fastnn predict``: the sub-parsers and the two commands.

``train`` reads a CSV/NPZ/NPY file (or the embedded digits), standardizes the features
with the training part's mean and std, holds out a validation part and a stratified 20%
test part, trains an MLP with :meth:`fastnn.Model.fit` and reports validation and test
scores, the training time and the rate. ``--out`` writes the model with
:func:`fastnn.io.save_model` and the preprocessing (feature names, mean, std, task, class
labels) to a JSON sidecar ``<out>.meta.json``, which ``predict`` reads back.

Errors in the command line or the data are one line on stderr starting ``fastnn: error:``
and exit status 2; the hidden flag ``--debug`` prints the traceback first.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np

from fastnn import _cli_data as data

META_FORMAT = "fastnn-cli-meta"
META_VERSION = 1
META_SUFFIX = ".meta.json"
DEFAULT_EPOCHS = 40


# ------------------------------------------------------------------------ option types
def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _seed(text):
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return v


def _number(text, lo, hi, lo_open, hi_open, what):
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def _lr(text):
    return _number(text, 0.0, math.inf, True, True, "a positive number")


def _l2(text):
    return _number(text, 0.0, math.inf, False, True, "a number >= 0")


def _dropout(text):
    return _number(text, 0.0, 1.0, False, True, "a rate in [0, 1)")


def _val_split(text):
    return _number(text, 0.0, 1.0, False, True, "a fraction in [0, 1)")


def _hidden(text):
    if text.strip().lower() in ("", "none", "0"):
        return ()
    sizes = []
    for part in text.split(","):
        try:
            v = int(part.strip())
        except ValueError:
            v = 0
        if v < 1:
            raise argparse.ArgumentTypeError(f"expected comma-separated positive layer sizes such as "
                                             f"128,64 (or 'none'), got {text!r}")
        sizes.append(v)
    return tuple(sizes)


def _activation(text):
    from fastnn.layers import Dense

    try:
        Dense(1, activation=text)
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"unknown activation {text!r} (e.g. relu, tanh, gelu, "
                                         f"silu, elu, sigmoid)") from None
    return text


def _optimizer(text):
    from fastnn import optimizers

    try:
        optimizers.get(text)
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"unknown optimizer {text!r} (sgd, rmsprop, adagrad, adadelta, "
                                         f"adam, adamw, adamax, nadam)") from None
    return text.lower()


def _out_path(text):
    if not text or text.endswith(os.sep):
        raise argparse.ArgumentTypeError(f"expected a file path, got {text!r}")
    parent = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"directory {parent!r} does not exist")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a directory")
    if not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"directory {parent!r} is not writable")
    return text


# ------------------------------------------------------------------------ parsers
def add_parsers(sub):
    """Add the ``train`` and ``predict`` sub-commands to the sub-parsers action ``sub``."""
    t = sub.add_parser(
        "train", help="train an MLP on a CSV/NPZ/NPY file (or the embedded digits) and score it",
        description="Train a multilayer perceptron. FILE is a CSV file with a header row "
                    "(numeric columns; --target names the target), an .npz file (arrays 'x' and "
                    "'y', or --target naming the target array) or an .npy matrix (the last "
                    "column is the target unless --target gives its index). Without FILE, "
                    "trains on the embedded UCI handwritten digits (1797 8x8 images). Features "
                    "are standardized with the training part's mean and std; 20% of the rows "
                    "(stratified for classification) are held out for the test score.")
    t.add_argument("file", nargs="?", metavar="FILE", help="training data (.csv, .npz or .npy)")
    t.add_argument("--target", metavar="COL", help="target column (CSV), array name (NPZ) or column "
                                                   "index (NPY)")
    t.add_argument("--task", choices=("classify", "regress"),
                   help="default: classify when the target is integral with at most "
                        f"{data.MAX_CLASSES_AUTO} distinct values (or text labels), else regress")
    t.add_argument("--hidden", metavar="N,N", type=_hidden, default=(128, 64),
                   help="hidden layer sizes (default 128,64; 'none' for a linear model)")
    t.add_argument("--activation", metavar="NAME", type=_activation, default="relu",
                   help="hidden activation (default relu)")
    t.add_argument("--optimizer", metavar="NAME", type=_optimizer, default="adam",
                   help="sgd, rmsprop, adagrad, adadelta, adam, adamw, adamax or nadam (default adam)")
    t.add_argument("--lr", metavar="LR", type=_lr, help="learning rate (default: the optimizer's, "
                                                         "1e-3 for adam)")
    t.add_argument("--epochs", metavar="N", type=_positive_int, default=DEFAULT_EPOCHS,
                   help=f"epochs (default {DEFAULT_EPOCHS})")
    t.add_argument("--batch-size", metavar="B", type=_positive_int, default=32,
                   help="batch size (default 32)")
    t.add_argument("--dropout", metavar="P", type=_dropout, default=0.0,
                   help="dropout rate after each hidden layer (default 0)")
    t.add_argument("--l2", metavar="A", type=_l2, default=0.0,
                   help="L2 penalty on the kernels (default 0)")
    t.add_argument("--early-stopping", metavar="N", type=_positive_int,
                   help="stop after N epochs without a better validation loss; keep the best weights")
    t.add_argument("--val-split", metavar="F", type=_val_split, default=0.1,
                   help="fraction of the non-test rows held out for validation (default 0.1)")
    t.add_argument("--seed", metavar="S", type=_seed, default=0,
                   help="seed of the split, the initial weights and the shuffles (default 0)")
    t.add_argument("--threads", metavar="N", type=_positive_int, help="threads (default: all cores)")
    t.add_argument("--out", metavar="MODEL", type=_out_path,
                   help=f"save the model there (and its preprocessing to MODEL{META_SUFFIX})")
    t.add_argument("--plot", metavar="PNG", type=_out_path,
                   help="draw the learning curves into a PNG file (needs matplotlib)")
    t.add_argument("--quiet", action="store_true", help="no progress; print only the results")
    t.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    p = sub.add_parser(
        "predict", help="predict with a model saved by 'fastnn train --out'",
        description="Apply a model saved by 'fastnn train --out MODEL' (with its preprocessing "
                    f"from MODEL{META_SUFFIX}) to FILE (.csv with the training feature columns, "
                    ".npz with an array 'x', or .npy) and write the predictions (class labels "
                    "or values) as CSV.")
    p.add_argument("model", metavar="MODEL", help="model file written by 'fastnn train --out'")
    p.add_argument("file", metavar="FILE", help="input data (.csv, .npz or .npy)")
    p.add_argument("--out", metavar="CSV", type=_out_path, help="output file (default: standard output)")
    p.add_argument("--threads", metavar="N", type=_positive_int, help="threads (default: all cores)")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def run(args) -> int:
    """Run ``train`` or ``predict``; any error becomes one line on stderr and status 2."""
    try:
        if args.command == "train":
            return cmd_train(args)
        return cmd_predict(args)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - the command line reports every failure as one line
        if getattr(args, "debug", False):
            import traceback

            traceback.print_exc()
        print(f"fastnn: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc):
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    text = " ".join(str(exc).split())
    if isinstance(exc, data.DataError):
        return text
    return f"{text} ({type(exc).__name__})" if text else type(exc).__name__


# ------------------------------------------------------------------------ train
def _embedded():
    from fastnn.datasets import load_digits

    x, y = load_digits()
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    return data.Table(x, y, names, "digit", "embedded digits (UCI handwritten digits, CC BY 4.0)")


def build_model(n_in, n_out, args, seed):
    """The MLP: Dense hidden layers (with dropout and L2 when asked) and a linear output."""
    import fastnn as fnn

    layers = [fnn.layers.Input(n_in)]
    reg = fnn.regularizers.L2(args.l2) if args.l2 > 0 else None
    for i, units in enumerate(args.hidden):
        layers.append(fnn.layers.Dense(units, activation=args.activation, kernel_initializer="he_uniform"
                                       if args.activation in ("relu", "leaky_relu", "elu", "gelu", "silu")
                                       else "glorot_uniform", kernel_regularizer=reg, name=f"hidden_{i + 1}"))
        if args.dropout > 0:
            layers.append(fnn.layers.Dropout(args.dropout, name=f"dropout_{i + 1}"))
    layers.append(fnn.layers.Dense(n_out, kernel_regularizer=reg, name="output"))
    return fnn.Sequential(layers, seed=seed)


def _optimizer_obj(args):
    from fastnn import optimizers

    cfg = {} if args.lr is None else {"learning_rate": args.lr}
    return optimizers.get({"class_name": args.optimizer, "config": cfg})


def cmd_train(args) -> int:
    import fastnn as fnn

    if args.threads:
        fnn.set_num_threads(args.threads)
    if args.file is None:
        if args.target is not None:
            raise data.DataError("--target needs a FILE (the embedded digits have their own target)")
        table = _embedded()
    else:
        table = data.read_training_data(args.file, args.target)
    task = data.choose_task(table.y, args.task, table.source)
    classes = None
    if task == "classify":
        classes, labels = data.encode_classes(table.y, table.source)
    n = table.x.shape[0]
    train, val, test = data.split(n, labels if classes is not None else None, args.val_split, args.seed)
    mean, std = data.standardizer(table.x[train])
    x = data.standardize(table.x, mean, std).astype(np.float32)
    if classes is not None:
        y, y_scale = labels, None
    else:
        ym, ys = data.standardizer(table.y[train][:, None].astype(np.float64))
        y_scale = (float(ym[0]), float(ys[0]))
        y = ((table.y.astype(np.float64) - y_scale[0]) / y_scale[1]).astype(np.float32)[:, None]
    n_out = len(classes) if classes is not None else 1
    model = build_model(x.shape[1], n_out, args, args.seed)
    if classes is not None:
        model.compile(_optimizer_obj(args), fnn.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    else:
        model.compile(_optimizer_obj(args), "mse")
    if not args.quiet:
        _print_setup(table, task, classes, (train, val, test), model, args)
    callbacks = []
    if args.early_stopping:
        callbacks.append(fnn.callbacks.EarlyStopping(monitor="val_loss" if val.size else "loss",
                                                     patience=args.early_stopping, restore_best_weights=True))
    t0 = time.perf_counter()
    history = model.fit(x[train], y[train], batch_size=args.batch_size, epochs=args.epochs,
                        verbose=0 if args.quiet else 1, callbacks=callbacks,
                        validation_data=(x[val], y[val]) if val.size else None, seed=args.seed)
    seconds = time.perf_counter() - t0
    epochs_run = len(history.epoch)
    for name, rows in (("validation", val), ("test", test)):
        if rows.size:
            print(f"{name} {_score(model, x[rows], table.y[rows], classes, y_scale)} ({rows.size} rows)")
    rate = train.size * epochs_run / seconds if seconds > 0 else math.inf
    print(f"training time: {seconds:.2f}s for {epochs_run} epoch{'s' if epochs_run != 1 else ''} of {train.size} rows "
          f"({rate:,.0f} samples/s)")
    if args.out:
        meta = {"format": META_FORMAT, "version": META_VERSION, "task": task, "source": table.source,
                "features": list(table.features), "target": table.target, "target_index": table.target_index,
                "mean": mean.tolist(), "std": std.tolist()}
        if classes is not None:
            meta["classes"] = data.labels_json(classes)
        else:
            meta["y_mean"], meta["y_std"] = y_scale
        model.save(args.out)
        with open(args.out + META_SUFFIX, "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        print(f"saved the model to {args.out} (preprocessing: {args.out}{META_SUFFIX})")
    if args.plot:
        return _plot(history, args.plot)
    return 0


def _print_setup(table, task, classes, parts, model, args):
    train, val, test = parts
    n, d = table.x.shape
    what = f"classify ({len(classes)} classes)" if classes is not None else "regress"
    print(f"data: {table.source}: {n} rows, {d} features, target {table.target!r}; task: {what}")
    print(f"split: {train.size} train / {val.size} validation / {test.size} test rows "
          f"(seed {args.seed})")
    sizes = " -> ".join(str(s) for s in (d, *args.hidden, model.layers[-1].units))
    opt = model.optimizer
    lr = getattr(opt, "learning_rate", None)
    lr_text = f" lr {lr:g}" if isinstance(lr, (int, float)) else ""
    extras = "".join([f", dropout {args.dropout:g}" if args.dropout else "",
                      f", l2 {args.l2:g}" if args.l2 else ""])
    print(f"model: {sizes} ({args.activation}{extras}), {model.count_params():,} parameters; "
          f"{type(opt).__name__}{lr_text}, batch {args.batch_size}, {args.epochs} epochs")


def _score(model, x, y_true, classes, y_scale):
    out = model.predict(x)
    if classes is not None:
        acc = float(np.mean(classes[np.argmax(out, axis=1)] == y_true))
        return f"accuracy: {acc:.4f}"
    pred = out[:, 0].astype(np.float64) * y_scale[1] + y_scale[0]
    y = y_true.astype(np.float64)
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    sst = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((pred - y) ** 2)) / sst if sst > 0 else math.nan
    return f"RMSE: {rmse:.6g}, R2: {r2:.4f}"


def _plot(history, path):
    try:
        from fastnn import plot
    except ImportError as exc:
        print(f"fastnn: error: --plot: fastnn.plot is not available ({_one_line(exc)})", file=sys.stderr)
        return 2
    try:
        plot.history(history, path=path)
    except ImportError as exc:
        print(f"fastnn: error: --plot needs matplotlib (pip install matplotlib): {_one_line(exc)}",
              file=sys.stderr)
        return 2
    print(f"learning curves written to {path}")
    return 0


# ------------------------------------------------------------------------ predict
def read_meta(model_path):
    """The preprocessing saved next to ``model_path`` by ``fastnn train --out``."""
    path = model_path + META_SUFFIX
    if not os.path.exists(model_path):
        raise data.DataError(f"{model_path}: no such file")
    try:
        with open(path) as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise data.DataError(f"{path}: no such file (written next to the model by "
                             f"'fastnn train --out')") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise data.DataError(f"{path}: not a valid JSON file ({e})") from None
    need = ("task", "features", "mean", "std")
    if not isinstance(meta, dict) or meta.get("format") != META_FORMAT or any(k not in meta for k in need):
        raise data.DataError(f"{path}: not a fastnn train metadata file")
    if meta.get("version") != META_VERSION:
        raise data.DataError(f"{path}: unsupported metadata version {meta.get('version')!r}")
    d = len(meta["features"])
    if len(meta["mean"]) != d or len(meta["std"]) != d:
        raise data.DataError(f"{path}: mean/std do not match the {d} features")
    if meta["task"] == "classify" and not meta.get("classes"):
        raise data.DataError(f"{path}: no class labels")
    if meta["task"] == "regress" and not {"y_mean", "y_std"} <= set(meta):
        raise data.DataError(f"{path}: no target scaling")
    return meta


def cmd_predict(args) -> int:
    import fastnn as fnn

    if args.threads:
        fnn.set_num_threads(args.threads)
    meta = read_meta(args.model)
    model = fnn.load_model(args.model, compile=False)
    d = len(meta["features"])
    if model._inputs[0].width != d:
        raise data.DataError(f"{args.model}: the model takes {model._inputs[0].width} features, "
                             f"its metadata lists {d}")
    width = model._outputs[0].width
    if meta["task"] == "classify" and len(meta["classes"]) != width:
        raise data.DataError(f"{args.model}: the model has {width} output units, its metadata lists "
                             f"{len(meta['classes'])} classes")
    x = data.read_features(args.file, meta)
    x = data.standardize(x, meta["mean"], meta["std"]).astype(model.dtype)
    out = model.predict(x)
    if meta["task"] == "classify":
        classes = meta["classes"]
        values = [str(classes[i]) for i in np.argmax(out, axis=1)]
    else:
        values = [repr(float(v)) for v in out[:, 0].astype(np.float64) * meta["y_std"] + meta["y_mean"]]
    if args.out:
        with open(args.out, "w", newline="") as f:
            _write_column(f, values)
    else:
        _write_column(sys.stdout, values)
    return 0


def _write_column(f, values):
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["prediction"])
    w.writerows([v] for v in values)
