"""Timing and validation helpers for the benchmark suites.

The rule for every case is *validate, then time*: each side (fastnn and its peers) runs
once on the case's inputs and its result is compared with a float64 NumPy reference; only
sides that pass are timed. Each side is then timed in its own block: a short pause (so
that the previous library's worker threads, which keep spinning for a while after a call,
e.g. OpenBLAS for up to ~0.2 s, have gone to sleep and do not steal cores from this one),
warm-up calls, then repeats. The reported figure is the median; the minimum is kept too.

Alternating single calls between libraries was tried and rejected: on a 2-core machine
each call then competes with the other library's still-spinning threads.
"""
from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass, field, replace

import numpy as np


@dataclass
class Timing:
    """Wall-clock times of one side of a case, in seconds."""

    times: list = field(default_factory=list)
    retimed: bool = False  # timed again: fastnn found the cores contended during the first block
    discarded_calls: int = 0  # the first block's timed calls, when retimed
    warmup_calls: int = 0  # untimed warm-up calls (of both blocks, when retimed)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    def as_dict(self) -> dict:
        d = {
            "median_s": self.median,
            "min_s": self.min,
            "repeats": len(self.times),
            "times_s": list(self.times),
        }
        if self.warmup_calls:
            d["warmup_calls"] = self.warmup_calls
        if self.retimed:
            d["retimed"], d["discarded_calls"] = True, self.discarded_calls
        return d


@dataclass
class Schedule:
    """How many times to run each side.

    Per side: sleep ``settle`` seconds, run ``warmup`` untimed calls (more while their
    total is below ``warmup_time`` seconds: after the pause the vCPUs and the library's
    worker threads leave their idle states slowly -- on the 2-core VM the first ten
    calls of a 30 us GEMM took 1.5-2.5x the steady time), then at least
    ``min_repeats`` timed calls; more run while that side's timed total is below
    ``min_time`` seconds, up to ``max_repeats``. Slow sides stop early: once their timed
    total exceeds ``max_time`` seconds, 3 repeats are enough.
    """

    warmup: int = 1
    min_repeats: int = 5
    max_repeats: int = 200
    min_time: float = 0.4
    settle: float = 0.3
    max_time: float = 1.0
    warmup_time: float = 0.02

    def capped(self, min_repeats=None) -> "Schedule":
        """A copy whose minimum repeat count is at most ``min_repeats`` (for big cases)."""
        if min_repeats is None or min_repeats >= self.min_repeats:
            return self
        return replace(self, min_repeats=max(1, min_repeats))


QUICK = Schedule(warmup=1, warmup_time=0.0, min_repeats=1, max_repeats=1, min_time=0.0, settle=0.0,
                 max_time=0.0)
DEFAULT = Schedule()


def contention_counter():
    """fastnn's count of contention backoffs (``None`` when the build has none).

    fastnn halves its thread teams for 0.2 s when a parallel region waited tens of
    milliseconds for a thread that the host or another process kept off its core; a block
    timed meanwhile measures that, not the kernels.
    """
    try:
        from fastnn import _core
    except ImportError:  # pragma: no cover - the suites need the extension anyway
        return None
    return getattr(_core, "_contention_backoffs", None)


def time_blocks(fns: dict, schedule: Schedule, disturbed=None) -> dict:
    """Time several zero-argument callables, one block per callable, in order.

    Parameters
    ----------
    fns : dict of str -> callable
        The sides to time; each call must do the full work once.
    schedule : Schedule
    disturbed : callable, optional
        A counter of disturbances (e.g. :func:`contention_counter`); a block during which
        it changes is timed once more, and that Timing says ``retimed``.

    Returns
    -------
    dict of str -> Timing
    """
    out = {}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for name, fn in fns.items():
            before = disturbed() if disturbed is not None else None
            timing = _time_block(fn, schedule)
            if before is not None and disturbed() != before:
                first = timing
                timing = _time_block(fn, schedule)
                timing.retimed, timing.discarded_calls = True, len(first.times)
                timing.warmup_calls += first.warmup_calls
            out[name] = timing
    finally:
        if gc_was_enabled:
            gc.enable()
    return out


def _time_block(fn, schedule: Schedule) -> Timing:
    if schedule.settle > 0:
        time.sleep(schedule.settle)
    warm_start = time.perf_counter()
    warm = 0
    for _ in range(schedule.warmup):
        fn()
        warm += 1
    while time.perf_counter() - warm_start < schedule.warmup_time:
        fn()
        warm += 1
    timing = Timing(warmup_calls=warm)
    spent = 0.0
    while True:
        n = len(timing.times)
        if n >= schedule.min_repeats:
            if spent >= schedule.min_time or n >= schedule.max_repeats:
                break
        elif n >= min(3, schedule.min_repeats) and spent >= schedule.max_time:
            break
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        timing.times.append(dt)
        spent += dt
    return timing


@dataclass
class Check:
    """Outcome of validating one side against the reference."""

    ok: bool
    max_abs_err: float
    worst: float  # largest |err| / allowed; <= 1 passes
    detail: str = ""

    def as_dict(self) -> dict:
        d = {"ok": self.ok, "max_abs_err": self.max_abs_err, "err_over_tol": self.worst}
        if self.detail:
            d["detail"] = self.detail
        return d


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else float("inf")


def check_close(result, reference, *, rtol: float, atol: float, name: str = "result") -> Check:
    """Compare element-wise: ``|result - reference| <= atol + rtol * |reference|``.

    ``reference`` should be float64; non-finite or wrongly shaped results fail.
    """
    result = np.asarray(result)
    reference = np.asarray(reference, dtype=np.float64)
    if result.shape != reference.shape:
        return Check(False, float("inf"), float("inf"),
                     f"{name}: shape {result.shape}, expected {reference.shape}")
    err = np.abs(result.astype(np.float64) - reference)
    allowed = atol + rtol * np.abs(reference)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = err / allowed
    if not np.all(np.isfinite(result)):
        return Check(False, float("inf"), float("inf"), f"{name}: non-finite values")
    worst = _finite(np.max(ratio)) if ratio.size else 0.0
    return Check(worst <= 1.0, _finite(np.max(err)) if err.size else 0.0, worst,
                 "" if worst <= 1.0 else f"{name}: error {worst:.3g}x the tolerance")


def check_bound(result, reference, bound, *, name: str = "result") -> Check:
    """Compare element-wise against an explicit error bound array (``|err| <= bound``)."""
    result = np.asarray(result)
    if result.shape != reference.shape:
        return Check(False, float("inf"), float("inf"),
                     f"{name}: shape {result.shape}, expected {reference.shape}")
    if not np.all(np.isfinite(result)):
        return Check(False, float("inf"), float("inf"), f"{name}: non-finite values")
    err = np.abs(result.astype(np.float64) - reference)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(err == 0, 0.0, err / bound)
    worst = _finite(np.max(ratio)) if ratio.size else 0.0
    return Check(worst <= 1.0, _finite(np.max(err)) if err.size else 0.0, worst,
                 "" if worst <= 1.0 else f"{name}: error {worst:.3g}x the bound")


def combine(checks) -> Check:
    """One Check for several arrays (all must pass)."""
    checks = list(checks)
    bad = [c for c in checks if not c.ok]
    return Check(
        not bad,
        max(c.max_abs_err for c in checks),
        max(c.worst for c in checks),
        "; ".join(c.detail for c in bad),
    )
