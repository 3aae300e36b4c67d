"""Parse what TLC printed (with -tool) and its exit code into a typed TlcResult.

PURE: a function of text and exit code; it starts no process and reads no file.  Unknown
or truncated output never raises: it becomes Outcome.TOOL_ERROR.  Where the exit code and
the messages disagree (-continue, and ASSUME false in some versions, exit 0) the messages
decide and `disagreement` says so.

Handles TLC 2.15 (the pinned jar) and the documented 1.7.x/1.8.0 differences: action
headers with arguments (`<step(1) line ...>`), a failed Assert reported with a trace and
exit 14 instead of exit 75 without one.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from runner.tla_values import ValueSyntaxError, parse_value, to_jsonable


class Outcome(str, Enum):
    OK = "ok"
    INVARIANT = "invariant"
    LIVENESS = "liveness"
    DEADLOCK = "deadlock"
    ASSERT = "assert"
    ASSUMPTION = "assumption"
    PARSE_ERROR = "parse_error"
    CONFIG_ERROR = "config_error"
    EVAL_ERROR = "eval_error"
    OUT_OF_MEMORY = "out_of_memory"
    TIMEOUT = "timeout"
    TOOL_ERROR = "tool_error"

    @property
    def is_violation(self) -> bool:
        """A property of the spec was shown false (exit 1 for `mmcheck tlc`)."""
        return self in _VIOLATIONS

    @property
    def decided(self) -> bool:
        """TLC reached a verdict (ok or a violation); otherwise nothing was decided."""
        return self is Outcome.OK or self.is_violation


_VIOLATIONS = frozenset({Outcome.INVARIANT, Outcome.LIVENESS, Outcome.DEADLOCK, Outcome.ASSERT,
                         Outcome.ASSUMPTION})


@dataclass(frozen=True)
class Stats:
    initial_states: int | None = None
    states_generated: int | None = None
    distinct_states: int | None = None
    states_left: int | None = None
    depth: int | None = None
    fp_collision: float | None = None
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Progress:
    """One progress report (code 2200; 2209 in simulation mode): TLC prints one every minute
    and one at the end."""

    depth: int | None
    at: str | None  # TLC's own timestamp text, e.g. "2026-11-26 01:01:46"
    states_generated: int
    distinct_states: int | None  # None in simulation mode (TLC prints -1)
    states_left: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TraceState:
    number: int
    action: str | None  # None for the initial state
    location: str | None  # "line 5, col 9 to line 5, col 94 of module Inv"
    values: Mapping[str, Any]
    action_args: str | None = None  # "1" in 1.8.0's `<step(1) line ...>`; None in 2.15

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "action": self.action, "action_args": self.action_args,
                "location": self.location,
                "values": {k: to_jsonable(v) for k, v in self.values.items()}}


@dataclass(frozen=True)
class Trace:
    states: tuple[TraceState, ...]
    loop_to: int | None = None  # a lasso goes back to this state number (2122)
    stuttering: bool = False  # the behaviour ends stuttering forever (2218)

    def to_dict(self) -> dict[str, Any]:
        return {"states": [s.to_dict() for s in self.states], "loop_to": self.loop_to,
                "stuttering": self.stuttering}


@dataclass(frozen=True)
class TlcResult:
    outcome: Outcome
    violated: str | None
    message: str
    stats: Stats
    trace: Trace | None
    tlc_version: str | None
    tlc_revision: str | None
    exit_code: int | None
    disagreement: str | None
    progress: tuple[Progress, ...] = ()
    warnings: tuple[str, ...] = ()
    violations: int = 0  # how many violations TLC reported (> 1 only with -continue)
    traces: tuple[Trace, ...] = field(default=(), repr=False)  # every trace, in order
    # Filled in by runner.tlc.run_tlc, not by the parser:
    log_path: str | None = None
    wall_seconds: float | None = None
    argv: tuple[str, ...] = ()
    output: str = field(default="", repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value, "violated": self.violated, "message": self.message,
            "stats": self.stats.to_dict(),
            "trace": self.trace.to_dict() if self.trace else None,
            "tlc_version": self.tlc_version, "tlc_revision": self.tlc_revision,
            "exit_code": self.exit_code, "disagreement": self.disagreement,
            "progress": [p.to_dict() for p in self.progress],
            "warnings": list(self.warnings), "violations": self.violations,
            "log_path": self.log_path, "wall_seconds": self.wall_seconds,
            "argv": list(self.argv),
        }


# ---------------------------------------------------------------- framing

@dataclass
class Message:
    code: int
    cls: int  # 0 info, 1 error, 2 tlc bug, 3 warning, 4 state
    text: str = ""  # own text, without nested frames
    children: list[Message] = field(default_factory=list)
    closed: bool = False

    def full_text(self) -> str:
        return "\n".join([self.text.strip(), *(c.full_text() for c in self.children)]).strip()

    def walk(self) -> Iterable[Message]:
        yield self
        for c in self.children:
            yield from c.walk()


_MARK = re.compile(r"@!@!@(?:STARTMSG (\d+):(\d+)|ENDMSG (\d+)) @!@!@\r?\n?")


def split_frames(text: str) -> tuple[list[Message], str, bool]:
    """Top-level -tool frames, the unframed text (SANY, Print), and whether all frames closed."""
    top: list[Message] = []
    stack: list[Message] = []
    loose: list[str] = []
    pos = 0
    for m in _MARK.finditer(text):
        chunk = text[pos:m.start()]
        if stack:
            stack[-1].text += chunk
        else:
            loose.append(chunk)
        pos = m.end()
        if m.group(1) is not None:
            msg = Message(int(m.group(1)), int(m.group(2)))
            (stack[-1].children if stack else top).append(msg)
            stack.append(msg)
        elif stack:
            stack.pop().closed = True  # ENDMSG codes are not checked: TLC always nests properly
    tail = text[pos:]
    if stack:
        stack[-1].text += tail
    else:
        loose.append(tail)
    return top, "".join(loose), not stack


# ---------------------------------------------------------------- progress

_NUM = r"(\d[\d,]*)"
_SNUM = r"(-?\d[\d,]*)"  # simulation mode prints -1 for what it does not know
_PROGRESS = re.compile(
    r"Progress\(" + _SNUM + r"\) at (.*?): " + _NUM + r" states generated.*?, " + _SNUM
    + r" distinct states found.*?, " + _SNUM + r" states left on queue")


def _int(s: str) -> int:
    return int(s.replace(",", ""))


def _known(s: str) -> int | None:
    n = _int(s)
    return None if n < 0 else n


def parse_progress_line(line: str) -> Progress | None:
    """A Progress if `line` is TLC's progress line (the body of a 2200/2209 frame), else None."""
    m = _PROGRESS.search(line)
    if m is None:
        return None
    return Progress(depth=_known(m.group(1)), at=m.group(2), states_generated=_int(m.group(3)),
                    distinct_states=_known(m.group(4)), states_left=_known(m.group(5)))


