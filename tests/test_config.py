"""Configuration and dispatch: show_config, thread settings, the kernel path switch
(``_core.set_arch``) and the FASTNN_ARCH / OMP_NUM_THREADS environment variables (checked
in subprocesses, since they act at import)."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _core

ARCHS = _core.available_archs()
ALL_ARCHS = ["generic", "avx2", "avx512"]
# Register tiles documented for each path: (f32 MR, NR), (f64 MR, NR).
TILES = {"avx512": ((8, 48), (8, 24)), "avx2": ((6, 16), (6, 8)), "generic": ((4, 8), (4, 4))}
CONFIG_KEYS = {"version", "arch", "available_archs", "compiled_archs", "num_threads", "num_procs",
               "openmp", "compiler", "gemm_tile_f32", "gemm_tile_f64", "python", "cpu"}


def run_python(code, **env_overrides):
    """Run ``code`` in a fresh interpreter that imports this same fastnn."""
    env = dict(os.environ)
    for key in ("FASTNN_ARCH", "OMP_NUM_THREADS"):
        env.pop(key, None)
    env.update(env_overrides)
    pkg_parent = os.path.dirname(os.path.dirname(fastnn.__file__))
    env["PYTHONPATH"] = os.pathsep.join([pkg_parent] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


# ----------------------------------------------------------------------------- show_config


def test_show_config_prints_and_returns_keys():
    buf = io.StringIO()
    cfg = fastnn.show_config(file=buf)
    text = buf.getvalue()
    assert CONFIG_KEYS <= set(cfg)
    assert cfg["version"] == fastnn.__version__
    assert cfg["arch"] == _core.get_arch() and cfg["arch"] in cfg["available_archs"]
    assert cfg["num_threads"] == fastnn.get_num_threads()
    assert f"fastnn {fastnn.__version__}" in text
    assert cfg["arch"] in text and cfg["openmp"] in text and cfg["compiler"] in text
    mr, nr = cfg["gemm_tile_f32"]
    assert f"{mr}x{nr}" in text


def test_show_config_prints_to_stdout_by_default(capsys):
    cfg = fastnn.show_config()
    out = capsys.readouterr().out
    assert cfg["arch"] in out and "threads" in out


def test_show_config_follows_arch_and_threads(isa):
    before = fastnn.get_num_threads()
    try:
        fastnn.set_num_threads(3)
        cfg = fastnn.show_config(file=io.StringIO())
        assert cfg["arch"] == isa
        assert cfg["num_threads"] == 3
        f32, f64 = TILES[isa]
        assert tuple(cfg["gemm_tile_f32"]) == f32 and tuple(cfg["gemm_tile_f64"]) == f64
    finally:
        fastnn.set_num_threads(before)


def test_available_archs():
    cfg = _core.config()
    assert "generic" in ARCHS
    assert set(ARCHS) <= set(cfg["compiled_archs"]) <= set(ALL_ARCHS)
    assert list(cfg["available_archs"]) == list(ARCHS)
    # the order is by capability, so the default path is the last one
    assert ARCHS == [a for a in ALL_ARCHS if a in ARCHS]


# ----------------------------------------------------------------------------- set_arch


def test_set_arch_switches_and_round_trips():
    before = _core.get_arch()
    try:
        for arch in ARCHS:
            _core.set_arch(arch)
            assert _core.get_arch() == arch == _core.config()["arch"]
    finally:
        _core.set_arch(before)
    assert _core.get_arch() == before


@pytest.mark.parametrize("name", ["bogus", "AVX-512", "", "sse2"])
def test_set_arch_unknown_name(name):
    before = _core.get_arch()
    with pytest.raises(ValueError, match=f"'{name}'"):
        _core.set_arch(name)
    assert _core.get_arch() == before


@pytest.mark.parametrize("arch", [a for a in ALL_ARCHS if a not in ARCHS] or [None])
def test_set_arch_unsupported(arch):
    if arch is None:
        pytest.skip("this CPU supports every kernel path")
    with pytest.raises(ValueError, match=arch):
        _core.set_arch(arch)


# ----------------------------------------------------------------------------- threads


def test_set_num_threads_round_trip():
    before = fastnn.get_num_threads()
    try:
        for n in (1, 2, 5, np.int64(3), np.int32(1)):
            fastnn.set_num_threads(n)
            assert fastnn.get_num_threads() == int(n)
            assert isinstance(fastnn.get_num_threads(), int)
    finally:
        fastnn.set_num_threads(before)
    assert fastnn.get_num_threads() == before


@pytest.mark.parametrize("n, exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                    (2.0, TypeError), ("2", TypeError), (None, TypeError), (True, TypeError),
                                    (np.float64(2), TypeError), ([2], TypeError)])
def test_set_num_threads_rejects(n, exc):
    before = fastnn.get_num_threads()
    with pytest.raises(exc, match="n"):
        fastnn.set_num_threads(n)
    assert fastnn.get_num_threads() == before


@pytest.mark.parametrize("n", [-(2**40), 2**31, 2**63])
def test_set_num_threads_out_of_c_int_range_raises(n):
    before = fastnn.get_num_threads()
    with pytest.raises((ValueError, TypeError, OverflowError)):
        fastnn.set_num_threads(n)
    assert fastnn.get_num_threads() == before


# Regression test (fixed bug): python/fastnn/__init__.py set_num_threads (line 27): an int outside the C int range
# reaches the binding, and pybind11 answers TypeError "incompatible function arguments"
# instead of the ValueError "n: number of threads must be >= 1, got ..." that 0 and -1 get.
# Fix: check the range in Python (n < 1, or above a sane cap such as 2**15 -> ValueError).
def test_set_num_threads_out_of_range_is_value_error():
    for n in (-(2**40), 2**40):
        with pytest.raises(ValueError, match=r"^n: .*" + str(n)):
            fastnn.set_num_threads(n)


@pytest.mark.parametrize("omp", ["1", "3"])
def test_omp_num_threads_sets_default(omp):
    proc = run_python("import fastnn; print(fastnn.get_num_threads(), fastnn._core.config()['num_threads'])",
                      OMP_NUM_THREADS=omp)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [omp, omp]


def test_default_threads_is_core_count():
    proc = run_python("import fastnn; c = fastnn._core.config(); print(c['num_threads'], c['num_procs'])")
    assert proc.returncode == 0, proc.stderr
    nt, procs = map(int, proc.stdout.split())
    assert nt == procs >= 1


# ----------------------------------------------------------------------------- FASTNN_ARCH

_CHECK = (
    "import numpy as np, fastnn; from fastnn import _core\n"
    "a = np.arange(12.0).reshape(3, 4); b = np.arange(8.0).reshape(4, 2)\n"
    "assert (fastnn.ops.matmul(a, b) == a @ b).all()\n"
    "assert (fastnn.ops.matmul(a.astype(np.float32), b.astype(np.float32)) == (a @ b).astype(np.float32)).all()\n"
    "c = _core.config(); print(_core.get_arch(), c['arch'], *c['gemm_tile_f32'], *c['gemm_tile_f64'])\n"
)


@pytest.mark.parametrize("arch", ARCHS)
def test_fastnn_arch_selects_path(arch):
    proc = run_python(_CHECK, FASTNN_ARCH=arch)
    assert proc.returncode == 0, proc.stderr
    (f32mr, f32nr), (f64mr, f64nr) = TILES[arch]
    assert proc.stdout.split() == [arch, arch, str(f32mr), str(f32nr), str(f64mr), str(f64nr)]


@pytest.mark.parametrize("value", ["", "auto"])
def test_fastnn_arch_auto_picks_best(value):
    proc = run_python(_CHECK, FASTNN_ARCH=value)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == ARCHS[-1]


def test_default_path_is_best():
    proc = run_python(_CHECK)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == ARCHS[-1]


@pytest.mark.parametrize("value", ["bogus", "avx1024", "AVX2", "generic "])
def test_fastnn_arch_unknown_fails_import(value):
    proc = run_python("import fastnn", FASTNN_ARCH=value)
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr or "Error" in proc.stderr
    assert repr(value) in proc.stderr or f"'{value}'" in proc.stderr, proc.stderr
    assert "Segmentation" not in proc.stderr and "core dumped" not in proc.stderr


@pytest.mark.parametrize("arch", [a for a in ALL_ARCHS if a not in ARCHS] or [None])
def test_fastnn_arch_unsupported_fails_import(arch):
    if arch is None:
        pytest.skip("this CPU supports every kernel path")
    proc = run_python("import fastnn", FASTNN_ARCH=arch)
    assert proc.returncode != 0
    assert f"FASTNN_ARCH={arch}" in proc.stderr


# ----------------------------------------------------------------------------- contention backoff

def test_contention_backoff_halves_teams_then_recovers_and_keeps_results():
    # Parallel regions that take far longer than their first thread's share (another process
    # holds a core) make teams use half the threads for 0.2 s; three in a row that lost 10 ms
    # in all are needed, so one slow wake-up or a brief stall does not.  Thread counts never
    # change results.
    code = """
