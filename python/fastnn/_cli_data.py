"""Data handling for ``fastnn train`` / ``fastnn predict``: reading CSV, NPZ and NPY files,
choosing the task, seeded (stratified) splits and standardization.

Every problem with the user's data raises :class:`DataError` with a one-line message that
names the file and the column or array at fault.
"""
from __future__ import annotations

import csv
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

MAX_CLASSES_AUTO = 50   # an integral target with at most this many values is a class label
TEST_FRACTION = 0.2
_NUMERIC = "biuf"


class DataError(ValueError):
    """A problem with the input data (reported as one line, exit status 2)."""


@dataclass
class Table:
    """Features and target read from one file."""

    x: np.ndarray                       # (n, d) float64
    y: np.ndarray | None                # (n,) numbers or strings; None when not read
    features: list = field(default_factory=list)
    target: str = "y"
    source: str = ""
    target_index: int | None = None     # NPY: the target's column index


def _names(items, limit=12):
    items = list(items)
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def _kind(path):
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".csv", ".npz", ".npy"):
        raise DataError(f"{path}: unsupported file type {ext or '(none)'!r} (expected .csv, .npz or .npy)")
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory")
    return ext[1:]


# ------------------------------------------------------------------------------- reading
def read_training_data(path, target):
    """A :class:`Table` with features and target from ``path`` (CSV, NPZ or NPY)."""
    kind = _kind(path)
    if kind == "csv":
        return _read_csv(path, target)
    if kind == "npz":
        return _read_npz(path, target)
    return _read_npy(path, target)


def _csv_rows(path):
    """``(header, cells, lines)``: column names, the data as strings, each row's line number."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows, lines = [], []
            for r in reader:
                if r and any(c.strip() for c in r):
                    rows.append(r)
                    lines.append(reader.line_num)
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise DataError(f"{path}: malformed CSV ({e})") from None
    if not rows:
        raise DataError(f"{path}: empty file (expected a header row, then data rows)")
    header = [h.strip() for h in rows[0]]
    if any(not h for h in header):
        raise DataError(f"{path}: the header row has an empty column name (column {header.index('') + 1})")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise DataError(f"{path}: duplicate column names in the header: {_names(dup)}")
    body, lines = rows[1:], lines[1:]
    if not body:
        raise DataError(f"{path}: no data rows after the header")
    for r, line in zip(body, lines):
        if len(r) != len(header):
            raise DataError(f"{path}: line {line} has {len(r)} fields, the header has {len(header)}")
    return header, np.array(body, dtype=str), lines


def _csv_numbers(path):
    """``(header, matrix)`` when every cell is a finite number (numpy's fast reader), else None."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            header = [h.strip() for h in next(csv.reader(f), [])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2, comments=None,
                           quotechar='"', encoding="utf-8-sig")
    except Exception:  # noqa: BLE001 - anything unusual: the careful reader explains it
        return None
    if (a.shape[0] == 0 or a.shape[1] != len(header) or not all(header) or len(set(header)) != len(header)
            or not np.isfinite(a).all()):
        return None
    return header, a


def _numeric_column(path, cells, name, lines):
    """Column ``name`` as float64 or DataError naming the first bad cell."""
    try:
        col = np.char.strip(cells).astype(np.float64)
    except ValueError:
        col = None
    if col is not None and np.isfinite(col).all():
        return col
    for i, c in enumerate(cells):
        try:
            v = float(c)
        except ValueError:
            what = "an empty value" if not c.strip() else f"the non-numeric value {c.strip()!r}"
            raise DataError(f"{path}: column {name!r} has {what} at line {lines[i]} "
                            f"(only numeric columns are supported)") from None
        if not np.isfinite(v):
            raise DataError(f"{path}: column {name!r} has the value {c.strip()!r} at line {lines[i]} "
                            f"(missing or infinite values are not supported)")
    raise DataError(f"{path}: column {name!r} is not numeric")  # pragma: no cover


def _csv_read(path):
    """``(header, matrix, cells, lines)``: ``matrix`` when all is numeric, else the strings."""
    fast = _csv_numbers(path)
    if fast is not None:
        return fast[0], fast[1], None, None
    header, cells, lines = _csv_rows(path)
    return header, None, cells, lines


