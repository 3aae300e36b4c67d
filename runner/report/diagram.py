"""The race diagram of a counterexample: one column per thread, one row per step.

`build` turns a verdict's trace into a RaceDiagram (pure data, used by the text
attachment and the HTML report); `render_text` draws it in at most 80 columns, wrapping
text inside narrow columns.  Steps that change nothing a reviewer cares about are folded
into their neighbour of the same thread; `render_listing` gives every step unfolded.
"""
from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from gen.model import LIVENESS, Model
from runner.judge import Verdict
from runner.report import explain
from runner.report.steps import Step, initial_values, lock_held, steps, strip_prefix

WIDTH = 80
DEADLOCK = "DeadlockFree"


@dataclass(frozen=True)
class Row:
    numbers: tuple[int, ...]  # TLC state numbers this row covers (several when folded)
    thread: str | None
    lines: tuple[str, ...]  # the function, then what it changed
    violating: bool = False
    in_loop: bool = False  # liveness: part of the repeating cycle
    holds: tuple[str | None, ...] = ()  # per thread: mmap_sem held after the row (write/read/none)

    @property
    def label(self) -> str:
        a, b = self.numbers[0], self.numbers[-1]
        return str(a) if a == b else f"{a}-{b}"


@dataclass(frozen=True)
class RaceDiagram:
    prop: str
    kind: str  # "safety", "deadlock" or "liveness"
    threads: tuple[str, ...]
    rows: tuple[Row, ...]
    steps: tuple[Step, ...]  # every step, unfolded
    initial: tuple[str, ...]  # the initial state's variables
    violating: int | None  # the state number of the violating step (safety, deadlock)
    loop_to: int | None
    stuttering: bool
    starving: tuple[str, ...]  # liveness: threads that never progress
    explanation: str
    run: str | None  # the TLC run (its log holds TLC's own trace)


# Processes a spec may have besides the model's threads (with per-VMA locks: the RCU
# callbacks that free VMAs after a grace period).
HELPERS = ("rcu", "other_mm")  # other_mm: mainline's other process (typesafe slot reuse)


def thread_names(model: Model) -> tuple[list[str], list[str]]:
    """(thread names in column order, label prefixes)."""
    names, prefixes = ["munmap0"], ["munmap0"]
    for i, t in enumerate(model.threads, start=1):
        prefix = f"{t.kind}{i}"
        prefixes.append(prefix)
        names += [prefix] if t.count == 1 else [f"{prefix}_{j}" for j in range(1, t.count + 1)]
    return names, prefixes


def fault_addresses(model: Model) -> dict[str, int]:
    """Thread name -> the page its access is at, for the threads that have one."""
    names, _ = thread_names(model)
    out, i = {}, 1
    for t in model.threads:
        for _ in range(t.count):
            if t.addr is not None:
                out[names[i]] = t.addr
            i += 1
    return out


def _fold(all_steps: Sequence[Step], keep: set[int], loop_from: int | None) -> list[Row]:
    """A row per step; consecutive steps of one thread that change nothing relevant share one.

    A lasso's loop starts at state `loop_from`: TLC's "back to state N" means the state after
    the last one is state N again, so the row of state N is the first of the cycle."""
    rows: list[Row] = []
    for s in all_steps:
        in_loop = loop_from is not None and s.number >= loop_from
        prev = rows[-1] if rows else None
        if (prev is not None and not s.relevant and prev.thread == s.thread
                and (len(prev.lines) == 1 or prev.lines[0] == s.function)
                and prev.numbers[-1] not in keep
                and s.number not in keep and prev.in_loop == in_loop):
            names = prev.lines[0].split("; ")
            text = prev.lines[0] if names[-1] == s.function else f"{prev.lines[0]}; {s.function}"
            rows[-1] = Row(prev.numbers + (s.number,), s.thread, (text, *prev.lines[1:]), False,
                           in_loop)
            continue
        rows.append(Row((s.number,), s.thread, (s.function, *s.changes), s.number in keep,
                        in_loop))
    return rows


def only_this_property(all_steps: Sequence[Step], prop: str) -> list[Step]:
    """The steps without `BREAKS X` for the other properties: the run that found `prop` did
    not check X (it was decided by an earlier run), so a step breaking X is not news here."""
    return [dataclasses.replace(s, changes=tuple(c for c in s.changes if not c.startswith(
        "BREAKS ") or c == f"BREAKS {prop}")) for s in all_steps]


def loop_start(d: RaceDiagram) -> int | None:
    """The number of the first row of a lasso's loop (state loop_to; the initial state has
    no row, so a loop back to it starts at the first step)."""
    return None if d.loop_to is None else max(d.loop_to, 2)


def _starving(model: Model, verdict: Verdict, names: list[str], prefixes: list[str]) -> dict[str, str]:
    """Liveness: the threads whose pc is not Done and never changes in the lasso's loop."""
    trace = verdict.trace
    assert trace is not None
    states = trace.states
    loop = [s for s in states if trace.loop_to is None or s.number >= trace.loop_to]
    if trace.loop_to is None:
        loop = loop[-1:]
    out = {}
    for t in names:
        pcs = {s.values.get("pc", {}).get(t) for s in loop}
        if len(pcs) == 1 and None not in pcs and "Done" not in pcs:
            out[t] = strip_prefix(str(next(iter(pcs))), prefixes)
    repeat = set()
    for i, th in enumerate(model.threads, start=1):
        if th.repeat:
            repeat |= {n for n in names if n == f"{th.kind}{i}"
                       or n.startswith(f"{th.kind}{i}_")}
    munmaps = {n for n in names if n.startswith("munmap")}
    wanted = munmaps if verdict.prop == LIVENESS[0] else set(names) - repeat
    return {t: f for t, f in out.items() if t in wanted} or out


