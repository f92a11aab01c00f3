"""Every script in examples/ runs to completion in its quick mode (FASTNN_EXAMPLE_QUICK=1),
prints what it demonstrates, and documents itself."""
import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where the fastnn this test process imports lives (the installed package in CI, the
# source tree with a dev build locally): subprocesses must import the same one.
import fastnn as _fastnn_for_path  # noqa: E402
_PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(_fastnn_for_path.__file__)))
EXAMPLES = os.path.join(ROOT, "examples")

# script -> lines its quick run must print (each script also checks its own results and
# exits non-zero when they are wrong)
EXPECTED = {
    "digits_classification.py": ["test accuracy", "predictions identical: True"],
    "regression_early_stopping.py": ["restored model on the held-out rows", "learning rate"],
    "multitask.py": ["price_loss", "kind_accuracy", "loss = 1.0 * price_loss + 0.5 * kind_loss"],
    "hyperparameter_search.py": ["trial  1:", "best:", "test accuracy"],
    "custom_layer.py": ["gradient check swish.beta", "predictions identical: True"],
}


def run_example(name, *args):
    env = dict(os.environ, FASTNN_EXAMPLE_QUICK="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PKG_PARENT, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_every_example_is_covered():
    scripts = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))
    assert scripts == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_documents_itself_and_has_a_quick_mode(name):
    src = open(os.path.join(EXAMPLES, name), encoding="utf-8").read()
    doc = ast.get_docstring(ast.parse(src))
    assert doc and len(doc.splitlines()) >= 5 and "Shows:" in doc
    assert "FASTNN_EXAMPLE_QUICK" in src and "FASTNN_EXAMPLE_QUICK" in doc
    assert 'if __name__ == "__main__":' in src


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_quick(name):
    r = run_example(name)
    assert r.returncode == 0, f"{name} failed:\n{r.stdout}\n{r.stderr}"
    for text in EXPECTED[name]:
        assert text in r.stdout, f"{name}: {text!r} not in output:\n{r.stdout}"
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("name", ["regression_early_stopping.py", "hyperparameter_search.py"])
def test_example_plots(name, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "out.png"
    r = run_example(name, "--plot", str(png))
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 4000


def test_example_rejects_bad_option():
    r = run_example("hyperparameter_search.py", "--trials", "three")
    assert r.returncode == 2 and "--trials" in r.stderr


@pytest.mark.parametrize("name", ["digits_classification.py", "hyperparameter_search.py"])
def test_example_without_scikit_learn_uses_synthetic_data(name):
    env = dict(os.environ, FASTNN_EXAMPLE_QUICK="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PKG_PARENT, env.get("PYTHONPATH")) if p)
    code = ("import runpy, sys; sys.modules['sklearn'] = None; sys.argv = [sys.argv[1]]; "
            "runpy.run_path(sys.argv[0], run_name='__main__')")
    r = subprocess.run([sys.executable, "-c", code, os.path.join(EXAMPLES, name)], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "scikit-learn not installed: using synthetic" in r.stdout
    assert "test accuracy" in r.stdout
