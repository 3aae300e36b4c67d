"""Every small scenario up to a bound, for `mmcheck compare --exhaustive`.  Pure.

A scenario is a `[[model]]` table without name and protocol (as in specs/scenarios.toml):
pages 1..N (N = the bound's pages, `ptes_per_table` ptes per page table), a layout of
VMAs, one munmap range, and up to K other threads.  Enumerated:

* layouts: every way of cutting the pages into holes and VMAs (no two holes side by
  side: they are one hole), each VMA with no flag or one of the flags the two protocols
  care about (`cared_flags`), populated or not;
* munmap ranges: every [a, b) that covers a page of some VMA (one over holes only does
  nothing);
* threads: every multiset of at most K threads (identical threads are one thread with a
  count, in any order), each of a kind asked for, with each parameter that matters: a
  fault (read or write) at a page of a VMA or of a hole a stack can grow into; a range
  thread (mmap_fixed, munmap, madvise) over each range that touches a VMA or the munmap
  range; follow_pte (find_vma, vma_lookup) and binder (read, write lock) at a VMA's page.

Equivalent scenarios are removed: one whose first page table is unused (no VMA, no page of
a range, no thread's page there) is the same scenario shifted down by a page table, and
that one is enumerated.  Scenarios come smallest first (threads, VMAs, pages used), so
that the first break found is the smallest.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gen.actors import Actors, builtin, exhaustive_options
from gen.model import Flag

# The default bound: `mmcheck compare A B --exhaustive` within minutes on 2 cores.
DEFAULT_PAGES = 2
DEFAULT_THREADS = 1
PTES_PER_TABLE = 1
DEFAULT_KINDS = ("fault",)
MAX_PAGES = 8
MAX_THREADS = 4
MAX_SCENARIOS = 20_000
# flags that are not a kind of VMA one maps (vm_dead's marker)
NOT_MAPPED = {"dead"}  # vm_dead's marker of a VMA being unmapped, not a kind of VMA
FLAG_LITERAL = re.compile(r'"([a-z]+)"')
MACRO_CALL = re.compile(r"\bmm\.([a-z_0-9]+)\(")
MACRO_DEF = re.compile(r"{%-?\s*macro\s+([a-z_0-9]+)\(")


@dataclass(frozen=True)
class Bound:
    pages: int = DEFAULT_PAGES
    threads: int = DEFAULT_THREADS
    ptes_per_table: int = PTES_PER_TABLE
    kinds: tuple[str, ...] = DEFAULT_KINDS  # actor names

    def describe(self) -> str:
        return (f"every layout of <= {self.pages} pages and <= {self.threads} "
                f"thread{'' if self.threads == 1 else 's'}")


def macros(library: str) -> dict[str, str]:
    """The macros of a macro library (mm.j2): name -> body."""
    starts = [(m.start(), m.group(1)) for m in MACRO_DEF.finditer(library)]
    out = {}
    for i, (at, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(library)
        out[name] = library[at:end]
    return out


def cared_flags(base_template: str, new_template: str, library: str) -> tuple[str, ...]:
    """The VMA flags the comparison of two protocols cares about: those their own templates
    test, and those tested by the mm.j2 steps only one of them uses (the steps both use
    treat a flag alike in both).  In Flag order."""
    steps = macros(library)
    calls = [set(MACRO_CALL.findall(t)) for t in (base_template, new_template)]
    texts = [base_template, new_template] + [steps.get(s, "") for s in calls[0] ^ calls[1]]
    found = {f for t in texts for f in FLAG_LITERAL.findall(t)}
    return tuple(f.value for f in Flag if f.value in found and f.value not in NOT_MAPPED)


Segment = tuple[str, ...] | None  # a VMA's flags (a tuple: none or one), or None: a hole


def _segmentations(pages: int) -> Iterator[tuple[int, ...]]:
    """Every composition of `pages` into segment lengths."""
    for cuts in itertools.product((False, True), repeat=pages - 1):
        lengths, n = [], 1
        for cut in cuts:
            if cut:
                lengths.append(n)
                n = 1
            else:
                n += 1
        lengths.append(n)
        yield tuple(lengths)


def layouts(pages: int, flags: Sequence[str]) -> Iterator[list[dict[str, Any]]]:
    """Every layout of VMAs (start, end, flags, populated) over pages 1..`pages`."""
    kinds: list[Segment] = [None, (), *((f,) for f in flags)]
    for lengths in _segmentations(pages):
        for choice in itertools.product(kinds, repeat=len(lengths)):
            if all(c is None for c in choice) or any(
                    a is None and b is None for a, b in itertools.pairwise(choice)):
                continue
            vmas, start = [], 1
            for length, c in zip(lengths, choice):
                if c is not None:
                    vmas.append({"start": start, "end": start + length, "flags": list(c)})
                start += length
            yield vmas


def populations(vmas: list[dict[str, Any]], munmap: tuple[int, int]) -> Iterator[list[dict[str, Any]]]:
    """The layout with each VMA that munmap touches populated or not (every other VMA
    populated: what it holds is not what munmap takes away)."""
    touched = [bool(set(range(v["start"], v["end"])) & set(range(*munmap))) for v in vmas]
    for populated in itertools.product(*[(True, False) if t else (True,) for t in touched]):
        yield [dict(v, populated=p) for v, p in zip(vmas, populated)]


def _pages_of(vmas: list[dict[str, Any]]) -> set[int]:
    return {p for v in vmas for p in range(v["start"], v["end"])}


def _stack_holes(vmas: list[dict[str, Any]], pages: int) -> set[int]:
    """Hole pages a fault may grow a stack into: below a growsdown VMA, above a growsup one."""
    mapped = _pages_of(vmas)
    out = set()
    for v in vmas:
        if "growsdown" in v["flags"]:
            out |= {p for p in range(1, v["start"]) if p not in mapped}
        if "growsup" in v["flags"]:
            out |= {p for p in range(v["end"], pages + 1) if p not in mapped}
    return out


def _ranges(pages: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(1, pages + 1) for b in range(a + 1, pages + 2)]


def thread_options(kind: str, vmas: list[dict[str, Any]], munmap: tuple[int, int],
                   pages: int, actors: Actors | None = None) -> list[dict[str, Any]]:
    """One thread of actor `kind` with each parameter that matters in this layout (its
    keys' types: gen/actors.py exhaustive_options)."""
    mapped = _pages_of(vmas)
    touched = mapped | set(range(*munmap))
    ranges = [(a, b) for a, b in _ranges(pages) if touched & set(range(a, b))]
    actor = (actors if actors is not None else builtin())[kind]
    return exhaustive_options(actor, mapped, _stack_holes(vmas, pages), ranges)


def _thread_key(t: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, str(v)) for k, v in t.items()))


