"""Errors in a rendered spec, pointed back at the template line that wrote it.

pcal.trans names a line of the rendered PlusCal; SANY (inside TLC) a line of the
translated module: above `\\* BEGIN TRANSLATION` the two files are the same, below it
the translation's definitions are named after the PlusCal labels and the `define`
block's operators, which lead back to the rendered line.  Pure: text in, text out.
"""
from __future__ import annotations

import re

from gen.linemap import Source
from gen.render import Rendered
from runner.errors import TranslationError

_SANY_AT = re.compile(r"line (\d+), col(?:umn)? (\d+)(?: to line \d+, col \d+)? of module (\w+)")
_DEFINITION = re.compile(r"^(\w+)\s*(?:\([^)]*\))?\s*==")
_FAILED = "PlusCal translation failed: "


def translated_line_source(rendered: Rendered, translated: str, line: int) -> Source | None:
    """The template line behind line `line` of the translated module."""
    lines = translated.split("\n")
    begin = next((i for i, t in enumerate(lines, 1) if t.startswith("\\* BEGIN TRANSLATION")),
                 None)
    if begin is None or line < begin:
        return rendered.source(line)
    # Below the translation marker: the definition the line belongs to.
    for i in range(min(line, len(lines)), begin, -1):
        m = _DEFINITION.match(lines[i - 1])
        if not m:
            continue
        name = m.group(1)
        labels = rendered.labels()
        if name in labels:
            return labels[name][1]
        for j, text in enumerate(rendered.text.split("\n"), 1):
            d = _DEFINITION.match(text.strip())  # an operator of the define block, copied
            if d and d.group(1) == name:
                return rendered.source(j + (line - i))
        return None
    return None


def translation_error(e: TranslationError, rendered: Rendered) -> TranslationError:
    """pcal.trans' error, at the template line (the rendered file's line kept)."""
    src = rendered.source(e.line) if e.line else None
    if src is None:
        return e
    message = str(e)
    spec, _, reason = message.partition(_FAILED)
    return TranslationError(f"{rendered.place(src)}: {_FAILED}{reason or message} (at "
                            f"{spec.rstrip(': ')} as rendered for model {rendered.model.name})",
                            e.line)


def spec_message(message: str, rendered: Rendered, translated: str) -> str:
    """A SANY message naming a line of the translated module, prefixed by the template
    line behind it."""
    m = _SANY_AT.search(message)
    if not m or m.group(3) != rendered.module:
        return message
    src = translated_line_source(rendered, translated, int(m.group(1)))
    if src is None:
        return message
    return f"{rendered.place(src)}: " + " ".join(message.split())
