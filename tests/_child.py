"""Python child processes for tests that need a process of their own (real signals, state
that must not leak into the test process): each imports the same fastnn as the tests."""
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import fastnn

PYTHON_DIR = str(Path(fastnn.__file__).resolve().parent.parent)


def child_env():
    """os.environ with the directory holding this fastnn first on PYTHONPATH."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join([PYTHON_DIR, os.environ.get("PYTHONPATH", "")]))


@contextlib.contextmanager
def child(code, **popen_kwargs):
    """``python -c code`` with text pipes for stdout and stderr; killed if still running on exit."""
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=child_env(), **popen_kwargs)
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def interrupt(p, timeout=120):
    """Send SIGINT to child ``p`` and wait for it: returns (stdout, stderr) still unread."""
    os.kill(p.pid, signal.SIGINT)
    return p.communicate(timeout=timeout)
