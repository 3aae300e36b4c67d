"""A litmus test as a model of the shared mm, and TLC's verdict on its `exists` clause.

Each operation of a test's programs becomes one thread of the model (gen/model.py kinds:
read/poll -> a read `fault`, write -> a write `fault`, mincore -> `mincore`, the first
munmap (or mremap_shrink: the munmap of its tail) -> the model's main munmap, a later one
-> a `munmap` thread (a `mremap` thread, which runs the protocol's munmap over its tail),
mmap_fixed -> `mmap_fixed` (prot = "none" for PROT_NONE), madvise_dontneed -> `madvise`,
mlock -> `mlock`), rendered by the protocol's own template.  `mremap_shrink S E N` is the
munmap of [N, E): mremap(2) shrinking in place unmaps the tail through the munmap path of
each release, with munmap's downgrade from 4.20 on (a4913994/linux-4.20 mm/mremap.c:
`__do_munmap(mm, addr+new_len, old_len - new_len, &uf_unmap, true)` under
down_write_killable, up_read when it downgraded; 85a06835f6f1); 6.1's maple tree series:
`do_mas_munmap(&mas, mm, addr + new_len, old_len - new_len, &uf_unmap, true)`; 6.4+:
`do_vmi_munmap(&vmi, ..., true)`; v6.18 (gfunkmonk/linux-6.18.2 mm/mremap.c do_mremap ->
mremap_at -> shrink_vma: `do_vmi_munmap(&vmi, mm, unmap_start, unmap_bytes, vrm->uf_unmap,
drop_lock = true)`, as __vm_munmap's).  In 4.19 (baseline) it is do_munmap() under
down_write, like munmap(2).  The layout's VMA flags: prot = "none" -> `prot_none`, a file
mapping -> `shared_file` with `eof`.  Two definitions are added to the
rendered module (before its last line; no template changes):

- LitmusGate, an ACTION_CONSTRAINT: an operation takes no step before the operation before it
  in its program has finished (pc = "Done"): the program order of the test's threads.
- LitmusNotExists == ~LitmusExists, the invariant TLC checks: LitmusExists is the test's
  `exists` clause over the registers (each operation's res[]) in a final state (every thread
  done).  A violation is a behaviour reaching the outcome: **allowed**, with the trace as the
  race diagram; no violation in the full state space: **forbidden**.

`poll P until A|B` is modelled as one read whose register must be one of A|B: the poll's
earlier reads returned something else and changed nothing (an MMU read of a present pte, or
a fault that found it present), so the outcomes where the poll ended with A or B are those of
a single read that returned A or B.  `write P V`'s value is the writer thread's content in
the model (pte = its id); `mmap_fixed S E V` writes V into page S after mapping, as the
model's mmap_fixed thread does.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gen.model import Model, parse_model
from gen.protocols import Protocols, discover
from gen.render import Rendered, render, tlc_cfg
from runner.errors import ConfigError
from runner.java import private_dir
from runner.litmus.parse import Expr, LitmusTest, Op

PROPERTY = "LitmusNotExists"
VALUE_RESULTS = {"orig": '"orig"', "zero": '"zero"', "sigsegv": '"segv"', "sigbus": '"sigbus"',
                 "ok": '"written"'}
VALUE_RESULTS.update({v: f'"{v}"' for v in ("resident", "notresident", "enomem")})
THREAD_KINDS = {"read": "fault", "poll": "fault", "write": "fault", "munmap": "munmap",
                "mremap_shrink": "mremap", "mmap_fixed": "mmap_fixed",
                "madvise_dontneed": "madvise", "mincore": "mincore", "mlock": "mlock"}


@dataclass(frozen=True)
class LitmusModel:
    test: LitmusTest
    model: Model
    members: dict[tuple[int, int], str]  # (thread, op index) -> the model thread (constant)

    def const(self, t: int, k: int) -> str:
        return self.members[(t, k)]


def to_model(test: LitmusTest, protocol: str, protocols: Protocols | None = None) -> LitmusModel:
    """The model of `test` under `protocol` (validated by gen.model like any model file)."""
    threads: list[dict[str, Any]] = []
    members: dict[tuple[int, int], str] = {}
    main: tuple[int, int] | None = None
    for t, ops in enumerate(test.threads):
        for k, op in enumerate(ops):
            unmaps = op.unmaps()
            if unmaps is not None and main is None:
                main = (t, k)
                members[(t, k)] = "Munmap0"
                continue
            kind = THREAD_KINDS[op.kind]
            if kind == "fault":
                entry: dict[str, Any] = {"kind": kind, "addr": op.page,
                                         "access": "write" if op.kind == "write" else "read"}
            elif kind == "mincore":
                entry = {"kind": kind, "addr": op.page}
            elif op.kind == "mremap_shrink":  # the mremap actor: the protocol's munmap of the tail
                entry = {"kind": kind, "start": op.start, "end": op.end, "new_end": op.new_end}
            else:
                entry = {"kind": kind, "start": op.start, "end": op.end}
                if op.prot == "none":
                    entry["prot"] = "none"
            threads.append(entry)
            i = len(threads)
            members[(t, k)] = "".join(w.capitalize() for w in kind.split("_")) + str(i)
    assert main is not None  # parse_test requires a munmap
    first = test.threads[main[0]][main[1]].unmaps()
    assert first is not None
    table = {
        "name": f"{test.name}-{protocol}"[:64], "protocol": protocol, "pages": test.pages,
        "ptes_per_table": 1,  # an abstract page spans whole page tables (64 MiB: 32 of them)
        "munmap": {"start": first[0], "end": first[1]},
        "vmas": [_vma(v) for v in test.vmas],
        "threads": threads,
        "description": f"litmus test {test.name}: {test.description}",
    }
    model = parse_model(table, test.path, 0, protocols if protocols is not None else discover())
    return LitmusModel(test, model, members)


def _vma(v: Any) -> dict[str, Any]:
    """A litmus VMA as a model file's: prot = "none" -> prot_none, a file -> shared_file."""
    flags = list(v.flags) + (["prot_none"] if v.prot == "none" else []) + (
        ["shared_file"] if v.file_eof is not None else [])
    out: dict[str, Any] = {"start": v.start, "end": v.end, "flags": flags,
                           "populated": v.populated}
    if v.file_eof is not None and v.file_eof < v.end:
        out["eof"] = v.file_eof
        if v.populated:
            out["populated"] = list(range(v.start, v.file_eof))
    return out


