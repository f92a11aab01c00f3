"""The README's Python examples run as written (in order, sharing one namespace, in a
temporary directory), so the documentation cannot drift from the API.

They run in a subprocess: the tour calls ``fastnn.sklearn.patch()``, which must not leak
into the other tests of this process."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from _child import child_env

README = Path(__file__).resolve().parent.parent / "README.md"

RUNNER = r"""
import sys
blocks = sys.stdin.read().split("\0")
ns = {"__name__": "__readme__"}
for i, code in enumerate(blocks):
    try:
        exec(compile(code, f"README.md python block {i + 1}", "exec"), ns)
    except Exception as e:
        print(f"README.md python block {i + 1} failed: {type(e).__name__}: {e}", file=sys.stderr)
        raise
"""


def _blocks():
    if not README.exists():  # an installed-package test run without the source tree
        return []
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_python_examples_run(tmp_path):
    pytest.importorskip("sklearn")
    blocks = _blocks()
    if not blocks:
        pytest.skip("README.md is not next to the tests")
    proc = subprocess.run([sys.executable, "-c", RUNNER], input="\0".join(blocks), text=True,
                          cwd=tmp_path, env=child_env(), capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (tmp_path / "digits.fastnn").exists()  # the tour saved its model


def test_readme_leaves_sklearn_unpatched():
    sk = pytest.importorskip("sklearn.neural_network")
    assert sk.MLPClassifier.__module__.startswith("sklearn.")
