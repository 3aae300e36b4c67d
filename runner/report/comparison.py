"""`mmcheck compare BASE NEW`: what NEW fixes, breaks and shares with BASE, scenario by
scenario, as text (stdout, and the review attachment compare.txt), markdown (compare.md),
HTML (compare.html) and a cover letter (cover-letter.txt).  Pure: built from the two
protocols' results (runner.check.ModelResult) of the same scenarios, and the kernel-era
differences of their templates (gen.eras).

The properties are shown by category (gen.properties): memory safety, semantics and
liveness are fixed or broken; latency (WriteHoldBound) is a number per scenario, never a
break.  Every "holds" comes with its bound (pages, ptes per table, threads, states).
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from gen.model import PROPERTIES, Flag, Model
from gen.properties import CATEGORY_OF, CATEGORY_TITLES, by_category, category
from runner.check import ModelResult
from runner.report import diagram, kernel
from runner.report.attachment import ATTACHMENT
from runner.report.matrix import WZAP, scenario

FILES = {"txt": "compare.txt", "md": "compare.md", "html": "compare.html",
         "letter": "cover-letter.txt"}
DECIDED = ("holds", "violated")
LATENCY = "WriteHoldBound"
WIDTH = 80  # the attachment
MAIL = 72  # the cover letter

@dataclass(frozen=True)
class Pair:
    """One scenario: BASE's and NEW's results, and how their verdicts relate.  Latency
    (WriteHoldBound) is in none of fixed, broken, both: it is compared as a number."""

    scenario: str
    base: ModelResult
    new: ModelResult
    fixed: tuple[str, ...]  # violated by BASE, holds with NEW
    broken: tuple[str, ...]  # holds with BASE, violated by NEW
    both: tuple[str, ...]  # violated by both
    undecided: tuple[str, ...]  # one of them neither holds nor is violated
    # of `both`: where NEW's race differs from BASE's (another symptom or root cause)
    other_race: tuple[str, ...] = ()


@dataclass(frozen=True)
class EraDifference:
    """A kernel-era feature in which BASE's and NEW's templates differ (gen.eras), and the
    verdict differences in scenarios that run the feature's code."""

    title: str
    base: str
    new: str
    explains: tuple[tuple[str, str], ...]  # (scenario, "NoThirdState fixed", ...)


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
    eras: tuple[EraDifference, ...] = ()
    # scenarios left out because one of the two templates refuses them: (scenario, why)
    left_out: tuple[tuple[str, str], ...] = ()

    @property
    def broken(self) -> list[tuple[Pair, str]]:
        return [(p, prop) for p in self.pairs for prop in p.broken]

    @property
    def slower(self) -> list[Pair]:
        """The scenarios where NEW does more per-page work under the write lock."""
        return [p for p in self.pairs if (p.base.max_write_hold or 0)
                < (p.new.max_write_hold or 0)]

    def shown_breaks(self) -> list[tuple[Pair, str]]:
        """The breaks drawn with a counterexample: every one; when exhaustive, the smallest
        scenario of each property (the pairs come smallest first)."""
        return self._first(self.broken)

    def other_races(self) -> list[tuple[Pair, str]]:
        """Both violate, but NEW's race differs from BASE's: NEW's counterexample is drawn
        (when exhaustive, the smallest scenario of each property)."""
        return self._first([(p, prop) for p in self.pairs for prop in p.other_race])

    def _first(self, items: list[tuple[Pair, str]]) -> list[tuple[Pair, str]]:
        if not self.scope:
            return items
        seen: set[str] = set()
        out = []
        for p, prop in items:
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

    def failures(self) -> list[tuple[str, str]]:
        """(model, why) of every model with an undecided property: the error line (a
        translation error, TLC's message, a timeout), each model once."""
        out = []
        for p in self.pairs:
            for r in (p.base, p.new):
                why = next((v.message or v.verdict for v in r.verdicts.values()
                            if v.verdict in ("error", "timeout")), None)
                if why is not None and (r.model.name, why) not in out:
                    out.append((r.model.name, why))
        return out

    @property
    def status(self) -> int:
        """1 NEW breaks a property BASE holds (latency aside); else 2 if a verdict is
        undecided; else 0."""
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