class ProgressWatcher:
    """A line callback for runner.java.run_java(on_line=...): calls `callback` per 2200."""

    def __init__(self, callback: Callable[[Progress], None]) -> None:
        self.callback = callback
        self.seen: list[Progress] = []

    def __call__(self, line: str) -> None:
        if "Progress(" in line:
            p = parse_progress_line(line)
            if p is not None:
                self.seen.append(p)
                self.callback(p)


# ---------------------------------------------------------------- trace states

_HEADER = re.compile(r"^\s*(?:STATE\s+)?(\d+):\s*<(.*)>\s*$")
_ACTION = re.compile(
    r"^(?P<name>[^\s(]+)(?:\((?P<args>.*)\))?\s+(?P<loc>line \d+, col \d+ to line \d+, col \d+"
    r" of module \S+)$")
_BACK = re.compile(r"^\s*(\d+):\s*Back to state", re.MULTILINE)
_STUTTER = re.compile(r"^\s*(\d+):\s*Stuttering", re.MULTILINE)


class RawValue(str):
    """A value the parser could not read; kept as TLC's text (a warning is recorded)."""

    __slots__ = ()


def parse_assignments(body: str, warnings: list[str]) -> dict[str, Any]:
    """`/\\ x = 1` lines (or a lone `x = 1`), values possibly wrapped over several lines."""
    entries: list[str] = []
    for line in body.strip("\n").splitlines():
        if line.startswith("/\\ "):
            entries.append(line[3:])
        elif entries:
            entries[-1] += "\n" + line
        elif line.strip():
            entries.append(line)
    values: dict[str, Any] = {}
    for entry in entries:
        name, sep, text = entry.partition(" = ")
        if not sep:
            warnings.append(f"unreadable state line: {entry.strip()[:80]!r}")
            continue
        try:
            values[name.strip()] = parse_value(text)
        except ValueSyntaxError as e:
            warnings.append(f"value of {name.strip()} not parsed ({e}); kept as text")
            values[name.strip()] = RawValue(text.strip())
    return values


