"""Render a validated model into a PlusCal/TLA+ module and its TLC configs.

One strict jinja2 environment per template search path (a protocol's own directory,
then the built-in specs/templates/ with the shared base.tla.j2 and mm.j2: see
gen/protocols.py) and set of actor templates (gen/actors.py: base.tla.j2 imports each
actor a model runs, `NAME.actor.j2`, and calls its macros).  Values are written by gen.tla only.  Every rendered line keeps the
template line that produced it (gen/linemap.py), so that errors found later in the
spec point at what the user wrote.  Nothing here runs Java.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from gen import first_violations
from gen.actors import Actor, Thread
from gen.fairness import BLOCKED_EXACT, FAIR_SPEC, MOVED_EXACT
from gen.frontmatter import BUILTIN
from gen.frontmatter import show as _show
from gen.linemap import LineMarks, Source, read_marks
from gen.model import LIVENESS, MUTATION_DESCRIPTIONS, Model
from gen.template_errors import duplicate_label, jinja_error
from gen.tla import ModelValue, tla
from runner.errors import TemplateError

TEMPLATES = BUILTIN

JINJA_DELIMITERS = ("{{", "}}", "{%", "%}", "{#", "#}")


MUNMAP = "munmap"  # the actor of the main thread: its process body is the protocol's


@dataclass(frozen=True)
class Group:
    """A thread group: `count` identical threads, one PlusCal process."""

    kind: str  # the actor's name
    prefix: str  # label prefix, e.g. "fault1"
    const: str  # the CONSTANT naming the set of its thread ids, e.g. "Fault1"
    members: tuple[str, ...]  # the model values, e.g. ("fault1_1", "fault1_2")
    thread: Thread | None  # None for the main munmap thread
    start: int | None = None
    end: int | None = None
    runs_protocol: bool = False  # its process is the protocol's munmap path over [start, end)

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
        return f"{who}: {self.thread.summary()}"


def thread_groups(model: Model) -> list[Group]:
    """The main munmap thread first, then one group per `threads` entry."""
    a, b = model.munmap
    groups = [Group(MUNMAP, "munmap0", "Munmap0", ("munmap0",), None, a, b, True)]
    for i, t in enumerate(model.threads, start=1):
        prefix = f"{t.kind}{i}"
        const = "".join(w.capitalize() for w in t.kind.split("_")) + str(i)
        members = (prefix,) if t.count == 1 else tuple(f"{prefix}_{j}" for j in range(1, t.count + 1))
        actor = t.actor or model.actor(t.kind)
        if actor.runs_protocol(t):
            lo, hi = (t.get(f) for f in actor.protocol_range)
            groups.append(Group(t.kind, prefix, const, members, t, lo, hi, True))
        else:
            groups.append(Group(t.kind, prefix, const, members, t, t.start, t.end))
    return groups


def _vma_at(vmas: list[Any]) -> Any:
    """vma_at(page): the initial VMA (its id, 1.. in address order) that covers the page,
    0 when none does."""
    def at(page: int) -> int:
        return next((i for i, v in enumerate(vmas, start=1) if v.start <= page < v.end), 0)
    return at


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


def _fail(message: str) -> str:
    """Called by a template on input it cannot render: a one-line error naming the model."""
    raise jinja2.TemplateRuntimeError(message)


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates shared by every environment in this process: a model with
    another set of actors gets an environment of its own (its loader differs), but
    base.tla.j2, mm.j2 and the protocol compile once, not once per environment.  Jinja
    keys an entry by the template's name and file and checks its source's checksum."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


# The line marks' extension changes the compiled code: one store with it, one without.
_COMPILED = {False: _CompiledTemplates(), True: _CompiledTemplates()}


@lru_cache(maxsize=32)
def _environment(search_path: tuple[Path, ...], actors: tuple[tuple[str, Path], ...] = (),
                 marks: bool = False) -> jinja2.Environment:
    """The strict environment for templates found along `search_path`, and the actor
    templates (`NAME.actor.j2`, from the file discovery found, before any other file of
    that name); with `marks`, the same with the line marks of gen/linemap.py."""
    files = {path.name: path for _, path in actors}

    def actor(name: str) -> tuple[str, str, Any] | None:
        if name not in files:
            return None
        path = files[name]
        text = path.read_text(encoding="utf-8")
        mtime = path.stat().st_mtime_ns
        return text, str(path), lambda: path.is_file() and path.stat().st_mtime_ns == mtime

    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FunctionLoader(actor),
                                    jinja2.FileSystemLoader([str(p) for p in search_path])]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        extensions=[LineMarks] if marks else [],
        bytecode_cache=_COMPILED[marks],
    )
    env.globals.update(tla=tla, range_case=_range_case, fail=_fail)
    return env


@dataclass(frozen=True)
class Rendered:
    """A model rendered: the PlusCal module (untranslated) and what the configs need."""

    model: Model
    module: str
    text: str
    groups: tuple[Group, ...] = field(default=())
    sources: tuple[Source | None, ...] = ()  # per line of text: the template line (or None)

    @property
    def filename(self) -> str:
        return self.module + ".tla"

    @property
    def symmetric(self) -> bool:
        return any(len(g.members) > 1 for g in self.groups)

    def source(self, line: int) -> Source | None:
        """The template line that produced line `line` (1-based) of the text."""
        return self.sources[line - 1] if 0 < line <= len(self.sources) else None

    def place(self, src: Source) -> str:
        """A source as the user opens it: each template by its path, e.g.
        `specs/templates/mm.j2:42 (from /home/me/protocols/mine.tla.j2:11)`."""
        def at(name: str, line: int) -> str:
            path = _template_file(self.model, name)
            return f"{_show(path) if path else name}:{line}"

        return at(src.template, src.line) + "".join(
            f" (from {at(t, n)})" for t, n in reversed(src.via))

    def labels(self) -> dict[str, tuple[int, Source | None]]:
        """Each PlusCal label: its line in the text (the same in the translated spec, above
        the translation) and the template line that wrote it (the first, if written twice)."""
        out: dict[str, tuple[int, Source | None]] = {}
        for label, i in self._label_lines():
            out.setdefault(label, (i, self.source(i)))
        return out

    def label_lines(self) -> list[tuple[str, Source | None]]:
        """Every label line of the algorithm in order (a label written twice: twice), with
        the template line that wrote it."""
        return [(label, self.source(i)) for label, i in self._label_lines()]

    def _label_lines(self) -> list[tuple[str, int]]:
        out = []
        inside = False
        for i, line in enumerate(self.text.split("\n"), start=1):
            if "--algorithm" in line or "--fair algorithm" in line:
                inside = True
            elif line.startswith("end algorithm"):
                break
            head, colon, rest = line.partition(":")
            if inside and colon and head.isidentifier() and not rest.startswith("="):
                out.append((head, i))
        return out

    def sources_json(self) -> str:
        """The labels' places and the templates' text, for the report's links from a race
        diagram row to the template line (and the spec line) of its step."""
        names = sorted({s.template for s in self.sources if s is not None}
                       | {t for s in self.sources if s is not None for t, _ in s.via})
        files = {}
        for name in names:
            path = _template_file(self.model, name)
            text = path.read_text(encoding="utf-8") if path else ""
            files[name] = {"path": str(path) if path else None, "text": text,
                           "sha256": hashlib.sha256(text.encode()).hexdigest()}
        return json.dumps({
            "protocol": self.model.protocol,
            "labels": {label: {"spec_line": n, "source": src.to_dict() if src else None}
                       for label, (n, src) in self.labels().items()},
            "templates": files,
        }, indent=1) + "\n"


def _template_file(model: Model, name: str) -> Path | None:
    for a in (model.actors or {}).values():
        if a.template.name == name:
            return a.template
    for d in model.definition.search_path:
        if (d / name).is_file():
            return d / name
    return None


def _used_actors(model: Model) -> list[Actor]:
    """The actors of the model's threads and the main munmap's, in process order."""
    used = {MUNMAP: model.actor(MUNMAP)}
    used.update({t.kind: t.actor or model.actor(t.kind) for t in model.threads})
    return sorted(used.values(), key=lambda a: (a.order, a.name))


def render(model: Model) -> Rendered:
    groups = thread_groups(model)
    actors = _used_actors(model)
    names = list(model.actors or {}) + [a.name for a in actors]
    by_kind = {k: [g for g in groups if g.kind == k] for k in names}
    vmas = sorted(model.vmas, key=lambda v: v.start)
    init_vmas = "{" + ", ".join(
        tla({"id": i, "start": v.start, "end": v.end, "flags": {f.value for f in v.flags},
             "origin": i}) for i, v in enumerate(vmas, start=1)) + "}"
    sym = [f"Permutations({g.const})" for g in groups if len(g.members) > 1]
    proto = model.definition
    context: dict[str, Any] = {
        # settings the shared model reads that a protocol may declare as options (per_vma,
        # mainline); a protocol that does not gets the kernel's own behaviour
        "ablation": "none", "other_mm": False, "vma_read_mm_check": "early",
        **model.options,
        **{f"{k}_groups": v for k, v in by_kind.items()},
        "model": model,
        "module": model.protocol,
        "protocol": model.protocol,
        "protocol_description": proto.description,
        "kernel_ref": proto.kernel,
        "fault_path": proto.fault_path,
        "options": dict(model.options),
        "groups": groups,
        "actors": actors,
        "repeat_consts": [g.const for g in groups if g.repeat],
        "init_vmas": init_vmas,
        "init_vmas_seq": "{" + ", ".join(
            tla({"id": i, "start": v.start, "end": v.end, "flags": {f.value for f in v.flags},
                 "origin": i, "seq": -1}) for i, v in enumerate(vmas, start=1)) + "}",
        "n_init": len(vmas),
        "past_eof": tla({p for v in vmas for p in v.pages_past_eof()}),
        "unpopulated": tla({p for v in vmas for p in range(v.start, v.end)
                            if p not in v.pages_populated()}),
        "vma_locks": False,  # a protocol template sets it (per-VMA locks, 6.4)
        "split_order": "4.20",  # a protocol template sets "6.4": the end split's new object
        "vma_refcnt": False,  # mainline sets it (vm_refcnt, typesafe VMA slots, 6.15+)
        "nested_flush": "fullmm",  # detach_merged sets "reset_range" (4.20-5.1, before 7a30df49f63a)
        # the VMA objects vm_area_free() freed are tracked when an actor reads them
        "track_free": any("freed" in a.reads for a in actors if by_kind[a.name]),
        "vma_at": _vma_at(vmas),
        "own_case": _own_case([g for g in groups if g.runs_protocol]),
        # the groups that run the protocol's munmap path: the munmap threads of the properties
        "protocol_groups": [g for g in groups if g.runs_protocol],
        "mutation_description": MUTATION_DESCRIPTIONS[model.mutation],
        "symmetry": " \\cup ".join(sym) if sym else "{}",
        "thread_summary": "; ".join(g.describe for g in groups),
    }
    files = tuple((a.name, a.template) for a in actors)
    name = proto.template.name
    try:
        text = _environment(proto.search_path, files).get_template(name).render(context)
        marked = _environment(proto.search_path, files, True).get_template(name).render(context)
    except jinja2.TemplateError as e:
        raise jinja_error(e, proto.template, proto.search_path, _suffix(model)) from None
    left = [d for d in JINJA_DELIMITERS if d in text]
    if left:
        line = next(i for i, t in enumerate(text.split("\n"), 1) if left[0] in t)
        raise TemplateError(f"{_show(proto.template)}: the spec rendered for model {model.name} "
                            f"still holds jinja delimiter {left[0]!r} at its line {line}")
    plain, sources = read_marks(marked)
    if plain != text:  # a template that computes with its own output: no line map
        sources = ()
    rendered = Rendered(model, model.protocol, text, tuple(groups), sources)
    twice = duplicate_label(rendered.label_lines(), lambda n: _template_file(model, n),
                            proto.template, _suffix(model))
    if twice is not None:
        raise twice
    return rendered


def _suffix(model: Model) -> str:
    return f"(protocol {model.protocol}, model {model.name})"


def _constants(rendered: Rendered) -> list[str]:
    return ["CONSTANTS"] + [
        f"  {g.const} = {tla({ModelValue(m) for m in g.members})}" for g in rendered.groups
    ]


# What a safety run checks besides the invariants to decide termination (the liveness
# properties) without fairness, on the symmetry-reduced graph: docs/termination.md.
TERMINATION_INVARIANT = "ProgressE"
TERMINATION_PROPERTY = "NoCycle"


def terminates_decidable(rendered: Rendered) -> bool:
    """Whether the liveness properties can be decided by termination (NoCycle and
    ProgressE in a safety run): only when no thread repeats forever."""
    return not any(g.repeat for g in rendered.groups)


def tlc_cfg(rendered: Rendered, invariants: list[str] | tuple[str, ...] = (),
            properties: list[str] | tuple[str, ...] = (), *, report_write_hold: bool = True,
            symmetry: bool = True, termination: bool = False, fair: bool = False,
            one_run: bool = False) -> str:
    """A TLC config checking the given invariants and temporal properties at once.
    Symmetry (for identical threads) only without temporal properties: it is unsound
    for liveness under fairness.  `termination` (no `properties`): SafetySpec, with
    ProgressE and NoCycle besides the invariants, under symmetry (docs/termination.md).
    `fair` (temporal properties only): SPECIFICATION FairSpec, the cheap fairness of
    gen/fairness.py, once fairness_cfg's run showed it is Spec's.  `one_run`: the
    invariants (ProgressE and WriteHoldReport too, as the other arguments say) are checked
    by the module's MmcheckInvariants, appended for them (gen/first_violations.py), run
    with -continue."""
    if termination and properties:
        raise ValueError("termination is checked instead of the liveness properties")
    if fair and (invariants or not properties or termination):
        raise ValueError("FairSpec is for liveness runs only")
    kind = "safety" if not properties else ("liveness" if not invariants else "safety+liveness")
    if termination:
        kind = "safety+termination"
    if fair:
        kind = "liveness (cheap fairness)"
    if one_run:
        kind += ", every invariant in one run"
    spec = "SafetySpec" if termination else FAIR_SPEC if fair else "Spec"
    lines = [f"\\* {kind}: generated by mmcheck", f"SPECIFICATION {spec}", *_constants(rendered)]
    invs = [first_violations.NAME] if one_run else list(invariants) + (
        [TERMINATION_INVARIANT] if termination else []) + (
        ["WriteHoldReport"] if report_write_hold else [])
    if invs:
        lines += ["INVARIANTS"] + [f"  {i}" for i in invs]
    if termination:
        properties = (TERMINATION_PROPERTY,)
    if properties:
        lines += ["PROPERTIES"] + [f"  {p}" for p in properties]
    if (not properties or termination) and symmetry and rendered.symmetric:
        lines.append("SYMMETRY Symmetry")
    return "\n".join(lines) + "\n"


def fairness_cfg(rendered: Rendered) -> str:
    """The run that shows FairSpec is Spec (gen/fairness.py): BlockedExact and MovedExact
    on every reachable state and step, under symmetry (both are symmetric)."""
    lines = ["\\* cheap fairness's side conditions: generated by mmcheck",
             "SPECIFICATION SafetySpec", *_constants(rendered),
             "INVARIANTS", f"  {BLOCKED_EXACT}", "PROPERTIES", f"  {MOVED_EXACT}"]
    if rendered.symmetric:
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
