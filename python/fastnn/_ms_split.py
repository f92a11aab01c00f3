"""Data splitting for model selection: train/validation/test splits and (stratified) K-fold
cross-validation iterators."""
from __future__ import annotations

import numbers

import numpy as np


def _array(v, name):
    if hasattr(v, "to_numpy") and not isinstance(v, np.ndarray):
        v = v.to_numpy()
    return np.asarray(v)


def _n_rows(x, name="x"):
    a = _array(x, name)
    if a.ndim == 0 or a.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty array with samples along axis 0, got shape {a.shape}")
    return a


def _rng(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"seed: expected an int >= 0 or None, got {seed!r}")
    return np.random.default_rng(seed)


def _labels(y, n, name="stratify"):
    a = _array(y, name)
    if a.shape[0] != n:
        raise ValueError(f"{name}: expected {n} rows, got shape {a.shape}")
    if a.ndim == 2:  # one-hot targets: stratify on the arg max
        a = a.argmax(axis=1)
    elif a.ndim != 1:
        raise ValueError(f"{name}: expected 1-D labels or 2-D one-hot, got shape {a.shape}")
    classes, inv, counts = np.unique(a, return_inverse=True, return_counts=True)
    return classes, inv.reshape(-1), counts


def _fraction(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v < 1:
        raise ValueError(f"{name}: expected a fraction in [0, 1), got {v!r}")
    return float(v)


def _share(total, sizes, caps, rng):
    """``total`` rows shared out over classes of ``sizes`` rows in proportion (largest
    remainders first, ties in random order), at most ``caps`` per class (each class keeps a
    training row)."""
    exact = total * sizes / sizes.sum()
    out = np.minimum(np.floor(exact).astype(np.int64), caps)
    order = np.lexsort((rng.random(len(sizes)), -(exact - np.floor(exact))))
    while out.sum() < total:
        room = [c for c in order if out[c] < caps[c]]
        if not room:
            break
        for c in room[:total - out.sum()]:
            out[c] += 1
    return out


def train_val_test_split(x, y, val_size=0.15, test_size=0.15, shuffle=True, stratify=None, seed=None):
    """Split ``x`` and ``y`` into training, validation and test parts.

    Parameters
    ----------
    x, y : arrays (or pandas objects) with samples along axis 0
    val_size, test_size : float in [0, 1)
        Fractions of all samples (rounded down, at least one when the fraction is > 0).
    shuffle : bool, default True
    stratify : array (n,), optional
        Class labels: each part keeps the class proportions (every class needs >= 2
        samples). Requires ``shuffle=True``.
    seed : int, optional

    Returns
    -------
    x_train, x_val, x_test, y_train, y_val, y_test : ndarrays
    """
    xa, ya = _n_rows(x, "x"), _n_rows(y, "y")
    n = xa.shape[0]
    if ya.shape[0] != n:
        raise ValueError(f"y: expected {n} rows like x, got shape {ya.shape}")
    fv, ft = _fraction(val_size, "val_size"), _fraction(test_size, "test_size")
    if fv + ft >= 1:
        raise ValueError(f"val_size + test_size must be < 1, got {fv} + {ft}")
    rng = _rng(seed)

    def counts(m):
        nv = int(np.floor(fv * m)) if fv > 0 else 0
        nt = int(np.floor(ft * m)) if ft > 0 else 0
        nv, nt = (max(nv, 1) if fv > 0 else 0), (max(nt, 1) if ft > 0 else 0)
        return nv, nt

    if stratify is not None:
        if not shuffle:
            raise ValueError("stratify: requires shuffle=True")
        classes, inv, cnt = _labels(stratify, n)
        if cnt.min() < 2:
            raise ValueError(f"stratify: class {classes[cnt.argmin()]!r} has only {cnt.min()} sample; every class "
                             "needs at least 2")
        nv, nt = counts(n)  # the documented totals, shared out over the classes
        if nv + nt >= n:
            raise ValueError(f"x: {n} samples are too few for val_size={fv} and test_size={ft}")
        nt_c = _share(nt, cnt, cnt - 1, rng)
        nv_c = _share(nv, cnt, cnt - 1 - nt_c, rng)
        if nt_c.sum() < nt or nv_c.sum() < nv:
            raise ValueError(f"stratify: {n} samples in {len(classes)} classes are too few for val_size={fv} and "
                             f"test_size={ft} with a training sample of every class")
        tr, va, te = [], [], []
        for c in range(len(classes)):
            idx = rng.permutation(np.flatnonzero(inv == c))
            nv, nt = int(nv_c[c]), int(nt_c[c])
            te.append(idx[:nt]), va.append(idx[nt:nt + nv]), tr.append(idx[nt + nv:])
        tr, va, te = (rng.permutation(np.concatenate(p)) for p in (tr, va, te))
    else:
        nv, nt = counts(n)
        if nv + nt >= n:
            raise ValueError(f"x: {n} samples are too few for val_size={fv} and test_size={ft}")
        idx = rng.permutation(n) if shuffle else np.arange(n)
        tr, va, te = idx[:n - nv - nt], idx[n - nv - nt:n - nt], idx[n - nt:]
    return xa[tr], xa[va], xa[te], ya[tr], ya[va], ya[te]


class KFold:
    """K-fold cross-validation: ``split(x)`` yields ``(train_idx, test_idx)`` K times, each
    sample in exactly one test fold (the first ``n % k`` folds one sample larger).

    Parameters
    ----------
    n_splits : int >= 2, default 5
    shuffle : bool, default False
    seed : int, optional (used when shuffling)
    """

    def __init__(self, n_splits=5, shuffle=False, seed=None):
        if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral) or n_splits < 2:
            raise ValueError(f"n_splits: expected an int >= 2, got {n_splits!r}")
        self.n_splits, self.shuffle, self.seed = int(n_splits), bool(shuffle), seed
        _rng(seed)

    def get_n_splits(self):
        """The number of folds."""
        return self.n_splits

    def _check_n(self, n):
        if self.n_splits > n:
            raise ValueError(f"n_splits={self.n_splits} (cv) is greater than the number of samples {n}")

    def split(self, x, y=None):
        """Yield ``(train_indices, test_indices)`` for each fold."""
        n = _n_rows(x).shape[0]
        self._check_n(n)
        idx = _rng(self.seed).permutation(n) if self.shuffle else np.arange(n)
        for f in np.array_split(idx, self.n_splits):
            mask = np.ones(n, dtype=bool)
            mask[f] = False
            yield np.flatnonzero(mask), np.sort(f)


