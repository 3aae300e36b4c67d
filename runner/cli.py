"""`mmcheck` entry point: argparse subcommands, and the one place mapping errors to exit codes.

Exit codes (a documented contract): 0 as expected / no violation, 1 a property violated (or a
verdict differs from its expectation), 2 could not decide (errors, timeouts, tool trouble,
bad input: always one line on stderr, never a traceback), 130 interrupted (Ctrl-C), 143
terminated (SIGTERM) and 129 hung up (SIGHUP: a closed terminal or ssh session), which stop a
run exactly as Ctrl-C does.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

from runner.errors import MmcheckError, os_reason

# Subcommands, in help order: verb -> module runner/commands/<module>.py (which registers the
# verb in its add_parser).  Only the module of the verb being run is imported, so one verb's
# imports never slow down another (a TLC run is about a second; startup time counts).
COMMANDS = {"check": "check", "compare": "compare", "list": "listing", "steps": "steps",
            "new": "new", "tlc": "tlc", "sweep": "sweep", "report": "report",
            "completion": "completion", "worker": "worker", "litmus": "litmus",
            "doctor": "doctor"}

# Shell completion hints (shtab's FILE and DIRECTORY, written out so that no command has to
# import shtab), given to every argument that names a file or a directory (see _complete).
FILE = {"bash": "_shtab_compgen_files", "zsh": "_files", "tcsh": "f"}
DIRECTORY = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/", "tcsh": "d"}

# Names completed by asking `mmcheck list --names KIND` at completion time (so protocols of
# $MMCHECK_PROTOCOLS added later complete too); the functions are in completion.py's preamble.
NAMES = {kind: {"bash": f"_mmcheck_{kind}", "zsh": f"_mmcheck_{kind}"}
         for kind in ("protocols", "actors", "scenarios", "models")}
NAME_DESTS = {"base": "protocols", "new": "protocols", "protocol": "protocols",
              "scenarios": "scenarios", "model": "models", "kinds": "actors"}

DEBUG_ENV = "MMCHECK_DEBUG"  # set: an internal error prints its traceback too

EXAMPLES = """\
examples:
  mmcheck check                          # every model of specs/matrix.toml
  mmcheck check --model vm_dead-fault -v # one model, with its TLC runs as they go
  mmcheck tlc Spec.tla --timeout 60      # any TLA+/PlusCal spec
  mmcheck sweep specs/sweeps/growth.toml # a grid of model sizes
  mmcheck report results/latest          # rebuild a run's reports
  mmcheck COMMAND --help                 # the options and examples of one command"""


class HelpFormatter(argparse.HelpFormatter):
    """Fills prose paragraphs as argparse does, but keeps indented lines (examples) as they are."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out = []
        for para in text.split("\n\n"):
            lines = para.splitlines()
            if any(line.startswith(" ") for line in lines[1:]) or para.startswith("  "):
                out.append("\n".join(indent + line for line in lines))
            else:
                out.append(super()._fill_text(para, width, indent))
        return "\n\n".join(out)


class Parser(argparse.ArgumentParser):
    """A usage error is one line, like every other error: `mmcheck check: error: ...`."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C's KeyboardInterrupt would be, to stop a run the
    same way (every JVM killed, temporary directories removed, finished work kept)."""


# `kill PID` and a closed terminal or ssh session (SIGHUP) stop a run as Ctrl-C does.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _terminate(signum: int, frame: Any) -> None:
    for sig in STOP_SIGNALS:  # once: the cleanup must not be interrupted
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


class _Version(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from runner.version import version_text

        parser._print_message(version_text() + "\n", sys.stdout)
        parser.exit(0)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = Parser(
        prog="mmcheck", formatter_class=HelpFormatter, epilog=EXAMPLES,
        description="Generate TLA+/PlusCal models of Linux munmap locking protocols and check "
                    "them with TLC.")
    parser.add_argument("--version", action=_Version,
                        help="print the versions of mmcheck, TLC (and its jar's sha256) and Java")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    verb = next((a for a in (argv or []) if not a.startswith("-")), None)
    for name, module in COMMANDS.items():
        if verb not in COMMANDS or name == verb:
            mod = importlib.import_module(f"runner.commands.{module}")
            mod.add_parser(sub)
            command = sub.choices[name]
            command.formatter_class = HelpFormatter
            if command.epilog is None and getattr(mod, "EXAMPLES", None):
                command.epilog = mod.EXAMPLES
            _complete(command)
    return parser


def _complete(parser: argparse.ArgumentParser) -> None:
    """Completion of names and paths: protocol, scenario and model arguments (NAME_DESTS)
    complete their names, a DIR-like metavar directories, a Path-typed argument or a FILE.ext
    metavar files (an argument that sets .complete itself keeps it)."""
    for action in parser._actions:
        if hasattr(action, "complete"):
            continue
        metavar = str(action.metavar or "")
        if action.dest in NAME_DESTS and not action.choices:
            action.complete = NAMES[NAME_DESTS[action.dest]]  # type: ignore[attr-defined]
        elif metavar.endswith("DIR"):
            action.complete = DIRECTORY  # type: ignore[attr-defined]
        elif action.type is Path or "." in metavar:
            action.complete = FILE  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    program = argv is None  # run as the `mmcheck` program (not called from Python)
    if program:
        # A short-lived process: pause the cyclic GC while the command's modules are imported
        # and freeze everything before exit, so that the interpreter does not spend ~20 ms
        # (2-3% of a small TLC run) collecting garbage that process exit discards anyway.
        gc.disable()
        argv = sys.argv[1:]
        for sig in STOP_SIGNALS:
            signal.signal(sig, _terminate)
    parser = build_parser(argv)
    if not argv:  # bare `mmcheck`: what it does and its commands, not a usage error
        parser.print_help()
        gc.enable()
        return 0
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, a usage error (one line, exit 2)
        return e.code if isinstance(e.code, int) else 2
    finally:
        gc.enable()
    try:
        return int(args.run(args))
    except MmcheckError as e:
        print(f"mmcheck: error: {one_line(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        if isinstance(e, Terminated):  # 128 + the signal's number, as a shell reports it
            signum = e.args[0]
            print(f"mmcheck: {'hung up' if signum == signal.SIGHUP else 'terminated'}",
                  file=sys.stderr)
            return 128 + int(signum)
        print("mmcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mmcheck ... | head`
        _silence_stdout()
        return 2
    except OSError as e:  # a destination no writer turned into an OutputError
        where = f"{e.filename}: " if e.filename else ""
        print(f"mmcheck: error: {where}{os_reason(e)}", file=sys.stderr)
        return 2
    except Exception as e:
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"mmcheck: internal error: {type(e).__name__}: {one_line(str(e))} (a bug: "
              f"please report it; {DEBUG_ENV}=1 shows the traceback)", file=sys.stderr)
        return 2
    finally:
        if program:
            for sig in STOP_SIGNALS:
                if signal.getsignal(sig) is _terminate:  # else terminated: keep ignoring
                    signal.signal(sig, signal.SIG_DFL)
            gc.freeze()


def one_line(text: str) -> str:
    """A message as one printable line: line breaks folded, other control characters (from a
    file's keys and values, e.g. U+0085, which ends a line too) escaped."""
    text = " ".join(text.split("\n"))
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _silence_stdout() -> None:
    """After a broken pipe: no "Exception ignored ... BrokenPipeError" when Python flushes."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
