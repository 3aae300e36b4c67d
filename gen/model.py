"""The model: what one scenario of one munmap protocol contains.

A model file (TOML) holds `[[model]]` tables; `load_models` reads and validates
them into frozen dataclasses.  Nothing here knows about TLA+, Java or TLC.
Every problem is reported as a one-line `ConfigError` naming the file, the
model and the key; a file with any problem yields no models at all.
"""
from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from runner.errors import ConfigError


class Protocol(str, Enum):
    BASELINE = "baseline"
    SECTIONS = "sections"
    MADVISE_USER = "madvise_user"
    MADVISE_KERNEL = "madvise_kernel"
    VM_DEAD = "vm_dead"
    DETACH_POSTED = "detach_posted"
    DETACH_MERGED = "detach_merged"


PROTOCOL_DESCRIPTIONS = {
    Protocol.BASELINE: "Linux <= 4.19: the whole munmap under down_write",
    Protocol.SECTIONS: "unmap section by section, each a baseline unmap under its own down_write",
    Protocol.MADVISE_USER: "userspace MADV_DONTNEED under down_read, then a baseline munmap",
    Protocol.MADVISE_KERNEL: "as madvise_user, done by the kernel for ranges >= threshold_pages",
    Protocol.VM_DEAD: "RFC v4: mark VM_DEAD, downgrade, zap, then do_munmap under down_write again",
    Protocol.DETACH_POSTED: "Kirill's proposal: detach under down_write, downgrade, zap and free",
    Protocol.DETACH_MERGED: "Linux 4.20 (dd2283f2605e): detach, downgrade_write, unmap_region",
}


class ThreadKind(str, Enum):
    FAULT = "fault"
    MMAP_FIXED = "mmap_fixed"
    MUNMAP = "munmap"
    MADVISE = "madvise"


THREAD_DESCRIPTIONS = {
    ThreadKind.FAULT: "a read or write page fault at addr (repeat = true: forever)",
    ThreadKind.MMAP_FIXED: "mmap(MAP_FIXED) over [start, end) under down_write, then a write fault",
    ThreadKind.MUNMAP: "a second munmap of [start, end) running the protocol under test",
    ThreadKind.MADVISE: "madvise(MADV_DONTNEED) of [start, end) under down_read",
}


class Flag(str, Enum):
    LOCKED = "locked"
    HUGETLB = "hugetlb"
    PFNMAP = "pfnmap"
    UPROBE = "uprobe"
    GROWSDOWN = "growsdown"
    GROWSUP = "growsup"


class Rwsem(str, Enum):
    WRITER_PREFERRING = "writer-preferring"
    READER_PREFERRING = "reader-preferring"


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
)
DEADLOCK = "DeadlockFree"
LIVENESS = ("MunmapCompletes", "AllThreadsComplete")
PROPERTIES = INVARIANTS + (DEADLOCK,) + LIVENESS

PROPERTY_DESCRIPTIONS = {
    "TypeOK": "every variable has its type; VMAs never overlap",
    "RwsemExclusive": "a writer excludes every reader and every other writer; only it downgrades",
    "NoThirdState": "a read fault in the range returns the original content or SIGSEGV, never 0",
    "NoLostWrite": "written data is never zapped while its VMA is in the tree and not dead",
    "PageTableSafety": "no pte in a freed page table; no fault uses a freed page table",
    "MunmapAtomic": "munmap removes only what was in its range at one instant, seen atomically",
    "WriteHoldBound": "munmap zaps at most write_hold_bound present pages under down_write",
    "RangeUnmapped": "when munmap returns, no page of its range holds its original content",
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

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "flags": [f.value for f in self.flags]}


@dataclass(frozen=True)
class Thread:
    kind: ThreadKind
    count: int = 1
    access: str | None = None  # fault only: "read" or "write"
    addr: int | None = None  # fault only
    start: int | None = None  # mmap_fixed, munmap, madvise
    end: int | None = None
    repeat: bool = False  # fault only

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind.value, "count": self.count}
        if self.kind is ThreadKind.FAULT:
            d.update(access=self.access, addr=self.addr, repeat=self.repeat)
        else:
            d.update(start=self.start, end=self.end)
        return d


