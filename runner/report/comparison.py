"""`mmcheck compare BASE NEW`: what NEW fixes, breaks and shares with BASE, scenario by
scenario, as text (stdout, and the review attachment compare.txt in at most 80 columns),
markdown (compare.md) and HTML (compare.html).  Pure: built from the two protocols'
results (runner.check.ModelResult) of the same scenarios.
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from gen.model import PROPERTIES
from runner.check import ModelResult
from runner.report import diagram, kernel
from runner.report.attachment import ATTACHMENT
from runner.report.matrix import WZAP, scenario

FILES = {"txt": "compare.txt", "md": "compare.md", "html": "compare.html"}
DECIDED = ("holds", "violated")


@dataclass(frozen=True)
class Pair:
    """One scenario: BASE's and NEW's results, and how their verdicts relate."""

    scenario: str
    base: ModelResult
    new: ModelResult
    fixed: tuple[str, ...]  # violated by BASE, holds with NEW
    broken: tuple[str, ...]  # holds with BASE, violated by NEW
    both: tuple[str, ...]  # violated by both
    undecided: tuple[str, ...]  # one of them neither holds nor is violated


@dataclass(frozen=True)
class Comparison:
    base: str
    new: str
    pairs: tuple[Pair, ...]
    base_description: str = ""
    new_description: str = ""
    # `compare --exhaustive`: "exhaustive over every layout of <= N pages and <= K threads
    # (M scenarios)"; "" for the hand-written scenarios
    scope: str = ""

    @property
    def broken(self) -> list[tuple[Pair, str]]:
        return [(p, prop) for p in self.pairs for prop in p.broken]

    def shown_breaks(self) -> list[tuple[Pair, str]]:
        """The breaks drawn with a counterexample: every one; when exhaustive, the smallest
        scenario of each property (the pairs come smallest first)."""
        if not self.scope:
            return self.broken
        seen: set[str] = set()
        out = []
        for p, prop in self.broken:
            if prop not in seen:
                seen.add(prop)
                out.append((p, prop))
        return out

    def legend(self) -> list[tuple[str, str]]:
        """(scenario, description) of every scenario in the tables, when exhaustive (their
        names are only numbers)."""
        if not self.scope:
            return []
        return [(p.scenario, p.new.model.description) for p in self.pairs
                if p.fixed or p.broken or p.both or p.undecided]

    @property
    def status(self) -> int:
        """1 NEW breaks a property BASE holds; else 2 if a verdict is undecided; else 0."""
        if self.broken:
            return 1
        return 2 if any(p.undecided for p in self.pairs) else 0

    def verdict(self) -> str:
        n = len(self.broken)
        if n:
            return (f"{self.new} breaks {n} propert{'y' if n == 1 else 'ies'} that {self.base} "
                    f"holds (exit 1).")
        if self.status == 2:
            return (f"{self.new} breaks nothing {self.base} holds among the decided verdicts, "
                    f"but some are undecided (exit 2).")
        return f"{self.new} breaks nothing that {self.base} holds (exit 0)."


def _verdict(r: ModelResult, prop: str) -> str:
    v = r.verdicts.get(prop)
    return v.verdict if v is not None else "error"


def compare(base: str, new: str, results: Sequence[ModelResult], scope: str = "") -> Comparison:
    """Pair BASE's and NEW's results by scenario (in the order BASE's appear); `scope`:
    Comparison.scope."""
    by = {(r.model.protocol, scenario(r)): r for r in results}
    pairs = []
    for r in results:
        if r.model.protocol != base or (new, scenario(r)) not in by:
            continue
        s = scenario(r)
        n = by[(new, s)]
        fixed, broken, both, undecided = [], [], [], []
        for prop in PROPERTIES:
            a, b = _verdict(r, prop), _verdict(n, prop)
            if a not in DECIDED or b not in DECIDED:
                undecided.append(prop)
            elif a == "violated" and b == "holds":
                fixed.append(prop)
            elif a == "holds" and b == "violated":
                broken.append(prop)
            elif a == b == "violated":
                both.append(prop)
        pairs.append(Pair(s, r, n, tuple(fixed), tuple(broken), tuple(both), tuple(undecided)))
    base_r = next((r for r in results if r.model.protocol == base), None)
    new_r = next((r for r in results if r.model.protocol == new), None)
    return Comparison(base, new, tuple(pairs),
                      base_r.model.definition.description if base_r else "",
                      new_r.model.definition.description if new_r else "", scope)


def _wz(r: ModelResult) -> str:
    return "?" if r.max_write_hold is None else str(r.max_write_hold)


def _undecided_text(p: Pair, prop: str) -> str:
    return f"{prop} ({_verdict(p.base, prop)} -> {_verdict(p.new, prop)})"


def sections(c: Comparison) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """(title, [(scenario, properties)]) for fixes, breaks, shared violations, undecided."""
    def rows(attr: str) -> list[tuple[str, list[str]]]:
        out = []
        for p in c.pairs:
            props = list(getattr(p, attr))
            if attr == "undecided":
                props = [_undecided_text(p, x) for x in props]
            if props:
                out.append((p.scenario, props))
        return out

    return [
        (f"{c.new} fixes (violated by {c.base}, holds with {c.new})", rows("fixed")),
        (f"{c.new} breaks (holds with {c.base}, violated by {c.new})", rows("broken")),
        ("both violate", rows("both")),
        ("undecided (error, timeout, ...)", rows("undecided")),
    ]


def diagram_text(r: ModelResult, prop: str, width: int, style: str = "full") -> list[str]:
    """The race diagram of a violated property in `style` (one of kernel.STYLES), as the
    attachments draw it: with "kernel", the commit-message diagram first, then every step."""
    if style not in kernel.STYLES:
        raise ValueError(f"unknown diagram style {style!r} (known: {', '.join(kernel.STYLES)})")
    v = r.verdicts[prop]
    if diagram.build(r.model, v) is None:
        return [f"  (TLC gave no trace: {v.message or 'no message'})"]
    full = kernel.render_full(r, prop, width).split("\n")
    if style == "full":
        return full
    return ["For a commit message (the steps that matter):", "",
            *kernel.render_style(r, prop, style, width).split("\n"), "", "Every step:", "",
            *full]


def render_text(c: Comparison, width: int = 80, style: str = "full") -> str:
    """The comparison in plain text, no line longer than `width` (80: the attachment)."""
    n = len(c.pairs)
    head = f"mmcheck compare: {c.base} -> {c.new}, " + (
        c.scope or f"{n} scenario{'' if n == 1 else 's'}")
    out = [*textwrap.wrap(head, width, subsequent_indent="  "), ""]
    for name, desc in ((c.base, c.base_description), (c.new, c.new_description)):
        out += textwrap.wrap(f"{name}: {desc}", width, subsequent_indent="  ")
    col = max([len("scenario")] + [len(p.scenario) for p in c.pairs])
    for title, rows in sections(c):
        out += ["", *textwrap.wrap(title + ":", width, subsequent_indent="  ")]
        if not rows:
            out.append("  (none)")
        for s, props in rows:
            out += textwrap.wrap(", ".join(props), width, initial_indent=f"  {s:<{col}}  ",
                                 subsequent_indent=" " * (col + 4), break_on_hyphens=False)
    legend = c.legend()
    if legend:
        out += ["", "Scenarios (smallest first):"]
        for s, desc in legend:
            out += textwrap.wrap(desc, width, initial_indent=f"  {s:<{col}}  ",
                                 subsequent_indent=" " * (col + 4), break_on_hyphens=False)
    out += ["", *textwrap.wrap(f"Write hold: the {WZAP} (write_hold_bound 0 unless the "
                               f"scenario sets it)" + ("; the scenarios where it differs."
                                                       if c.scope else "."), width)]
    a, b = max(len(c.base), 4), max(len(c.new), 4)
    out.append(f"  {'scenario':<{col}}  {c.base:>{a}}  {c.new:>{b}}")
    for p in c.pairs:
        if c.scope and p.base.max_write_hold == p.new.max_write_hold:
            continue
        mark = "  <- more" if (p.base.max_write_hold or 0) < (p.new.max_write_hold or 0) else ""
        out.append(f"  {p.scenario:<{col}}  {_wz(p.base):>{a}}  {_wz(p.new):>{b}}{mark}")
    out += ["", *textwrap.wrap(c.verdict(), width)]
    if c.broken:
        title = f"Counterexamples of what {c.new} breaks" + (
            " (the smallest scenario of each property)" if c.scope else "")
        out += ["", *textwrap.wrap(title, width), "=" * min(width, len(title))]
        for p, prop in c.shown_breaks():
            head = f"{p.scenario}: {prop} (model {p.new.model.name}, TLC run " \
                   f"{p.new.verdicts[prop].run or '?'})"
            out += ["", *textwrap.wrap(head, width), "-" * min(width, len(head))]
            if c.scope:
                out += textwrap.wrap(p.new.model.description, width) + [""]
            out += diagram_text(p.new, prop, width, style)
    return "\n".join(line.rstrip() for line in out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_md(c: Comparison, style: str = "full") -> str:
    out = [f"# mmcheck compare: {_md(c.base)} -> {_md(c.new)}", "",
           *([f"{_md(c.scope)}.", ""] if c.scope else []),
           f"- **{_md(c.base)}**: {_md(c.base_description)}",
           f"- **{_md(c.new)}**: {_md(c.new_description)}", "",
           f"**{_md(c.verdict())}**", ""]
    for title, rows in sections(c):
        out += [f"## {_md(title[0].upper() + title[1:])}", ""]
        if not rows:
            out += ["(none)", ""]
            continue
        out += ["| scenario | properties |", "|---|---|"]
        out += [f"| {_md(s)} | {_md(', '.join(props))} |" for s, props in rows]
        out.append("")
    out += ["## Write hold", "", f"The {WZAP}.", "",
            f"| scenario | {_md(c.base)} | {_md(c.new)} |", "|---|---:|---:|"]
    for p in c.pairs:
        links = [f"[{_wz(r)}]({r.model.name}/{ATTACHMENT})" for r in (p.base, p.new)]
        out.append(f"| {_md(p.scenario)} | {links[0]} | {links[1]} |")
    out.append("")
    if c.legend():
        out += ["## Scenarios", "", "| scenario | layout, munmap, threads |", "|---|---|"]
        out += [f"| {_md(s)} | {_md(d)} |" for s, d in c.legend()]
        out.append("")
    if c.broken:
        out += [f"## Counterexamples of what {_md(c.new)} breaks", ""]
        for p, prop in c.shown_breaks():
            name = p.new.model.name
            out += [f"### {_md(p.scenario)}: {prop}", "",
                    (f"[{name}]({name}/{ATTACHMENT}); as a table in "
                     f"[report.html](report.html#model-{name}-{prop})."), "", "```"]
            out += diagram_text(p.new, prop, 80, style)
            out += ["```", ""]
    return "\n".join(out)


def render_html(c: Comparison, style: str = "full") -> str:
    from runner.report.html import environment

    broken = [(p, prop, "\n".join(diagram_text(p.new, prop, 80, style)))
              for p, prop in c.shown_breaks()]
    return environment().get_template("compare.html.j2").render(
        c=c, sections=sections(c), broken=broken, wzap=WZAP, wz=_wz, attachment=ATTACHMENT)


def render(c: Comparison, fmt: str, style: str = "full") -> str:
    if fmt == "txt":
        return render_text(c, 80, style)
    if fmt == "md":
        return render_md(c, style)
    if fmt == "html":
        return render_html(c, style)
    raise ValueError(f"unknown comparison format {fmt!r}")
