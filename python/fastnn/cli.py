"""The ``fastnn`` command line.

Commands::

    fastnn info                      # build and run-time configuration (show_config)
    fastnn bench kernels [options]   # kernel benchmark suite: validate, then time
    fastnn bench train [options]     # one epoch of Adam, 3 MLPs: fastnn vs NumPy, torch, sklearn
    fastnn bench sklearn [options]   # fastnn.sklearn vs scikit-learn's MLPClassifier on digits
    fastnn bench all [options]       # kernels, then train, then sklearn
    fastnn train [FILE] [options]    # train an MLP on CSV/NPZ/NPY data (or the embedded digits)
    fastnn predict MODEL FILE        # predictions of a model saved by 'fastnn train --out'

Built on :mod:`argparse` from the standard library on purpose: fastnn's only run-time
dependency is NumPy, and argparse gives sub-commands, typed options and generated help
without adding one (click or typer would). Bad options, bad values and bad data give a
one-line error on stderr starting ``fastnn: error:`` and exit status 2 (``train`` and
``predict`` take a hidden ``--debug`` flag that also prints the traceback); a benchmark
whose fastnn results fail validation exits with status 1, and ``bench sklearn`` without
scikit-learn is a one-line error with status 2. ``train`` and ``predict`` live in
:mod:`fastnn._cli_train` and :mod:`fastnn._cli_data`.
"""
from __future__ import annotations

import argparse
import os
import sys

PROG = "fastnn"


