#!/usr/bin/env python3
"""scikit-learn drop-in benchmark: the same as ``fastnn bench sklearn [options]``.

    python bench/run_sklearn.py                     # 5 seeds, max_iter 100
    python bench/run_sklearn.py --json bench/results/sklearn.json --threads 1
    python bench/run_sklearn.py --quick             # 2 seeds, max_iter 20

``fastnn.sklearn.MLPClassifier`` against ``sklearn.neural_network.MLPClassifier`` on
digits, in a StandardScaler pipeline with the same parameters (hidden (128, 64), batch 32,
max_iter 100): test accuracy and fit time over several seeds; see
``python/fastnn/bench/sklearn_dropin.py``. Needs scikit-learn. Works on an installed
fastnn, or on a source checkout after ``tools/dev-build`` (then the checkout's ``python/``
directory is used).
"""
import os
import sys

try:
    import fastnn  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

from fastnn.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", "sklearn", *sys.argv[1:]]))
