"""The verdict matrix of a run, compact: protocol x scenario -> the violated properties.

One table for every report (check's output, report.md, the top of report.html), in the
docs/models.md's shape: a row per scenario, a column per protocol, in each cell the properties
violated there (WriteHoldBound with the most present pages zapped under the write
lock), `-` when every property holds, nothing when the pair was not checked, and `!`
on a verdict that differs from its expectation.  `render_text` fits it in 100 columns.
"""
from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from gen.model import PROPERTIES
from runner.check import ModelResult
from runner.judge import Verdict

WIDTH = 100
SHORT = {
    "TypeOK": "TypeOK", "RwsemExclusive": "Rwsem", "NoThirdState": "3rdState",
    "NoLostWrite": "LostWrite", "PageTableSafety": "PgTable", "MunmapAtomic": "Atomic",
    "WriteHoldBound": "WHB", "RangeUnmapped": "Unmapped", "NoVmaUseAfterFree": "VmaUAF",
    "DeadlockFree": "Deadlock",
    "MunmapCompletes": "MCompl", "AllThreadsComplete": "AllCompl",
}
UNDECIDED = ("error", "timeout", "no-violation", "not-checked")
UNDECIDED_SHORT = {"error": "ERR", "timeout": "T/O", "no-violation": "nv", "not-checked": "n/c"}
UNDECIDED_TEXT = {"error": "error", "timeout": "timeout", "no-violation": "no violation found",
                  "not-checked": "not checked"}
WZAP = "most per-page work (ptes zapped, pages munlocked) munmap did holding mmap_sem for write"


def scenario(result: ModelResult) -> str:
    """The model's name without its protocol: the scenario it plays."""
    name, proto = result.model.name, result.model.protocol
    return name[len(proto) + 1:] if name.startswith(proto + "-") else name


@dataclass(frozen=True)
class Item:
    """One entry of a cell: a violated property, a verdict that differs from its
    expectation, or the properties left undecided (error, timeout, ...)."""

    kind: str  # violated | unexpected (violated, expected to hold) | missing (holds,
    #            expected violated) | undecided | fixed (a compare run: NEW holds what
    #            BASE violates, whose expectation NEW's pair borrowed)
    prop: str | None  # None: `count` undecided properties
    verdict: str
    figure: int | None = None  # WriteHoldBound: the most pages zapped under the write lock
    count: int = 1
    known: bool = True  # WriteHoldBound: False when no figure was measured

    @property
    def differs(self) -> bool:
        return self.kind in ("unexpected", "missing") or (
            self.kind == "undecided" and self.verdict != "no-violation")

    def label(self, short: bool = True) -> str:
        if self.prop is None:
            word = UNDECIDED_SHORT[self.verdict] if short else UNDECIDED_TEXT[self.verdict]
            n = f"({self.count})" if short else f" ({self.count} properties)"
            return word + (n if self.count > 1 else "")
        name = SHORT[self.prop] if short else self.prop
        if self.prop == "WriteHoldBound" and self.kind != "missing":
            name += f" ({self.figure if self.known else '?'})"
        if self.kind == "unexpected":
            return "!" + name
        if self.kind == "missing":
            return "!" + name + ("=ok" if short else " holds")
        if self.kind == "fixed":
            return name + ("=fixed" if short else " fixed")
        if self.kind == "undecided":
            return name + "=" + (UNDECIDED_SHORT[self.verdict] if short else self.verdict)
        return name


@dataclass(frozen=True)
class Cell:
    result: ModelResult
    items: tuple[Item, ...]

    @property
    def differs(self) -> bool:
        return any(i.differs for i in self.items)


@dataclass(frozen=True)
class CompactTable:
    scenarios: tuple[str, ...]  # rows, in the order of the results
    protocols: tuple[str, ...]  # columns
    cells: dict[tuple[str, str], Cell]  # (scenario, protocol) -> cell
    descriptions: dict[str, str]  # scenario -> its description

    def cell(self, scen: str, protocol: str) -> Cell | None:
        return self.cells.get((scen, protocol))

    def used(self) -> list[str]:
        """The properties that appear in the table, in report order."""
        props = {i.prop for c in self.cells.values() for i in c.items if i.prop}
        return [p for p in PROPERTIES if p in props]


def fixes(results: Sequence[ModelResult], pair: tuple[str, str] | None
          ) -> frozenset[tuple[str, str]]:
    """(model, property) of every fix in a compare run of `pair` (BASE, NEW): NEW holds,
    BASE violates on the same scenario, and NEW's pair expected a violation (as BASE's)."""
    if pair is None:
        return frozenset()
    base, new = pair
    by = {(r.model.protocol, scenario(r)): r for r in results}
    out = set()
    for r in results:
        b = by.get((base, scenario(r)))
        if r.model.protocol != new or b is None:
            continue
        for p, v in r.verdicts.items():
            bv = b.verdicts.get(p)
            if v.verdict == "holds" and v.expected == "violated" and bv is not None \
                    and bv.verdict == "violated":
                out.add((r.model.name, p))
    return frozenset(out)


