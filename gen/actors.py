"""Actors are template files: the kinds of thread a model may run besides the main munmap.

An actor is one jinja2 template `<name>.actor.j2`, found in the same directories as the
protocols (gen/frontmatter.py: `--protocols DIR`, $MMCHECK_PROTOCOLS, the built-in
specs/templates/).  It starts with its front matter, which declares the keys a thread of
that kind takes in a model's `threads` (besides `kind` and `count`), and is validated
here by one validator for every actor:

    {#---
    name = "follow_pte"
    description = "s390 pci_mmio: under down_read, find_vma(addr), VM_PFNMAP check, walk"
    kernel = "torvalds/linux v5.10 arch/s390/pci/pci_mmio.c __do_sys_s390_pci_mmio_write()"
    summary = "s390 pci_mmio follow_pte at page {{ addr }} ({{ lookup }})"
    order = 50                    # where its process goes in the spec (lower first)
    variables = []                # the PlusCal variables its `variables` macro declares
    [keys.addr]
    type = "page"                 # page | range | enum | bool | int
    [keys.lookup]
    type = "enum"
    values = ["find_vma", "vma_lookup"]
    default = "find_vma"          # no default: the key is required
    ---#}

A key's type: `page` (a page 1..pages; `in_vma = "problem"` refuses a page outside every
VMA; `stack_gap = true` lets `compare --exhaustive` also try the pages a stack VMA can grow
into), `range` (the key named `range`: the thread's `start` and `end`, end exclusive),
`enum` (`values`; `vary = false` keeps `compare --exhaustive` at the default), `bool`,
`int` (`min`, `max`).  `[[refuse]]` tables refuse a layout: `{ key = "addr", flag =
"uprobe", when = { access = "write" }, problem = "..." }`.

The rest of the file is PlusCal written with the mm.j2 macros, as jinja macros the spec
calls when a model has a thread of that kind: `process(g)` (required: one PlusCal process
per thread group `g`), and the state it needs, `definitions(groups)` (operators, before the
algorithm) and `variables(groups)` (its PlusCal variables, each line ending in a comma;
`variables = [...]` in the front matter names them: two actors may not declare the same
one).  `reads = ["freed"]` asks the shared model to keep the set of VMA objects
vm_area_free() freed up to date (it is history only an actor that dereferences a VMA it
cached needs).
`increasing = ["start", "new_end", "end"]` refuses a thread whose values of those keys do
not increase strictly.  An actor whose thread unmaps a range by the protocol's own munmap
path (`munmap`, and mremap's shrink: since 4.20 it calls __do_munmap(downgrade = true))
names that range, `protocol_range = ["new_end", "end"]`, and writes `enter(g)` and
`leave(g)` instead of `process(g)`: the spec runs the protocol's munmap_body between them,
and counts the thread among the munmap threads the properties speak of.
Nothing here renders a spec.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from gen import frontmatter as fm
from gen.validate import MAX_THREADS, Where, integer, page_range, unknown
from runner.errors import ConfigError

SUFFIX = ".actor.j2"
FRONT_KEYS = {"name", "description", "kernel", "summary", "order", "variables", "reads",
              "keys", "refuse", "increasing", "protocol_range", "moves_to"}
READS = ("freed",)  # history the shared model keeps only for an actor that reads it
KEY_FIELDS = {"type", "values", "default", "min", "max", "description", "in_vma",
              "stack_gap", "vary", "optional"}
TYPES = ("page", "range", "enum", "bool", "int")
REFUSE_KEYS = {"key", "flag", "when", "problem"}
COMMON = ("kind", "count")  # every thread's keys
DEFAULT_ORDER = 100
Value = str | int | bool
# What code outside the templates may ask of any thread (None when its actor has no such key).
OPTIONAL_ATTRIBUTES = ("access", "addr", "start", "end", "repeat", "lookup", "lock")


@dataclass(frozen=True)
class Key:
    """A key a thread of the actor takes."""

    name: str
    type: str
    values: tuple[Value, ...] = ()  # enum
    default: Value | None = None  # None: required
    lo: int | None = None  # int: min, max
    hi: int | None = None
    description: str = ""
    in_vma: str = ""  # page: the problem when the page is in no VMA ("": any page)
    stack_gap: bool = False  # page: --exhaustive also tries pages a stack grows into
    vary: bool = True  # enum: --exhaustive tries every value (False: the default only)
    optional: bool = False  # page: a thread may leave it out (then it has no value)

    @property
    def fields(self) -> tuple[str, ...]:
        """The thread table's keys it stands for."""
        return ("start", "end") if self.type == "range" else (self.name,)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "type": self.type}
        for k, v in (("values", list(self.values)), ("default", self.default), ("min", self.lo),
                     ("max", self.hi), ("description", self.description),
                     ("in_vma", self.in_vma), ("stack_gap", self.stack_gap),
                     ("vary", self.vary), ("optional", self.optional)):
            if v not in (None, "", [], False) or (k == "vary" and not v):
                d[k] = v
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Key:
        return cls(str(d["name"]), str(d["type"]), tuple(d.get("values", ())),
                   d.get("default"), d.get("min"), d.get("max"), str(d.get("description", "")),
                   str(d.get("in_vma", "")), bool(d.get("stack_gap", False)),
                   bool(d.get("vary", True)), bool(d.get("optional", False)))


