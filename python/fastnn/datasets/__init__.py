"""Small data sets shipped inside the fastnn package (no download, no extra dependency).

Each file's source and license are in a text file next to it
(``DIGITS_LICENSE.txt`` for :func:`load_digits`).
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["load_digits"]

_HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS_PATH = os.path.join(_HERE, "digits.npz")
_DIGITS_SHAPE = (1797, 64)


def load_digits(dtype="float64"):
    """The UCI handwritten digits: 1797 images of 8x8 pixels and their digits 0-9.

    The rows scikit-learn ships as ``sklearn.datasets.load_digits`` (the test part of the
    UCI "Optical Recognition of Handwritten Digits" set, E. Alpaydin and C. Kaynak,
    CC BY 4.0; see ``DIGITS_LICENSE.txt``), read from a 45 kB file inside the package.
    scikit-learn is not needed.

    Parameters
    ----------
    dtype : str or numpy dtype, default "float64"
        The dtype of ``x`` (a numeric dtype; "uint8" gives the stored values).

    Returns
    -------
    x : ndarray of shape (1797, 64)
        Pixels row by row, integers 0..16 (counts of "on" pixels in 4x4 blocks).
    y : ndarray of shape (1797,), int64
        The digit of each row.

    Notes
    -----
    Differs from scikit-learn's function: returns the tuple ``(x, y)`` (like
    ``return_X_y=True``), not a Bunch.

    Examples
    --------
    >>> from fastnn.datasets import load_digits
    >>> x, y = load_digits()
    >>> x.shape, y.shape, int(x.max()), sorted(set(y.tolist())) == list(range(10))
    ((1797, 64), (1797,), 16, True)
    """
    dt = np.dtype(dtype)
    if dt.kind not in "biuf":
        raise TypeError(f"dtype: expected a numeric dtype, got {dt}")
    with np.load(DIGITS_PATH, allow_pickle=False) as z:
        x, y = z["x"], z["y"]
    if x.shape != _DIGITS_SHAPE or y.shape != (_DIGITS_SHAPE[0],):
        raise ValueError(f"{DIGITS_PATH}: damaged file (x {x.shape}, y {y.shape})")
    return x.astype(dt), y.astype(np.int64)
