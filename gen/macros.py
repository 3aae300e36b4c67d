"""The step vocabulary: the macros of mm.j2 and their doc comments (`mmcheck steps`).

Every macro has a doc comment directly above it, in this form:

    {#- NAME: what it models, in one line (or a few).
        kernel: the kernel function(s) it models (file)
        lock: the mmap_sem held when it starts -> when it ends (none, read, write, any)
        changes: the variables it writes, and how
        args: what its parameters mean (optional)
    -#}
    {% macro NAME(P, ...) -%}

A field runs to the next `field:` line (continuation lines are indented further).
`kernel`, `lock` and `changes` are required; tests/test_steps.py checks that every macro
of the committed mm.j2 has them.  Pure: the macros come from jinja's own parser, the
comments from the text above each one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from jinja2 import nodes

REQUIRED = ("kernel", "lock", "changes")
FIELDS = REQUIRED + ("args",)
_COMMENT_THEN_MACRO = re.compile(
    r"\{#-?(?P<doc>(?:(?!#\}).)*?)-?#\}\s*\{%-?\s*macro\s+(?P<name>\w+)\s*\(", re.DOTALL)
_FIELD = re.compile(r"^\s*(" + "|".join(FIELDS) + r"):\s*(.*)$")
_LABEL = re.compile(r"\{\{\s*P\s*\}\}_((?:\w|\{\{.*?\}\})+):")
_OPTIONAL = re.compile(r'\{\{\s*"(\w*)"\s+if\s+\w+\s+else\s+""\s*\}\}')
_EXPR = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class MacroDoc:
    name: str
    args: str  # the parameter list as written, e.g. "P, munmap=false, killable=false"
    line: int  # of `{% macro`
    summary: str  # the doc comment's first part (after "NAME:")
    fields: dict[str, str] = field(default_factory=dict)
    labels: tuple[str, ...] = ()  # the labels it writes itself, e.g. P_down_write[_killable]
    calls: tuple[str, ...] = ()  # the other macros it uses
    doc_name: str | None = None  # the NAME the comment starts with (None: no comment)

    def missing(self) -> list[str]:
        """What the doc comment lacks (empty: complete)."""
        out = []
        if self.doc_name is None:
            return ["a doc comment"]
        if self.doc_name != self.name:
            out.append(f"its first line naming {self.name} (it names {self.doc_name})")
        if not self.summary:
            out.append("a summary after the name")
        out += [f for f in REQUIRED if not self.fields.get(f)]
        return out


def _parse_doc(text: str) -> tuple[str | None, str, dict[str, str]]:
    """(the NAME it starts with, the summary, the fields) of a doc comment's text."""
    lines = text.strip("\n").split("\n")
    name, colon, rest = (lines[0] if lines else "").strip().partition(":")
    if not colon or not name.strip().isidentifier():
        return None, "", {}
    parts: dict[str, list[str]] = {"": [rest.strip()]}
    key = ""
    for line in lines[1:]:
        m = _FIELD.match(line)
        if m:
            key = m.group(1)
            parts[key] = [m.group(2).strip()]
        elif line.strip():
            parts[key].append(line.strip())
    texts = {k: " ".join(x for x in v if x) for k, v in parts.items()}
    return name.strip(), texts.pop(""), texts


def _body(source: str, start: int) -> str:
    end = source.find("endmacro", start)
    return source[start:end if end >= 0 else len(source)]


def macro_docs(source: str, filename: str = "mm.j2") -> list[MacroDoc]:
    """Every macro of a template, in file order, with what its doc comment says."""
    env = jinja2.Environment()
    tree = env.parse(source, filename=filename)
    macros = list(tree.find_all(nodes.Macro))
    names = {m.name for m in macros}
    comments = {m.group("name"): m.group("doc") for m in _COMMENT_THEN_MACRO.finditer(source)}
    line_starts = [0] + [i + 1 for i, c in enumerate(source) if c == "\n"]
    out = []
    for m in macros:
        start = line_starts[m.lineno - 1]
        header = re.compile(r"\{%-?\s*macro\s+" + m.name + r"\s*\((.*?)\)\s*-?%\}", re.DOTALL)
        head = header.search(source, start)
        args = " ".join(head.group(1).split()) if head else ""
        body = _body(source, head.end() if head else start)
        labels = tuple(dict.fromkeys(
            "P_" + _EXPR.sub(r"<\1>", _OPTIONAL.sub(r"[\1]", lab)) for lab in _LABEL.findall(body)))
        calls = tuple(dict.fromkeys(c for c in re.findall(r"\{\{\s*(\w+)\(", body)
                                    if c in names and c != m.name))
        doc = comments.get(m.name)
        doc_name, summary, fields = _parse_doc(doc) if doc is not None else (None, "", {})
        out.append(MacroDoc(m.name, args, m.lineno, summary, fields, labels, calls, doc_name))
    return out


def load(path: Path) -> list[MacroDoc]:
    """The macros of the file `path`; an unreadable, non-UTF-8 or malformed file is one
    ConfigError."""
    from gen.frontmatter import show as _show
    from runner.errors import ConfigError

    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise ConfigError(f"{_show(path)}: is a directory, not a macro file") from None
    except OSError as e:
        raise ConfigError(f"{_show(path)}: cannot read ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{_show(path)}: not UTF-8 (byte {e.start}): templates are "
                          f"UTF-8") from None
    try:
        return macro_docs(text, path.name)
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(f"{_show(path)}:{e.lineno}: not a valid template: {e.message}") from None