@dataclass(frozen=True)
class Refusal:
    """A layout a thread of the actor may not be checked in: its page `key` in a VMA with
    `flag`, when the thread's keys have the values of `when`."""

    key: str
    flag: str
    when: tuple[tuple[str, Value], ...]
    problem: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "flag": self.flag, "when": dict(self.when),
                "problem": self.problem}


@dataclass(frozen=True)
class Actor:
    """What an actor template declares about itself, and where it lives."""

    name: str
    description: str
    kernel: str
    template: Path
    summary: str  # a jinja expression of the thread's keys: the spec's one-line description
    order: int = DEFAULT_ORDER
    keys: tuple[Key, ...] = ()
    refuse: tuple[Refusal, ...] = ()
    variables: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()  # of READS
    builtin: bool = True
    increasing: tuple[str, ...] = ()  # fields whose values must increase strictly, in order
    # the two fields of the range a thread of it unmaps by the protocol's munmap path (its
    # process is the protocol's munmap_body between its enter(g) and leave(g)); () if none
    protocol_range: tuple[str, ...] = ()
    # an optional page key: a thread that sets it moves [start, protocol_range[0]) to that
    # page and unmaps protocol_range by its own process(g), not the protocol's path
    # (mremap(MREMAP_MAYMOVE | MREMAP_FIXED)); "" if none
    moves_to: str = ""

    def runs_protocol(self, thread: Thread) -> bool:
        """Whether the thread's process is the protocol's munmap path (protocol_range)."""
        return bool(self.protocol_range) and not (self.moves_to
                                                  and thread.get(self.moves_to) is not None)

    @property
    def allowed(self) -> set[str]:
        """The keys of a thread table of this kind."""
        return set(COMMON) | {f for k in self.keys for f in k.fields}

    @property
    def loader_name(self) -> str:
        """The name the spec's template imports it by (gen/render.py): its file's name."""
        return self.template.name

    def key(self, name: str) -> Key | None:
        return next((k for k in self.keys if k.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "kernel": self.kernel,
                "template": str(self.template), "summary": self.summary, "order": self.order,
                "keys": [k.to_dict() for k in self.keys],
                "refuse": [r.to_dict() for r in self.refuse],
                "variables": list(self.variables), "reads": list(self.reads),
                "builtin": self.builtin, "increasing": list(self.increasing),
                "protocol_range": list(self.protocol_range),
                **({"moves_to": self.moves_to} if self.moves_to else {})}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Actor:
        """The definition stored with a result (Actor.to_dict)."""
        return cls(str(d["name"]), str(d["description"]), str(d["kernel"]),
                   Path(d["template"]), str(d["summary"]), int(d.get("order", DEFAULT_ORDER)),
                   tuple(Key.from_dict(k) for k in d.get("keys", [])),
                   tuple(Refusal(str(r["key"]), str(r["flag"]), tuple(r["when"].items()),
                                 str(r["problem"])) for r in d.get("refuse", [])),
                   tuple(d.get("variables", [])), tuple(d.get("reads", [])),
                   bool(d.get("builtin", False)), tuple(d.get("increasing", [])),
                   tuple(d.get("protocol_range", [])), str(d.get("moves_to", "")))


@dataclass(frozen=True)
class Actors(fm.ByName[Actor]):
    """The actors found, by name, in process order; `hidden` are the later same names."""

    found: dict[str, Actor]
    hidden: tuple[Actor, ...] = ()


@dataclass(frozen=True)
class Thread:
    """One `threads` entry: `count` identical threads of the actor `kind`, with the values
    of its keys (in the order the actor declares them)."""

    kind: str
    count: int = 1
    values: tuple[tuple[str, Value], ...] = ()
    actor: Actor | None = field(default=None, compare=False, repr=False)

    def __getattr__(self, name: str) -> Any:
        # only for names that are not fields: a key of the actor
        if name.startswith("__"):
            raise AttributeError(name)
        for k, v in self.values:
            if k == name:
                return v
        if name in OPTIONAL_ATTRIBUTES:
            return None
        raise AttributeError(f"a {self.kind} thread has no key {name!r}")

    def get(self, name: str, default: Any = None) -> Any:
        return next((v for k, v in self.values if k == name), default)

    def summary(self) -> str:
        """What the thread does, in a few words (the actor's `summary`)."""
        text = self.actor.summary if self.actor else _default_summary(
            any(k == "start" for k, _ in self.values))
        return _summary_template(text).render(kind=self.kind, **dict(self.values))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "count": self.count, **dict(self.values)}


