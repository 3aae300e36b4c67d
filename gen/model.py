"""The model: what one scenario of one munmap protocol contains.

A `[[model]]` table is validated here (`parse_model`) into frozen dataclasses; a model
file of them, or a matrix file pairing protocols with scenarios (gen/scenarios.py), is
read by gen/load.py.  Protocols are templates, found by gen/protocols.py; a model names
one and may set the options it declares.  Its threads are of the actors found with them
(gen/actors.py), each validated against the keys its actor declares.  Nothing here knows
about TLA+, Java or TLC.  Every problem is reported as a one-line
`ConfigError` naming the file, the model and the key; a file with any problem yields
no models at all.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from gen.actors import Actor, Actors, Thread, check_layout, check_move, parse_thread
from gen.protocols import OptionValue, Protocol, Protocols, discover, unknown_protocol
from gen.validate import (  # noqa: F401  (re-exported: the names callers import from here)
    MAX_NAME_BYTES,
    MAX_NESTING,
    MAX_PAGES,
    MAX_THREADS,
    MODEL_KEYS,
    Where,
    choice,
    integer,
    page_range,
    read_toml,
    unknown,
)


class Flag(str, Enum):
    LOCKED = "locked"
    HUGETLB = "hugetlb"
    PFNMAP = "pfnmap"
    UPROBE = "uprobe"
    GROWSDOWN = "growsdown"
    GROWSUP = "growsup"
    PROT_NONE = "prot_none"  # mmap(PROT_NONE): every access is SIGSEGV (access_error)
    SHARED_FILE = "shared_file"  # MAP_SHARED of a file: page cache content; SIGBUS past `eof`


class Rwsem(str, Enum):
    # The 4.x rwsem-xadd: a FIFO wait queue; a queued writer blocks later readers.
    WRITER_PREFERRING = "writer-preferring"
    # Readers get in whenever no writer holds it: no 4.x kernel's lock (a what-if).
    HYPOTHETICAL_READER_PREFERRING = "hypothetical-reader-preferring"


RWSEM_RENAMED = {"reader-preferring": Rwsem.HYPOTHETICAL_READER_PREFERRING}


class Mutation(str, Enum):
    """Deliberately broken variants of the shared mm model: the negative controls that
    show each property can fail."""

    NONE = "none"
    FORGET_ZAP = "forget_zap"
    DOWNGRADE_KEEPS_WRITER = "downgrade_keeps_writer"
    SKIP_UNLOCK = "skip_unlock"
    MMAP_NO_UNMAP = "mmap_no_unmap"
    READ_IGNORES_WRITER = "read_ignores_writer"
    NO_TABLE_SYNC = "no_table_sync"
    UNLINK_AFTER_FREE = "unlink_after_free"
    MAPS_NO_VMA_LOCK = "maps_no_vma_lock"
    MMAP_FIXED_NULL_WINDOW = "mmap_fixed_null_window"


MUTATION_DESCRIPTIONS = {
    Mutation.NONE: "the protocol as written",
    Mutation.FORGET_ZAP: "munmap's zap loops stop one page short of the range's end",
    Mutation.DOWNGRADE_KEEPS_WRITER: "downgrade_write takes the read lock but keeps the write lock",
    Mutation.SKIP_UNLOCK: "munmap never releases mmap_sem (its up_write / up_read are no-ops)",
    Mutation.MMAP_NO_UNMAP: "mmap(MAP_FIXED) inserts its VMA without unmapping what is there",
    Mutation.READ_IGNORES_WRITER: "a page fault's down_read fast path ignores a writer holding "
                                  "mmap_sem (it only checks the wait queue)",
    Mutation.NO_TABLE_SYNC: "page tables go back to the allocator at free_pgd_range: no IPI waits "
                            "for IRQs-off walkers and no RCU grace period (a broadcast TLB flush, "
                            "as x86 INVLPGB or arm64 TLBI, without MMU_GATHER_RCU_TABLE_FREE)",
    Mutation.UNLINK_AFTER_FREE: "free_pgtables frees the page tables before unlink_anon_vmas "
                                "hides the VMAs from rmap walkers",
    Mutation.MAPS_NO_VMA_LOCK: "the RCU /proc/pid/maps reader prints the VMA its RCU walk found "
                               "without vma_start_read (no per-VMA reference)",
    Mutation.MMAP_FIXED_NULL_WINDOW: "mainline's mmap(MAP_FIXED) takes the old VMAs out of the "
                                     "tree (a NULL store) before it stores the new one, as "
                                     "before f8d112a4e657 (6.12)",
}


# The properties, in report order; the names are the contract of the design notes.
INVARIANTS = (
    "TypeOK",
    "RwsemExclusive",
    "NoThirdState",
    "NoLostWrite",
    "PageTableSafety",
    "MunmapAtomic",
    "WriteHoldBound",
    "RangeUnmapped",
    "NoVmaUseAfterFree",
)
DEADLOCK = "DeadlockFree"
LIVENESS = ("MunmapCompletes", "AllThreadsComplete")
PROPERTIES = INVARIANTS + (DEADLOCK,) + LIVENESS

PROPERTY_DESCRIPTIONS = {
    "TypeOK": "every variable has its type; VMAs never overlap",
    "RwsemExclusive": "a writer excludes every reader and every other writer; only it downgrades",
    "NoThirdState": "a read in the range, through the mapping that held data, returns that data "
                    "or SIGSEGV, never a zero page or SIGBUS",
    "NoLostWrite": "data of a VMA that survives the munmap is never zapped",
    "PageTableSafety": "no pte in a freed page table; no fault uses a freed page table",
    "MunmapAtomic": "munmap takes effect at one instant for every observer and every mapping",
    "WriteHoldBound": "munmap does at most write_hold_bound per-page units of work (present "
                      "ptes zapped, pages munlocked) under down_write",
    "RangeUnmapped": "when munmap returns, nothing its range held at the call is still mapped",
    "NoVmaUseAfterFree": "no thread uses a VMA after remove_vma freed it (vm_area_free), nor an "
                         "object freed with it: the mm_struct of another process that reused "
                         "its slot, a maple-tree node RCU freed (maple_nodes)",
    "DeadlockFree": "TLC's deadlock check (all threads finished is not a deadlock)",
    "MunmapCompletes": "every munmap eventually returns (weak fairness of every thread)",
    "AllThreadsComplete": "every thread that does not repeat forever eventually finishes",
}

VERDICTS = ("holds", "violated")


@dataclass(frozen=True)
class Vma:
    start: int
    end: int
    flags: tuple[Flag, ...] = ()
    # the pages faulted in (holding the original content) when the model starts: every page
    # (True), none (False) or the listed ones
    populated: bool | tuple[int, ...] = True
    # shared_file only: the first page past the file's end (a fault there is SIGBUS);
    # None: the file covers the whole VMA
    eof: int | None = None

    def pages_past_eof(self) -> set[int]:
        return set(range(self.eof, self.end)) if self.eof is not None else set()

    def pages_populated(self) -> set[int]:
        if self.populated is True:
            return set(range(self.start, self.end))
        return set() if self.populated is False else set(self.populated)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start": self.start, "end": self.end,
                             "flags": [f.value for f in self.flags]}
        if self.populated is not True:
            d["populated"] = (self.populated if isinstance(self.populated, bool)
                              else list(self.populated))
        if self.eof is not None:
            d["eof"] = self.eof
        return d


@dataclass(frozen=True)
class Model:
    name: str
    protocol: str  # the protocol's name
    pages: int
    ptes_per_table: int
    munmap: tuple[int, int]
    vmas: tuple[Vma, ...]
    definition: Protocol  # what the protocol's template declares (gen/protocols.py)
    threads: tuple[Thread, ...] = ()
    section_pages: int = 1
    threshold_pages: int = 0
    write_hold_bound: int = 0
    rwsem: Rwsem = Rwsem.WRITER_PREFERRING
    stack_guard_gap: int = 0
    mutation: Mutation = Mutation.NONE
    maple_nodes: bool = False  # maple-tree nodes as objects (6.1+: StackRot)
    tlb: bool = False  # per-CPU walk caches and mmu_gather (7a30df49f63a)
    expect: dict[str, str] = field(default_factory=dict)
    description: str = ""
    source: str = ""  # the file it came from
    options: dict[str, OptionValue] = field(default_factory=dict)  # every declared option
    # every actor known when it was validated (those of its threads among them), in process order
    actors: Actors | None = field(default=None, compare=False, repr=False)

    def actor(self, kind: str) -> Actor:
        known = self.actors if self.actors is not None else _builtin_actors()
        return known[kind]

    def expected(self, prop: str) -> str:
        return self.expect.get(prop, "holds")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "protocol": self.protocol,
            "pages": self.pages,
            "ptes_per_table": self.ptes_per_table,
            "munmap": {"start": self.munmap[0], "end": self.munmap[1]},
            "vmas": [v.to_dict() for v in self.vmas],
            "threads": [t.to_dict() for t in self.threads],
            "section_pages": self.section_pages,
            "threshold_pages": self.threshold_pages,
            "write_hold_bound": self.write_hold_bound,
            "rwsem": self.rwsem.value,
            "stack_guard_gap": self.stack_guard_gap,
            "mutation": self.mutation.value,
            **({"maple_nodes": True} if self.maple_nodes else {}),
            **({"tlb": True} if self.tlb else {}),
            "expect": dict(self.expect),
            "description": self.description,
            **self.options,
            "source": self.source,
            "protocol_definition": self.definition.to_dict(),
            **({"actor_definitions": [a.to_dict() for a in self._own_actors()]}
               if self._own_actors() else {}),
        }

    def _own_actors(self) -> list[Actor]:
        """The actors of its threads that are not built in (stored with a result)."""
        out: dict[str, Actor] = {}
        for t in self.threads:
            if t.actor is not None and not t.actor.builtin:
                out[t.kind] = t.actor
        return list(out.values())


def _builtin_actors() -> Actors:
    from gen.actors import builtin

    return builtin()


# ---------------------------------------------------------------- validation

# The names of gen/validate.py, as this module has always called them.
_Where, _choice, _int, _unknown, _range = Where, choice, integer, unknown, page_range


def _vma(where: Where, key: str, table: Any, pages: int) -> Vma:
    if not isinstance(table, dict):
        raise where.error(key, "must be a table { start, end, flags }")
    unknown(where, key + ".", table, {"start", "end", "flags", "populated", "eof"})
    start, end = page_range(where, key, {k: table.get(k) for k in ("start", "end")
                                         if k in table}, pages)
    flags = table.get("flags", [])
    if not isinstance(flags, list):
        raise where.error(key + ".flags", "must be a list")
    parsed = tuple(choice(where, key + ".flags", f, Flag) for f in flags)
    if len(set(parsed)) != len(parsed):
        raise where.error(key + ".flags", "lists a flag twice")
    if Flag.GROWSDOWN in parsed and Flag.GROWSUP in parsed:
        raise where.error(key + ".flags", "a VMA cannot be both growsdown and growsup")
    raw = table.get("populated", True)
    populated: bool | tuple[int, ...]
    if isinstance(raw, bool):
        populated = raw
    elif isinstance(raw, list) and all(isinstance(q, int) and not isinstance(q, bool)
                                       for q in raw):
        if any(not start <= q < end for q in raw):
            raise where.error(key + ".populated", f"lists a page outside [{start}, {end})")
        populated = tuple(sorted(set(raw)))
    else:
        raise where.error(key + ".populated", "must be true, false or a list of its pages")
    if Flag.PROT_NONE in parsed and populated is not False:
        raise where.error(key + ".populated", "a prot_none VMA cannot be populated (set "
                          "populated = false: nothing can fault its pages in)")
    eof = None
    if "eof" in table:
        if Flag.SHARED_FILE not in parsed:
            raise where.error(key + ".eof", "only a shared_file VMA has an end of file")
        eof = integer(where, key + ".eof", table["eof"], start, end)
        if (populated is True and eof < end) or (
                isinstance(populated, tuple) and any(q >= eof for q in populated)):
            raise where.error(key + ".populated", f"pages from eof ({eof}) on are past the end "
                              "of the file: they cannot be populated")
    if len({Flag.SHARED_FILE, Flag.PROT_NONE, Flag.UPROBE, Flag.PFNMAP, Flag.HUGETLB}
           & set(parsed)) > 1:
        raise where.error(key + ".flags", "at most one of shared_file, prot_none, uprobe, "
                          "pfnmap, hugetlb")
    return Vma(start, end, tuple(sorted(parsed, key=lambda f: f.value)), populated, eof)


def _option_values(where: Where, table: dict[str, Any], protocol: Protocol) -> dict[str, Any]:
    """The protocol's options: the model's value where it sets one, else the default."""
    out: dict[str, Any] = {}
    for o in protocol.options:
        value = table.get(o.name, o.default)
        if value not in o.values or type(value) is not type(o.default):
            shown = " | ".join(repr(v) if isinstance(v, str) else str(v) for v in o.values)
            raise where.error(o.name, f"{value!r} is not a value of {protocol.name}'s option "
                                      f"{o.name} ({shown})")
        out[o.name] = value
    return out


def parse_model(table: Any, path: str, index: int, protocols: Protocols | None = None,
                key_paths: dict[str, str] | None = None) -> Model:
    """Validate one `[[model]]` table; `protocols` are the ones it may name (default: those
    discover() finds)."""
    if not isinstance(table, dict):
        raise _Where(path).error(f"model[{index}]", "must be a table")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _Where(path).error(f"model[{index}].name", "missing or empty")
    if not all(c.isalnum() or c in "-_" for c in name):
        raise _Where(path).error(f"model[{index}].name",
                                 f"{name!r}: use letters, digits, '-' and '_' only")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise _Where(path).error(f"model[{index}].name", f"{name[:20]!r}...: longer than "
                                 f"{MAX_NAME_BYTES} bytes ({len(name.encode())})")
    where = _Where(path, name, key_paths)
    if "protocol" not in table:
        raise where.error("protocol", "missing")
    known = protocols if protocols is not None else discover()
    if not isinstance(table["protocol"], str) or table["protocol"] not in known:
        raise where.error("protocol", unknown_protocol(table["protocol"], known))
    protocol = known[table["protocol"]]
    _unknown(where, "", table, MODEL_KEYS | {o.name for o in protocol.options})
    for required in ("pages", "ptes_per_table", "munmap", "vmas"):
        if required not in table:
            raise where.error(required, "missing")
    pages = _int(where, "pages", table["pages"], 1, MAX_PAGES)
    ptes = _int(where, "ptes_per_table", table["ptes_per_table"], 1, pages)
    munmap = _range(where, "munmap", table["munmap"], pages)

    if not isinstance(table["vmas"], list):
        raise where.error("vmas", "must be a list of tables")
    vmas = tuple(_vma(where, f"vmas[{i}]", v, pages) for i, v in enumerate(table["vmas"]))
    ordered = sorted(vmas, key=lambda v: v.start)
    for a, b in itertools.pairwise(ordered):
        if b.start < a.end:
            raise where.error("vmas", f"[{a.start}, {a.end}) and [{b.start}, {b.end}) overlap")

    threads_raw = table.get("threads", [])
    if not isinstance(threads_raw, list):
        raise where.error("threads", "must be a list of tables")
    actors = known.actors
    threads = tuple(parse_thread(where, f"threads[{i}]", t, pages, actors)
                    for i, t in enumerate(threads_raw))
    for i, t in enumerate(threads):
        check_layout(where, f"threads[{i}]", t, vmas)
    unmapped = [munmap] + [(t.get(t.actor.protocol_range[0]), t.get(t.actor.protocol_range[1]))
                           for t in threads if t.actor and t.actor.runs_protocol(t)]
    for i, t in enumerate(threads):
        check_move(where, f"threads[{i}]", t, vmas, unmapped, pages)
    if 1 + sum(t.count for t in threads) > MAX_THREADS:
        raise where.error("threads", f"more than {MAX_THREADS} threads in all")

    section_pages = _int(where, "section_pages", table.get("section_pages", 1), 1, pages)
    threshold = _int(where, "threshold_pages", table.get("threshold_pages", 0), 0, pages)
    # per-page work: a pte zapped and a page munlocked, each at most once a page
    bound = _int(where, "write_hold_bound", table.get("write_hold_bound", 0), 0, 2 * pages)
    rwsem_raw = table.get("rwsem", Rwsem.WRITER_PREFERRING.value)
    if isinstance(rwsem_raw, str) and rwsem_raw in RWSEM_RENAMED:  # [] is not hashable
        raise where.error("rwsem", f"{rwsem_raw!r} is now {RWSEM_RENAMED[rwsem_raw].value!r} "
                                   "(no 4.x rw_semaphore behaves so; \"writer-preferring\" is "
                                   "the 4.x rwsem-xadd)")
    rwsem = _choice(where, "rwsem", rwsem_raw, Rwsem)
    gap = _int(where, "stack_guard_gap", table.get("stack_guard_gap", 0), 0, pages)
    mutation = _choice(where, "mutation", table.get("mutation", Mutation.NONE.value), Mutation)
    flags_on = {}
    for key in ("maple_nodes", "tlb"):
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise where.error(key, f"must be true or false, not {value!r}")
        flags_on[key] = value
    description = table.get("description", "")
    if not isinstance(description, str):
        raise where.error("description", "must be a string")

    expect_raw = table.get("expect", {})
    if not isinstance(expect_raw, dict):
        raise where.error("expect", "must be a table of property = \"holds\" | \"violated\"")
    expect: dict[str, str] = {}
    for prop, verdict in expect_raw.items():
        if prop not in PROPERTIES:
            raise where.error(f"expect.{prop}",
                              f"unknown property (one of: {', '.join(PROPERTIES)})")
        if verdict not in VERDICTS:
            raise where.error(f"expect.{prop}", f"must be \"holds\" or \"violated\", not {verdict!r}")
        expect[prop] = verdict
    return Model(
        name=name, protocol=protocol.name, pages=pages, ptes_per_table=ptes, munmap=munmap,
        vmas=vmas, definition=protocol, threads=threads, section_pages=section_pages,
        threshold_pages=threshold, write_hold_bound=bound, rwsem=rwsem, stack_guard_gap=gap,
        mutation=mutation, maple_nodes=flags_on["maple_nodes"], tlb=flags_on["tlb"],
        expect=expect, description=description, source=path,
        options=_option_values(where, table, protocol), actors=actors,
    )


def parse_models(data: dict[str, Any], path: str,
                 protocols: Protocols | None = None) -> list[Model]:
    _unknown(_Where(path), "", data, {"model"})
    tables = data.get("model")
    if not isinstance(tables, list) or not tables:
        raise _Where(path).error("model", "no [[model]] tables in the file")
    protocols = protocols if protocols is not None else discover()
    models = [parse_model(t, path, i, protocols) for i, t in enumerate(tables)]
    seen: set[str] = set()
    for m in models:
        if m.name in seen:
            raise _Where(path, m.name).error("name", "duplicate model name")
        seen.add(m.name)
    return models


def model_from_dict(d: dict[str, Any], where: str) -> Model:
    """A model stored with a result (Model.to_dict): validated again, against the protocol
    definition stored with it when there is one (the template may have moved or changed
    since), else against the protocols found now."""
    table = {k: v for k, v in d.items()
             if k not in ("source", "protocol_definition", "actor_definitions")}
    if isinstance(table.get("rwsem"), str) and table["rwsem"] in RWSEM_RENAMED:  # old name
        table["rwsem"] = RWSEM_RENAMED[table["rwsem"]].value
    stored = d.get("protocol_definition")
    protocols = None
    if isinstance(stored, dict):
        p = Protocol.from_dict(stored)
        own = [Actor.from_dict(a) for a in d.get("actor_definitions", [])
               if isinstance(a, dict)]
        actors = None
        if own:  # the built-in actors, and the stored ones of its threads
            found = dict(_builtin_actors().found)
            found.update({a.name: a for a in own})
            actors = Actors(dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0]))))
        protocols = Protocols({p.name: p}, (), actor_defs=actors)
    model = parse_model(table, where, 0, protocols)  # errors name the stored file
    source = d.get("source")
    return replace(model, source=source) if isinstance(source, str) else model
