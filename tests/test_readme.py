"""The README's Python examples run as written (in order, sharing one namespace, in a
temporary directory), so the documentation cannot drift from the API."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks():
    if not README.exists():  # an installed-package test run without the source tree
        return []
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_python_examples_run(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    blocks = _blocks()
    if not blocks:
        pytest.skip("README.md is not next to the tests")
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "__readme__"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"README.md python block {i + 1}", "exec"), ns)
        except Exception as e:  # name the block that broke
            raise AssertionError(f"README.md python block {i + 1} failed: {type(e).__name__}: {e}") from e
    assert (tmp_path / "digits.fastnn").exists()  # the tour saved its model
