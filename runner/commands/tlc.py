"""`mmcheck tlc SPEC.tla`: model-check one spec with TLC and summarise the result.

A PlusCal algorithm in the spec is translated in the private copy TLC runs on: the user's
file is never modified (run `pcal.trans` yourself to keep the translation).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported here, not in run(): runner.cli imports this module only when `tlc` is the verb,
# with the cyclic GC paused.  The parser (runner.tlc_output) is imported at TLC's first line.
from runner.cds import will_build
from runner.errors import ConfigError
from runner.files import ensure_file_destination
from runner.java import locate_tools
from runner.limits import TIMEOUT_RANGE, parse_timeout
from runner.pcal import has_pluscal, translate
from runner.tlc import default_workers, run_tlc

if TYPE_CHECKING:
    from runner.tlc_output import Progress, TlcResult, Trace


EXAMPLES = """\
examples:
  mmcheck tlc Spec.tla                          # Spec.cfg beside it
  mmcheck tlc Spec.tla --config Safety.cfg --workers 2 --timeout 300
  mmcheck tlc Algo.tla --no-deadlock --json result.json --log tlc.log
  cd results/latest/vm_dead-fault && mmcheck tlc vm_dead.tla --config safety-1.cfg"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "tlc", help="model-check one TLA+/PlusCal spec with TLC",
        description="Model-check SPEC.tla with TLC (translating PlusCal first, in a private "
                    "copy). Exit 0: no violation; 1: a property is violated (invariant, "
                    "liveness, deadlock, assert, assumption); 2: could not decide.")
    p.add_argument("spec", type=Path, metavar="SPEC.tla")
    p.add_argument("--config", type=Path, metavar="CFG",
                   help="TLC config file (default: SPEC.cfg next to the spec)")
    p.add_argument("--workers", type=_positive_int, metavar="N",
                   help="TLC worker threads (default: the number of cores; with "
                        "--distributed, the threads of each TLC worker: cores / N)")
    p.add_argument("--timeout", type=parse_timeout, metavar="S",
                   help=f"kill TLC after S seconds ({TIMEOUT_RANGE}; outcome: timeout, exit 2)")
    p.add_argument("--no-deadlock", action="store_true",
                   help="do not report deadlocks (TLC's -deadlock)")
    p.add_argument("--jar", metavar="PATH",
                   help="use this tla2tools.jar (default: $TLA2TOOLS_JAR, else the bundled one)")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the result as JSON")
    p.add_argument("--log", type=Path, metavar="PATH", help="keep TLC's complete output here")
    p.add_argument("--heap-mb", type=_positive_int, metavar="MB", help="JVM heap limit (-Xmx)")
    p.add_argument("--continue", dest="continue_", action="store_true",
                   help="TLC's -continue: go on after a violated invariant (what the cfg of "
                        "mmcheck check's first safety run, MmcheckInvariants, is run with, "
                        "and --workers 1: each of its invariants is reported at its first "
                        "violation)")
    d = p.add_argument_group("distributed TLC (no temporal properties, TLCGet/TLCSet or "
                             "violation names)")
    d.add_argument("--distributed", type=_count, metavar="N",
                   help="run a TLC server and N local TLC workers (0: only workers started "
                        "elsewhere with `mmcheck worker HOST:PORT`)")
    d.add_argument("--port", type=_port, metavar="PORT",
                   help="the server's port (default: a free one, printed)")
    d.add_argument("--host", metavar="NAME", default=None,
                   help="the name other hosts' workers reach this machine by (default: "
                        "127.0.0.1, this machine's workers only)")
    p.set_defaults(run=run)


