"""Which kernel era a protocol's shared steps come from, read off its template.

A protocol changes munmap; the steps it shares with the rest of the mm (the page fault,
munlock, the split order of __split_vma, per-VMA locks, vm_refcnt) come from the release
its template names.  `mmcheck compare` warns when BASE and NEW differ in one of these, since
a verdict that moves may then be the era's doing, not the munmap change's.

Each feature is read from what the template declares: its front matter (`fault_path`),
its `{% set NAME = VALUE %}` lines (vma_locks, vma_refcnt, split_order), following a
`{% extends %}` of another protocol template, and the mm.j2 macros its munmap calls (the
munlock walk: `munlock`, reached from `do_munmap` or `find_split_munlock_detach`; the split
order: `split` with its `split_order`, or 6.18's `vms_gather_munmap_vmas`).  Pure but for
reading the template files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gen.protocols import BUILTIN, Protocol

# fault_path (an mm.j2 macro) -> how the era's page fault takes its locks
FAULT_PATHS = {
    "page_fault": "4.x-6.3: under mmap_sem for read; stacks grow under the read lock",
    "page_fault_65": "6.5: under mmap_sem; stacks grow under the write lock",
    "page_fault_per_vma": "6.4: per-VMA lock first (lock_vma_under_rcu), then mmap_sem",
    "page_fault_65_per_vma": "6.5-6.14: per-VMA lock first; stacks grow under the write lock",
    "page_fault_mainline": "6.15+: per-VMA lock by vm_refcnt, typesafe VMA slots",
}
# feature -> (title, which scenarios a difference can explain: a thread kind that runs
# the feature's code, or a VMA flag; see Era.explains)
FEATURES = {
    "fault_path": ("page fault", ("fault", "mmap_fixed")),
    "munlock": ("munlock", ("locked",)),
    "vma_locks": ("per-VMA locks", ("fault", "madvise")),
    "vma_refcnt": ("vm_refcnt", ("fault",)),
    "split_order": ("__split_vma order", ("split",)),
}
_SET = re.compile(r"\{%-?\s*set\s+(\w+)\s*=\s*(.+?)\s*-?%\}")
_EXTENDS = re.compile(r"\{%-?\s*extends\s+[\"']([\w.]+)[\"']\s*-?%\}")
_MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\(.*?\{%-?\s*endmacro\s*-?%\}", re.DOTALL)
_CALL = re.compile(r"\b(\w+)\(")


@dataclass(frozen=True)
class Era:
    """The shared steps of one protocol, feature -> what it is (as shown)."""

    protocol: str
    features: dict[str, str]


def _texts(protocol: Protocol) -> list[str]:
    """The protocol's template and the protocol templates it extends, itself first."""
    out: list[str] = []
    path: Path | None = protocol.template
    seen: set[Path] = set()
    while path is not None and path not in seen and path.is_file():
        seen.add(path)
        text = path.read_text(encoding="utf-8")
        out.append(text)
        m = _EXTENDS.search(text)
        path = None
        if m and m.group(1) != "base.tla.j2":
            for d in protocol.search_path:
                if (d / m.group(1)).is_file():
                    path = d / m.group(1)
                    break
    return out


def _macros(library: str) -> dict[str, set[str]]:
    """mm.j2 macro -> the names it calls."""
    return {m.group(1): set(_CALL.findall(m.group(0)[m.group(0).find(")"):]))
            for m in _MACRO.finditer(library)}


def _reaches(calls: set[str], graph: dict[str, set[str]], target: str) -> bool:
    todo, seen = list(calls), set()
    while todo:
        name = todo.pop()
        if name == target:
            return True
        if name in seen or name not in graph:
            continue
        seen.add(name)
        todo.extend(graph[name])
    return False


def era(protocol: Protocol, library: str | None = None) -> Era:
    """The era features of a protocol (library: mm.j2's text, default the built-in one)."""
    texts = _texts(protocol)
    sets: dict[str, str] = {}
    for text in reversed(texts):  # the extending template's set wins
        sets.update({k: v.strip("\"'") for k, v in _SET.findall(text)})
    if library is None:
        mm = next((d / "mm.j2" for d in protocol.search_path if (d / "mm.j2").is_file()),
                  BUILTIN / "mm.j2")
        library = Path(mm).read_text(encoding="utf-8")
    graph = _macros(library)
    calls = {c for text in texts for c in re.findall(r"\bmm\.(\w+)\(", text)}
    walk = _reaches(calls, graph, "munlock")
    f = {
        "fault_path": FAULT_PATHS.get(protocol.fault_path, protocol.fault_path),
        "munlock": ("munlock_vma_pages_all() under the write lock (before 5.18)" if walk
                    else "at the zap (5.18+)"),
        "vma_locks": "yes (6.4+)" if sets.get("vma_locks") == "true" else "no",
        "vma_refcnt": "yes (6.15+)" if sets.get("vma_refcnt") == "true" else "no",
        "split_order": ("6.4+ (6b73cff239e5: the new object above end)"
                        if sets.get("split_order") == "6.4"
                        or _reaches(calls, graph, "vms_gather_munmap_vmas")
                        else "4.20-6.3 (the new object inside the range)"
                        if _reaches(calls, graph, "split") else "not modelled"),
    }
    return Era(protocol.name, f)


def differences(base: Era, new: Era) -> list[tuple[str, str, str]]:
    """(feature, BASE's, NEW's) for every feature in which the two differ."""
    return [(k, base.features[k], new.features[k]) for k in FEATURES
            if base.features[k] != new.features[k]]