def parse_state(text: str, warnings: list[str]) -> TraceState | None:
    """The body of a 2217 frame: `N: <Action line ... of module M>` and the assignments."""
    header, _, body = text.strip("\n").partition("\n")
    m = _HEADER.match(header)
    if m is None:
        warnings.append(f"unreadable trace state header: {header[:80]!r}")
        return None
    inner = m.group(2).strip()
    action = location = args = None
    if inner != "Initial predicate":
        a = _ACTION.match(inner)
        if a:
            action, args, location = a.group("name"), a.group("args"), a.group("loc")
        else:
            action = inner
    return TraceState(int(m.group(1)), action, location, parse_assignments(body, warnings), args)


# ---------------------------------------------------------------- verdicts

_CONFIG_CODES = frozenset([*range(2222, 2246), 2272, 2273, 2274, 2280, 2281, *range(5001, 5007)])
_OOM_CODES = frozenset({1001, 1002, 1003})
# what TLC or the JVM prints when a run runs out of memory (runner.jvmpool reads it too)
OOM_TEXT = re.compile(r"Java heap space|OutOfMemoryError|GC overhead limit exceeded|"
                      r"Direct buffer memory|ran out of memory")
# Exit codes each outcome may come with (2.15, 1.7.x, 1.8.0).  None: not checked.
_EXPECTED_EXIT: dict[Outcome, frozenset[int] | None] = {
    Outcome.OK: frozenset({0}),
    Outcome.ASSUMPTION: frozenset({10}),
    Outcome.DEADLOCK: frozenset({11}),
    Outcome.INVARIANT: frozenset({12}),
    Outcome.LIVENESS: frozenset({13}),
    Outcome.ASSERT: frozenset({14, 75}),
    Outcome.EVAL_ERROR: frozenset({75, 10, 12, 13, 153, 255}),
    Outcome.PARSE_ERROR: frozenset({150}),
    Outcome.CONFIG_ERROR: frozenset({151, 255}),
    Outcome.OUT_OF_MEMORY: None,
    Outcome.TIMEOUT: None,
    Outcome.TOOL_ERROR: None,
}


_BOILERPLATE = re.compile(
    r"^(TLC threw an unexpected exception\.|This was probably caused by an error in the spec or"
    r" model\.|See the User Output or TLC Console for clues to what happened\.)\s*$\n?", re.MULTILINE)


def _short(text: str, limit: int = 400) -> str:
    text = _BOILERPLATE.sub("", text)
    text = re.sub(r"\n\s*\n+", "\n", text.strip())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _sany_errors(loose: str) -> str:
    keep = [ln for ln in loose.splitlines()
            if ln.strip() and not ln.startswith(("Parsing file", "Semantic processing",
                                                 "Starting SANY", "SANY finished"))]
    return "\n".join(keep)


def _violated_name(text: str) -> str | None:
    m = re.search(r"(?:Invariant|Action property|Property) (\S+) is violated", text)
    return m.group(1) if m else None


def parse_tlc_output(text: str, exit_code: int | None, *, timed_out: bool = False) -> TlcResult:
    """The typed result of one TLC run, from its -tool output and exit code."""
    try:
        return _parse(text, exit_code, timed_out)
    except Exception as e:  # noqa: BLE001 - the parser must never crash a run
        return TlcResult(Outcome.TOOL_ERROR, None, f"unparseable TLC output ({e!r})", Stats(),
                         None, None, None, exit_code, None, output=text)


