"""The review attachment of one model: plain text, at most 80 columns a line.

The model and its map, the verdict table, a race diagram per violated property, a
certificate per property that holds, and the full traces at the end.  Pure but for
reading the model's spec and cfg files to hash them.
"""
from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gen.model import PROPERTIES
from runner.check import ModelResult, RunRecord
from runner.judge import BY_TERMINATION, Verdict
from runner.report import diagram, kernel
from runner.report.modelmap import model_section

WIDTH = 80
ATTACHMENT = "attachment.txt"
HOLDS = ("holds", "no-violation")
HOW_TO_READ = (
    "How to read a counterexample: first the race as a commit message draws it, one column "
    "per thread, each kernel function nested under the call it belongs to, only the steps "
    "that matter ('>>' marks the one that breaks the property), then what broke and its "
    "root cause. Then every step: one row per step in the order TLC found them (the number "
    "is TLC's state number; state 1 is the initial state drawn in the map above), each named "
    "by the kernel function it models and followed by what it changed; a row numbered like "
    "5-6 folds steps of one thread that changed nothing shown. The full trace, with every "
    "variable, is at the end.")


def _title(text: str, char: str = "-") -> list[str]:
    lines = textwrap.wrap(text, WIDTH, break_on_hyphens=False) or [""]
    return [*lines, char * max(len(line) for line in lines)]


def _fill(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_on_hyphens=False, break_long_words=True) or [""]


def sha256_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def record(result: ModelResult, run: str | None) -> RunRecord | None:
    return next((r for r in result.runs if r.name == run), None)


def reproduce_command(result: ModelResult, rec: RunRecord) -> str:
    """The command that re-runs one TLC run, from the model's directory."""
    if result.simulate is not None:
        s = result.simulate
        return (f"java -cp tla2tools.jar tlc2.TLC -simulate num={s.behaviours} -depth {s.depth}"
                f" -config {rec.cfg}" + ("" if rec.deadlock_checked else " -deadlock")
                + f" {result.spec}")
    return f"mmcheck tlc {result.spec} --config {rec.cfg}" + (
        "" if rec.deadlock_checked else " --no-deadlock") + (
        " --workers 1 --continue" if rec.continued else "")  # gen/first_violations.py


@dataclass(frozen=True)
class Certificate:
    """What shows that the properties decided by one TLC run hold."""

    props: tuple[str, ...]
    run: str | None
    exhaustive: bool
    simulation: str | None  # "N random behaviours of at most D steps"
    distinct_states: int | None
    depth: int | None
    fp_collision: float | None
    tlc: str
    spec: str
    spec_sha256: str | None
    cfg: str | None
    cfg_sha256: str | None
    command: str | None
    deadlock_checked: bool
    # the liveness properties among props were decided by termination (docs/termination.md)
    termination: bool = False


def certificates(result: ModelResult) -> list[Certificate]:
    by_run: dict[str | None, list[str]] = {}
    for prop in PROPERTIES:
        v = result.verdicts.get(prop)
        if v is not None and v.verdict in HOLDS:
            by_run.setdefault(v.run, []).append(prop)
    out = []
    for run, props in by_run.items():
        rec = record(result, run)
        sim = result.simulate
        out.append(Certificate(
            props=tuple(props), run=run, exhaustive=sim is None,
            simulation=(f"{sim.behaviours} random behaviours of at most {sim.depth} steps"
                        if sim else None),
            distinct_states=rec.distinct_states if rec else None,
            depth=rec.depth if rec else None,
            fp_collision=rec.fp_collision if rec else None,
            tlc=(f"{result.tlc_version} rev {result.tlc_revision}" if result.tlc_version
                 else "unknown"),
            spec=result.spec, spec_sha256=sha256_file(result.directory / result.spec),
            cfg=rec.cfg if rec else None,
            cfg_sha256=sha256_file(result.directory / rec.cfg) if rec else None,
            command=reproduce_command(result, rec) if rec else None,
            deadlock_checked=bool(rec and rec.deadlock_checked),
            termination=any(result.verdicts[p].message.endswith(BY_TERMINATION)
                            for p in props)))
    return out


