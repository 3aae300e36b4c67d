"""`mmcheck` entry point: argparse subcommands, and the one place mapping errors to exit codes.

Exit codes (a documented contract): 0 as expected / no violation, 1 a property violated (or a
verdict differs from its expectation), 2 could not decide (errors, timeouts, tool trouble),
130 interrupted.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

from runner.errors import MmcheckError

# Subcommands, in help order: verb -> module runner/commands/<module>.py (which registers the
# verb in its add_parser).  Only the module of the verb being run is imported, so one verb's
# imports never slow down another (a TLC run is about a second; startup time counts).
COMMANDS = {"check": "check", "compare": "compare", "list": "listing", "steps": "steps",
            "new": "new", "tlc": "tlc", "sweep": "sweep", "report": "report",
            "worker": "worker"}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmcheck",
        description="Generate TLA+/PlusCal models of Linux munmap locking protocols and check "
                    "them with TLC.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    verb = next((a for a in (argv or []) if not a.startswith("-")), None)
    for name, module in COMMANDS.items():
        if verb not in COMMANDS or name == verb:
            importlib.import_module(f"runner.commands.{module}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    program = argv is None  # run as the `mmcheck` program (not called from Python)
    if program:
        # A short-lived process: pause the cyclic GC while the command's modules are imported
        # and freeze everything before exit, so that the interpreter does not spend ~20 ms
        # (2-3% of a small TLC run) collecting garbage that process exit discards anyway.
        gc.disable()
        argv = sys.argv[1:]
    try:
        args = build_parser(argv).parse_args(argv)
    finally:
        gc.enable()
    try:
        return int(args.run(args))
    except MmcheckError as e:
        print(f"mmcheck: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("mmcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mmcheck ... | head`
        return 2
    finally:
        if program:
            gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
