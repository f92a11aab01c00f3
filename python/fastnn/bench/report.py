"""Benchmark reports: the printed table and the JSON document.

The table streams one row per case as it finishes: rate of fastnn and of each peer in the
case's unit (from the median time), fastnn's rate writing into a preallocated ``out=``
where the case allocates its result (information only), the speed ratio fastnn/peer measured in the same run,
fastnn's median time, and the target with pass/fail. The JSON document holds the same and
more: every repeat's time, min and median, validation errors, the environment.
"""
from __future__ import annotations

import datetime
import json
import math
import os

from fastnn.bench._case import OUT_SIDE

SCHEMA = "fastnn-bench-kernels/1"

NAME_W = 26


def machine_lines(env: dict, *, ufuncs: bool = False) -> list:
    """The header lines every suite prints about the machine: kernel path, threads of each
    library (``numpy ufuncs 1`` too with ``ufuncs``), CPU, NumPy and its BLAS, and the load
    average before the run (with a warning when other processes are running)."""
    fz = env["fastnn"]
    npy = env["numpy"]
    blas = npy["blas"]
    bt = npy["blas_threads"]
    threads = [f"fastnn {fz['num_threads']}",
               f"numpy BLAS {bt if bt is not None else '?'} ({npy['blas_threads_from']})"]
    if ufuncs:
        threads.append("numpy ufuncs 1")
    if env.get("torch", {}).get("version"):
        threads.append(f"torch {env['torch']['num_threads']}")
    lines = [
        f"  kernel path : {fz['arch']} (available: {', '.join(fz['available_archs'])}); "
        f"OpenMP: {fz['openmp']}",
        f"  threads     : {' | '.join(threads)}",
        f"  CPU         : {env['cpu']} ({env['cores']} logical CPUs)",
        f"  numpy       : {npy['version']}, BLAS: {blas['name']} {blas.get('version', '')}".rstrip(),
    ]
    load = env.get("load_average")
    if load:
        busy = load[0] > 0.5
        lines.append(f"  load avg    : {load[0]:.2f} (1 min) before the run"
                     + (": other processes are running, figures are noisy" if busy else ""))
    return lines


def header_lines(env: dict, options: dict) -> list:
    """The lines printed above the table."""
    lines = [
        f"fastnn {env['fastnn']['version']} kernel benchmark: each side validated against a float64 "
        f"NumPy reference, then timed (median of repeats{', quick run' if options.get('quick') else ''})",
    ]
    lines += machine_lines(env, ufuncs=True)
    torch = env.get("torch")
    if torch is None:
        lines.append("  torch       : not requested (--peers numpy,torch)")
    elif torch.get("version"):
        lines.append(f"  torch       : {torch['version']}")
    else:
        lines.append(f"  torch       : {torch.get('note', 'not installed')}")
    lines.append(f"  scipy       : {env.get('scipy') or 'not installed (gelu numpy peer skipped)'}")
    for note in options.get("notes", []):
        lines.append(f"  note        : {note}")
    return lines


def _peers_shown(peers) -> list:
    return [p for p in peers if p != "fastnn"]


def table_header(peers) -> list:
    cols = [f"{'case':<{NAME_W}}", f"{'unit':<7}", f"{'fastnn':>8}", f"{'(out=)':>8}"]
    for p in _peers_shown(peers):
        cols += [f"{p:>8}", f"{'x ' + p:>7}"]
    cols += [f"{'ms med/min':>15}", f"{'target':<24}", "result"]
    line = "  ".join(cols)
    return [line, "-" * len(line)]


def _num(v, width=8) -> str:
    if v is None:
        return f"{'-':>{width}}"
    if v >= 1000:
        return f"{v:>{width}.0f}"
    if v >= 100:
        return f"{v:>{width}.1f}"
    return f"{v:>{width}.2f}"


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms < 10 else f"{ms:.2f}" if ms < 100 else f"{ms:.1f}"


def format_row(rec: dict, peers) -> str:
    name = rec["name"]
    if len(name) > NAME_W:
        name = name[: NAME_W - 1] + "~"
    head = f"{name:<{NAME_W}}  {rec['unit']:<7}"
    if rec["status"] != "ok":
        label = {"n/a": "n/a", "invalid": "INVALID", "error": "ERROR"}[rec["status"]]
        return f"{head}  {label}: {rec['reason']}"
    cols = [head, _num(rec["rate"].get("fastnn")), _num(rec["rate"].get(OUT_SIDE))]
    for p in _peers_shown(peers):
        rate = rec["rate"].get(p)
        ratio = rec["ratio"].get(p)
        cols.append(_num(rate))
        cols.append(f"{ratio:>6.2f}x" if ratio is not None else f"{'-':>7}")
    t = rec["timing"]["fastnn"]
    cols.append(f"{_ms(t['median_s']) + '/' + _ms(t['min_s']):>15}")
    tgt = rec.get("target")
    if tgt is None:
        cols += [f"{'':<24}", ""]
    else:
        status = tgt["status"]
        cols += [f"{tgt['text']:<24}", {"pass": "pass", "fail": "FAIL"}.get(status, status)]
    line = "  ".join(cols).rstrip()
    notes = [f"{p} skipped: {v['skipped']}" for p, v in rec["validation"].items()
             if isinstance(v, dict) and v.get("skipped") and p != OUT_SIDE]
    notes += [f"{p} invalid: {v.get('detail', '')}" for p, v in rec["validation"].items()
              if p != "fastnn" and isinstance(v, dict) and v.get("ok") is False]
    notes += [f"{p} re-timed: the cores were contended" for p, v in rec["timing"].items()
              if isinstance(v, dict) and v.get("retimed")]
    if notes:
        line += "   (" + "; ".join(notes) + ")"
    return line


def summarize(records: list) -> dict:
    s = {"cases": len(records), "ok": 0, "n/a": 0, "invalid": 0, "error": 0,
         "targets_pass": 0, "targets_fail": 0, "targets_na": 0}
    for r in records:
        s[r["status"]] += 1
        t = r.get("target")
        if t:
            key = {"pass": "targets_pass", "fail": "targets_fail", "n/a": "targets_na"}.get(t["status"])
            if key:
                s[key] += 1
    return s


def summary_lines(summary: dict, elapsed: float) -> list:
    s = summary
    line = (f"{s['cases']} cases in {elapsed:.1f} s: {s['ok']} validated and timed, "
            f"{s['n/a']} n/a, {s['invalid']} invalid, {s['error']} errors")
    targets = s["targets_pass"] + s["targets_fail"] + s["targets_na"]
    if targets:
        line += (f"; targets: {s['targets_pass']} pass, {s['targets_fail']} fail"
                 + (f", {s['targets_na']} n/a" if s["targets_na"] else ""))
    return [line]


def document(env: dict, options: dict, records: list, elapsed: float) -> dict:
    """The JSON document ``--json`` writes."""
    return {
        "schema": SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "environment": env,
        "options": options,
        "elapsed_s": elapsed,
        "summary": summarize(records),
        "cases": records,
    }


def write_json(path: str, doc: dict, out=None) -> None:
    """Write ``doc`` to ``path`` atomically (a temporary file, then rename); with a text
    stream ``out``, say so there."""
    tmp = f"{path}.json.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(_finite(doc), f, indent=1, allow_nan=False, default=_jsonable)
        f.write("\n")
    os.replace(tmp, path)
    if out is not None:
        print(f"JSON report written to {path}", file=out)


def _finite(obj):
    """Replace non-finite floats (an infinite validation error, say) by None: strict
    JSON has no inf or nan."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _jsonable(obj):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return _finite(obj.item())
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(obj)