def _unknown(x: object) -> str:
    return "unknown" if x is None else str(x)


def certificate_title(c: Certificate) -> str:
    return f"Certificate: {', '.join(c.props)} {'holds' if len(c.props) == 1 else 'hold'}"


def certificate_lines(c: Certificate, model: str) -> list[str]:
    return _title(certificate_title(c)) + certificate_body(c, model)


def certificate_body(c: Certificate, model: str) -> list[str]:
    out: list[str] = []
    if c.exhaustive:
        how = "exhaustively: every reachable state was checked"
        if c.deadlock_checked:
            how += ", deadlocks too"
        if c.termination:
            how += ("; the liveness properties by termination, in the same run: no "
                    "behaviour takes infinitely many steps (NoCycle, on the graph this run "
                    "explored) and in every state but a final one a thread "
                    "can step (ProgressE), so under weak fairness every behaviour ends with "
                    "every thread done (docs/termination.md)")
    else:
        how = (f"by SIMULATION only ({c.simulation}): no violation found, which is not a "
               f"proof that none exists")
    states = (f"{_unknown(c.distinct_states)} distinct, depth {_unknown(c.depth)}")
    fp = ("not reported" if c.fp_collision is None
          else f"{c.fp_collision:g} (TLC's estimate of a fingerprint collision)")
    for key, value in (("checked", how), ("states", states), ("collision", fp),
                       ("TLC", c.tlc), ("TLC run", _unknown(c.run))):
        wrapped = textwrap.wrap(value, WIDTH - 16, break_on_hyphens=False) or [""]
        out.append(f"  {key:<13} {wrapped[0]}")
        out += [" " * 16 + w for w in wrapped[1:]]
    for key, name, digest in (("spec", c.spec, c.spec_sha256), ("config", c.cfg, c.cfg_sha256)):
        if name is None:
            continue
        out.append(f"  {key:<13} {name}, sha256:")
        out.append(f"    {digest or '(file missing: cannot hash it)'}")
    if c.command:
        out += textwrap.wrap(f"in the model's directory ({model}/ of the run):", WIDTH,
                             initial_indent="  reproduce     ", subsequent_indent=" " * 16,
                             break_on_hyphens=False)
        out += textwrap.wrap(c.command, WIDTH, initial_indent="    ",
                             subsequent_indent="      ", break_on_hyphens=False)
    return out


def verdict_lines(result: ModelResult) -> list[str]:
    out = _title("Verdicts")
    out.append(f"  {'property':<20} {'verdict':<13} {'expected':<10} decided by")
    for prop in PROPERTIES:
        v = result.verdicts.get(prop)
        if v is None:
            continue
        mark = "" if v.matches else "  ! UNEXPECTED"
        out.append(f"  {prop:<20} {v.verdict:<13} {v.expected:<10} {v.run or '-'}{mark}"
                   .rstrip())
    if any(not v.matches for v in result.verdicts.values()):
        out += _fill("'!' marks a verdict that differs from the expectation in the model file.",
                     "  ")
    wz = result.max_write_hold
    wz_text = ("unknown (no safety run completed)" if wz is None else str(wz))
    parts = ""
    if result.max_write_zap is not None and result.max_write_munlock is not None:
        parts = (f": at most {result.max_write_zap} present page(s) zapped and "
                 f"{result.max_write_munlock} page(s) munlocked")
    out += ["", *_fill(f"Most per-page work munmap did while holding mmap_sem for write: "
                       f"{wz_text}{parts} (write_hold_bound {result.model.write_hold_bound}).",
                       "  ")]
    return out


