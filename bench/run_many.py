#!/usr/bin/env python3
"""Many-models benchmark: fit_many of 16 models vs the same 16 fitted one after another,
and a 16-trial random search (batched with fit_many) vs its trials run sequentially.

    python bench/run_many.py [--quick] [--json bench/results/many.json] [--threads N]

See ``python/fastnn/bench/many.py``. Works on an installed fastnn, or on a source checkout
after ``tools/dev-build`` (then the checkout's ``python/`` directory is used).
"""
import os
import sys

try:
    import fastnn  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

from fastnn.bench.many import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