def _csv_columns(path, read, cols, names):
    """Columns ``cols`` of a :func:`_csv_read` result as float64 (named errors for bad cells)."""
    _, matrix, cells, lines = read
    if matrix is not None:
        return np.ascontiguousarray(matrix[:, cols])
    x = np.empty((cells.shape[0], len(cols)), dtype=np.float64)
    for j, (c, name) in enumerate(zip(cols, names)):
        x[:, j] = _numeric_column(path, cells[:, c], name, lines)
    return x


def _read_csv(path, target):
    read = header, matrix, cells, lines = _csv_read(path)
    if target is None:
        raise DataError(f"{path}: name the target column with --target (columns: {_names(header)})")
    if target not in header:
        raise DataError(f"{path}: no column named {target!r} for --target (columns: {_names(header)})")
    if len(header) < 2:
        raise DataError(f"{path}: needs at least one feature column besides the target {target!r}")
    t = header.index(target)
    features = [h for h in header if h != target]
    x = _csv_columns(path, read, [header.index(h) for h in features], features)
    if matrix is not None:
        return Table(x, matrix[:, t].copy(), features, target, path)
    raw = np.char.strip(cells[:, t])
    try:
        y = raw.astype(np.float64)
    except ValueError:
        y = raw                                 # text labels (classification only)
    bad = (raw == "") if y.dtype.kind == "U" else ~np.isfinite(y)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: column {target!r} has the value {str(raw[i])!r} at line {lines[i]} "
                        f"(missing or infinite values are not supported)")
    return Table(x, y, features, target, path)


def _load_array_file(path):
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        raise DataError(f"{path}: cannot read ({e})") from None
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable numpy file ({type(e).__name__}: {e})") from None


def _check_numeric(path, a, what):
    if a.dtype.kind not in _NUMERIC:
        raise DataError(f"{path}: {what} has dtype {a.dtype}; only numeric data is supported")
    a = a.astype(np.float64, copy=False)
    bad = ~np.isfinite(a)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(f"{path}: {what} has NaN or infinite values (first at row {row}); "
                        f"missing values are not supported")
    return a


def _npz_features(path, z, exclude):
    if "x" in z.files:
        return "x"
    others = [k for k in z.files if k != exclude]
    if len(others) == 1:
        return others[0]
    raise DataError(f"{path}: expected an array named 'x' for the features (arrays: {_names(z.files)})")


def _read_npz(path, target):
    with _load_array_file(path) as z:
        if not hasattr(z, "files"):
            raise DataError(f"{path}: not an .npz archive")
        yname = target if target is not None else "y"
        if yname not in z.files:
            raise DataError(f"{path}: no array named {yname!r} for the target (arrays: {_names(z.files)}); "
                            f"name it with --target")
        xname = _npz_features(path, z, yname)
        if xname == yname:
            raise DataError(f"{path}: --target {yname!r} is the feature array")
        try:
            x, y = z[xname], z[yname]
        except ValueError as e:
            raise DataError(f"{path}: cannot read ({e})") from None
    x = _as_2d(path, x, f"array {xname!r}")
    x = _check_numeric(path, x, f"array {xname!r}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{path}: target array {yname!r} must be 1-D, got shape {y.shape}")
    if y.shape[0] != x.shape[0]:
        raise DataError(f"{path}: {xname!r} has {x.shape[0]} rows but {yname!r} has {y.shape[0]}")
    y = _check_numeric(path, y, f"target array {yname!r}")
    return Table(x, y, [f"x{j}" for j in range(x.shape[1])], yname, path)


def _as_2d(path, a, what):
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise DataError(f"{path}: {what} must be a non-empty 2-D array (rows, features), got shape {a.shape}")
    return a


def _target_index(path, target, ncols):
    if target is None:
        return ncols - 1
    try:
        t = int(target)
    except ValueError:
        raise DataError(f"{path}: --target for an .npy file is a column index, got {target!r}") from None
    if not -ncols <= t < ncols:
        raise DataError(f"{path}: --target {t} is out of range for {ncols} columns")
    return t % ncols