class CommandLineError(Exception):
    """A usage error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (no usage dump, no traceback)."""

    def error(self, message):
        raise CommandLineError(f"{PROG}: error: {message} (see '{self.prog} --help')")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _split_peers(text):
    names = [p.strip().lower() for p in text.split(",") if p.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list, e.g. numpy,torch")
    return tuple(dict.fromkeys(names))


def _peer_list(text):
    from fastnn.bench import PEERS

    names = _split_peers(text)
    for p in names:
        if p not in PEERS:
            raise argparse.ArgumentTypeError(f"unknown peer {p!r}; choose from {', '.join(PEERS)}")
    return names


def _kernel_peer_list(text):
    from fastnn.bench import KERNEL_PEERS, kernel_peer_error

    names = _split_peers(text)
    for p in names:
        if p not in KERNEL_PEERS:
            raise argparse.ArgumentTypeError(kernel_peer_error(p))
    return names


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _json_path(text):
    if not text or text.endswith(os.sep):
        raise argparse.ArgumentTypeError(f"expected a file path, got {text!r}")
    parent = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"directory {parent!r} does not exist")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a directory")
    if not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"directory {parent!r} is not writable")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="fastnn: fast multilayer-perceptron training on the CPU.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("info", help="print the build and run-time configuration",
                   description="Print fastnn.show_config(): version, kernel path (ISA), "
                               "threads, OpenMP runtime, compiler, CPU.")

    bench = sub.add_parser("bench", help="run a benchmark suite",
                           description="Benchmark suites. Kernel cases and training sides "
                                       "are validated against float64 references before "
                                       "they are timed; the sklearn suite compares the "
                                       "scikit-learn drop-in with scikit-learn itself.")
    suites = bench.add_subparsers(dest="suite", metavar="SUITE", parser_class=_Parser)
    k = suites.add_parser(
        "kernels", help="GEMM, MLP-shaped GEMM, activations, softmax, optimizer updates",
        description="Kernel benchmarks: fastnn.ops vs NumPy (and PyTorch) in the same run. "
                    "Prints a table with rates, ratios and targets; a full run takes a few "
                    "minutes on 2 cores.",
    )
    _common_bench_options(k, peers_help="numpy,torch (default numpy; numpy is always "
                                        "measured; torch is skipped with a note when not "
                                        "installed; sklearn has no kernels and is refused)",
                          peer_type=_kernel_peer_list,
                          quick_help="tiny sizes and one repeat (smoke test; targets not judged)",
                          repeats_help="minimum timed repeats per side (default 5; 3 for big "
                                       "GEMMs and slow sides)")
    k.add_argument("--filter", metavar="SUBSTR",
                   help="run only cases whose group or name contains SUBSTR (comma = or)")
    k.add_argument("--list", action="store_true", help="list the cases and exit")

    t = suites.add_parser(
        "train", help="one epoch of Adam on three MLPs: fastnn vs NumPy (PyTorch, scikit-learn)",
        description="Training benchmark: 784-512-256-10 (60000 rows, batch 128), 20-64-64-2 "
                    "(20000 rows, batch 32) and 1024-2048-2048-10 (16384 rows, batch 256), "
                    "float32, synthetic data. Each side (NumPy reference, torch when "
                    "installed, scikit-learn's MLPClassifier on request, fastnn) trains a "
                    "validated warm-up epoch, then timed epochs and predict passes in its own "
                    "block. A full run takes a few minutes on 2 cores (more with sklearn).",
    )
    _common_bench_options(t, peers_help="numpy,torch,sklearn (default numpy,torch; numpy "
                                        "is always measured; torch and sklearn are reported "
                                        "unavailable when not installed; sklearn is "
                                        "MLPClassifier, one partial_fit per epoch)",
                          quick_help="rows divided by 4 and one timed epoch (smoke test)",
                          repeats_help="timed epochs and predict passes per side (default 3)")
    t.add_argument("--filter", metavar="SUBSTR",
                   help="run only networks whose name contains SUBSTR (comma = or), e.g. "
                        "tabular")
    t.add_argument("--scale", metavar="F", type=_positive_float, default=1.0,
                   help=argparse.SUPPRESS)   # extra factor on the rows, for tests

    s = suites.add_parser(
        "sklearn", help="fastnn.sklearn vs scikit-learn's MLPClassifier on digits",
        description="scikit-learn drop-in benchmark: for seeds 0..N-1, load_digits, "
                    "train_test_split(test_size=0.25, stratify=y, random_state=seed), then "
                    "make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(128, "
                    "64), batch_size=32, max_iter=100, random_state=seed)) with fastnn's and "
                    "scikit-learn's MLPClassifier, each side in its own block (an untimed "
                    "warm-up fit, then one timed fit per seed, scored on the test part). "
                    "Reports accuracies, fit times, n_iter_, the speedup (scikit-learn median "
                    "fit / fastnn median fit) and the accuracy difference, with the targets "
                    "speedup >= 10 and |difference| <= 0.5 points. Needs scikit-learn. About "
                    "5-10 s on 2 cores.",
    )
    _common_bench_options(s, quick_help="2 seeds and max_iter 20 (smoke test; targets not "
                                        "judged)",
                          threads_help="threads for fastnn and NumPy's BLAS, which "
                                       "scikit-learn uses (via threadpoolctl when installed)")
    s.add_argument("--seeds", metavar="N", type=_positive_int,
                   help="seeds 0..N-1 (default 5; 2 with --quick); targets judged with N >= 5")

    a = suites.add_parser(
        "all", help="the kernel suite, the training benchmark, then the sklearn benchmark",
        description="Run 'fastnn bench kernels', then 'fastnn bench train' with the same "
                    "options, then 'fastnn bench sklearn' (default seeds; skipped with a note "
                    "when scikit-learn is not installed); --json writes one document holding "
                    "the reports.",
    )
    _common_bench_options(a, peers_help="numpy,torch,sklearn (default: numpy for kernels, "
                                        "numpy,torch for train; sklearn is a peer of train "
                                        "only, the kernel suite leaves it out with a note)",
                          quick_help="every suite in its --quick form",
                          repeats_help="repeats for kernels and train (see their --help)")

    from fastnn import _cli_train

    _cli_train.add_parsers(sub)
    return parser


def _common_bench_options(p, *, quick_help, peers_help=None, repeats_help=None,
                          peer_type=_peer_list, threads_help=None):
    """--json, --threads and --quick; --peers and --repeats where their help is given."""
    p.add_argument("--json", metavar="FILE", type=_json_path,
                   help="also write the full report (all repeats, validation, environment) as JSON")
    p.add_argument("--threads", metavar="N", type=_positive_int,
                   help=threads_help or ("threads for fastnn and the peers (torch.set_num_threads; "
                                         "NumPy's BLAS via threadpoolctl when installed)"))
    if peers_help:
        p.add_argument("--peers", metavar="LIST", type=peer_type, default=None,
                       help=f"comma-separated peers: {peers_help}")
    p.add_argument("--quick", action="store_true", help=quick_help)
    if repeats_help:
        p.add_argument("--repeats", metavar="N", type=_positive_int, help=repeats_help)