def _parse(text: str, exit_code: int | None, timed_out: bool) -> TlcResult:
    top, loose, all_closed = split_frames(text)
    msgs = [m for t in top for m in t.walk()]
    warnings: list[str] = [_short(m.full_text(), 200) for m in msgs if m.cls == 3]
    codes = {m.code for m in msgs}

    version = revision = None
    for m in msgs:
        if m.code == 2262:
            v = re.search(r"Version (\S+)", m.text)
            r = re.search(r"rev: (\w+)", m.text)
            version, revision = (v.group(1) if v else None), (r.group(1) if r else None)

    # statistics
    st: dict[str, Any] = {}
    progress: list[Progress] = []
    for m in msgs:
        if m.code == 2190:
            g = re.search(_NUM + r" distinct states? generated", m.text)
            if g:
                st["initial_states"] = _int(g.group(1))
        elif m.code == 2199:
            g = re.search(_NUM + r" states generated, " + _NUM + r" distinct states found, "
                          + _NUM + r" states left", m.text)
            if g:
                st.update(states_generated=_int(g.group(1)), distinct_states=_int(g.group(2)),
                          states_left=_int(g.group(3)))
        elif m.code == 2194:
            g = re.search(r"search is (\d+)", m.text)
            if g:
                st["depth"] = int(g.group(1))
        elif m.code == 2193:
            g = re.search(r"calculated \(optimistic\):\s*val = ([-\d.Ee+]+)", m.text)
            if g:
                st["fp_collision"] = float(g.group(1))
        elif m.code == 2186:
            st["seconds"] = _duration(m.text)
        elif m.code in (2200, 2209):
            p = parse_progress_line(m.text)
            if p:
                progress.append(p)
    if "states_generated" not in st and progress:  # e.g. killed on timeout: the last report
        last = progress[-1]
        st.update(states_generated=last.states_generated, distinct_states=last.distinct_states,
                  states_left=last.states_left)
    stats = Stats(**st)

    # traces: a new one starts at each 2121/2264 header or 2107/2108 (initial-state) report
    traces: list[dict[str, Any]] = []

    def new_trace() -> dict[str, Any]:
        traces.append({"states": [], "loop_to": None, "stuttering": False})
        return traces[-1]

    cur: dict[str, Any] | None = None
    for m in msgs:
        if m.code in (2121, 2264):
            cur = new_trace()
        elif m.code in (2107, 2108):
            cur = new_trace()
            body = m.text.partition("\n")[2]
            cur["states"].append(TraceState(1, None, None, parse_assignments(body, warnings)))
        elif m.code == 2217:
            cur = cur or new_trace()
            s = parse_state(m.text, warnings)
            if s:
                cur["states"].append(s)
        elif m.code == 2122 and cur is not None:
            b = _BACK.search(m.text)
            cur["loop_to"] = int(b.group(1)) if b else None
        elif m.code == 2218 and cur is not None:
            cur["stuttering"] = True
    every = tuple(Trace(tuple(t["states"]), t["loop_to"], t["stuttering"]) for t in traces)
    trace = every[0] if every and every[0].states else None

    outcome, violated, message, violations = _verdict(msgs, codes, loose, text)
    finished = 2186 in codes and all_closed
    if outcome is None and finished and 2188 in codes and not any(m.cls == 1 for m in msgs):
        outcome, message = Outcome.OK, "No error has been found (random simulation)."
    if timed_out:
        outcome, violated = Outcome.TIMEOUT, None
        message = "TLC did not finish within the time limit"
    elif outcome is None and not text.strip():
        outcome, message = Outcome.TOOL_ERROR, "TLC printed nothing"
    elif outcome is None or (not finished and outcome is not Outcome.OUT_OF_MEMORY
                             and outcome is not Outcome.TOOL_ERROR):
        what = f" (it was reporting: {outcome.value})" if outcome else ""
        outcome, violated = Outcome.TOOL_ERROR, None
        if not finished:
            message = "TLC output is truncated: no 'Finished' message" + what
        else:
            message = message or "TLC finished without a verdict"
    assert outcome is not None

    disagreement = None
    expected = _EXPECTED_EXIT[outcome]
    if exit_code is not None and expected is not None and exit_code not in expected:
        disagreement = (f"exit code {exit_code} but the messages report {outcome.value}"
                        + (f" ({violated})" if violated else ""))
    elif exit_code not in (None, 0) and outcome is Outcome.TOOL_ERROR and not message:
        message = f"TLC exited with code {exit_code}"

    return TlcResult(outcome, violated, message, stats, trace, version, revision, exit_code,
                     disagreement, tuple(progress), tuple(warnings), violations, every,
                     output=text)


def _duration(text: str) -> float | None:
    m = re.search(r"Finished in ((?:\d+\s*(?:ms|h|min|s)\s*)+)", text)
    if not m:
        return None
    unit = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0}
    return round(sum(int(n) * unit[u] for n, u in re.findall(r"(\d+)\s*(ms|min|h|s)",
                                                                 m.group(1))), 3)


