"""What a benchmark report says about the machine and the libraries, and thread control.

Collects the fastnn configuration (kernel path, threads, OpenMP runtime), the CPU model
from /proc/cpuinfo, the NumPy version and the BLAS it was built with, and, when they are
importable, PyTorch, scikit-learn and threadpoolctl. ``set_threads`` applies ``--threads N`` to fastnn
and, where possible, to the peers.
"""
from __future__ import annotations

import io
import os
import platform
import sys

import numpy as np

import fastnn


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def load_average():
    """1, 5 and 15 minute load averages (None where the OS does not tell)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def fastnn_config() -> dict:
    """``fastnn.show_config()`` without printing."""
    return dict(fastnn.show_config(file=io.StringIO()))


def numpy_blas() -> dict:
    """Name and version of the BLAS NumPy was built with (``numpy.show_config``)."""
    info = {"name": "unknown", "version": ""}
    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 1.25
    except TypeError:
        cfg = None
    except Exception:  # pragma: no cover - defensive: never fail a benchmark over this
        cfg = None
    if isinstance(cfg, dict):
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info["name"] = str(blas.get("name", "unknown"))
        info["version"] = str(blas.get("version", ""))
        conf = blas.get("openblas configuration")
        if conf:
            info["configuration"] = str(conf)
        return info
    # Older NumPy: numpy.__config__ holds *_info dicts.
    for key in ("blas_ilp64_opt_info", "blas_opt_info", "openblas_info", "blas_mkl_info"):
        d = getattr(np.__config__, key, None)
        if isinstance(d, dict) and d.get("libraries"):
            info["name"] = ",".join(d["libraries"])
            break
    return info


def _threadpoolctl():
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl


def numpy_blas_threads():
    """``(threads, how)``: threads NumPy's BLAS uses, and how that was found."""
    tpc = _threadpoolctl()
    if tpc is not None:
        try:
            for lib in tpc.threadpool_info():
                if lib.get("user_api") == "blas" and "numpy" in str(lib.get("filepath", "")):
                    return int(lib["num_threads"]), "threadpoolctl"
            for lib in tpc.threadpool_info():
                if lib.get("user_api") == "blas":
                    return int(lib["num_threads"]), "threadpoolctl"
        except Exception:  # pragma: no cover - defensive
            pass
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").strip().isdigit():
            return int(os.environ[var]), f"${var}"
    return None, "library default (install threadpoolctl to report and set it)"


def import_torch():
    """``torch`` if it can be imported, else None (it is an optional peer)."""
    try:
        import torch
    except Exception:
        return None
    return torch


def import_sklearn():
    """``sklearn`` if scikit-learn can be imported, else None (it is an optional peer)."""
    try:
        import sklearn
    except Exception:
        return None
    return sklearn


def sklearn_classifier():
    """scikit-learn's own ``MLPClassifier`` class.

    Raises
    ------
    ImportError
        When scikit-learn cannot be imported, or when ``fastnn.sklearn.patch()`` is in
        effect (``sklearn.neural_network.MLPClassifier`` would then be fastnn's class and
        the comparison would be fastnn against itself).
    """
    if import_sklearn() is None:
        raise ImportError("scikit-learn is not installed (pip install 'fastnn[sklearn]')")
    from sklearn.neural_network import MLPClassifier

    if MLPClassifier.__module__.split(".")[0] != "sklearn":
        raise ImportError(f"sklearn.neural_network.MLPClassifier is {MLPClassifier.__module__}."
                          f"{MLPClassifier.__qualname__} (fastnn.sklearn.patch() is in effect; "
                          "call fastnn.sklearn.unpatch() first)")
    return MLPClassifier


class ThreadSettings:
    """Applies ``--threads N`` to fastnn, PyTorch and NumPy's BLAS; undone by ``restore``.

    NumPy's BLAS is limited through threadpoolctl when it is installed; otherwise it keeps
    its own setting and the report says so. NumPy's element-wise functions (ufuncs) are
    always single-threaded.
    """

    def __init__(self, n=None, torch=None):
        self.n = n
        self.notes = []
        self._fastnn_before = fastnn.get_num_threads()
        self._torch = torch
        self._torch_before = torch.get_num_threads() if torch is not None else None
        self._limiter = None
        if n is None:
            return
        fastnn.set_num_threads(n)
        if torch is not None:
            torch.set_num_threads(n)
        tpc = _threadpoolctl()
        if tpc is not None:
            self._limiter = tpc.threadpool_limits(limits=n, user_api="blas")
        else:
            self.notes.append(
                "numpy BLAS threads not set: threadpoolctl is not installed "
                "(set OPENBLAS_NUM_THREADS before starting instead)"
            )

    def restore(self):
        fastnn.set_num_threads(self._fastnn_before)
        if self._torch is not None and self._torch_before is not None:
            self._torch.set_num_threads(self._torch_before)
        if self._limiter is not None:
            self._limiter.restore_original_limits()
            self._limiter = None


def environment(torch=None, requested_peers=(), sklearn=None) -> dict:
    """Everything the report header shows, as a JSON-ready dict.

    ``torch`` and ``sklearn`` are the imported modules of the optional peers (None when
    not requested or not importable); a peer in ``requested_peers`` that is None gets a
    note instead of a version.
    """
    cfg = fastnn_config()
    blas_threads, blas_how = numpy_blas_threads()
    env = {
        "fastnn": {
            "version": fastnn.__version__,
            "arch": cfg.get("arch"),
            "available_archs": list(cfg.get("available_archs", [])),
            "num_threads": fastnn.get_num_threads(),
            "openmp": cfg.get("openmp"),
            "compiler": cfg.get("compiler"),
            "gemm_tile_f32": list(cfg.get("gemm_tile_f32", [])),
            "gemm_tile_f64": list(cfg.get("gemm_tile_f64", [])),
        },
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average": load_average(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": {
            "version": np.__version__,
            "blas": numpy_blas(),
            "blas_threads": blas_threads,
            "blas_threads_from": blas_how,
            "elementwise_threads": 1,
        },
    }
    try:
        import scipy

        env["scipy"] = scipy.__version__
    except ImportError:
        env["scipy"] = None
    if torch is not None:
        env["torch"] = {"version": torch.__version__, "num_threads": torch.get_num_threads()}
    elif "torch" in requested_peers:
        env["torch"] = {"version": None, "note": "not installed; torch columns skipped"}
    if sklearn is not None:
        env["sklearn"] = {"version": sklearn.__version__}
    elif "sklearn" in requested_peers:
        env["sklearn"] = {"version": None, "note": "not installed; sklearn side unavailable"}
    return env