@dataclass(frozen=True)
class Model:
    name: str
    protocol: Protocol
    pages: int
    ptes_per_table: int
    munmap: tuple[int, int]
    vmas: tuple[Vma, ...]
    threads: tuple[Thread, ...] = ()
    section_pages: int = 1
    threshold_pages: int = 0
    write_hold_bound: int = 0
    rwsem: Rwsem = Rwsem.WRITER_PREFERRING
    expect: dict[str, str] = field(default_factory=dict)
    description: str = ""
    source: str = ""  # the file it came from

    def expected(self, prop: str) -> str:
        return self.expect.get(prop, "holds")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "protocol": self.protocol.value,
            "pages": self.pages,
            "ptes_per_table": self.ptes_per_table,
            "munmap": {"start": self.munmap[0], "end": self.munmap[1]},
            "vmas": [v.to_dict() for v in self.vmas],
            "threads": [t.to_dict() for t in self.threads],
            "section_pages": self.section_pages,
            "threshold_pages": self.threshold_pages,
            "write_hold_bound": self.write_hold_bound,
            "rwsem": self.rwsem.value,
            "expect": dict(self.expect),
            "description": self.description,
            "source": self.source,
        }


# ---------------------------------------------------------------- validation

MODEL_KEYS = {
    "name", "protocol", "pages", "ptes_per_table", "munmap", "vmas", "threads",
    "section_pages", "threshold_pages", "write_hold_bound", "rwsem", "expect", "description",
}
THREAD_KEYS = {
    ThreadKind.FAULT: {"kind", "access", "addr", "count", "repeat"},
    ThreadKind.MMAP_FIXED: {"kind", "start", "end", "count"},
    ThreadKind.MUNMAP: {"kind", "start", "end", "count"},
    ThreadKind.MADVISE: {"kind", "start", "end", "count"},
}
MAX_PAGES = 16
MAX_THREADS = 8
MAX_NAME_BYTES = 64  # a model name is a directory name and a column of every report
MAX_NESTING = 32  # tables and arrays in a TOML file (no model needs more than 4)


class _Where:
    """Builds one-line errors: `FILE: model NAME: KEY: problem`."""

    def __init__(self, path: str, model: str | None = None):
        self.path, self.model = path, model

    def error(self, key: str, problem: str) -> ConfigError:
        where = f"{self.path}: " + (f"model {self.model!r}: " if self.model else "")
        return ConfigError(f"{where}{key}: {problem}")


def _choice(where: _Where, key: str, value: Any, enum: type[Enum]) -> Any:
    try:
        return enum(value)
    except ValueError:
        names = ", ".join(e.value for e in enum)  # type: ignore[attr-defined]
        raise where.error(key, f"unknown value {value!r} (one of: {names})") from None


