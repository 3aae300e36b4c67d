"""Progress of long runs and the terminal: one implementation for `mmcheck check` and
`mmcheck sweep`.

`Tally` is what a run of many items (models, sweep points) is doing; `StatusLine` shows it
on stderr: on a terminal one line redrawn in place (done/running/failed, elapsed, ETA, and
the live TLC progress of a long run), elsewhere (a pipe, a CI log) one line per finished
item.  `Console` is where a command's text goes: the result to stdout, progress and
diagnostics to stderr, with `-q` (the result only) and `-v` (every TLC run) and colour on a
terminal only (never with $NO_COLOR set, see no-color.org).
"""
from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from gen.model import Model
    from runner.check import ModelResult

QUIET, NORMAL, VERBOSE = 0, 1, 2


@dataclass
class Tally:
    """What a run of many items is doing, passed to its progress callback after each event."""

    total: int  # items in the run
    skipped: int = 0  # finished in an earlier run (not checked again)
    done: int = 0  # finished in this run (failed included)
    failed: int = 0  # could not be decided: an error or a timeout
    timed_out: int = 0  # of the failed: a timeout
    unexpected: int = 0  # a verdict differs from its expectation
    running: dict[str, str] = field(default_factory=dict)  # item label -> what it does
    started: float = field(default_factory=time.monotonic)
    seconds_done: list[float] = field(default_factory=list)  # wall time of finished items
    jobs: int = 1
    last: str = ""  # the latest finished item and its outcome
    noun: str = "points"
    notes: list[str] = field(default_factory=list)  # for the user (e.g. a worker without Java)

    @property
    def todo(self) -> int:
        return self.total - self.skipped

    @property
    def eta_seconds(self) -> float | None:
        """Remaining items x mean time of a finished item / jobs (None before the first)."""
        if not self.seconds_done:
            return None
        left = self.todo - self.done
        mean = sum(self.seconds_done) / len(self.seconds_done)
        return left * mean / max(1, min(self.jobs, left or 1))


def count(n: int, noun: str) -> str:
    """`n` and `noun`, the noun plural unless n is 1: "1 model", "2 models"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def use_colour(stream: Any) -> bool:
    """Colour only on a terminal, and never when $NO_COLOR is set (to anything but "")."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


_SGR = {"red": "31", "green": "32", "yellow": "33", "bold": "1"}


def paint(text: str, colour: str, on: bool) -> str:
    return f"\033[{_SGR[colour]}m{text}\033[0m" if on else text


class StatusLine:
    """Shows a Tally on `stream` (stderr): redrawn in place on a terminal, else a line per
    finished item.  Call it with the Tally after every event; close() ends the line."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self.shown = 0  # finished items already printed (non-tty)
        self.width = 0
        self.lock = threading.Lock()

    def head(self, s: Tally) -> str:
        frac = s.done / s.todo if s.todo else 1.0
        cells = 20
        bar = "#" * int(frac * cells) + "-" * (cells - int(frac * cells))
        return (f"[{bar}] {s.done}/{s.todo} {s.noun} done, {len(s.running)} running, "
                f"{s.failed} failed"
                + (f" ({s.timed_out} timed out)" if s.timed_out else "")
                + (f", {s.unexpected} unexpected" if s.unexpected else "")
                + (f", {s.skipped} from before" if s.skipped else "")
                + f"  {duration(time.monotonic() - s.started)} elapsed, "
                  f"ETA {duration(s.eta_seconds)}")

    def __call__(self, s: Tally) -> None:
        if not self.enabled:
            return
        with self.lock:
            if self.tty:
                live = next((f"  | {label}: {what}" for label, what in s.running.items()
                             if "so far" in what), "")
                cols = shutil.get_terminal_size((100, 20)).columns
                line = (self.head(s) + live)[: cols - 1]
                self.stream.write("\r" + line.ljust(self.width))
                self.width = len(line)
                self.stream.flush()
            elif s.done > self.shown:
                self.shown = s.done
                eta = duration(s.eta_seconds)
                self.stream.write(f"[{s.done}/{s.todo}] {s.last}  ({len(s.running)} running, "
                                  f"{s.failed} failed, ETA {eta})\n")
                self.stream.flush()

    def clear(self) -> None:
        """Erase the line (a terminal), so that a message can be printed in its place."""
        if self.enabled and self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.width = 0

    def close(self) -> None:
        with self.lock:
            if self.enabled and self.tty and self.width:
                self.stream.write("\n")
                self.stream.flush()
                self.width = 0


class Console:
    """A command's output: `result` lines to stdout, `info` (not with -q) and `detail` (with
    -v only) to stderr, `warn` always to stderr.  Messages never tear the status line."""

    def __init__(self, verbosity: int = NORMAL, out: TextIO | None = None,
                 err: TextIO | None = None) -> None:
        self.verbosity = verbosity
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.colour = use_colour(self.out)
        self.err_colour = use_colour(self.err)
        self.status = StatusLine(self.err, enabled=verbosity >= NORMAL)

    def _to_err(self, text: str) -> None:
        with self.status.lock:
            self.status.clear()
            self.err.write(text + "\n")
            self.err.flush()

    def result(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def info(self, text: str) -> None:
        if self.verbosity >= NORMAL:
            self._to_err(text)

    def detail(self, text: str) -> None:
        if self.verbosity >= VERBOSE:
            self._to_err(text)

    def warn(self, text: str) -> None:
        self._to_err(text)


def add_verbosity(parser: Any) -> None:
    """-v / -q on a subcommand (dest: verbosity)."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=VERBOSE,
                   default=NORMAL, help="also print every TLC run as it starts and ends")
    g.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=QUIET,
                   help="print nothing but the result (no progress, no file list)")


