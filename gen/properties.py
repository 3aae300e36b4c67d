"""The properties in categories, and `--properties` (a selection by name or category).

Four categories, in the order a reviewer reads them (docs/models.md, "Property
categories"):

* memory-safety: hard failures, each a bug whatever the design intends: a freed page
  table or VMA used (PageTableSafety, NoVmaUseAfterFree), the lock itself broken
  (RwsemExclusive), the model's own integrity (TypeOK: a variable out of its type, two
  VMAs overlapping, i.e. a corrupted VMA tree).
* semantics: what munmap promises user space (MunmapAtomic, NoThirdState, NoLostWrite,
  RangeUnmapped: nothing of the range is mapped when munmap returns).  A violation is a
  user-visible behaviour no atomic munmap could show; it may be a deliberate trade-off.
* latency: WriteHoldBound, the per-page work munmap does under the write lock: a
  number to compare, not a failure.
* liveness: DeadlockFree, MunmapCompletes, AllThreadsComplete.

Pure data; nothing here runs anything.
"""
from __future__ import annotations

from collections.abc import Sequence

from gen.model import PROPERTIES
from runner.errors import ConfigError

CATEGORIES: dict[str, tuple[str, ...]] = {
    "memory-safety": ("PageTableSafety", "NoVmaUseAfterFree", "RwsemExclusive", "TypeOK"),
    "semantics": ("MunmapAtomic", "NoThirdState", "NoLostWrite", "RangeUnmapped"),
    "latency": ("WriteHoldBound",),
    "liveness": ("DeadlockFree", "MunmapCompletes", "AllThreadsComplete"),
}
CATEGORY_TITLES = {
    "memory-safety": "memory safety",
    "semantics": "semantics",
    "latency": "latency",
    "liveness": "liveness",
}
CATEGORY_OF = {p: c for c, props in CATEGORIES.items() for p in props}
assert sorted(CATEGORY_OF) == sorted(PROPERTIES), "every property in exactly one category"


def category(prop: str) -> str:
    """The category of a property (memory-safety, semantics, latency, liveness)."""
    return CATEGORY_OF[prop]


def by_category(props: Sequence[str]) -> list[tuple[str, list[str]]]:
    """(category, its properties among `props`, in report order) for the non-empty ones."""
    out = []
    for c, members in CATEGORIES.items():
        got = [p for p in PROPERTIES if p in members and p in props]
        if got:
            out.append((c, got))
    return out


def select(words: Sequence[str] | None, option: str = "--properties") -> tuple[str, ...]:
    """The properties named by `words` (property names or category names, any mix; a
    comma-separated word counts as several), in report order; every property for None or
    an empty list.  An unknown word is a ConfigError naming the known ones."""
    if not words:
        return PROPERTIES
    chosen: set[str] = set()
    for word in (w.strip() for item in words for w in item.split(",")):
        if not word:
            continue
        if word in CATEGORIES:
            chosen |= set(CATEGORIES[word])
        elif word in PROPERTIES:
            chosen.add(word)
        else:
            raise ConfigError(f"{option}: unknown property or category {word!r} (categories: "
                              f"{', '.join(CATEGORIES)}; properties: {', '.join(PROPERTIES)})")
    if not chosen:
        raise ConfigError(f"{option}: name at least one property or category")
    return tuple(p for p in PROPERTIES if p in chosen)
