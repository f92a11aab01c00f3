#!/usr/bin/env python3
"""Training benchmark: the same as ``fastnn bench train [options]``.

    python bench/run_train.py --json bench/results/train.json
    python bench/run_train.py --quick --filter tabular

One epoch of Adam (float32) on three MLPs, fastnn against a plain NumPy implementation
(the reference peer) and eager PyTorch when it is installed; see
``python/fastnn/bench/train.py``. Works on an installed fastnn, or on a source checkout
after ``tools/dev-build`` (then the checkout's ``python/`` directory is used).
"""
import os
import sys

try:
    import fastnn  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

from fastnn.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", "train", *sys.argv[1:]]))
