"""One benchmark case, its sides, its target, and running it (validate, then time)."""
from __future__ import annotations

import gc
import traceback
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from fastnn.bench._timing import Check, Schedule, contention_counter, time_blocks


# Informational extra side: fastnn writing into a preallocated out= (element-wise ops,
# softmax). Never a peer: not used for ratios or targets.
OUT_SIDE = "fastnn_out"


@dataclass
class Side:
    """One implementation of a case: ``run()`` does the work once (what is timed);
    ``validate()`` runs it once more, on copies where it works in place, and returns a
    :class:`Check` against the float64 reference."""

    run: Callable[[], object]
    validate: Callable[[], Check]


@dataclass
class Built:
    """A case's inputs, allocated: the sides that can run, and why others cannot."""

    sides: dict = field(default_factory=dict)      # name -> Side
    missing: dict = field(default_factory=dict)    # name -> reason (n/a)


@dataclass
class Target:
    """Performance target: fastnn at least ``min_ratio`` times NumPy's speed and at least
    ``min_rate`` in the case's unit (either may be None)."""

    min_ratio: Optional[float] = None
    min_rate: Optional[float] = None

    def text(self, unit: str) -> str:
        parts = []
        if self.min_ratio is not None:
            parts.append(f">={self.min_ratio:g}x np")
        if self.min_rate is not None:
            parts.append(f">={self.min_rate:g} {unit}")
        return ", ".join(parts)

    def evaluate(self, rate, ratio) -> tuple:
        """``(status, why)``: status is "pass", "fail" or "n/a"."""
        fails, unknown = [], []
        if self.min_ratio is not None:
            if ratio is None:
                unknown.append("no numpy ratio")
            elif ratio < self.min_ratio:
                fails.append(f"ratio {ratio:.2f} < {self.min_ratio:g}")
        if self.min_rate is not None:
            if rate is None:
                unknown.append("no fastnn rate")
            elif rate < self.min_rate:
                fails.append(f"rate {rate:.1f} < {self.min_rate:g}")
        if fails:
            return "fail", "; ".join(fails)
        if unknown:
            return "n/a", "; ".join(unknown)
        return "pass", ""


@dataclass
class Case:
    """A named benchmark: ``build(peers)`` allocates the inputs and returns a Built."""

    name: str
    group: str
    unit: str            # "GFLOP/s" or "GB/s"
    work: float          # floating-point operations or bytes moved per call
    build: Callable[[tuple], Built]
    info: dict = field(default_factory=dict)
    target: Optional[Target] = None
    min_repeats: Optional[int] = None   # fewer repeats for big cases

    def matches(self, patterns) -> bool:
        if not patterns:
            return True
        hay = f"{self.group} {self.name}".lower()
        return any(p in hay for p in patterns)


def _rate(work: float, seconds: float) -> float:
    return work / seconds / 1e9


def _short(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0] if msg else ''}".strip()


def run_case(case: Case, *, peers: tuple, schedule: Schedule, apply_targets: bool) -> dict:
    """Build, validate and time one case; return its JSON-ready record.

    ``status`` is "ok", "n/a" (fastnn's function is not available), "invalid" (a fastnn
    result, with or without ``out=``, failed validation) or "error" (building or running
    raised). Peers that fail validation are left out of the timing and noted.
    """
    rec = {
        "name": case.name,
        "group": case.group,
        "unit": case.unit,
        "work": case.work,
        "info": dict(case.info),
        "status": "ok",
        "reason": "",
        "validation": {},
        "timing": {},
        "rate": {},
        "ratio": {},
        "ratio_best": {},
        "target": None,
    }
    if case.target is not None:
        rec["target"] = {"text": case.target.text(case.unit), "min_ratio": case.target.min_ratio,
                         "min_rate": case.target.min_rate, "status": "-", "why": ""}
        if not apply_targets:
            rec["target"]["why"] = "quick run: sizes too small for targets"
    try:
        built = case.build(peers)
    except Exception as exc:  # noqa: BLE001 - one broken case must not stop the suite
        rec["status"], rec["reason"] = "error", f"setup: {_short(exc)}"
        rec["traceback"] = traceback.format_exc()
        return rec
    try:
        if "fastnn" in built.missing:
            rec["status"], rec["reason"] = "n/a", built.missing["fastnn"]
            return rec
        for name, why in built.missing.items():
            rec["validation"][name] = {"ok": None, "skipped": why}
        # 1. validate every side; drop those that fail
        valid = {}
        for name, side in built.sides.items():
            try:
                chk = side.validate()
            except Exception as exc:  # noqa: BLE001
                rec["validation"][name] = {"ok": False, "detail": _short(exc)}
                if name.startswith("fastnn") and rec["status"] == "ok":
                    label = "fastnn" if name == "fastnn" else "fastnn out="
                    rec["status"], rec["reason"] = "error", f"{label}: {_short(exc)}"
                    rec["traceback"] = traceback.format_exc()
                continue
            rec["validation"][name] = chk.as_dict()
            if chk.ok:
                valid[name] = side.run
            elif name.startswith("fastnn") and rec["status"] == "ok":
                label = "fastnn" if name == "fastnn" else "fastnn out="
                rec["status"], rec["reason"] = "invalid", f"{label}: {chk.detail}"
        if rec["status"] != "ok":
            return rec
        # 2. time the valid sides, one block each
        try:
            timings = time_blocks(valid, schedule.capped(case.min_repeats), disturbed=contention_counter())
        except Exception as exc:  # noqa: BLE001
            rec["status"], rec["reason"] = "error", f"timing: {_short(exc)}"
            rec["traceback"] = traceback.format_exc()
            return rec
        for name, t in timings.items():
            rec["timing"][name] = t.as_dict()
            rec["rate"][name] = _rate(case.work, t.median)
            rec["timing"][name]["rate_best"] = _rate(case.work, t.min)
        for name in timings:
            if not name.startswith("fastnn"):
                rec["ratio"][name] = timings[name].median / timings["fastnn"].median
                rec["ratio_best"][name] = timings[name].min / timings["fastnn"].min
        if case.target is not None and apply_targets:
            status, why = case.target.evaluate(rec["rate"].get("fastnn"), rec["ratio"].get("numpy"))
            rec["target"]["status"], rec["target"]["why"] = status, why
        return rec
    finally:
        del built
        gc.collect()


def run_cases(cases, *, peers: tuple, schedule: Schedule, apply_targets: bool, on_result=None):
    """Run cases in order (NumPy floating-point warnings silenced); ``on_result(rec)`` is
    called after each one. Returns the list of records."""
    out = []
    with np.errstate(all="ignore"):
        for case in cases:
            rec = run_case(case, peers=peers, schedule=schedule, apply_targets=apply_targets)
            out.append(rec)
            if on_result is not None:
                on_result(rec)
    return out