def _cmd_info(args) -> int:
    import fastnn

    fastnn.show_config()
    return 0


def _cmd_bench_kernels(args) -> int:
    from fastnn.bench import list_kernel_cases, run_kernels

    if args.list:
        for group, name in list_kernel_cases(quick=args.quick, filter=args.filter):
            print(f"{group:<11} {name}")
        return 0
    doc = run_kernels(quick=args.quick, filter=args.filter, threads=args.threads,
                      peers=args.peers or ("numpy",), repeats=args.repeats, json_path=args.json)
    return _kernels_status(doc)


def _kernels_status(doc) -> int:
    s = doc["summary"]
    if s["cases"] == 0:
        return 2
    return 1 if (s["invalid"] or s["error"]) else 0


def _train_status(doc) -> int:
    s = doc["summary"]
    if s["networks"] == 0:
        return 2
    return 1 if s["fastnn_failed"] else 0


def _cmd_bench_train(args) -> int:
    from fastnn.bench.train import run_train

    doc = run_train(quick=args.quick, threads=args.threads,
                    peers=args.peers or ("numpy", "torch"), repeats=args.repeats,
                    json_path=args.json, scale=args.scale, filter=args.filter)
    return _train_status(doc)


def _sklearn_status(doc) -> int:
    return 1 if doc["summary"]["fastnn_failed"] else 0


def _cmd_bench_sklearn(args) -> int:
    from fastnn.bench.sklearn_dropin import SklearnUnavailable, run_sklearn

    try:
        doc = run_sklearn(quick=args.quick, seeds=args.seeds, threads=args.threads,
                          json_path=args.json)
    except SklearnUnavailable as exc:
        raise CommandLineError(f"{PROG}: error: {exc}") from None
    return _sklearn_status(doc)


def _cmd_bench_all(args) -> int:
    import datetime

    from fastnn.bench import KERNEL_PEERS, report, run_kernels
    from fastnn.bench.sklearn_dropin import SklearnUnavailable, run_sklearn
    from fastnn.bench.train import run_train

    kpeers = tuple(p for p in (args.peers or ("numpy",)) if p in KERNEL_PEERS)
    if args.peers and len(kpeers) < len(args.peers):
        print("note: sklearn has no kernel benchmarks; it is a peer of the training benchmark")
    kdoc = run_kernels(quick=args.quick, threads=args.threads, peers=kpeers or ("numpy",),
                       repeats=args.repeats)
    print()
    tdoc = run_train(quick=args.quick, threads=args.threads,
                     peers=args.peers or ("numpy", "torch"), repeats=args.repeats)
    print()
    try:
        sdoc = run_sklearn(quick=args.quick, threads=args.threads)
        status = _sklearn_status(sdoc)
    except SklearnUnavailable as exc:
        print(f"note: scikit-learn drop-in benchmark skipped: {exc}")
        sdoc, status = {"status": "skipped", "reason": str(exc)}, 0
    if args.json:
        created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        report.write_json(args.json, {"schema": "fastnn-bench-all/1", "created": created,
                                      "kernels": kdoc, "train": tdoc, "sklearn": sdoc}, sys.stdout)
    return max(_kernels_status(kdoc), _train_status(tdoc), status)


def main(argv=None) -> int:
    """Entry point of the ``fastnn`` console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.version:
            import fastnn

            print(f"fastnn {fastnn.__version__}")
            return 0
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        if args.command == "info":
            return _cmd_info(args)
        if args.command in ("train", "predict"):
            from fastnn import _cli_train

            return _cli_train.run(args)
        if args.command == "bench":
            if args.suite is None:
                raise CommandLineError(f"{PROG} bench: error: name a suite: kernels, train, "
                                       f"sklearn or all (see '{PROG} bench --help')")
            if args.suite == "train":
                return _cmd_bench_train(args)
            if args.suite == "sklearn":
                return _cmd_bench_sklearn(args)
            if args.suite == "all":
                return _cmd_bench_all(args)
            return _cmd_bench_kernels(args)
        raise CommandLineError(f"{PROG}: error: unknown command {args.command!r}")  # pragma: no cover
    except CommandLineError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, ImportError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