def _default_summary(has_range: bool) -> str:
    return "{{ kind }} of [{{ start }}, {{ end }})" if has_range else "{{ kind }}"


@lru_cache(maxsize=64)
def _summary_template(text: str) -> jinja2.Template:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    return env.from_string(text)


# ---------------------------------------------------------------- front matter


def _key(path: Path, name: str, table: Any) -> Key:
    label = f"keys.{name}"
    if not fm.NAME.match(name) or name in COMMON or name in ("start", "end"):
        raise ConfigError(f"{fm.where(path, label)}: key name {name!r} is "
                          + ("reserved (kind, count; start and end are a range's)"
                             if fm.NAME.match(name) else "not a name (letters, digits and '_')"))
    if not isinstance(table, dict):
        raise ConfigError(f"{fm.where(path, label)}: must be a table with a type")
    fm.no_unknown(path, label, table, KEY_FIELDS)
    kind = table.get("type")
    if kind not in TYPES:
        raise ConfigError(f"{fm.where(path, label + '.type')}: {kind!r} is not a key type "
                          f"(one of: {', '.join(TYPES)})")
    if (kind == "range") != (name == "range"):
        raise ConfigError(f"{fm.where(path, label + '.type')}: the range (start, end) is the "
                          f"key named range, of type \"range\"")
    values: tuple[Value, ...] = ()
    if kind == "enum":
        raw = table.get("values")
        if (not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw)
                or len(set(raw)) != len(raw)):
            raise ConfigError(f"{fm.where(path, label + '.values')}: a non-empty list of "
                              f"distinct strings")
        values = tuple(raw)
    elif "values" in table:
        raise ConfigError(f"{fm.where(path, label + '.values')}: only an enum has values")
    lo, hi = table.get("min"), table.get("max")
    if kind == "int":
        if not isinstance(lo, int) or not isinstance(hi, int) or isinstance(lo, bool) \
                or isinstance(hi, bool) or hi < lo:
            raise ConfigError(f"{fm.where(path, label)}: an int key needs integers min <= max")
    elif lo is not None or hi is not None:
        raise ConfigError(f"{fm.where(path, label + '.min')}: only an int key has min and max")
    default = table.get("default")
    if default is not None:
        ok = {"enum": lambda v: v in values, "bool": lambda v: isinstance(v, bool),
              "int": lambda v: (isinstance(v, int) and not isinstance(v, bool)
                                and isinstance(lo, int) and isinstance(hi, int) and lo <= v <= hi),
              }.get(kind, lambda v: False)
        if not ok(default):
            raise ConfigError(f"{fm.where(path, label + '.default')}: {default!r} is not a "
                              + ("value of the key" if kind in ("enum", "bool", "int")
                                 else f"default a {kind} key can have (it is required)"))
    for flag, types in (("in_vma", ("page",)), ("stack_gap", ("page",)), ("vary", ("enum",)),
                        ("optional", ("page",))):
        if flag in table and kind not in types:
            raise ConfigError(f"{fm.where(path, label + '.' + flag)}: only for a "
                              f"{' or '.join(types)} key")
    in_vma = table.get("in_vma", "")
    if not isinstance(in_vma, str):
        raise ConfigError(f"{fm.where(path, label + '.in_vma')}: the problem, one line")
    for flag in ("stack_gap", "vary", "optional"):
        if not isinstance(table.get(flag, True), bool):
            raise ConfigError(f"{fm.where(path, label + '.' + flag)}: true or false")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{fm.where(path, label + '.description')}: one line")
    return Key(name, kind, values, default, lo, hi, description, in_vma,
               bool(table.get("stack_gap", False)), bool(table.get("vary", True)),
               bool(table.get("optional", False)))