def counterexample_lines(result: ModelResult, v: Verdict,
                         drawn: dict[tuple[str | None, str], str]) -> list[str]:
    expected = "as expected" if v.matches else "NOT EXPECTED"
    out = _title(f"Counterexample: {v.prop} is violated ({expected})")
    d = diagram.build(result.model, v)
    if d is None:
        return out + _fill(f"TLC gave no trace ({v.message or 'no message'}).", "  ")
    rec = record(result, v.run)
    log = f" (TLC's own trace: {rec.log})" if rec else ""
    out += _fill(f"Found by TLC run {v.run or '?'}{log}, {len(d.steps) + 1} states.")
    # one run can find several traces (gen/first_violations.py): the same run and the same
    # trace, not just as many steps
    key = (v.run, json.dumps(v.trace.to_dict(), sort_keys=True, default=str)
           if v.trace is not None else str(len(d.steps)))
    k = kernel.build_kernel(result.model, v)
    if key in drawn:
        out += [""] + _fill(f"The same trace as {drawn[key]} above.")
        if k is not None:
            out += [""] + kernel.render_explanation(k).splitlines()
        out += [""] + diagram.render_explanation(d).splitlines()
        return out
    drawn[key] = v.prop
    if k is not None:
        out += ["", "For a commit message (the steps that matter):", ""]
        out += kernel.render(k).splitlines()
        out += ["", "Every step:"]
    out += ["", diagram.render_text(d)]
    out += [""] + diagram.render_explanation(d).splitlines()
    return out


def reproducer_lines(result: ModelResult, v: Verdict) -> list[str]:
    """The litmus test that shows a violated user-visible property on a real kernel."""
    from runner.litmus.reproducers import reproducer_for
    from runner.report.matrix import scenario

    found = reproducer_for(v.prop, scenario(result))
    if found is None:
        return []
    test, command = found
    out = _fill(f"Reproducer: litmus test {test.name} ({test.description}) tests the outcome "
                f"{v.prop} forbids on a real kernel: it prints how often the "
                "outcome was observed next to the model's verdict for that kernel's protocol. "
                "On this machine's kernel (--kernel debian:6.12 for another):", "  ")
    return out + textwrap.wrap(command, WIDTH, initial_indent="    ", subsequent_indent="      ",
                               break_on_hyphens=False)


def undecided_lines(result: ModelResult) -> list[str]:
    out: list[str] = []
    for prop in PROPERTIES:
        v = result.verdicts.get(prop)
        if v is not None and v.verdict not in HOLDS and v.verdict != "violated":
            out += _fill(f"{prop}: {v.verdict}" + (f" ({v.message})" if v.message else "") + ".",
                         "  ")
    return (_title("Not decided") + out) if out else []


def listing_lines(result: ModelResult, violated: Iterable[Verdict]) -> list[str]:
    out: list[str] = []
    seen: set[tuple[str | None, int]] = set()
    for v in violated:
        d = diagram.build(result.model, v)
        if d is None or (v.run, len(d.steps)) in seen:
            continue
        seen.add((v.run, len(d.steps)))
        out += [""] + _title(f"Full trace of {v.prop} (TLC run {v.run}, every step, every "
                             f"variable it changed)")
        out += diagram.render_listing(d).splitlines()
    return out


def render(result: ModelResult) -> str:
    """The attachment of one model."""
    m = result.model
    out = _title(f"mmcheck: model {m.name}", "=")
    out += model_section(m)
    out += [""] + verdict_lines(result)
    violated = [result.verdicts[p] for p in PROPERTIES
                if p in result.verdicts and result.verdicts[p].verdict == "violated"]
    if violated:
        out += [""] + _fill(HOW_TO_READ)
    drawn: dict[tuple[str | None, str], str] = {}
    for v in violated:
        out += [""] + counterexample_lines(result, v, drawn)
        reproducer = reproducer_lines(result, v)
        if reproducer:
            out += [""] + reproducer
    for c in certificates(result):
        out += [""] + certificate_lines(c, m.name)
    undecided = undecided_lines(result)
    if undecided:
        out += [""] + undecided
    out += listing_lines(result, violated)
    return "\n".join(line.rstrip() for line in out) + "\n"