def thread_sets(options: list[dict[str, Any]], most: int) -> Iterator[list[dict[str, Any]]]:
    """Every multiset of at most `most` threads (none included), identical ones merged."""
    options = sorted(options, key=_thread_key)
    for n in range(most + 1):
        for combo in itertools.combinations_with_replacement(range(len(options)), n):
            threads = []
            for i, group in itertools.groupby(combo):
                count = len(list(group))
                threads.append(dict(options[i], **({"count": count} if count > 1 else {})))
            yield threads


def _used(s: dict[str, Any]) -> set[int]:
    used = _pages_of(s["vmas"]) | set(range(*s["munmap"]))
    for t in s["threads"]:
        if "addr" in t:
            used.add(t["addr"])
        elif "start" in t:
            used |= set(range(t["start"], t["end"]))
        # else a thread of no page (a /proc/pid/maps reader walks every VMA)
    return used


def shifted(s: dict[str, Any], ptes_per_table: int) -> bool:
    """The scenario's first page table is unused: it is another one shifted up."""
    return not any(p <= ptes_per_table for p in _used(s))


def _size(s: dict[str, Any]) -> tuple[int, ...]:
    used = _used(s)
    return (sum(t.get("count", 1) for t in s["threads"]), len(s["vmas"]),
            max(used) - min(used) + 1, sum(not v["populated"] for v in s["vmas"]),
            sum(len(v["flags"]) for v in s["vmas"]))


def describe(s: dict[str, Any]) -> str:
    """A scenario in one line, e.g. `[1,3) [3,4) growsdown unpopulated; munmap [1,3);
    write fault at 2`."""
    vmas = " ".join(f"[{v['start']},{v['end']})" + "".join(f" {f}" for f in v["flags"])
                    + ("" if v["populated"] else " unpopulated") for v in s["vmas"])
    a, b = s["munmap"]
    parts = [f"VMAs {vmas}", f"munmap [{a},{b})"]
    for t in s["threads"]:
        n = f"{t['count']} x " if t.get("count", 1) > 1 else ""
        if t["kind"] == "fault":
            parts.append(f"{n}{t['access']} fault at {t['addr']}")
        elif "addr" in t:
            extra = t.get("lookup") or f"{t.get('lock')} lock"
            parts.append(f"{n}{t['kind']} at {t['addr']} ({extra})")
        else:
            extra = "".join(f" {k}={v}" for k, v in t.items()
                            if k not in ("kind", "start", "end", "count"))
            where = f" [{t['start']},{t['end']})" if "start" in t else ""
            parts.append(f"{n}{t['kind']}{where}{extra}")
    return "; ".join(parts)


class TooMany(ValueError):
    """More scenarios up to a bound than asked for."""


def scenarios(bound: Bound, flags: Sequence[str], limit: int | None = None,
              actors: Actors | None = None) -> list[dict[str, Any]]:
    """Every scenario up to the bound, equivalent ones removed, smallest first; each a
    scenario table with a `description`.  TooMany when there are more than `limit`."""
    out: list[dict[str, Any]] = []
    n = bound.pages
    for layout in layouts(n, flags):
        mapped = _pages_of(layout)
        for munmap, vmas in ((m, v) for m in _ranges(n) if mapped & set(range(*m))
                             for v in populations(layout, m)):
            options = [o for k in bound.kinds
                       for o in thread_options(k, vmas, munmap, n, actors)]
            for threads in thread_sets(options, bound.threads):
                s: dict[str, Any] = {"pages": n, "ptes_per_table": bound.ptes_per_table,
                                     "munmap": munmap, "vmas": vmas, "threads": threads}
                if not shifted(s, bound.ptes_per_table):
                    out.append(s)
                    if limit is not None and len(out) > limit:
                        raise TooMany(f"more than {limit} scenarios up to this bound")
    out.sort(key=_size)
    return [{"description": describe(s), "pages": s["pages"],
             "ptes_per_table": s["ptes_per_table"],
             "munmap": {"start": s["munmap"][0], "end": s["munmap"][1]},
             "vmas": s["vmas"], "threads": s["threads"]} for s in out]


def scenario_name(index: int, total: int) -> str:
    """`x0001` ...: the scenario's place in the enumeration (smallest first)."""
    return f"x{index:0{max(4, len(str(total)))}d}"