def _value(lm: LitmusModel, value: str) -> str:
    if value in VALUE_RESULTS:
        return VALUE_RESULTS[value]
    for t, ops in enumerate(lm.test.threads):
        for k, op in enumerate(ops):
            if op.value == value:
                return f"LitmusOne({lm.const(t, k)})"
    raise ConfigError(f"{lm.test.path}: exists: unknown value {value!r}")


def _register(lm: LitmusModel, t: int, reg: str) -> tuple[int, Op]:
    for k, op in enumerate(lm.test.threads[t]):
        if op.register == reg:
            return k, op
    raise ConfigError(f"{lm.test.path}: exists: {t}:{reg}: no such register")


def expr_tla(lm: LitmusModel, e: Expr) -> str:
    if e[0] == "eq":
        k, _ = _register(lm, e[1], e[2])
        return f"res[LitmusOne({lm.const(e[1], k)})] = {_value(lm, e[3])}"
    if e[0] == "not":
        return f"~({expr_tla(lm, e[1])})"
    joiner = " /\\ " if e[0] == "and" else " \\/ "
    return "(" + joiner.join(expr_tla(lm, part) for part in e[1]) + ")"


def litmus_definitions(lm: LitmusModel) -> str:
    """The TLA+ text added to the rendered module: LitmusExists, LitmusNotExists, LitmusGate."""
    polls = []
    for t, ops in enumerate(lm.test.threads):
        for k, op in enumerate(ops):
            if op.until:
                vals = ", ".join(_value(lm, u) for u in op.until)
                polls.append(f"res[LitmusOne({lm.const(t, k)})] \\in {{{vals}}}")
    gates = [(lm.const(t, k - 1), lm.const(t, k))
             for t, ops in enumerate(lm.test.threads) for k in range(1, len(ops))]
    gate = "\n".join(f"  /\\ (pc[LitmusOne({a})] # \"Done\" => "
                     f"pc'[LitmusOne({b})] = pc[LitmusOne({b})])" for a, b in gates) or "  TRUE"
    clause = " /\\ ".join(polls + [expr_tla(lm, lm.test.exists)])
    return "\n".join([
        f"\\* ---- litmus test {lm.test.name} (added by mmcheck litmus; not a template) ----",
        "LitmusOne(S) == CHOOSE t \\in S : TRUE   \\* the one thread of a group",
        "\\* the test's exists clause (and each poll's end condition), in a final state",
        "LitmusExists == /\\ \\A t \\in Threads : pc[t] = \"Done\"",
        f"                /\\ {clause}",
        "LitmusNotExists == ~LitmusExists",
        "\\* program order: an operation starts once the one before it in its thread is done",
        "LitmusGate ==",
        gate,
        "",
    ])


