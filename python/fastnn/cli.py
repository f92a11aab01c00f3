"""The ``fastnn`` command line.

Commands::

    fastnn info                      # build and run-time configuration (show_config)
    fastnn bench kernels [options]   # kernel benchmark suite: validate, then time

Built on :mod:`argparse` from the standard library (no extra dependency). Bad options give
a one-line error on stderr and exit status 2; a benchmark whose fastnn results fail
validation exits with status 1.
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
        raise CommandLineError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _peer_list(text):
    from fastnn.bench import PEERS

    names = [p.strip().lower() for p in text.split(",") if p.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list, e.g. numpy,torch")
    for p in names:
        if p not in PEERS:
            raise argparse.ArgumentTypeError(f"unknown peer {p!r}; choose from {', '.join(PEERS)}")
    return tuple(dict.fromkeys(names))


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
                           description="Benchmark suites. Each case is validated against a "
                                       "float64 NumPy reference before it is timed.")
    suites = bench.add_subparsers(dest="suite", metavar="SUITE", parser_class=_Parser)
    k = suites.add_parser(
        "kernels", help="GEMM, MLP-shaped GEMM, activations, softmax, optimizer updates",
        description="Kernel benchmarks: fastnn.ops vs NumPy (and PyTorch) in the same run. "
                    "Prints a table with rates, ratios and targets; a full run takes a few "
                    "minutes on 2 cores.",
    )
    k.add_argument("--json", metavar="FILE", type=_json_path,
                   help="also write the full report (all repeats, validation, environment) as JSON")
    k.add_argument("--threads", metavar="N", type=_positive_int,
                   help="threads for fastnn and the peers (torch.set_num_threads; NumPy's BLAS "
                        "via threadpoolctl when installed)")
    k.add_argument("--peers", metavar="LIST", type=_peer_list, default=("numpy",),
                   help="comma-separated peers: numpy,torch (default numpy; numpy is always "
                        "measured; torch is skipped with a note when not installed)")
    k.add_argument("--quick", action="store_true",
                   help="tiny sizes and one repeat (smoke test; targets not judged)")
    k.add_argument("--filter", metavar="SUBSTR",
                   help="run only cases whose group or name contains SUBSTR (comma = or)")
    k.add_argument("--repeats", metavar="N", type=_positive_int,
                   help="minimum timed repeats per side (default 5; 3 for big GEMMs and slow "
                        "sides)")
    k.add_argument("--list", action="store_true", help="list the cases and exit")
    return parser


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
                      peers=args.peers, repeats=args.repeats, json_path=args.json)
    s = doc["summary"]
    if s["cases"] == 0:
        return 2
    return 1 if (s["invalid"] or s["error"]) else 0


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
        if args.command == "bench":
            if args.suite is None:
                raise CommandLineError(f"{PROG} bench: error: name a suite: kernels "
                                       f"(see '{PROG} bench --help')")
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