def cell_items(r: ModelResult, fixed: frozenset[tuple[str, str]] = frozenset()
               ) -> tuple[Item, ...]:
    items: list[Item] = []
    undecided: dict[str, int] = {}
    for p in PROPERTIES:
        v = r.verdicts.get(p)
        if v is None or v.verdict == "not-selected":  # left out by --properties
            continue
        figure = r.max_write_hold if p == "WriteHoldBound" else None
        known = p != "WriteHoldBound" or r.max_write_hold is not None
        if v.verdict == "violated":
            items.append(Item("violated" if v.matches else "unexpected", p, v.verdict, figure,
                              known=known))
        elif v.verdict == "holds":
            if (r.model.name, p) in fixed:
                items.append(Item("fixed", p, v.verdict))
            elif not v.matches:
                items.append(Item("missing", p, v.verdict))
        elif v.expected == "violated":
            items.append(Item("undecided", p, v.verdict))
        else:
            undecided[v.verdict] = undecided.get(v.verdict, 0) + 1
    items += [Item("undecided", None, verdict, count=n) for verdict, n in undecided.items()]
    return tuple(items)


def compact(results: Sequence[ModelResult],
            fixed: frozenset[tuple[str, str]] = frozenset()) -> CompactTable:
    """The table of a run's results (the one function every report draws it with);
    `fixed`: a compare run's fixes (see fixes)."""
    scenarios: dict[str, None] = {}
    protocols: dict[str, None] = {}
    cells: dict[tuple[str, str], Cell] = {}
    descriptions: dict[str, str] = {}
    for r in results:
        s, p = scenario(r), r.model.protocol
        scenarios.setdefault(s)
        protocols.setdefault(p)
        descriptions.setdefault(s, r.model.description)
        cells[(s, p)] = Cell(r, cell_items(r, fixed))
    return CompactTable(tuple(scenarios), tuple(protocols), cells, descriptions)


def legend(table: CompactTable, short: bool = True) -> str:
    """What the cells mean, naming only the abbreviations the table uses."""
    used = table.used()
    names = [f"{SHORT[p]} = {p}" for p in used if short and p != "WriteHoldBound"]
    parts = [", ".join(names)] if names else []
    if "WriteHoldBound" in used:
        parts.append(("WHB (n) = WriteHoldBound" if short else "WriteHoldBound (n)")
                     + f", n the {WZAP}")
    if any(not c.items for c in table.cells.values()):
        chosen = any(v.verdict == "not-selected" for c in table.cells.values()
                     for v in c.result.verdicts.values())
        parts.append("- every " + ("selected (--properties) " if chosen else "")
                     + "property holds")
    if len(table.cells) < len(table.scenarios) * len(table.protocols):
        parts.append("blank: the pair is not checked")
    kinds = {i.kind for c in table.cells.values() for i in c.items}
    if kinds & {"unexpected", "missing"}:
        parts.append("! marks a verdict that differs from its expectation (" +
                     ("!X violated but expected to hold, !X=ok holds but expected violated"
                      if short else "violated but expected to hold, or holds but expected "
                      "to be violated") + ")")
    if "undecided" in kinds:
        parts.append("ERR error, T/O timeout, nv no violation found by simulation, n/c not "
                     "checked (in brackets: of how many properties)" if short else
                     "error, timeout, ...: properties that could not be decided")
    return "; ".join(parts) + "."


# ---------------------------------------------------------------- text


def _cell_lines(items: Sequence[str], width: int) -> list[str]:
    lines: list[str] = []
    for text in items:
        if lines and len(lines[-1]) + 2 + len(text) <= width:
            lines[-1] += ", " + text
        else:
            lines.append(text)
    return lines


def _head_lines(name: str, width: int) -> list[str]:
    """A protocol name in a column: broken after '_' where it is too wide."""
    if len(name) <= width:
        return [name]
    parts, line = [], ""
    for piece in name.replace("_", "_\0").split("\0"):
        if line and len(line) + len(piece) > width:
            parts.append(line)
            line = ""
        line += piece
    return parts + [line]