def _refusal(path: Path, i: int, table: Any, keys: tuple[Key, ...]) -> Refusal:
    label = f"refuse[{i}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{fm.where(path, label)}: must be a table of key, flag, when, problem")
    fm.no_unknown(path, label, table, REFUSE_KEYS)
    key = next((k for k in keys if k.name == table.get("key") and k.type == "page"), None)
    if key is None:
        raise ConfigError(f"{fm.where(path, label + '.key')}: must name a page key")
    when = table.get("when", {})
    if not isinstance(when, dict) or any(k not in {x.name for x in keys} for k in when):
        raise ConfigError(f"{fm.where(path, label + '.when')}: a table of the actor's keys")
    flag = table.get("flag")
    if not isinstance(flag, str) or not flag:
        raise ConfigError(f"{fm.where(path, label + '.flag')}: a VMA flag")
    return Refusal(key.name, flag, tuple(when.items()),
                   fm.text(path, table, "problem", label + ".problem"))


def parse_actor(path: Path, text: str | None = None, builtin: bool = False) -> Actor:
    """Read one actor template's front matter; a bad one is a one-line ConfigError."""
    text = fm.read(path) if text is None else text
    table = fm.front_matter(text, path, "actor template",
                            "name, description, kernel and keys")
    fm.no_unknown(path, "", table, FRONT_KEYS)
    name = fm.check_name(path, table, SUFFIX, "actor")
    keys_raw = table.get("keys", {})
    if not isinstance(keys_raw, dict):
        raise ConfigError(f"{fm.where(path, 'keys')}: must be a table of [keys.NAME] tables")
    keys = tuple(_key(path, n, t) for n, t in keys_raw.items())
    refuse_raw = table.get("refuse", [])
    if not isinstance(refuse_raw, list):
        raise ConfigError(f"{fm.where(path, 'refuse')}: must be [[refuse]] tables")
    refuse = tuple(_refusal(path, i, t, keys) for i, t in enumerate(refuse_raw))
    order = table.get("order", DEFAULT_ORDER)
    if not isinstance(order, int) or isinstance(order, bool):
        raise ConfigError(f"{fm.where(path, 'order')}: an integer (lower: earlier in the spec)")
    variables = table.get("variables", [])
    if not isinstance(variables, list) or not all(
            isinstance(v, str) and fm.NAME.match(v) for v in variables):
        raise ConfigError(f"{fm.where(path, 'variables')}: a list of the PlusCal variables its "
                          f"variables() macro declares")
    reads = table.get("reads", [])
    if not isinstance(reads, list) or any(r not in READS for r in reads):
        raise ConfigError(f"{fm.where(path, 'reads')}: a list of the shared model's history "
                          f"variables it reads (of: {', '.join(READS)})")
    fields = [f for k in keys for f in k.fields if k.type in ("page", "range", "int")]
    increasing = table.get("increasing", [])
    if increasing != [] and (not isinstance(increasing, list) or len(increasing) < 2
                             or any(f not in fields for f in increasing)):
        raise ConfigError(f"{fm.where(path, 'increasing')}: a list of at least two of its "
                              f"page or int keys ({', '.join(fields)})")
    protocol_range = table.get("protocol_range", [])
    if protocol_range != [] and (not isinstance(protocol_range, list)
                                 or len(protocol_range) != 2
                                 or any(f not in fields for f in protocol_range)):
        raise ConfigError(f"{fm.where(path, 'protocol_range')}: the two keys of the range it "
                          f"unmaps by the protocol's munmap path (of: {', '.join(fields)})")
    moves_to = table.get("moves_to", "")
    if moves_to != "" and (not protocol_range or not any(
            k.name == moves_to and k.type == "page" and k.optional for k in keys)):
        raise ConfigError(f"{fm.where(path, 'moves_to')}: the name of an optional page key "
                          f"(optional = true), for an actor with a protocol_range")
    has_range = any(k.type == "range" for k in keys)
    summary = (fm.text(path, table, "summary") if "summary" in table
               else _default_summary(has_range))
    try:
        _summary_template(summary)
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(f"{fm.where(path, 'summary')}: not a jinja template: {e.message}") \
            from None
    _check_macros(path, text, bool(protocol_range), bool(moves_to))
    return Actor(name, fm.text(path, table, "description"), fm.text(path, table, "kernel"),
                 path, summary, order, keys, refuse, tuple(variables), tuple(reads), builtin,
                 tuple(increasing), tuple(protocol_range), moves_to)


