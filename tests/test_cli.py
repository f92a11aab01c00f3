"""The ``fastnn`` command line: info, bench kernels options, one-line errors."""
import os
import subprocess
import sys

import pytest

import fastnn
from fastnn.cli import main


def _pythonpath():
    """PYTHONPATH that finds this fastnn (installed or a source checkout)."""
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    old = os.environ.get("PYTHONPATH")
    return pkg_parent + (os.pathsep + old if old else "")


def _run_cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=_pythonpath())
    return subprocess.run([sys.executable, "-m", "fastnn.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_info_prints_show_config(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"fastnn {fastnn.__version__}" in out
    assert "kernel path" in out
    assert fastnn.show_config(file=open(os.devnull, "w"))["arch"] in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"fastnn {fastnn.__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err.lower()


def test_help_exits_zero(capsys):
    assert main(["bench", "kernels", "--help"]) == 0
    out = capsys.readouterr().out
    for opt in ("--json", "--threads", "--peers", "--quick", "--filter"):
        assert opt in out


@pytest.mark.parametrize("argv, fragment", [
    (["bench", "kernels", "--threads", "0"], "--threads"),
    (["bench", "kernels", "--threads", "two"], "--threads"),
    (["bench", "kernels", "--peers", "numpy,tensorflow"], "tensorflow"),
    (["bench", "kernels", "--peers", ","], "--peers"),
    (["bench", "kernels", "--repeats", "-3"], "--repeats"),
    (["bench", "kernels", "--json", "/nonexistent-dir-fastnn/x.json"], "does not exist"),
    (["bench", "kernels", "--bogus"], "--bogus"),
    (["bench", "nosuchsuite"], "nosuchsuite"),
    (["bench"], "suite"),
    (["frobnicate"], "frobnicate"),
])
def test_bad_options_one_line_error(capsys, argv, fragment):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("fastnn")
    assert fragment in err
    assert "Traceback" not in captured.err + captured.out


def test_json_path_is_directory(capsys, tmp_path):
    assert main(["bench", "kernels", "--quick", "--json", str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err


def test_filter_matching_nothing_fails(capsys):
    assert main(["bench", "kernels", "--quick", "--filter", "no-such-case-xyz"]) == 2
    assert "no case matches" in capsys.readouterr().out


def test_list_cases(capsys):
    assert main(["bench", "kernels", "--list"]) == 0
    out = capsys.readouterr().out
    assert "sgemm 2048x2048x2048" in out
    assert "mlp dW TN B=256 1024x2048" in out
    assert "gelu_tanh bwd 8M" in out
    assert "adam_update 10M" in out
    assert main(["bench", "kernels", "--list", "--filter", "dgemm"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all("dgemm" in ln for ln in lines)


def test_subprocess_info_and_bad_option():
    ok = _run_cli("info")
    assert ok.returncode == 0, ok.stderr
    assert "kernel path" in ok.stdout
    bad = _run_cli("bench", "kernels", "--threads", "0")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr


def test_subprocess_quick_bench(tmp_path):
    out = tmp_path / "k.json"
    res = _run_cli("bench", "kernels", "--quick", "--filter", "sgemm", "--json", str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "sgemm 64x64x64" in res.stdout
    assert out.exists()