def render_text(table: CompactTable, width: int = WIDTH,
                heads: dict[str, str] | None = None, rows: dict[str, str] | None = None) -> str:
    """The table in plain text, no line longer than `width`; protocols that do not fit
    go into a further table below (the scenarios repeated).  `heads`: a label over a
    protocol's column (its release, "4.20"); `rows`: what a scenario's row stands for (a
    known bug), listed under the table."""
    heads = heads or {}
    texts = {k: [i.label() for i in c.items] or ["-"] for k, c in table.cells.items()}
    first = max([len("scenario")] + [len(s) for s in table.scenarios])
    items = {p: max([4, *(len(t) for (_, q), ts in texts.items() if q == p for t in ts)])
             for p in table.protocols}
    widths = {p: max(items[p], len(p), len(heads.get(p, ""))) for p in table.protocols}
    if first + sum(3 + w for w in widths.values()) > width:  # break the names after '_'
        widths = {p: max(items[p], len(heads.get(p, "")),
                         *(len(h) for h in _head_lines(p, max(items[p], 8))))
                  for p in table.protocols}
    blocks: list[list[str]] = [[]]
    used = first
    for p in table.protocols:
        if blocks[-1] and used + 3 + widths[p] > width:
            blocks.append([])
            used = first
        blocks[-1].append(p)
        used += 3 + widths[p]
    out: list[str] = []
    for block in blocks:
        if out:
            out.append("")
        lines = {p: ([heads.get(p, "")] if heads else []) + _head_lines(p, widths[p])
                 for p in block}
        if heads:  # the labels on one line, the names below (broken alike)
            n = max(len(h) for h in lines.values())
            lines = {p: [h[0], *[""] * (n - len(h)), *h[1:]] for p, h in lines.items()}
        for i in range(max(len(h) for h in lines.values())):
            out.append(((f"{'scenario':<{first}}" if i == 0 else " " * first) + "".join(
                f" | {(lines[p][i] if i < len(lines[p]) else ''):<{widths[p]}}"
                for p in block)).rstrip())
        out.append("-" * first + "".join("-+-" + "-" * widths[p] for p in block))
        for s in table.scenarios:
            cols = {p: _cell_lines(texts.get((s, p), []), widths[p]) for p in block}
            for i in range(max([1, *(len(c) for c in cols.values())])):
                out.append(((f"{s:<{first}}" if i == 0 else " " * first) + "".join(
                    f" | {(cols[p][i] if i < len(cols[p]) else ''):<{widths[p]}}"
                    for p in block)).rstrip())
    out.append("")
    shown = [(sc, rows[sc]) for sc in table.scenarios if rows and sc in rows]
    if shown:
        col = max(len(sc) for sc, _ in shown)
        for sc, what in shown:
            out += textwrap.wrap(what, width, initial_indent=f"{sc:<{col}}  ",
                                 subsequent_indent=" " * (col + 2), break_on_hyphens=False)
        out.append("")
    out += textwrap.wrap(legend(table), width, break_on_hyphens=False)
    return "\n".join(out)


# ---------------------------------------------------------------- counts, unexpected


@dataclass(frozen=True)
class Counts:
    models: int
    verdicts: int
    unexpected: int
    undecided: int
    status: int  # the exit status `mmcheck check` gives these results


def counts(results: Sequence[ModelResult]) -> Counts:
    vs = [v for r in results for v in r.verdicts.values()]
    return Counts(len(results), len(vs), sum(not v.matches for v in vs),
                  sum(v.verdict in UNDECIDED for v in vs),
                  max((r.status for r in results), default=0))


def unexpected(results: Sequence[ModelResult]) -> list[tuple[ModelResult, Verdict]]:
    return [(r, r.verdicts[p]) for r in results for p in PROPERTIES
            if p in r.verdicts and not r.verdicts[p].matches]


@dataclass(frozen=True)
class Problem:
    """Verdicts of one model that differ from their expectation and say the same thing
    (an error that left every property undecided is one problem, not eleven)."""

    result: ModelResult
    props: tuple[str, ...]
    verdict: str
    expected: str
    message: str

    def line(self) -> str:
        what = (f"{self.props[0]} {self.verdict} (expected {self.expected})"
                if len(self.props) == 1 else f"every property {self.verdict}"
                if set(self.props) == set(PROPERTIES) else
                f"{len(self.props)} properties {self.verdict} ({', '.join(self.props)})")
        message = " ".join(self.message.split())  # one line
        return f"{self.result.model.name}: {what}" + (f": {message}" if message else "")


def problems(results: Sequence[ModelResult],
             fixed: frozenset[tuple[str, str]] = frozenset()) -> list[Problem]:
    """What differs from its expectation (a compare run's fixes, `fixed`, do not)."""
    out: list[Problem] = []
    for r in results:
        undecided: dict[tuple[str, str], list[str]] = {}
        for _, v in unexpected([r]):
            if (r.model.name, v.prop) in fixed:
                continue
            if v.verdict in UNDECIDED:
                undecided.setdefault((v.verdict, v.message), []).append(v.prop)
            else:
                out.append(Problem(r, (v.prop,), v.verdict, v.expected, v.message))
        for (verdict, message), props in undecided.items():
            expected = {r.verdicts[p].expected for p in props}
            out.append(Problem(r, tuple(props), verdict,
                               expected.pop() if len(expected) == 1 else "holds or violated",
                               message))
    return out