def build(model: Model, verdict: Verdict) -> RaceDiagram | None:
    """The race diagram of a violated property (None without a trace)."""
    trace = verdict.trace
    if trace is None or not trace.states:
        return None
    names, prefixes = thread_names(model)
    for helper in HELPERS:  # a process of the model's own, not one of the model file's
        if helper in (trace.states[0].values.get("pc") or {}):
            names, prefixes = names + [helper], prefixes + [helper]
    all_steps = only_this_property(steps(trace, prefixes), verdict.prop)
    last = trace.states[-1]
    kind = "liveness" if verdict.prop in LIVENESS else (
        "deadlock" if verdict.prop == DEADLOCK else "safety")
    starving: dict[str, str] = {}
    violating = None
    if kind == "liveness":
        starving = _starving(model, verdict, names, prefixes)
        why = explain.liveness(verdict.prop, trace.loop_to, trace.stuttering, last.number,
                               starving)
        keep: set[int] = set()
    else:
        violating = last.number if all_steps else None
        keep = {violating} if violating is not None else set()
        if kind == "deadlock":
            pcs = {t: strip_prefix(str(last.values.get("pc", {}).get(t)), prefixes) for t in names}
            why = explain.deadlock(last.values, pcs)
        else:
            why = explain.safety(verdict.prop, all_steps, last.values, names,
                                 model.ptes_per_table, model.write_hold_bound,
                                 fault_addresses(model))
    rows = _fold(all_steps, keep, trace.loop_to if kind == "liveness" else None)
    by_number = {s.number: s.values for s in trace.states}
    rows = [dataclasses.replace(r, holds=tuple(lock_held(by_number[r.numbers[-1]], t)
                                               for t in names)) for r in rows]
    if kind != "liveness" and rows and rows[-1].violating:
        r = rows[-1]
        if not any(line.startswith("BREAKS") for line in r.lines):
            broken = "DEADLOCK: no thread can move" if kind == "deadlock" else \
                f"BREAKS {verdict.prop}"
            rows[-1] = dataclasses.replace(r, lines=r.lines + (broken,), violating=True)
    return RaceDiagram(verdict.prop, kind, tuple(names), tuple(rows), tuple(all_steps),
                       tuple(initial_values(trace.states[0].values)), violating, trace.loop_to,
                       trace.stuttering, tuple(starving), why, verdict.run)


# ---------------------------------------------------------------- text


def _wrap(lines: Sequence[str], width: int) -> list[str]:
    out = []
    for i, line in enumerate(lines):
        indent = "" if i == 0 else "  "
        out += textwrap.wrap(line, width, initial_indent=indent, subsequent_indent=indent + "  ",
                             break_on_hyphens=False) or [""]
    return out


def render_text(d: RaceDiagram, width: int = WIDTH) -> str:
    """The diagram as plain text, no line longer than `width`."""
    label_w = max([len("step")] + [len(r.label) for r in d.rows]) + 3  # room for ">> "
    n = len(d.threads)
    col = max(6, (width - label_w - 3 * n) // n)
    head = f"{'step':>{label_w}}" + "".join(f" | {t[:col]:<{col}}" for t in d.threads)
    rule = "-" * label_w + ("-+-" + "-" * col) * n
    out = [head.rstrip(), rule]
    for r in d.rows:
        if r.numbers[0] == loop_start(d):
            out.append(_banner(f" loop: states {loop_start(d)} to {d.steps[-1].number}, then "
                               f"back to state {d.loop_to}, forever ", label_w + (col + 3) * n))
        cells = [_wrap(r.lines, col) if t == r.thread else [] for t in d.threads]
        height = max(len(c) for c in cells) if cells else 1
        for i in range(max(height, 1)):
            mark = (">> " if r.violating else "") + r.label if i == 0 else ""
            line = f"{mark:>{label_w}}" + "".join(
                f" | {(c[i] if i < len(c) else ''):<{col}}" for c in cells)
            out.append(line.rstrip())
    if d.loop_to is not None:
        out.append(_banner(f" back to state {d.loop_to} ", label_w + (col + 3) * n))
    elif d.stuttering:
        out.append(_banner(" stutters forever ", label_w + (col + 3) * n))
    return "\n".join(out)


def _banner(text: str, width: int) -> str:
    return text.center(min(width, WIDTH), "=")


def render_explanation(d: RaceDiagram, width: int = WIDTH) -> str:
    if d.kind == "liveness":
        head = f"{d.prop} fails: "
    elif d.violating is None:
        head = f"{d.prop} is broken in the initial state: "
    else:
        head = f">> Step {d.violating} breaks {d.prop}: "
    return textwrap.fill(head + d.explanation, width, break_on_hyphens=False)


def render_listing(d: RaceDiagram, width: int = WIDTH) -> str:
    """Every step, unfolded, with every variable it changed."""
    out = ["    1 initial state"]
    out += [_fill(v, width, 8) for v in d.initial]
    for s in d.steps:
        out.append(f"{s.number:>5} {s.thread or '?'}: {s.label or '?'}"[:width])
        out += [_fill(v, width, 8) for v in s.raw] or [" " * 8 + "(no variable changed)"]
    if d.loop_to is not None:
        out.append(f"{'':>5} back to state {d.loop_to}")
    if d.stuttering:
        out.append(f"{'':>5} stutters forever")
    return "\n".join(out)


def _fill(text: str, width: int, indent: int) -> str:
    return textwrap.fill(text, width, initial_indent=" " * indent,
                         subsequent_indent=" " * (indent + 4), break_on_hyphens=False)