import time
import numpy as np
import fastnn
from fastnn import _core

def train():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 40)).astype(np.float32)
    y = rng.integers(0, 3, 256)
    L = fastnn.layers
    m = fastnn.Sequential([L.Input(40), L.Dense(64, activation="relu"), L.Dense(3)], seed=1)
    m.compile(optimizer=fastnn.optimizers.Adam(1e-2),
              loss=fastnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.fit(x, y, batch_size=32, epochs=2, verbose=0)
    return np.concatenate([w.ravel() for w in m.get_weights()])

fastnn.set_num_threads(4)
assert _core._team_threads() == 4
quiet = train()
started = _core._contention_backoffs()
for _ in range(2):
    _core._note_team_wait(0.010, 0.001)          # two late regions: not yet
assert _core._team_threads() == 4
_core._note_team_wait(0.0011, 0.001)             # an ordinary one resets the count
for _ in range(4):
    _core._note_team_wait(0.0029, 0.0005)        # four late by 2.4 ms: under 10 ms lost in all
assert _core._team_threads() == 4
_core._note_team_wait(0.0011, 0.001)
for _ in range(2):
    _core._note_team_wait(0.010, 0.001)
assert _core._team_threads() == 4
assert _core._contention_backoffs() == started
_core._note_team_wait(0.010, 0.001)              # the third late region in a row
assert _core._team_threads() == 2
assert _core._contention_backoffs() == started + 1   # benchmarks re-time a block when it moves
assert fastnn.get_num_threads() == 4             # the user's setting is unchanged
assert np.array_equal(train(), quiet)
time.sleep(0.3)
assert _core._team_threads() == 4
fastnn.set_num_threads(1)
for _ in range(3):
    _core._note_team_wait(0.010, 0.001)
assert _core._team_threads() == 1
print("ok")
"""
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