def _int(where: _Where, key: str, value: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(key, f"must be an integer, not {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise where.error(key, f"{value} is out of range ({bound})")
    return value


def _unknown(where: _Where, key: str, table: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise where.error(key + extra[0] if key else extra[0],
                          f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _range(where: _Where, key: str, table: Any, pages: int) -> tuple[int, int]:
    if not isinstance(table, dict):
        raise where.error(key, "must be a table { start = S, end = E }")
    _unknown(where, key + ".", table, {"start", "end"})
    if "start" not in table or "end" not in table:
        raise where.error(key, "needs both start and end")
    start = _int(where, key + ".start", table["start"], 1, pages)
    end = _int(where, key + ".end", table["end"], 1, pages + 1)
    if end <= start:
        raise where.error(key, f"empty range [{start}, {end})")
    return start, end


def _vma(where: _Where, key: str, table: Any, pages: int) -> Vma:
    if not isinstance(table, dict):
        raise where.error(key, "must be a table { start, end, flags }")
    _unknown(where, key + ".", table, {"start", "end", "flags"})
    start, end = _range(where, key, {k: table.get(k) for k in ("start", "end") if k in table},
                        pages)
    flags = table.get("flags", [])
    if not isinstance(flags, list):
        raise where.error(key + ".flags", "must be a list")
    parsed = tuple(_choice(where, key + ".flags", f, Flag) for f in flags)
    if len(set(parsed)) != len(parsed):
        raise where.error(key + ".flags", "lists a flag twice")
    if Flag.GROWSDOWN in parsed and Flag.GROWSUP in parsed:
        raise where.error(key + ".flags", "a VMA cannot be both growsdown and growsup")
    return Vma(start, end, tuple(sorted(parsed, key=lambda f: f.value)))


def _thread(where: _Where, key: str, table: Any, pages: int) -> Thread:
    if not isinstance(table, dict):
        raise where.error(key, "must be a table with a kind")
    if "kind" not in table:
        raise where.error(key + ".kind", "missing")
    kind = _choice(where, key + ".kind", table["kind"], ThreadKind)
    _unknown(where, key + ".", table, THREAD_KEYS[kind])
    count = _int(where, key + ".count", table.get("count", 1), 1, MAX_THREADS)
    if kind is ThreadKind.FAULT:
        access = table.get("access")
        if access not in ("read", "write"):
            raise where.error(key + ".access", f"must be \"read\" or \"write\", not {access!r}")
        if "addr" not in table:
            raise where.error(key + ".addr", "missing")
        addr = _int(where, key + ".addr", table["addr"], 1, pages)
        repeat = table.get("repeat", False)
        if not isinstance(repeat, bool):
            raise where.error(key + ".repeat", "must be true or false")
        return Thread(kind, count, access=access, addr=addr, repeat=repeat)
    start, end = _range(where, key, {k: table[k] for k in ("start", "end") if k in table}, pages)
    return Thread(kind, count, start=start, end=end)


def parse_model(table: Any, path: str, index: int) -> Model:
    """Validate one `[[model]]` table."""
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
    where = _Where(path, name)
    _unknown(where, "", table, MODEL_KEYS)
    for required in ("protocol", "pages", "ptes_per_table", "munmap", "vmas"):
        if required not in table:
            raise where.error(required, "missing")
    protocol = _choice(where, "protocol", table["protocol"], Protocol)
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
    threads = tuple(_thread(where, f"threads[{i}]", t, pages) for i, t in enumerate(threads_raw))
    if 1 + sum(t.count for t in threads) > MAX_THREADS:
        raise where.error("threads", f"more than {MAX_THREADS} threads in all")

    section_pages = _int(where, "section_pages", table.get("section_pages", 1), 1, pages)
    threshold = _int(where, "threshold_pages", table.get("threshold_pages", 0), 0, pages)
    bound = _int(where, "write_hold_bound", table.get("write_hold_bound", 0), 0, pages)
    rwsem = _choice(where, "rwsem", table.get("rwsem", Rwsem.WRITER_PREFERRING.value), Rwsem)
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
        name=name, protocol=protocol, pages=pages, ptes_per_table=ptes, munmap=munmap,
        vmas=vmas, threads=threads, section_pages=section_pages, threshold_pages=threshold,
        write_hold_bound=bound, rwsem=rwsem, expect=expect, description=description,
        source=path,
    )


def parse_models(data: dict[str, Any], path: str) -> list[Model]:
    _unknown(_Where(path), "", data, {"model"})
    tables = data.get("model")
    if not isinstance(tables, list) or not tables:
        raise _Where(path).error("model", "no [[model]] tables in the file")
    models = [parse_model(t, path, i) for i, t in enumerate(tables)]
    seen: set[str] = set()
    for m in models:
        if m.name in seen:
            raise _Where(path, m.name).error("name", "duplicate model name")
        seen.add(m.name)
    return models


def read_toml(path: str, what: str) -> dict[str, Any]:
    """A TOML file's tables; a missing, unreadable, malformed or deeply nested file is a
    one-line ConfigError."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a {what}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the {what} ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 (byte {e.start}): TOML files are UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply (at most {MAX_NESTING} levels)") from None
    if _depth(data) > MAX_NESTING:
        raise ConfigError(f"{path}: nested too deeply (at most {MAX_NESTING} levels)")
    return data


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest in `value` (iteratively: no recursion to exhaust)."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        v, d = todo.pop()
        deepest = max(deepest, d)
        if d <= MAX_NESTING:
            if isinstance(v, dict):
                todo.extend((x, d + 1) for x in v.values())
            elif isinstance(v, list):
                todo.extend((x, d + 1) for x in v)
    return deepest


def load_models(*paths: str | Path) -> list[Model]:
    """Read and validate model files; names must be unique across all of them."""
    models: list[Model] = []
    seen: dict[str, str] = {}
    for p in paths:
        path = str(p)
        for m in parse_models(read_toml(path, "model file"), path):
            if m.name in seen:
                raise _Where(path, m.name).error("name", f"duplicate model name (also in {seen[m.name]})")
            seen[m.name] = path
            models.append(m)
    return models