def _check_macros(path: Path, text: str, runs_protocol: bool, moves: bool = False) -> None:
    """The template parses, and has the macros the spec calls: process(g), or for an actor
    that runs the protocol's munmap path (protocol_range) enter(g) and leave(g), and
    process(g) too when it can move instead (moves_to)."""
    from jinja2 import nodes

    try:
        tree = jinja2.Environment().parse(text, filename=str(path))
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(f"{fm.show(path)}:{e.lineno}: not a valid template: {e.message}") \
            from None
    macros = {m.name for m in tree.find_all(nodes.Macro)}
    needed = (("enter", "leave") if runs_protocol else ()) + (
        ("process",) if moves or not runs_protocol else ())
    missing = [m for m in needed if m not in macros]
    if missing:
        raise ConfigError(f"{fm.show(path)}: no {missing[0]}(g) macro (an actor writes its "
                          f"PlusCal process in one: docs/writing-protocols.md, \"Writing an "
                          f"actor\")")


# ---------------------------------------------------------------- discovery


def discover(dirs: Sequence[str | Path] = (), env: str | None = None) -> Actors:
    """Every actor of the search path (gen/frontmatter.py)."""
    search = fm.search_dirs(dirs, env)
    return discover_in(search)


def discover_in(search: tuple[Path, ...]) -> Actors:
    return _discover(search, fm.signature(search))


@lru_cache(maxsize=16)
def _discover(search: tuple[Path, ...], signature: tuple[Any, ...]) -> Actors:
    found: dict[str, Actor] = {}
    hidden: list[Actor] = []
    for d in search:
        builtin = d.resolve() == fm.BUILTIN.resolve()
        for path in sorted(d.glob("*" + SUFFIX)):
            a = parse_actor(path, builtin=builtin)
            if a.name in found:
                hidden.append(a)
            else:
                found[a.name] = a
    owner: dict[str, Actor] = {}
    for a in sorted(found.values(), key=lambda a: not a.builtin):  # blame one's own file
        for v in a.variables:
            if v in owner:
                raise ConfigError(f"{fm.where(a.template, 'variables')}: {v!r} is a variable "
                                  f"of actor {owner[v].name} too ({fm.show(owner[v].template)})")
            owner[v] = a
    ordered = sorted(found.values(), key=lambda a: (a.order, a.name))
    return Actors({a.name: a for a in ordered}, tuple(hidden))


def builtin() -> Actors:
    return discover_in((fm.BUILTIN,))


