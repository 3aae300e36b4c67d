"""Errors in a protocol template, named at the line the protocol's author wrote.

A jinja error raised inside a shared macro (mm.j2) because of what a protocol passed it, or
a step whose labels a protocol writes twice, is the protocol's mistake: the message starts
with the protocol template's file and line (the call that led there) and then says where
in the shared templates it happened.  Pure: text, paths and tracebacks in, one
TemplateError out.
"""
from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import jinja2

from gen.frontmatter import BUILTIN
from gen.frontmatter import show as _show
from gen.linemap import Source
from runner.errors import TemplateError

_MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\(")
_UNDEFINED = re.compile(r"^'(\w+)' is undefined$")
# A place: (the template file, its line); None for the file when it is not known.
Place = tuple[Path | None, int | None]


def is_users(path: Path | None, own: Path) -> bool:
    """A template the protocol's author wrote: the protocol's own, or any outside the
    built-in specs/templates/ (a copy of mm.j2 next to it, say)."""
    if path is None:
        return False
    path = path.resolve()
    return path == own.resolve() or BUILTIN.resolve() not in path.parents


@lru_cache(maxsize=64)
def _macros(path: Path) -> tuple[tuple[int, str], ...]:
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return ()
    return tuple((i, m.group(1)) for i, t in enumerate(lines, 1) if (m := _MACRO.search(t)))


def macro_at(path: Path, line: int) -> str | None:
    """The macro whose body holds line `line` of the template `path`, if any."""
    inside = [name for start, name in _macros(path) if start <= line]
    return inside[-1] if inside else None


def _at(place: Place) -> str:
    path, line = place
    if path is None:
        return "?"
    macro = macro_at(path, line) if line else None
    return f"{_show(path)}" + (f":{line}" if line else "") + (f" in {macro}" if macro else "")


def frames(e: BaseException) -> list[Place]:
    """The template frames of a jinja error, outermost first (jinja rewrites its tracebacks
    to name the template file and line of every frame)."""
    out: list[Place] = [(Path(f.filename), f.lineno) for f in traceback.extract_tb(e.__traceback__)
                        if f.filename.endswith(".j2")]
    filename = getattr(e, "filename", None)  # a syntax error: the place the parser stopped at
    if filename is not None and not out:
        out.append((Path(filename), getattr(e, "lineno", None)))
    return out


def locate(chain: Sequence[Place], own: Path) -> str:
    """`USER:LINE` of the innermost place in the protocol author's templates, then, when the
    error is deeper (in a shared macro), where: `(at mm.j2:254 in split, called from
    mm.j2:380 in find_split_munlock_detach, mm.j2:487 in do_munmap)`; the innermost place
    alone when none is the author's."""
    if not chain:
        return ""
    mine = [i for i, (p, _) in enumerate(chain) if is_users(p, own)]
    if not mine:
        return _at(chain[-1])
    k = mine[-1]
    head = f"{_show(chain[k][0])}" + (f":{chain[k][1]}" if chain[k][1] else "")  # type: ignore[arg-type]
    deeper = chain[k + 1:]
    if not deeper:
        return head
    via = [_at(p) for p in reversed(deeper[:-1])]
    return head + f" (at {_at(deeper[-1])}" + (f", called from {', '.join(via)}" if via else "") + ")"


def _hint(e: BaseException, chain: Sequence[Place], own: Path) -> str:
    """For a name the shared model reads but nobody set: how to set it.  (Not when the
    name is on the author's line: then it is the author's own, passed into a macro.)"""
    m = _UNDEFINED.match(getattr(e, "message", None) or str(e))
    if not m or not chain or is_users(chain[-1][0], own):
        return ""
    name = m.group(1)
    mine = [(p, n) for p, n in chain if p is not None and n and is_users(p, own)]
    if mine and re.search(rf"\b{name}\b", _line(*mine[-1])):
        return ""
    written = _written(own, name)
    if written:
        return f" (`{name}` is written at {_show(own)}:{written})"
    return (f": the shared model reads `{name}` there; set it in the protocol template "
            f"({{% set {name} = ... %}}) or declare it as an option ([options.{name}] in the "
            f"front matter); the settings are listed by `mmcheck steps --state`")


def jinja_error(e: jinja2.TemplateError, own: Path, search: Sequence[Path],
                suffix: str) -> TemplateError:
    """A jinja error as one line: the protocol author's line first (see locate)."""
    chain = frames(e)
    where = locate(chain, own)
    what = getattr(e, "message", None) or str(e)
    if isinstance(e, jinja2.TemplateNotFound):
        what = f"template {e.name!r} not found (looked in: " + ", ".join(
            _show(p) for p in search) + ")"
    return TemplateError(f"{where + ': ' if where else ''}{what}{_hint(e, chain, own)} {suffix}")


def duplicate_label(labels: Sequence[tuple[str, Source | None]],
                    path_of: Callable[[str], Path | None], own: Path,
                    suffix: str) -> TemplateError | None:
    """The first label the rendered algorithm writes twice, as an error at the protocol
    author's line that wrote it the second time; None when every label is written once.
    `labels`: every label line of the algorithm in order, with its source."""
    first: dict[str, Source | None] = {}
    for label, src in labels:
        if label not in first:
            first[label] = src
            continue
        again = _chain(src, path_of)
        before = _chain(first[label], path_of)
        return TemplateError(
            f"{locate(again, own) or '?'}: label {label} is written a second time (first "
            f"by {locate(before, own) or '?'}): PlusCal "
            f"wants each label once: a step run twice needs labels of its own, "
            f"mm.relock(P, ...) to take a lock again, another prefix (P ~ \"_do\") for other "
            f"steps {suffix}")
    return None


def _written(path: Path, name: str) -> int | None:
    """The first line of `path` outside its front matter that uses `name`, if any."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    start = next((i for i, t in enumerate(lines, 1) if t.rstrip().endswith("---#}")), 0)
    return next((i for i, t in enumerate(lines, 1)
                 if i > start and re.search(rf"\b{name}\b", t)), None)


def _line(path: Path, line: int) -> str:
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return ""
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _chain(src: Source | None, path_of: Callable[[str], Path | None]) -> list[Place]:
    if src is None:
        return []
    out: list[Place] = [(path_of(t), n) for t, n in src.via]
    return out + [(path_of(src.template), src.line)]