class StratifiedKFold(KFold):
    """K-fold keeping the class proportions of ``y`` in every fold (each class is dealt to
    the folds round-robin). Every class needs at least ``n_splits`` samples."""

    def split(self, x, y=None):
        """Yield ``(train_indices, test_indices)`` for each fold, stratified on ``y``."""
        if y is None:
            raise ValueError("y: StratifiedKFold needs the class labels")
        n = _n_rows(x).shape[0]
        self._check_n(n)
        classes, inv, cnt = _labels(y, n, "y")
        if cnt.min() < self.n_splits:
            raise ValueError(f"y: class {classes[cnt.argmin()]!r} has {cnt.min()} samples, fewer than "
                             f"n_splits={self.n_splits}")
        rng = _rng(self.seed)
        fold = np.empty(n, dtype=np.int64)
        start = 0
        for c in range(len(classes)):
            idx = np.flatnonzero(inv == c)
            if self.shuffle:
                idx = rng.permutation(idx)
            fold[idx] = (start + np.arange(len(idx))) % self.n_splits
            start += len(idx)
        for k in range(self.n_splits):
            yield np.flatnonzero(fold != k), np.flatnonzero(fold == k)


def check_cv(cv, n, y=None):
    """A splitter from an int (KFold), or the splitter itself."""
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv: expected an int >= 2 or a splitter, got {cv!r}")
        if cv > n:
            raise ValueError(f"cv={cv} is greater than the number of samples {n}")
        return KFold(int(cv))
    if not hasattr(cv, "split"):
        raise TypeError(f"cv: expected an int or an object with split(), got {type(cv).__name__}")
    return cv