# ---------------------------------------------------------------- a model's threads


def _enum(where: Where, key: str, value: Any, allowed: tuple[Value, ...]) -> Value:
    if value not in allowed or not isinstance(value, str):
        shown = (" or ".join(map(repr, allowed)) if len(allowed) <= 2
                 else "one of " + ", ".join(map(repr, allowed)))
        raise where.error(key, f"must be {shown}, not {value!r}")
    return value


def parse_thread(where: Where, key: str, table: Any, pages: int, actors: Actors) -> Thread:
    """Validate one `threads` entry against its actor's keys."""
    if not isinstance(table, dict):
        raise where.error(key, "must be a table with a kind")
    if "kind" not in table:
        raise where.error(key + ".kind", "missing")
    kind = table["kind"]
    if not isinstance(kind, str) or kind not in actors:
        raise where.error(key + ".kind", f"unknown value {kind!r} (one of: {actors.names()})")
    actor = actors[kind]
    unknown(where, key + ".", table, actor.allowed)
    count = integer(where, key + ".count", table.get("count", 1), 1, MAX_THREADS)
    values: list[tuple[str, Value]] = []
    for k in actor.keys:
        at = f"{key}.{k.name}"
        if k.type == "range":
            start, end = page_range(where, key, {f: table[f] for f in ("start", "end")
                                                 if f in table}, pages)
            values += [("start", start), ("end", end)]
            continue
        if k.name not in table and k.optional:
            continue
        if k.name not in table and k.default is None and k.type in ("page", "int"):
            raise where.error(at, "missing")
        value = table.get(k.name, k.default)
        if k.type == "page":
            values.append((k.name, integer(where, at, value, 1, pages)))
        elif k.type == "int":
            assert k.lo is not None
            values.append((k.name, integer(where, at, value, k.lo, k.hi)))
        elif k.type == "bool":
            if not isinstance(value, bool):
                raise where.error(at, "must be true or false")
            values.append((k.name, value))
        else:
            values.append((k.name, _enum(where, at, value, k.values)))
    for a, b in zip(actor.increasing, actor.increasing[1:]):
        va, vb = int(dict(values)[a]), int(dict(values)[b])  # page and int keys only
        if not va < vb:
            order = " < ".join(actor.increasing)
            raise where.error(f"{key}.{b}", f"{vb} is not above {a} ({va}): {order}")
    return Thread(kind, count, tuple(values), actor)


def check_layout(where: Where, key: str, thread: Thread, vmas: Sequence[Any]) -> None:
    """The layout checks of the thread's actor: a page that must lie in a VMA, a VMA flag
    its page may not have."""
    actor = thread.actor
    if actor is None:
        return
    for k in actor.keys:
        if k.type == "page" and k.in_vma and thread.get(k.name) is not None:
            page = thread.get(k.name)
            if not any(v.start <= page < v.end for v in vmas):
                raise where.error(f"{key}.{k.name}", k.in_vma)
    for r in actor.refuse:
        if all(thread.get(k) == v for k, v in r.when):
            page = thread.get(r.key)
            if page is not None and any(v.start <= page < v.end and r.flag in {f.value for f in v.flags}
                   for v in vmas):
                raise where.error(f"{key}.{r.key}", r.problem)


