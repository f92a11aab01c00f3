"""fastnn benchmark suites (``fastnn bench ...`` on the command line).

``run_kernels`` runs the kernel suite (see :mod:`fastnn.bench.kernels`): every case is
validated against a float64 NumPy reference, then fastnn and its peers (NumPy always,
PyTorch on request when importable) are timed one after the other in the same run; a table is
printed and, on request, a JSON document written. The training benchmark is
:func:`fastnn.bench.train.run_train`, the scikit-learn drop-in benchmark
:func:`fastnn.bench.sklearn_dropin.run_sklearn`.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace

#: Peers some suite can measure (``--peers``): the training benchmark takes all three.
PEERS = ("numpy", "torch", "sklearn")
#: Peers of the kernel suite: scikit-learn has no kernels to compare.
KERNEL_PEERS = ("numpy", "torch")

__all__ = ["run_kernels", "list_kernel_cases", "PEERS", "KERNEL_PEERS"]


def list_kernel_cases(quick=False, filter=None) -> list:
    """The kernel cases that ``run_kernels`` would run, as (group, name) pairs."""
    from fastnn.bench.kernels import all_cases

    pats = _patterns(filter)
    return [(c.group, c.name) for c in all_cases(quick) if c.matches(pats)]


def kernel_peer_error(name) -> str:
    """Why ``name`` is not a peer of the kernel suite (one line)."""
    if name in PEERS:
        return (f"{name} has no kernel benchmarks (it is a peer of 'bench train'); kernel "
                f"peers: {', '.join(KERNEL_PEERS)}")
    return f"unknown peer {name!r}; choose from {', '.join(KERNEL_PEERS)}"


def _patterns(filter):
    if not filter:
        return []
    return [p.strip().lower() for p in str(filter).split(",") if p.strip()]


def run_kernels(*, quick=False, filter=None, threads=None, peers=("numpy",), repeats=None,
                json_path=None, file=None) -> dict:
    """Run the kernel benchmark suite.

    Parameters
    ----------
    quick : bool
        Tiny sizes and one repeat (for tests); targets are not judged.
    filter : str, optional
        Run only the cases whose group or name contains this substring (case-insensitive;
        several substrings separated by commas: any may match).
    threads : int, optional
        Threads for fastnn, PyTorch and (through threadpoolctl, when installed) NumPy's
        BLAS. Default: leave each library's setting alone.
    peers : sequence of str
        Subset of ``("numpy", "torch")``. NumPy is always measured (it is the reference
        for ratios and targets); torch is skipped with a note when not importable.
    repeats : int, optional
        Minimum timed repeats per side (default 5, or 3 for big GEMMs and for sides whose
        calls add up to more than 1 s; with ``repeats`` given it is always honoured).
    json_path : str, optional
        Also write the report as JSON to this path.
    file : text stream, optional
        Where the table goes (default ``sys.stdout``).

    Returns
    -------
    dict
        The report (what ``json_path`` receives). ``summary["invalid"]`` and
        ``summary["error"]`` count the cases whose fastnn result failed validation or
        raised.
    """
    from fastnn.bench import _env, report
    from fastnn.bench._case import run_cases
    from fastnn.bench._timing import DEFAULT, QUICK
    from fastnn.bench.kernels import all_cases

    out = file or sys.stdout
    peers = tuple(dict.fromkeys(("numpy",) + tuple(peers)))
    unknown = [p for p in peers if p not in KERNEL_PEERS]
    if unknown:
        raise ValueError(f"peers: {kernel_peer_error(unknown[0])}")
    torch = _env.import_torch() if "torch" in peers else None
    run_peers = tuple(p for p in peers if p != "torch" or torch is not None)
    schedule = QUICK if quick else DEFAULT
    if repeats is not None:
        schedule = replace(schedule, min_repeats=int(repeats), max_time=float("inf"),
                           max_repeats=max(schedule.max_repeats, int(repeats)))
    cases = [c for c in all_cases(quick) if c.matches(_patterns(filter))]

    settings = _env.ThreadSettings(threads, torch)
    try:
        env = _env.environment(torch, peers)
        notes = list(settings.notes)
        if not quick:
            notes.append("fastnn uses its threads for element-wise ops; NumPy ufuncs are single-threaded")
        options = {
            "suite": "kernels", "quick": bool(quick), "filter": filter, "threads": threads,
            "peers": list(run_peers), "requested_peers": list(peers),
            "schedule": {"warmup": schedule.warmup, "min_repeats": schedule.min_repeats,
                         "max_repeats": schedule.max_repeats, "min_time_s": schedule.min_time,
                         "settle_s": schedule.settle,
                         "max_time_s": schedule.max_time if schedule.max_time != float("inf") else None},
            "notes": notes,
        }
        for line in report.header_lines(env, options):
            print(line, file=out)
        print(file=out)
        if not cases:
            print(f"no case matches filter {filter!r}", file=out)
        else:
            for line in report.table_header(("fastnn",) + run_peers):
                print(line, file=out)
        t0 = time.perf_counter()

        def show(rec):
            print(report.format_row(rec, ("fastnn",) + run_peers), file=out, flush=True)

        records = run_cases(cases, peers=run_peers, schedule=schedule, apply_targets=not quick,
                            on_result=show)
        elapsed = time.perf_counter() - t0
        doc = report.document(env, options, records, elapsed)
        print(file=out)
        for line in report.summary_lines(doc["summary"], elapsed):
            print(line, file=out)
        if json_path:
            report.write_json(json_path, doc, out)
        return doc
    finally:
        settings.restore()