def race(r: ModelResult, prop: str) -> tuple[str, str] | None:
    """What a counterexample's race is, for telling two apart: the symptom and the root
    cause of its kernel-style diagram (None without a trace).  Of a liveness or deadlock
    trace only the symptom (who waits where, forever): TLC's lasso is one of many, and the
    shape of its loop is not the race."""
    v = r.verdicts.get(prop)
    if v is None or v.verdict != "violated":
        return None
    try:
        d = kernel.build_kernel(r.model, v)
    except (KeyError, ValueError, IndexError, TypeError):
        return None
    if d is None:
        return None
    return (d.symptom, d.cause if d.kind == "safety" else "")


def compare(base: str, new: str, results: Sequence[ModelResult], scope: str = "",
            eras: Sequence[tuple[str, str, str, tuple[str, ...]]] = (),
            left_out: Sequence[tuple[str, str]] = ()) -> Comparison:
    """Pair BASE's and NEW's results by scenario (in the order BASE's appear); `scope`:
    Comparison.scope; `eras`: (title, BASE's, NEW's, what it touches) of every kernel-era
    feature the two templates differ in (gen.eras.differences, with gen.eras.FEATURES'
    thread kinds and flags)."""
    by = {(r.model.protocol, scenario(r)): r for r in results}
    pairs = []
    for r in results:
        if r.model.protocol != base or (new, scenario(r)) not in by:
            continue
        s = scenario(r)
        n = by[(new, s)]
        fixed, broken, both, undecided, other = [], [], [], [], []
        for prop in PROPERTIES:
            a, b = _verdict(r, prop), _verdict(n, prop)
            if "not-selected" in (a, b):
                continue
            if a not in DECIDED or b not in DECIDED:
                undecided.append(prop)
            elif prop == LATENCY:
                continue  # a number: the latency table
            elif a == "violated" and b == "holds":
                fixed.append(prop)
            elif a == "holds" and b == "violated":
                broken.append(prop)
            elif a == b == "violated":
                both.append(prop)
                if race(r, prop) != race(n, prop):
                    other.append(prop)
        pairs.append(Pair(s, r, n, tuple(fixed), tuple(broken), tuple(both), tuple(undecided),
                          tuple(other)))
    base_r = next((r for r in results if r.model.protocol == base), None)
    new_r = next((r for r in results if r.model.protocol == new), None)
    diffs = tuple(EraDifference(title, b, n, _explained(pairs, touches))
                  for title, b, n, touches in eras)
    return Comparison(base, new, tuple(pairs),
                      base_r.model.definition.description if base_r else "",
                      new_r.model.definition.description if new_r else "", scope, diffs,
                      tuple(left_out))


def touches(model: Model, what: str) -> bool:
    """Whether a scenario runs the code of an era feature: `what` is a thread kind (fault,
    mmap_fixed, madvise), a VMA flag (locked), or "split" (munmap splits a VMA)."""
    if what == "split":
        lo, hi = model.munmap
        return any(v.start < lo < v.end or v.start < hi < v.end for v in model.vmas)
    if what in {f.value for f in Flag}:
        return any(what in {f.value for f in v.flags} for v in model.vmas)
    return any(t.kind == what for t in model.threads)  # an actor's name