def _positive_int(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _count(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _port(text: str) -> int:
    value = _whole(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"not a port number (1 to 65535): {value}")
    return value


def run(args: argparse.Namespace) -> int:
    spec: Path = args.spec
    if spec.suffix != ".tla" or not spec.is_file():
        raise ConfigError(f"{spec}: no such .tla file")
    cfg: Path = args.config or spec.with_suffix(".cfg")
    if not cfg.is_file():
        raise ConfigError(f"{cfg}: no such config file (give one with --config CFG)")
    for option, where in (("--json", args.json), ("--log", args.log)):
        if where is not None:  # before the run: a run that cannot be kept is not started
            ensure_file_destination(where, f"{option} file")
    tools = locate_tools(args.jar)
    try:
        pluscal = has_pluscal(spec.read_text(encoding="utf-8", errors="replace"))
    except OSError as e:
        raise ConfigError(f"{spec}: cannot read ({e.strerror})") from None

    def prepare(work: Path, name: str) -> None:
        if pluscal:
            _status(f"translating PlusCal in {spec.name} (private copy)")
            translate(work / name, tools=tools, source=spec)

    archive = will_build(tools, args.heap_mb)
    if archive is not None:
        _status(f"making the JVM's class-data archive once (a few seconds): {archive}")
    if args.distributed is not None:
        return _run_distributed(args, spec, cfg, tools, prepare)
    if args.port is not None or args.host is not None:
        raise ConfigError("--port and --host go with --distributed N")
    workers = args.workers or default_workers()
    _status(f"checking {spec} with {cfg.name} (TLC {'bundled' if tools.bundled else tools.jar}, "
            f"{workers} worker{'s' if workers != 1 else ''}"
            + (f", timeout {args.timeout:g} s" if args.timeout else "") + ")")
    result = run_tlc(spec, cfg, tools=tools, workers=workers, timeout=args.timeout,
                     deadlock=not args.no_deadlock, on_progress=_progress, log_path=args.log,
                     heap_mb=args.heap_mb, prepare=prepare,
                     extra_args=["-continue"] if args.continue_ else [])
    return _finish(args, result)


def _finish(args: argparse.Namespace, result: TlcResult,
            extra: dict[str, Any] | None = None) -> int:
    print(summary(result))
    if args.json:
        write_json_atomically(args.json, {**json_result(result), **(extra or {})})
    if result.outcome.is_violation:
        return 1
    return 0 if result.outcome.decided else 2


def _run_distributed(args: argparse.Namespace, spec: Path, cfg: Path, tools: Any,
                     prepare: Any) -> int:
    from runner.distributed import LOCALHOST, run_distributed, temporal_properties

    n = args.distributed
    host = args.host or LOCALHOST
    skipped = temporal_properties(cfg.read_text(encoding="utf-8", errors="replace"))
    _status(f"checking {spec} with {cfg.name} on distributed TLC ("
            f"{'bundled' if tools.bundled else tools.jar}, a server and {n} local worker"
            f"{'s' if n != 1 else ''}" + (f", timeout {args.timeout:g} s" if args.timeout
                                           else "") + ")")
    if skipped:
        _status(f"not checked: {', '.join(skipped)} (distributed TLC checks no temporal "
                "properties)")

    def ready(port: int) -> None:
        _status(f"TLC server ready at {host}:{port}; add workers with "
                f"`mmcheck worker {host}:{port}`")

    result = run_distributed(spec, cfg, tools=tools, workers=n, timeout=args.timeout,
                             deadlock=not args.no_deadlock, on_progress=_progress,
                             log_path=args.log, heap_mb=args.heap_mb, prepare=prepare,
                             port=args.port, rmi_host=host, threads=args.workers,
                             on_ready=ready)
    if skipped:
        print(f"not checked: {', '.join(skipped)} (distributed TLC checks no temporal "
              "properties)")
    return _finish(args, result, {"distributed": n, "not_checked": skipped})


def _status(text: str) -> None:
    print(f"mmcheck: {text}", file=sys.stderr, flush=True)


_FIRST: list[tuple[float, int]] = []  # the run's first progress report: (time, states generated)


def _progress(p: Progress) -> None:
    import time

    now = time.monotonic()
    if not _FIRST:
        _FIRST.append((now, p.states_generated))
    t0, n0 = _FIRST[0]
    rate = (f", {(p.states_generated - n0) / (now - t0):,.0f} states/s"
            if now - t0 >= 1.0 else "")
    if p.distinct_states is None:  # random simulation
        _status(f"progress: {p.states_generated:,} states generated{rate}")
    else:
        _status(f"progress: {p.distinct_states:,} distinct states, {p.states_generated:,} "
                f"generated{rate}, {p.states_left or 0:,} left, depth {p.depth}")


def summary(r: TlcResult) -> str:
    """What a run found, for people.  A run of MmcheckInvariants (gen/first_violations.py)
    names each invariant with the trace to the first state that violated it, then says how
    the run ended."""
    from runner.tlc_output import parse_tlc_output, reports_left, split_first_violations

    reports, rest = split_first_violations(r.output, r.traces) if r.output else ([], "")
    if not reports or reports_left(rest):
        return _summary(r)
    lines = []
    for names, trace in reports:
        lines.append(f"violated at the first state that violates it: {', '.join(names)}")
        lines += _trace_lines(trace)
    ended = dataclasses.replace(parse_tlc_output(rest, r.exit_code), log_path=r.log_path,
                                wall_seconds=r.wall_seconds)
    return "\n".join(lines + ["then: " + _summary(ended)])


def _summary(r: TlcResult) -> str:
    head = f"outcome: {r.outcome.value}"
    if r.violated:
        head += f" ({r.violated} violated)"
    lines = [head]
    if not r.outcome.decided or r.outcome.is_violation:
        lines.append(f"message: {r.message.splitlines()[0] if r.message else '-'}"
                     + (" ..." if r.message.count("\n") else ""))
    s = r.stats
    if s.states_generated is not None:
        distinct = f"{s.distinct_states:,} distinct, " if s.distinct_states is not None else ""
        lines.append(f"states: {distinct}{s.states_generated:,} generated"
                     + (f", depth {s.depth}" if s.depth is not None else ""))
    tlc = f"TLC {r.tlc_version} rev {r.tlc_revision}" if r.tlc_version else "TLC"
    secs = f"{r.wall_seconds:.2f} s" if r.wall_seconds is not None else "?"
    lines.append(f"time: {secs} ({tlc}, exit code {r.exit_code})")
    if r.disagreement:
        lines.append(f"note: {r.disagreement}; the messages decide")
    lines += _trace_lines(r.trace)
    if r.log_path:
        lines.append(f"log: {r.log_path}")
    return "\n".join(lines)


def _trace_lines(trace: Trace | None) -> list[str]:
    from runner.tla_values import format_value

    if not trace:
        return []
    lines = [f"trace ({len(trace.states)} states):"]
    prev: dict[str, Any] = {}
    for st in trace.states:
        changed = {k: v for k, v in st.values.items() if k not in prev or prev[k] != v}
        what = "initial" if st.action is None else st.action + (
            f"({st.action_args})" if st.action_args else "")
        vals = " ".join(f"{k}={format_value(v)}" for k, v in sorted(changed.items()))
        lines.append(f"  {st.number:>3} {what}: {vals or '(no change)'}")
        prev = dict(st.values)
    if trace.loop_to is not None:
        lines.append(f"      -> back to state {trace.loop_to}")
    if trace.stuttering:
        lines.append("      -> stutters forever")
    return lines


def json_result(r: TlcResult) -> dict[str, Any]:
    full = r.to_dict()
    trace = full["trace"]
    return {
        "outcome": r.outcome.value, "violated": r.violated, "message": r.message,
        "distinct_states": r.stats.distinct_states, "states_generated": r.stats.states_generated,
        "depth": r.stats.depth, "exit_code": r.exit_code, "tlc_version": r.tlc_version,
        "tlc_revision": r.tlc_revision, "seconds": r.wall_seconds,
        "tlc_seconds": r.stats.seconds, "disagreement": r.disagreement,
        "trace": trace["states"] if trace else [],
        "loop_to": trace["loop_to"] if trace else None,
        "stuttering": trace["stuttering"] if trace else False,
        "log_path": r.log_path,
    }


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """--json OUT through the one atomic writer (runner.files): a temporary file renamed into
    place, removed on failure; an unwritable OUT is one line."""
    import json

    from runner.errors import MmcheckError
    from runner.files import write_atomic

    try:
        write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    except MmcheckError as e:
        raise ConfigError(f"--json {e}") from None
