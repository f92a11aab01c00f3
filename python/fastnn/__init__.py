"""fastnn: fast multilayer-perceptron training on the CPU.

The hot path (GEMM, activations, losses, optimizer updates) is multithreaded C++ chosen at
run time for the CPU (generic, AVX2+FMA or AVX-512); see :func:`show_config`.
"""
from __future__ import annotations

from fastnn import _core
from fastnn import ops
from fastnn import (callbacks, initializers, layers, losses, metrics, optimizers, regularizers,
                    schedules)
from fastnn.layers import Input
from fastnn.model import Model, Sequential
from fastnn.io import load_model
from fastnn.gradcheck import gradient_check
from fastnn import io, plot  # plot loads matplotlib only when a function is called
from fastnn.many import fit_many
from fastnn import data, ensemble, model_selection, pruning

__version__ = _core.__version__

__all__ = ["__version__", "show_config", "set_num_threads", "get_num_threads", "ops", "layers", "losses",
           "metrics", "optimizers", "schedules", "initializers", "regularizers", "callbacks", "Input", "Model",
           "Sequential", "load_model", "gradient_check", "io", "plot", "fit_many", "data", "ensemble",
           "model_selection", "pruning"]


def set_num_threads(n: int) -> None:
    """Set the maximum number of threads native kernels use (>= 1).

    The default honours ``OMP_NUM_THREADS``, else the number of usable cores. Small
    problems use fewer threads than this (threading costs more than it saves there).
    Results never depend on the thread count.
    """
    import numbers

    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n: expected an int, got {type(n).__name__}")
    if not 1 <= int(n) <= 4096:
        raise ValueError(f"n: number of threads must be between 1 and 4096, got {int(n)}")
    _core.set_num_threads(int(n))


def get_num_threads() -> int:
    """The maximum number of threads native kernels use."""
    return _core.get_num_threads()


def show_config(file=None) -> dict:
    """Print the build and run-time configuration and return it as a dict.

    Reports the version, the kernel path in use and those this CPU supports (override
    with the environment variable ``FASTNN_ARCH=generic|avx2|avx512`` before import),
    the thread count, the OpenMP runtime and the compiler.
    """
    import platform
    import sys

    cfg = dict(_core.config())
    cfg["python"] = sys.version.split()[0]
    cfg["cpu"] = _cpu_model() or platform.processor() or platform.machine()
    lines = [
        f"fastnn {cfg['version']}",
        f"  kernel path      : {cfg['arch']} (available: {', '.join(cfg['available_archs'])};"
        f" compiled: {', '.join(cfg['compiled_archs'])})",
        f"  gemm tile f32/f64: {cfg['gemm_tile_f32'][0]}x{cfg['gemm_tile_f32'][1]} /"
        f" {cfg['gemm_tile_f64'][0]}x{cfg['gemm_tile_f64'][1]}",
        f"  threads          : {cfg['num_threads']} (cores: {cfg['num_procs']})",
        f"  OpenMP runtime   : {cfg['openmp']}",
        f"  compiler         : {cfg['compiler']}",
        f"  CPU              : {cfg['cpu']}",
        f"  Python           : {cfg['python']}",
    ]
    print("\n".join(lines), file=file or sys.stdout)
    return cfg


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