def rendered_spec(lm: LitmusModel) -> tuple[Rendered, str, str]:
    """(rendered model, the module text with the litmus definitions, the TLC config)."""
    rendered = render(lm.model)
    lines = rendered.text.rstrip("\n").split("\n")
    if not lines[-1].startswith("===="):
        raise ConfigError(f"protocol {lm.model.protocol}: the rendered module does not end "
                          "with its ==== line")
    text = "\n".join(lines[:-1] + [litmus_definitions(lm), lines[-1]]) + "\n"
    cfg = tlc_cfg(rendered, [PROPERTY], report_write_hold=False, symmetry=False)
    cfg += "ACTION_CONSTRAINT LitmusGate\n"
    return rendered, text, cfg


@dataclass(frozen=True)
class Decision:
    test: str
    protocol: str
    verdict: str | None  # allowed | forbidden | None (undecided)
    states: int | None
    seconds: float | None
    message: str = ""
    diagram: str = ""  # the race diagram of an allowed outcome, in 80 columns
    race: Any = field(default=None, compare=False, repr=False)  # its RaceDiagram

    def drawn(self, width: int) -> str:
        """The race diagram in `width` columns ("" when there is none)."""
        from runner.report.diagram import render_text

        return render_text(self.race, width) if self.race is not None else self.diagram

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.test, "protocol": self.protocol, "verdict": self.verdict,
                "distinct_states": self.states, "seconds": self.seconds,
                "message": self.message}


def decide(test: LitmusTest, protocol: str, tools: Any, *, timeout: float = 300,
           protocols: Protocols | None = None, keep: Path | None = None) -> Decision:
    """Run TLC on the test's model under `protocol`: allowed, forbidden or undecided."""
    from runner.java import QUICK_JIT  # C1 only: these models are tiny, as in check
    from runner.pcal import translate
    from runner.tlc import run_tlc
    from runner.tlc_output import Outcome

    lm = to_model(test, protocol, protocols)
    _, text, cfg = rendered_spec(lm)
    work = private_dir("litmus")
    try:
        spec = work / f"{protocol}.tla"
        spec.write_text(text, encoding="utf-8")
        (work / f"{protocol}.cfg").write_text(cfg, encoding="utf-8")
        translate(spec, tools=tools, jvm_args=QUICK_JIT)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy2(spec, keep / f"{test.name}-{protocol}.tla")
            shutil.copy2(work / f"{protocol}.cfg", keep / f"{test.name}-{protocol}.cfg")
        result = run_tlc(spec, work / f"{protocol}.cfg", tools=tools, workers=1,
                         timeout=timeout, deadlock=False, jvm_args=QUICK_JIT)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    states = result.stats.distinct_states
    if result.outcome is Outcome.OK:
        return Decision(test.name, protocol, "forbidden", states, result.wall_seconds,
                        f"no behaviour reaches the outcome ({states} distinct states)")
    if result.outcome is Outcome.INVARIANT and result.violated == PROPERTY:
        return Decision(test.name, protocol, "allowed", states, result.wall_seconds,
                        "a behaviour reaches the outcome", *_diagram(lm, result.trace))
    return Decision(test.name, protocol, None, states, result.wall_seconds,
                    f"TLC: {result.outcome.value}: {result.message}".strip())


def _diagram(lm: LitmusModel, trace: Any) -> tuple[str, Any]:
    """The race diagram of an allowed outcome: its text in 80 columns, and itself."""
    from runner.judge import Verdict
    from runner.report.diagram import build, render_text

    if trace is None:
        return "", None
    d = build(lm.model, Verdict(PROPERTY, "violated", "holds", trace=trace))
    return (render_text(d), d) if d is not None else ("", None)