def _explained(pairs: Sequence[Pair], what: Sequence[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for p in pairs:
        if not any(touches(p.base.model, w) for w in what):
            continue
        moved = ([f"{x} fixed" for x in p.fixed] + [f"{x} broken" for x in p.broken]
                 + [f"{x}: another race" for x in p.other_race])
        if (p.base.max_write_hold or 0) != (p.new.max_write_hold or 0):
            moved.append(f"write hold {_wz(p.base)} -> {_wz(p.new)}")
        if moved:
            out.append((p.scenario, ", ".join(moved)))
    return tuple(out)


def _wz(r: ModelResult) -> str:
    return "?" if r.max_write_hold is None else str(r.max_write_hold)


def _undecided_groups(p: Pair, props: Sequence[str]) -> list[str]:
    """The undecided properties of a pair, grouped by how their verdicts went ("TypeOK,
    NoLostWrite (holds -> error)"); a model that failed as a whole is one group, "every
    property (holds -> error)", not twelve."""
    groups: dict[tuple[str, str], list[str]] = {}
    for x in props:
        groups.setdefault((_verdict(p.base, x), _verdict(p.new, x)), []).append(x)
    compared = [x for x in PROPERTIES if "not-selected" not in (_verdict(p.base, x),
                                                                _verdict(p.new, x))]
    by_new: dict[str, list[str]] = {}
    for (_, b), xs in groups.items():
        by_new.setdefault(b, []).extend(xs)
    if len(by_new) == 1 and len(props) == len(compared) and len(groups) > 1:
        b = next(iter(by_new))  # e.g. every property of NEW an error, BASE's mixed
        return [f"every property ({b} with {p.new.model.protocol})"]
    return [("every property" if len(xs) == len(compared) else ", ".join(xs))
            + f" ({a} -> {b})" for (a, b), xs in groups.items()]


def threads(model: Model) -> int:
    """Every thread of the model, munmap's included."""
    return 1 + sum(t.count for t in model.threads) + (
        1 if model.options.get("other_mm") is True else 0)


def bound(r: ModelResult) -> str:
    """What a "holds" of this model covers: "exhaustive: 4 pages, 2 ptes/table, 2
    threads, 154 states" (or what a simulation covered, or why nothing is covered)."""
    m = r.model
    shape = (f"{m.pages} page{'s' if m.pages != 1 else ''}, {m.ptes_per_table} "
             f"pte{'s' if m.ptes_per_table != 1 else ''}/table, {threads(m)} "
             f"thread{'s' if threads(m) != 1 else ''}")
    if r.simulate is not None:
        return (f"simulation: {shape}, {r.simulate.behaviours:,} traces of at most "
                f"{r.simulate.depth} steps (nothing is proved to hold)")
    states = "?" if r.distinct_states is None else f"{r.distinct_states:,}"
    return f"exhaustive: {shape}, {states} states"


def sections(c: Comparison) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """(title, [(scenario, properties)]) for fixes, breaks, shared violations, undecided."""
    def rows(attr: str) -> list[tuple[str, list[str]]]:
        out = []
        for p in c.pairs:
            props = list(getattr(p, attr))
            if attr == "undecided":
                props = _undecided_groups(p, props)
            elif attr == "both":
                props = [x + (" (another race)" if x in p.other_race else "") for x in props]
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


def _wrap(text: str, width: int, indent: str = "", more: str | None = None) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent,
                         subsequent_indent=indent + "  " if more is None else more,
                         break_on_hyphens=False) or [indent.rstrip()]


def _rows_by_category(c: Comparison, rows: list[tuple[str, list[str]]], width: int,
                      col: int, holds: str | None) -> list[str]:
    """The rows of a section, under a line per category; `holds`: "base" or "new", whose
    bound goes under each row (the side that holds)."""
    if not rows:
        return ["  (none)"]
    pairs = {p.scenario: p for p in c.pairs}
    out: list[str] = []
    names = [x.split(" (")[0] for _, props in rows for x in props]
    for cat, _ in by_category(names):
        out.append(f"  {CATEGORY_TITLES[cat]}:")
        for s, props in rows:
            mine = [x for x in props if category(x.split(" (")[0]) == cat]
            if not mine:
                continue
            out += _wrap(", ".join(mine), width, f"    {s:<{col}}  ", " " * (col + 6))
            if holds:
                r = getattr(pairs[s], holds)
                out += _wrap(bound(r), width, " " * (col + 6))
    return out


def render_text(c: Comparison, width: int = WIDTH, style: str = "full") -> str:
    """The comparison in plain text, no line longer than `width` (80: the attachment)."""
    n = len(c.pairs)
    head = f"mmcheck compare: {c.base} -> {c.new}, " + (
        c.scope or f"{n} scenario{'' if n == 1 else 's'}")
    out = [*textwrap.wrap(head, width, subsequent_indent="  "), ""]
    for name, desc in ((c.base, c.base_description), (c.new, c.new_description)):
        out += textwrap.wrap(f"{name}: {desc}", width, subsequent_indent="  ")
    if c.eras:
        out += ["", *_wrap(f"Warning: {c.base} and {c.new} model different kernel eras "
                           f"outside munmap; a verdict that moves in a scenario running "
                           f"that code may be the era's doing, not the munmap change's:",
                           width, "", "")]
        for e in c.eras:
            out += _wrap(f"{e.title}: {c.base}: {e.base}; {c.new}: {e.new}", width, "  ",
                         "    ")
            if e.explains:
                out += _wrap("can explain: " + "; ".join(f"{s} ({what})"
                                                          for s, what in e.explains),
                             width, "    ", "      ")
            else:
                out.append("    (no verdict moved where it runs)")
    col = max([len("scenario")] + [len(p.scenario) for p in c.pairs])
    for (title, rows), holds in zip(sections(c), ("new", "base", None, None)):
        out += ["", *textwrap.wrap(title + ":", width, subsequent_indent="  ")]
        if title.startswith("undecided"):
            if not rows:
                out.append("  (none)")
            for s, props in rows:
                out += _wrap(", ".join(props), width, f"  {s:<{col}}  ", " " * (col + 4))
            continue
        out += _rows_by_category(c, rows, width, col, holds)
    failures = c.failures()
    if failures:
        out += ["", "Why (the error of each model that failed):"]
        for model, why in failures:
            out += _wrap(f"{model}: {why}", width, "  ", "    ")
    if c.left_out:
        out += ["", *_wrap("Left out (a scenario one of the two templates refuses):", width,
                           "", "")]
        for s, why in c.left_out:
            out += _wrap(f"{s}: {why}", width, "  ", "    ")
    legend = c.legend()
    if legend:
        out += ["", "Scenarios (smallest first):"]
        for s, desc in legend:
            out += textwrap.wrap(desc, width, initial_indent=f"  {s:<{col}}  ",
                                 subsequent_indent=" " * (col + 4), break_on_hyphens=False)
    out += ["", *textwrap.wrap(f"Latency (WriteHoldBound, a number, not a break): the {WZAP} "
                               f"(write_hold_bound 0 unless the scenario sets it)"
                               + ("; the scenarios where it differs." if c.scope else "."),
                               width)]
    a, b = max(len(c.base), 4), max(len(c.new), 4)
    out.append(f"  {'scenario':<{col}}  {c.base:>{a}}  {c.new:>{b}}")
    for p in c.pairs:
        if c.scope and p.base.max_write_hold == p.new.max_write_hold:
            continue
        mark = "  <- more" if (p.base.max_write_hold or 0) < (p.new.max_write_hold or 0) else ""
        out.append(f"  {p.scenario:<{col}}  {_wz(p.base):>{a}}  {_wz(p.new):>{b}}{mark}")
    out += ["", *textwrap.wrap("Bounds: every \"holds\" above is exhaustive within its "
                               "scenario's bound: its pages, ptes per page table and threads "
                               "(munmap's included); under each protocol, the states TLC "
                               "explored.", width)]
    out += _bounds_table(c, col, width)
    out += ["", *textwrap.wrap(c.verdict(), width)]
    out += _counterexamples(c, f"Counterexamples of what {c.new} breaks" + (
        " (the smallest scenario of each property)" if c.scope else ""),
        c.shown_breaks(), width, style)
    out += _counterexamples(c, f"Both violate, but {c.new}'s race differs from {c.base}'s: "
                               f"{c.new}'s counterexample", c.other_races(), width, style)
    return "\n".join(line.rstrip() for line in out) + "\n"


def _bounds_table(c: Comparison, col: int, width: int) -> list[str]:
    rows = []
    for p in c.pairs:
        m = p.base.model
        st = [("?" if r.distinct_states is None else f"{r.distinct_states:,}")
              for r in (p.base, p.new)]
        rows.append((p.scenario, str(m.pages), str(m.ptes_per_table), str(threads(m)), *st))
    if c.scope:  # every scenario of an exhaustive run: the totals
        n = len(c.pairs)
        return [f"  {n} scenarios; " + ", ".join(
            f"{name} {sum(r.distinct_states or 0 for r in rs):,} states in all"
            for name, rs in ((c.base, [p.base for p in c.pairs]),
                             (c.new, [p.new for p in c.pairs])))]
    def widths_of(heads: Sequence[str]) -> list[int]:
        ws = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(heads)]
        ws[0] = max(ws[0], col)
        return ws

    heads: tuple[str, ...] = ("scenario", "pages", "ptes/table", "threads", c.base, c.new)
    widths = widths_of(heads)
    note: list[str] = []
    if 2 + sum(widths) + 2 * (len(widths) - 1) > width:  # long names: BASE and NEW
        heads = ("scenario", "pages", "ptes", "threads", "BASE", "NEW")
        widths = widths_of(heads)
        note = textwrap.wrap(f"(states: BASE {c.base}, NEW {c.new})", width)

    def line(cells: Sequence[str]) -> str:
        return "  " + "  ".join(f"{x:<{widths[0]}}" if i == 0 else f"{x:>{widths[i]}}"
                                for i, x in enumerate(cells))
    return [line(heads), *(line(r) for r in rows), *note]


