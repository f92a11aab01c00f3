#!/usr/bin/env python3
"""Kernel benchmark suite: the same as ``fastnn bench kernels [options]``.

    python bench/run_kernels.py --json bench/results/kernels.json --peers numpy,torch

Works on an installed fastnn, or on a source checkout after ``tools/dev-build`` (then the
checkout's ``python/`` directory is used). See bench/README.md.
"""
import os
import sys

try:
    import fastnn  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

from fastnn.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", "kernels", *sys.argv[1:]]))