def _verdict(msgs: list[Message], codes: set[int], loose: str,
             text: str) -> tuple[Outcome | None, str | None, str, int]:
    """(outcome, violated property, short message, number of violations) from the messages."""
    def first(*wanted: int) -> Message | None:
        return next((m for m in msgs if m.code in wanted), None)

    errors = [m for m in msgs if m.cls == 1]
    oom = first(*_OOM_CODES) or next((m for m in errors if OOM_TEXT.search(m.full_text())),
                                     None)
    if oom is not None or (OOM_TEXT.search(loose) and not codes & {2193}):
        return Outcome.OUT_OF_MEMORY, None, _short(oom.full_text() if oom else loose), 0
    if m := first(3002, 3001):
        return Outcome.PARSE_ERROR, None, _short(_sany_errors(loose) or m.full_text()), 0
    if m := first(*_CONFIG_CODES) or next(
            (e for e in msgs if e.code == 1000 and "ConfigFileException" in e.text), None):
        return Outcome.CONFIG_ERROR, None, _short(m.full_text()), 0
    if m := first(2132):  # Assert: 2.15 nests it in a 1000 frame, 1.7.4+ print it alone
        return Outcome.ASSERT, None, _short(m.full_text()), 1
    viol = [m for m in msgs if m.code in (2107, 2108, 2110, 2112, 2114, 2116)]
    if viol:
        m = viol[0]
        kind = {2114: Outcome.DEADLOCK, 2116: Outcome.LIVENESS}.get(m.code, Outcome.INVARIANT)
        head = m.text.strip().splitlines()[0] if m.text.strip() else ""
        return kind, _violated_name(m.text), _short(head), len(viol)
    if m := first(2104):
        return Outcome.ASSUMPTION, None, _short(m.full_text()), 1
    if m := first(2105, 2111, 2113, 2103, 1000):
        return Outcome.EVAL_ERROR, None, _short(m.full_text()), 0
    if 2193 in codes:
        return Outcome.OK, None, "No error has been found.", 0
    if errors:
        return Outcome.TOOL_ERROR, None, _short(errors[0].full_text()), 0
    if "***Parse Error***" in loose or "Semantic errors:" in loose:
        return Outcome.PARSE_ERROR, None, _short(_sany_errors(loose)), 0
    tail = _short(loose or text, 200)
    return None, None, tail, 0


# One report of gen/first_violations.py's MmcheckInvariants (a -continue run): the names
# PrintT gave, then TLC's violation message and its trace, as TLC 2.15 prints them with -tool.
_FIRST_VIOLATION = re.compile(
    r'^((?:<<"mmcheck_violated", "\w+">>\n)+)'
    r"(@!@!@STARTMSG 2110:\d+ @!@!@\n.*?@!@!@ENDMSG 2110 @!@!@\n"
    r"@!@!@STARTMSG 2121:\d+ @!@!@\n.*?@!@!@ENDMSG 2121 @!@!@\n"
    r"(?:@!@!@STARTMSG 2217:\d+ @!@!@\n.*?@!@!@ENDMSG 2217 @!@!@\n)*)",
    re.MULTILINE | re.DOTALL)
_REPORTED = re.compile(r'^<<"mmcheck_violated", "(\w+)">>$', re.MULTILINE)
_TRACE_OPENS = re.compile(r"^@!@!@STARTMSG (?:2121|2264|2107|2108):", re.MULTILINE)


def split_first_violations(text: str, traces: tuple[Trace, ...] | None = None
                           ) -> tuple[list[tuple[tuple[str, ...], Trace | None]], str]:
    """A -continue run of MmcheckInvariants: ([(the invariants a state was the first to
    violate, TLC's trace to it)] in the order TLC found them, and the output without those
    reports), which reads as the output of a run that checked no invariant (what ended it:
    the end of the graph and NoCycle's check, a deadlock, a timeout ...).  Output it cannot
    take apart leaves a report or a violation message in the rest: the caller checks.
    `traces`: the run's traces as parse_tlc_output read them (TlcResult.traces), each
    report's then taken from there instead of parsed again."""
    opens = [m.start() for m in _TRACE_OPENS.finditer(text)]
    aligned = traces is not None and len(traces) == len(opens)  # one trace per opening
    reports: list[tuple[tuple[str, ...], Trace | None]] = []
    for m in _FIRST_VIOLATION.finditer(text):
        names = tuple(_REPORTED.findall(m.group(1)))
        if traces is not None and aligned:
            trace: Trace | None = traces[bisect.bisect_left(opens, m.start(2))]
        else:
            trace = parse_tlc_output(m.group(2), None).trace
        reports.append((names, trace))
    return reports, _FIRST_VIOLATION.sub("", text)


def reports_left(rest: str) -> bool:
    """The rest of split_first_violations still holds a report or a violation message."""
    return _REPORTED.search(rest) is not None or "@!@!@STARTMSG 2110:" in rest