def _counterexamples(c: Comparison, title: str, items: list[tuple[Pair, str]], width: int,
                     style: str) -> list[str]:
    if not items:
        return []
    out = ["", *textwrap.wrap(title, width), "=" * min(width, len(title))]
    for p, prop in items:
        head = f"{p.scenario}: {prop} (model {p.new.model.name}, TLC run " \
               f"{p.new.verdicts[prop].run or '?'})"
        out += ["", *textwrap.wrap(head, width), "-" * min(width, len(head))]
        if c.scope:
            out += textwrap.wrap(p.new.model.description, width) + [""]
        out += diagram_text(p.new, prop, width, style)
    return out


def render_letter(c: Comparison, width: int = MAIL, style: str = "kernel") -> str:
    """The cover letter of a comparison, for mail (at most `width` columns): what was
    checked and within which bounds, what holds exhaustively, what NEW fixes and breaks,
    the latency, the era warning, and the diagram of the first thing it breaks."""
    n = len(c.pairs)
    pages = sorted({p.base.model.pages for p in c.pairs})
    ths = sorted({threads(p.base.model) for p in c.pairs})
    states = [r.distinct_states for p in c.pairs for r in (p.base, p.new)
              if r.distinct_states is not None]

    def span(xs: Sequence[int]) -> str:
        return "?" if not xs else f"{xs[0]:,}" if xs[0] == xs[-1] else f"{xs[0]:,}-{xs[-1]:,}"

    out = _wrap(f"{c.new} against {c.base}, checked with mmcheck (TLA+/TLC): "
                + (c.scope if c.scope else f"{n} scenario{'s' if n != 1 else ''}")
                + f" ({2 * n} models), every interleaving of each scenario's threads, "
                  f"exhaustively within its bound: {span(pages)} pages, {span(ths)} threads "
                  f"(munmap's included), {span(sorted(states)) if states else '?'} states "
                  f"per model.", width, "", "")
    out += [""]
    decided = [p for p in c.pairs if not p.undecided]
    held = [prop for prop in PROPERTIES if prop != LATENCY and decided and all(
        _verdict(p.new, prop) == "holds" for p in decided)]
    if held:
        out += _wrap(f"Holds with {c.new} in every decided scenario ({len(decided)} of {n}): "
                     + "; ".join(f"{CATEGORY_TITLES[cat]}: {', '.join(props)}"
                                 for cat, props in by_category(held)) + ".", width, "", "")
    for word, attr in (("Fixes", "fixed"), ("Breaks", "broken"), ("Both violate", "both")):
        items: dict[str, list[str]] = {}
        for p in c.pairs:
            for prop in getattr(p, attr):
                items.setdefault(prop, []).append(p.scenario)
        if items:
            out += [""] + _wrap(f"{word}: " + "; ".join(
                f"{prop} ({CATEGORY_TITLES[category(prop)]}) in {', '.join(ss)}"
                for prop, ss in items.items()) + ".", width, "", "")
    slower = c.slower
    out += [""] + _wrap("Latency: " + ("; ".join(
        f"{p.scenario} {_wz(p.base)} -> {_wz(p.new)}" for p in slower)
        + " (per-page work under the write lock)." if slower else
        f"{c.new} does no more per-page work under the write lock than {c.base}."),
        width, "", "")
    if any(p.undecided for p in c.pairs):
        und = [p.scenario for p in c.pairs if p.undecided]
        out += [""] + _wrap(f"Undecided (error or timeout): {', '.join(und)}.", width, "", "")
    for e in c.eras:
        out += [""] + _wrap(f"Note: the two differ in {e.title} ({c.base}: {e.base}; "
                            f"{c.new}: {e.new})" + (
                                ", which can explain: " + "; ".join(
                                    f"{s} ({w})" for s, w in e.explains) if e.explains
                                else "") + ".", width, "", "")
    order = list(CATEGORY_TITLES)  # memory safety first: the break a reviewer reads first
    shown = sorted(c.shown_breaks(), key=lambda x: order.index(category(x[1])))[:1] \
        or c.other_races()[:1]
    if shown:
        p, prop = shown[0]
        what = "breaks" if prop in p.broken else "violates by another race"
        out += ["", *_wrap(f"{c.new} {what} {prop} in {p.scenario}:", width, "", "")]
        out += ["", *kernel.render_style(p.new, prop, style, width).split("\n")]
    out += ["", *_wrap(c.verdict(), width, "", "")]
    return "\n".join(line.rstrip() for line in out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_md(c: Comparison, style: str = "full") -> str:
    out = [f"# mmcheck compare: {_md(c.base)} -> {_md(c.new)}", "",
           *([f"{_md(c.scope)}.", ""] if c.scope else []),
           f"- **{_md(c.base)}**: {_md(c.base_description)}",
           f"- **{_md(c.new)}**: {_md(c.new_description)}", "",
           f"**{_md(c.verdict())}**", ""]
    if c.eras:
        out += [(f"**Warning**: {_md(c.base)} and {_md(c.new)} model different kernel eras "
                f"outside munmap:"), ""]
        for e in c.eras:
            why = "; ".join(f"{s} ({w})" for s, w in e.explains) or "no verdict moved there"
            out.append(f"- {_md(e.title)}: {_md(c.base)}: {_md(e.base)}; {_md(c.new)}: "
                       f"{_md(e.new)}; can explain: {_md(why)}")
        out.append("")
    for title, rows in sections(c):
        out += [f"## {_md(title[0].upper() + title[1:])}", ""]
        if not rows:
            out += ["(none)", ""]
            continue
        out += ["| scenario | category | properties |", "|---|---|---|"]
        for s, props in rows:
            cats = by_category([x.split(" (")[0] for x in props])
            if title.startswith("undecided") or not cats:
                out.append(f"| {_md(s)} | | {_md(', '.join(props))} |")
                continue
            for cat, mine in cats:
                shown = [x for x in props if x.split(" (")[0] in mine]
                out.append(f"| {_md(s)} | {CATEGORY_TITLES[cat]} | {_md(', '.join(shown))} |")
        out.append("")
    if c.left_out:
        out += ["## Left out", "", "Scenarios one of the two templates refuses:", ""]
        out += [f"- `{s}`: {_md(why)}" for s, why in c.left_out]
        out.append("")
    failures = c.failures()
    if failures:
        out += ["## Why models failed", ""]
        out += [f"- `{m}`: {_md(why)}" for m, why in failures]
        out.append("")
    out += ["## Latency (write hold)", "", f"The {WZAP}: a number, not a break.", "",
            f"| scenario | {_md(c.base)} | {_md(c.new)} |", "|---|---:|---:|"]
    for p in c.pairs:
        links = [f"[{_wz(r)}]({r.model.name}/{ATTACHMENT})" for r in (p.base, p.new)]
        out.append(f"| {_md(p.scenario)} | {links[0]} | {links[1]} |")
    out.append("")
    out += ["## Bounds", "", "Every \"holds\" is exhaustive within its scenario's bound.", "",
            f"| scenario | {_md(c.base)} | {_md(c.new)} |", "|---|---|---|"]
    out += [f"| {_md(p.scenario)} | {_md(bound(p.base))} | {_md(bound(p.new))} |"
            for p in c.pairs]
    out.append("")
    if c.legend():
        out += ["## Scenarios", "", "| scenario | layout, munmap, threads |", "|---|---|"]
        out += [f"| {_md(s)} | {_md(d)} |" for s, d in c.legend()]
        out.append("")
    for title, items in ((f"Counterexamples of what {_md(c.new)} breaks", c.shown_breaks()),
                         ((f"Both violate, but {_md(c.new)}'s race differs: its "
                          f"counterexample"), c.other_races())):
        if items:
            out += [f"## {title}", ""]
        for p, prop in items:
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
    others = [(p, prop, "\n".join(diagram_text(p.new, prop, 80, style)))
              for p, prop in c.other_races()]
    return environment().get_template("compare.html.j2").render(
        c=c, sections=sections(c), broken=broken, others=others, wzap=WZAP, wz=_wz,
        attachment=ATTACHMENT, bound=bound, category=lambda x: CATEGORY_OF.get(x, ""),
        titles={**CATEGORY_TITLES, "": ""})


def render(c: Comparison, fmt: str, style: str = "full", width: int = WIDTH) -> str:
    """One file of the comparison (FILES); `width`: of the text and the cover letter."""
    if fmt == "txt":
        return render_text(c, width, style)
    if fmt == "letter":
        return render_letter(c, width)
    if fmt == "md":
        return render_md(c, style)
    if fmt == "html":
        return render_html(c, style)
    raise ValueError(f"unknown comparison format {fmt!r}")
