"""Which template line produced each line of a rendered spec.

A jinja2 extension marks, in the token stream (after the lexer has applied the
whitespace control, so the text is unchanged), the start of every line of template
text with its template and line, and every `{{ ... }}` with the place it was written
(a macro call's site).  Rendering with the markers and reading them back gives, for
each output line, the template line it came from and the chain of calls that led
there; removing them gives the text a plain rendering gives (render() checks that).
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from jinja2.ext import Extension
from jinja2.lexer import TOKEN_DATA, TOKEN_VARIABLE_BEGIN, TOKEN_VARIABLE_END, Token, TokenStream

_OPEN, _CLOSE = "\x1e", "\x1f"  # ASCII record/unit separators: never in a TLA+ spec
MARK = re.compile(f"{_OPEN}([LPQ])([^{_CLOSE}]*){_CLOSE}")


def _mark(kind: str, value: str = "") -> str:
    return f"{_OPEN}{kind}{value}{_CLOSE}"


class LineMarks(Extension):
    """Put a line mark before each line of template text and a call mark around `{{ }}`."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        name = stream.name or "?"
        for tok in stream:
            if tok.type == TOKEN_DATA:
                lines = tok.value.split("\n")
                text = "\n".join(_mark("L", f"{name}:{tok.lineno + i}") + part
                                 for i, part in enumerate(lines))
                yield Token(tok.lineno, TOKEN_DATA, text)
            elif tok.type == TOKEN_VARIABLE_BEGIN:
                yield Token(tok.lineno, TOKEN_DATA, _mark("P", f"{name}:{tok.lineno}")
                            + _mark("L", f"{name}:{tok.lineno}"))
                yield tok
            elif tok.type == TOKEN_VARIABLE_END:
                yield tok
                yield Token(tok.lineno, TOKEN_DATA, _mark("Q"))
            else:
                yield tok


@dataclass(frozen=True)
class Source:
    """Where an output line came from: a template line, and the calls above it
    (outermost first), e.g. detach_merged.tla.j2:11 for a line of mm.j2's down_write."""

    template: str
    line: int
    via: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        return f"{self.template}:{self.line}" + "".join(
            f" (from {t}:{n})" for t, n in reversed(self.via))

    def to_dict(self) -> dict[str, object]:
        return {"template": self.template, "line": self.line,
                "via": [[t, n] for t, n in self.via]}


@lru_cache(maxsize=4096)
def _place(value: str) -> tuple[str, int]:
    name, _, line = value.rpartition(":")
    return name, int(line)


def strip(text: str) -> str:
    return MARK.sub("", text)


def read_marks(marked: str) -> tuple[str, tuple[Source | None, ...]]:
    """(the text without marks, the source of each of its lines: the template line of its
    first non-blank text)."""
    sources: list[Source | None] = []
    current: tuple[str, int] | None = None
    stack: list[tuple[str, int]] = []
    for line in marked.split("\n"):
        found: Source | None = None
        pos = 0
        for m in MARK.finditer(line):
            if found is None and current is not None and line[pos:m.start()].strip():
                found = _source(current, stack)
            kind, value = m.group(1), m.group(2)
            if kind == "L":
                current = _place(value)
            elif kind == "P":
                stack.append(_place(value))
            elif stack:
                stack.pop()
            pos = m.end()
        if found is None and current is not None:
            found = _source(current, stack)
        sources.append(found)
    return strip(marked), tuple(sources)


def _source(current: tuple[str, int], stack: Sequence[tuple[str, int]]) -> Source:
    return _source_of(current, tuple(stack))


@lru_cache(maxsize=4096)
def _source_of(current: tuple[str, int], stack: tuple[tuple[str, int], ...]) -> Source:
    # A call mark at the line itself is the `{{ P }}` the text is in, not a call above it.
    return Source(current[0], current[1], tuple(p for p in stack if p != current))