def model_callbacks(console: Console, tally: Tally, outcome: Callable[[ModelResult], str], *,
                    unexpected: Callable[[ModelResult], bool] | None = None
                    ) -> tuple[Callable[[str, Model, str], None], Callable[[ModelResult], None]]:
    """on_event and on_result for runner.check.check_models (`mmcheck check` and `compare`):
    keep `tally` up to date and redraw the status line; `outcome` says a finished model's
    result in a few words, `unexpected` whether it counts as unexpected."""
    lock = threading.Lock()

    def on_event(kind: str, model: Model, text: str) -> None:
        with lock:
            if kind == "start":
                tally.running[model.name] = "starting"
            elif kind == "run" and text:
                tally.running[model.name] = text
                console.detail(f"      {model.name}: {text}")
            elif kind == "failed":  # said again, once per cause, at the end
                console.detail(f"mmcheck: {model.name}: failed: {text}")
            console.status(tally)

    def on_result(r: ModelResult) -> None:
        with lock:
            tally.running.pop(r.model.name, None)
            tally.done += 1
            tally.seconds_done.append(r.seconds)
            verdicts = [v.verdict for v in r.verdicts.values()]
            tally.failed += r.status == 2
            tally.timed_out += "timeout" in verdicts
            tally.unexpected += unexpected is not None and unexpected(r)
            tally.last = f"{r.model.name}: {outcome(r)}"
            console.status(tally)

    return on_event, on_result


def progress_callback(console: Console, tally: Tally,
                      quiet_for: float = 30.0) -> Callable[[Model, Any], None]:
    """on_progress for runner.check.check_models: TLC's progress reports (one a minute) of a
    long model as "N distinct states so far, R states/s" on the status line (a terminal) or,
    elsewhere, as a line of its own once the model has run `quiet_for` seconds (a short
    model stays quiet).  The rate is of the current TLC run (a model has 1 to 3)."""
    lock = threading.Lock()
    runs: dict[str, tuple[float, int, int]] = {}  # model -> (run's first report, its states, last)
    began: dict[str, float] = {}  # model -> its first report

    def on_progress(model: Model, p: Any) -> None:
        states = p.distinct_states if p.distinct_states is not None else p.states_generated
        now = time.monotonic()
        with lock:
            t0, n0, last = runs.get(model.name, (now, states, -1))
            if states < last:  # the next TLC run of the model
                t0, n0 = now, states
            runs[model.name] = (t0, n0, states)
            rate = (states - n0) / (now - t0) if now - t0 >= 1.0 else None
            what = (f"{states:,} {'distinct ' if p.distinct_states is not None else ''}states "
                    f"so far" + (f", {rate:,.0f} states/s" if rate else "")
                    + (f", depth {p.depth}" if p.depth is not None else ""))
            tally.running[model.name] = what
            if console.status.tty:
                console.status(tally)
            elif now - began.setdefault(model.name, t0) >= quiet_for and rate is not None:
                console.info(f"      {model.name}: {what}")

    return on_progress