def _read_npy(path, target):
    a = _load_array_file(path)
    if not isinstance(a, np.ndarray):
        raise DataError(f"{path}: not an .npy array")
    if a.ndim != 2 or a.shape[1] < 2 or a.shape[0] == 0:
        raise DataError(f"{path}: expected a 2-D array with a target column and at least one feature "
                        f"column, got shape {a.shape}")
    a = _check_numeric(path, a, "the array")
    t = _target_index(path, target, a.shape[1])
    keep = [j for j in range(a.shape[1]) if j != t]
    return Table(np.ascontiguousarray(a[:, keep]), a[:, t].copy(), [f"x{j}" for j in keep], f"column {t}",
                 path, target_index=t)


def read_features(path, meta):
    """The feature matrix of ``path`` for a model described by ``meta`` (from training)."""
    kind = _kind(path)
    names = list(meta["features"])
    d = len(names)
    if kind == "csv":
        read = _csv_read(path)
        header = read[0]
        if all(n in header for n in names):
            cols = [header.index(n) for n in names]
        elif len(header) == d:
            cols, names = list(range(d)), header
        else:
            missing = [n for n in names if n not in header]
            raise DataError(f"{path}: missing feature columns the model was trained on: {_names(missing)}")
        return _csv_columns(path, read, cols, names)
    if kind == "npz":
        with _load_array_file(path) as z:
            if not hasattr(z, "files"):
                raise DataError(f"{path}: not an .npz archive")
            xname = _npz_features(path, z, meta.get("target"))
            x = z[xname]
        what = f"array {xname!r}"
    else:
        x = _load_array_file(path)
        if not isinstance(x, np.ndarray):
            raise DataError(f"{path}: not an .npy array")
        what = "the array"
    x = _check_numeric(path, _as_2d(path, x, what), what)
    if x.shape[1] == d + 1 and kind == "npy":
        t = meta.get("target_index")
        t = x.shape[1] - 1 if t is None else int(t)
        x = x[:, [j for j in range(x.shape[1]) if j != t]]
    if x.shape[1] != d:
        raise DataError(f"{path}: {what} has {x.shape[1]} columns; the model takes {d} features")
    return x


# ------------------------------------------------------------------------------- task
def choose_task(y, requested, source):
    """``"classify"`` or ``"regress"``: ``requested``, else from the target's values."""
    text = y.dtype.kind == "U"
    if requested == "regress" and text:
        raise DataError(f"{source}: --task regress needs a numeric target; it holds text labels")
    if requested:
        return requested
    if text:
        return "classify"
    distinct = np.unique(y)
    integral = bool(np.all(distinct == np.round(distinct)))
    return "classify" if integral and distinct.size <= MAX_CLASSES_AUTO else "regress"


def encode_classes(y, source):
    """``(classes, indices)``: the sorted distinct labels and each row's index into them."""
    classes, idx = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise DataError(f"{source}: the target has a single value ({_label(classes[0])}); "
                        f"classification needs at least 2 classes")
    return classes, idx.astype(np.int64).ravel()


def _label(v):
    """A class label as a JSON value: int when integral, else float, or str."""
    if isinstance(v, (str, np.str_)):
        return str(v)
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


def labels_json(classes):
    return [_label(c) for c in classes]


# ------------------------------------------------------------------------------- splits
def split(n, labels, val_fraction, seed, test_fraction=TEST_FRACTION):
    """Seeded ``(train, val, test)`` row indices; per class when ``labels`` is given."""
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    parts = ([], [], [])
    for g in groups:
        g = rng.permutation(g)
        n_test = int(round(len(g) * test_fraction))
        n_val = int(round((len(g) - n_test) * val_fraction))
        parts[2].append(g[:n_test])
        parts[1].append(g[n_test:n_test + n_val])
        parts[0].append(g[n_test + n_val:])
    train, val, test = (np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    if train.size == 0:
        raise DataError(f"{n} rows are too few to split into training, validation and test parts")
    return train, val, test


# ------------------------------------------------------------------------------- scaling
def standardizer(x):
    """``(mean, std)`` of the columns of ``x``; a constant column gets std 1."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    flat = ~(std > 1e-12 * np.maximum(1.0, np.abs(mean)))
    std[flat] = 1.0
    return mean, std


def standardize(x, mean, std):
    return (x - np.asarray(mean)) / np.asarray(std)