def check_move(where: Where, key: str, thread: Thread, vmas: Sequence[Any],
               unmapped: Sequence[tuple[int, int]], pages: int) -> None:
    """A thread that moves (its actor's `moves_to` key set): [start, protocol_range[0])
    goes to [to, to + its length).  The kernel refuses overlapping source and destination
    (mremap_to: -EINVAL) and a source across VMAs (vma_to_resize: -EFAULT); the model does
    not unmap a mapped destination first (mremap_to's do_munmap(new_addr)), nor judge a
    move beside a munmap range: the properties take a SIGSEGV on a page of a munmap
    thread's range for that munmap's doing (SawGone, Own)."""
    actor = thread.actor
    if actor is None or not actor.moves_to or thread.get(actor.moves_to) is None:
        return
    start, end = thread.get("start"), thread.get("end")
    moved_end, to = thread.get(actor.protocol_range[0]), thread.get(actor.moves_to)
    dest_end = to + moved_end - start
    at = f"{key}.{actor.moves_to}"
    if dest_end - 1 > pages:
        raise where.error(at, f"the destination [{to}, {dest_end}) ends above the last page "
                              f"({pages})")
    if to < end and start < dest_end:
        raise where.error(at, f"the destination [{to}, {dest_end}) overlaps the source "
                              f"[{start}, {end}) (mremap_to: -EINVAL)")
    if not any(v.start <= start and end <= v.end for v in vmas):
        raise where.error(f"{key}.start", f"the source [{start}, {end}) is not inside one VMA "
                                          f"(vma_to_resize: -EFAULT)")
    if any(v.start < dest_end and to < v.end for v in vmas):
        raise where.error(at, f"the destination [{to}, {dest_end}) is mapped (unmapping it "
                              f"first, mremap_to's do_munmap, is not modelled)")
    for a, b in unmapped:
        for lo, hi in ((start, end), (to, dest_end)):
            if lo < b and a < hi:
                raise where.error(at, f"[{lo}, {hi}) meets the munmap range [{a}, {b}): a move "
                                      f"beside a munmap of the same pages is not modelled (the "
                                      f"properties would blame munmap for its SIGSEGVs)")


def exhaustive_options(actor: Actor, mapped: set[int], stack_holes: set[int],
                       ranges: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """One thread of the actor with each value of its keys that matters in a layout (for
    `compare --exhaustive`): a page key at every mapped page (and the pages a stack grows
    into, with stack_gap), the range over `ranges`, an enum over its values (or its default
    with vary = false), a bool or an int at its default (or its lowest value); those whose
    `increasing` keys do not increase are left out."""
    axes: list[list[tuple[tuple[str, Value], ...]]] = []
    for k in actor.keys:
        if k.type == "page" and k.optional:
            continue  # left out: the thread without it
        if k.type == "page":
            pages = sorted(mapped | stack_holes) if k.stack_gap else sorted(mapped)
            axes.append([((k.name, p),) for p in pages])
        elif k.type == "range":
            axes.append([(("start", a), ("end", b)) for a, b in ranges])
        elif k.type == "enum" and k.vary:
            axes.append([((k.name, v),) for v in k.values])
        elif k.default is None and k.type == "int":
            assert k.lo is not None
            axes.append([((k.name, k.lo),)])
        elif k.default is None and k.type == "enum":
            axes.append([((k.name, k.values[0]),)])
    out = [{"kind": actor.name, **{n: v for part in combo for n, v in part}}
           for combo in itertools.product(*axes)]
    return [t for t in out if all(int(t[a]) < int(t[b]) for a, b in zip(actor.increasing,
                                                                          actor.increasing[1:]))]


# ---------------------------------------------------------------- mmcheck new --actor


def starting_template(source: Actor, name: str) -> str:
    """The text of a new actor NAME: `source`'s template with its front matter's name,
    description and kernel replaced, and the variables it declares renamed NAME_VAR (two
    actors may not declare the same variable)."""
    import re

    text = source.template.read_text(encoding="utf-8")
    end = text.find(fm.FRONT_CLOSE)
    head, body = text[:end], text[end:]
    renamed = {v: f"{name}_{v}" for v in source.variables}
    for old, new in renamed.items():
        body = re.sub(rf"\b{re.escape(old)}\b", new, body)
    lines, top = [], True
    for line in head.split("\n"):
        key = line.split("=")[0].strip()
        if line.startswith("["):
            top = False
        if top and key == "name":
            line = f'name = "{name}"'
        elif top and key == "description":
            line = f'description = "{source.name}, changed: say how in one line"'
        elif top and key == "kernel":
            line = ('kernel = "the kernel code it models: tree, version, file and function '
                    '(e.g. torvalds/linux v6.12 mm/gup.c gup_fast())"')
        elif top and key == "variables":
            line = "variables = [" + ", ".join(f'"{v}"' for v in renamed.values()) + "]"
        lines.append(line)
    return "\n".join(lines) + body
