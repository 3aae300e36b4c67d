"""Render a validated model into a PlusCal/TLA+ module and its TLC configs.

One strict jinja2 environment; the templates live in specs/templates/ (a base
with the shared mm model, one child per protocol).  Values are written by
gen.tla only.  Nothing here runs Java.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from gen.model import (
    LIVENESS,
    MUTATION_DESCRIPTIONS,
    PROTOCOL_DESCRIPTIONS,
    Model,
    Protocol,
    Thread,
    ThreadKind,
)
from gen.tla import ModelValue, tla
from runner.errors import TemplateError

TEMPLATES = Path(__file__).resolve().parent.parent / "specs" / "templates"

KERNEL_REFS = {
    Protocol.BASELINE: "mm/mmap.c do_munmap() of Linux 4.19",
    Protocol.SECTIONS: "Andrew Morton's suggestion, series v1 (March 2018)",
    Protocol.MADVISE_USER: "mm/madvise.c of 4.19 (MADV_DONTNEED), then do_munmap() of 4.19",
    Protocol.MADVISE_KERNEL: "Michal Hocko, linux-mm 20180711103312.GH20050@dhcp22.suse.cz",
    Protocol.VM_DEAD: "Yang Shi, RFC v4 (1531265649-93433-1-git-send-email-yang.shi@linux.alibaba.com)",
    Protocol.DETACH_POSTED: "Kirill A. Shutemov, 20180711111052.hbyukcwetmjjpij2@kshutemo-mobl1",
    Protocol.DETACH_MERGED: "torvalds/linux dd2283f2605e, mm/mmap.c __do_munmap()/unmap_region()",
}

JINJA_DELIMITERS = ("{{", "}}", "{%", "%}", "{#", "#}")


@dataclass(frozen=True)
class Group:
    """A thread group: `count` identical threads, one PlusCal process."""

    kind: ThreadKind
    prefix: str  # label prefix, e.g. "fault1"
    const: str  # the CONSTANT naming the set of its thread ids, e.g. "Fault1"
    members: tuple[str, ...]  # the model values, e.g. ("fault1_1", "fault1_2")
    thread: Thread | None  # None for the main munmap thread
    start: int | None = None
    end: int | None = None

    @property
    def proc(self) -> str:
        return self.const + "Thread"

    @property
    def addr(self) -> int | None:
        return self.thread.addr if self.thread else None

    @property
    def access(self) -> str | None:
        return self.thread.access if self.thread else None

    @property
    def repeat(self) -> bool:
        return bool(self.thread and self.thread.repeat)

    @property
    def describe(self) -> str:
        who = ", ".join(self.members)
        if self.thread is None:
            return f"{who}: the main munmap of [{self.start}, {self.end})"
        t = self.thread
        if t.kind is ThreadKind.FAULT:
            rep = ", repeating forever" if t.repeat else ""
            return f"{who}: {t.access} fault at page {t.addr}{rep}"
        return f"{who}: {t.kind.value} of [{t.start}, {t.end})"


def thread_groups(model: Model) -> list[Group]:
    """The main munmap thread first, then one group per `threads` entry."""
    a, b = model.munmap
    groups = [Group(ThreadKind.MUNMAP, "munmap0", "Munmap0", ("munmap0",), None, a, b)]
    for i, t in enumerate(model.threads, start=1):
        prefix = f"{t.kind.value}{i}"
        const = "".join(w.capitalize() for w in t.kind.value.split("_")) + str(i)
        members = (prefix,) if t.count == 1 else tuple(f"{prefix}_{j}" for j in range(1, t.count + 1))
        groups.append(Group(t.kind, prefix, const, members, t, t.start, t.end))
    return groups


def _own_case(groups: list[Group]) -> str:
    """Own(m): the pages of m's range that no other munmap thread's range covers."""
    cases = []
    for g in groups:
        assert g.start is not None and g.end is not None
        others: set[int] = set()
        for h in groups:
            if h is not g:
                assert h.start is not None and h.end is not None
                others |= set(range(h.start, h.end))
        if len(g.members) > 1:  # identical threads unmap the same range
            others |= set(range(g.start, g.end))
        cases.append((g.const, tla(set(range(g.start, g.end)) - others)))
    if len(cases) == 1:
        return cases[0][1]
    return "CASE " + " [] ".join(f"m \\in {c} -> {v}" for c, v in cases)


def _range_case(groups: list[Group], index: int) -> str:
    values = [(g.const, (g.start, g.end)[index]) for g in groups]
    if len(values) == 1:
        return str(values[0][1])
    return "CASE " + " [] ".join(f"m \\in {c} -> {v}" for c, v in values)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.globals.update(tla=tla, range_case=_range_case)
    return env


@dataclass(frozen=True)
class Rendered:
    """A model rendered: the PlusCal module (untranslated) and what the configs need."""

    model: Model
    module: str
    text: str
    groups: tuple[Group, ...] = field(default=())

    @property
    def filename(self) -> str:
        return self.module + ".tla"

    @property
    def symmetric(self) -> bool:
        return any(len(g.members) > 1 for g in self.groups)


def render(model: Model) -> Rendered:
    groups = thread_groups(model)
    by_kind = {k: [g for g in groups if g.kind is k] for k in ThreadKind}
    vmas = sorted(model.vmas, key=lambda v: v.start)
    init_vmas = "{" + ", ".join(
        tla({"id": i, "start": v.start, "end": v.end, "flags": {f.value for f in v.flags},
             "origin": i}) for i, v in enumerate(vmas, start=1)) + "}"
    sym = [f"Permutations({g.const})" for g in groups if len(g.members) > 1]
    context: dict[str, Any] = {
        "model": model,
        "module": model.protocol.value,
        "protocol": model.protocol.value,
        "protocol_description": PROTOCOL_DESCRIPTIONS[model.protocol],
        "kernel_ref": KERNEL_REFS[model.protocol],
        "groups": groups,
        "munmap_groups": by_kind[ThreadKind.MUNMAP],
        "fault_groups": by_kind[ThreadKind.FAULT],
        "mmap_groups": by_kind[ThreadKind.MMAP_FIXED],
        "madvise_groups": by_kind[ThreadKind.MADVISE],
        "repeat_consts": [g.const for g in groups if g.repeat],
        "init_vmas": init_vmas,
        "n_init": len(vmas),
        "own_case": _own_case(by_kind[ThreadKind.MUNMAP]),
        "mutation_description": MUTATION_DESCRIPTIONS[model.mutation],
        "symmetry": " \\cup ".join(sym) if sym else "{}",
        "thread_summary": "; ".join(g.describe for g in groups),
    }
    try:
        text = _environment().get_template(f"{model.protocol.value}.tla.j2").render(context)
    except jinja2.TemplateError as e:
        raise TemplateError(f"template for protocol {model.protocol.value}: {e}") from None
    left = [d for d in JINJA_DELIMITERS if d in text]
    if left:
        raise TemplateError(f"rendered {model.protocol.value} still holds jinja delimiter {left[0]!r}")
    return Rendered(model, model.protocol.value, text, tuple(groups))


def _constants(rendered: Rendered) -> list[str]:
    return ["CONSTANTS"] + [
        f"  {g.const} = {tla({ModelValue(m) for m in g.members})}" for g in rendered.groups
    ]


def tlc_cfg(rendered: Rendered, invariants: list[str] | tuple[str, ...] = (),
            properties: list[str] | tuple[str, ...] = (), *, report_write_hold: bool = True,
            symmetry: bool = True) -> str:
    """A TLC config checking the given invariants and temporal properties at once.
    Symmetry (for identical threads) only without temporal properties: it is unsound
    for liveness."""
    kind = "safety" if not properties else ("liveness" if not invariants else "safety+liveness")
    lines = [f"\\* {kind}: generated by mmcheck", "SPECIFICATION Spec", *_constants(rendered)]
    invs = list(invariants) + (["WriteHoldReport"] if report_write_hold else [])
    if invs:
        lines += ["INVARIANTS"] + [f"  {i}" for i in invs]
    if properties:
        lines += ["PROPERTIES"] + [f"  {p}" for p in properties]
    elif symmetry and rendered.symmetric:
        lines.append("SYMMETRY Symmetry")
    return "\n".join(lines) + "\n"


def safety_cfg(rendered: Rendered, invariants: list[str], report_write_hold: bool = True,
               symmetry: bool = True) -> str:
    """A safety config: the given invariants, symmetry for identical threads (unless
    `symmetry` is False, to measure what it saves)."""
    return tlc_cfg(rendered, invariants, report_write_hold=report_write_hold, symmetry=symmetry)


def liveness_cfg(rendered: Rendered, properties: list[str] | tuple[str, ...] = LIVENESS) -> str:
    """A liveness config: temporal properties, no symmetry (unsound for liveness)."""
    return tlc_cfg(rendered, properties=properties, report_write_hold=False)
