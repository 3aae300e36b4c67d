"""The bounds of user-given sizes, one place for every command and file that takes them.

A timeout is a number of seconds between MIN_TIMEOUT and MAX_TIMEOUT: below a second no TLC
run can finish (the JVM alone starts in about 0.7 s), so every run would "time out"; above a
week it is no timeout at all, and inf, nan or 1e300 would break the timer.
"""
from __future__ import annotations

import math
from typing import Any

from runner.errors import ConfigError

MAX_JOBS = 256  # models or points checked at once: more JVMs than that exhausts any machine
MAX_POINTS = 10_000  # points of a sweep's grid, unless allowed (mmcheck sweep --max-points)
MIN_TIMEOUT = 1.0  # seconds
MAX_TIMEOUT = 7 * 24 * 3600.0  # a week
TIMEOUT_RANGE = f"{MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} s, a week"


def timeout_problem(value: Any) -> str | None:
    """Why `value` is not a timeout in seconds, or None when it is one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be a number of seconds, not {value!r}"
    if math.isnan(value):
        return "must be a number of seconds, not nan"
    if not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        return f"{value:g} is out of range ({TIMEOUT_RANGE})"
    return None


def check_timeout(value: Any, where: str) -> float:
    """`value` as a timeout in seconds; else ConfigError "WHERE: problem"."""
    problem = timeout_problem(value)
    if problem is not None:
        raise ConfigError(f"{where}: {problem}")
    return float(value)


def parse_timeout(text: str) -> float:
    """An argparse `type=` for --timeout: the text as a bounded number of seconds."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    problem = timeout_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return value


def parse_jobs(text: str) -> int:
    """An argparse `type=` for --jobs: a whole number from 1 to MAX_JOBS (each job is a JVM)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"{value} is out of range (1 to {MAX_JOBS}; each job "
                                         f"is a JVM of its own)")
    return value


# Printed output: `--width N` on every command that prints tables or diagrams (check,
# compare, report, litmus); 80 columns by default, 72 for mail (git format-patch's width).
WIDTH = 80
MAIL_WIDTH = 72
MIN_WIDTH, MAX_WIDTH = 50, 250


def parse_width(text: str) -> int:
    """An argparse `type=` for --width: the columns of printed tables and diagrams."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of columns") from None
    if not MIN_WIDTH <= value <= MAX_WIDTH:
        raise argparse.ArgumentTypeError(f"{value} is out of range ({MIN_WIDTH} to {MAX_WIDTH} "
                                         f"columns)")
    return value


def add_width(parser: Any, what: str = "tables and diagrams", default: str = "") -> None:
    """--width N (dest: width; None when not given), the one option every printing command
    shares; `default` says what the command's default is when not 80."""
    parser.add_argument("--width", type=parse_width, metavar="N",
                        help=f"the columns of the printed {what} (default: "
                             f"{default or WIDTH}; {MAIL_WIDTH} for mail; {MIN_WIDTH} to "
                             f"{MAX_WIDTH})")


def column_blocks(first: int, widths: list[int], width: int) -> list[list[int]]:
    """The columns of a table (their widths, after a first column of `first`) in blocks
    that each fit in `width`: a table too wide is printed as several, the first column
    repeated.  Every block has at least one column."""
    blocks: list[list[int]] = [[]]
    used = first
    for i, w in enumerate(widths):
        if blocks[-1] and used + w > width:
            blocks.append([])
            used = first
        blocks[-1].append(i)
        used += w
    return blocks
