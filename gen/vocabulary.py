"""The state vocabulary: the variables and operators of base.tla.j2 a protocol template may
use (`mmcheck steps --state`, docs/vocabulary.md).

Each variable of the algorithm's `variables` block has a jinja doc comment directly above
it (it renders to nothing, so the specs do not change):

    {# vmas: what it means
       kernel: the kernel object it stands for #}
      vmas = InitVmas,        \\* ...

Each operator (the definitions above the algorithm, and those of the `define` block up to
the safety properties) is documented by such a comment (NAME(args): ..., `kernel:`
optional) or, failing one, by the TLA+ `\\*` comment lines directly above it.  A
declaration inside `{% if X %}` exists only when X holds (`only`).  Pure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_DECL_VAR = re.compile(r"^  (\w+) = ")
_DECL_OP = re.compile(r"^ {0,2}(\w+)(\([^)]*\))? ==")
_DOC = re.compile(r"^\s*\{#-?\s*(?P<body>.*?)\s*-?#\}\s*$", re.DOTALL)
_IF = re.compile(r"^\s*\{%-?\s*if\s+(.*?)\s*-?%\}\s*$")
_ELSE = re.compile(r"^\s*\{%-?\s*(elif\s+(.*?)|else)\s*-?%\}\s*$")
_ENDIF = re.compile(r"^\s*\{%-?\s*endif\s*-?%\}\s*$")
_FIELD = re.compile(r"^\s*(kernel):\s*(.*)$")
_PROPERTIES = "---- the safety properties ----"


@dataclass(frozen=True)
class Entry:
    kind: str  # "variable" or "operator"
    name: str
    signature: str  # e.g. "FindVma(a)"; the name for a variable
    line: int  # of the declaration
    summary: str  # what it means ("" when undocumented)
    kernel: str  # the kernel object or function it stands for ("" when not said)
    only: str  # the jinja condition it exists under ("" always)
    documented: bool  # a doc comment (or, for an operator, a TLA+ comment) above it
    file: str = "base.tla.j2"  # the template that declares it

    def missing(self) -> list[str]:
        if not self.documented:
            return ["a doc comment"]
        out = [] if self.summary else ["a summary"]
        if self.kind == "variable" and not self.kernel:
            out.append("kernel")
        return out


def _parse_doc(body: str, name: str) -> tuple[str, str] | None:
    """(summary, kernel) of a doc comment that starts with `name` (or `name(...)`)."""
    lines = body.split("\n")
    head = re.match(rf"^{re.escape(name)}(\([^)]*\))?:\s*(.*)$", lines[0].strip())
    if head is None:
        return None
    parts = {"": [head.group(2)], "kernel": []}
    key = ""
    for line in lines[1:]:
        m = _FIELD.match(line)
        if m:
            key = m.group(1)
            parts[key] = [m.group(2)]
        elif line.strip():
            parts[key].append(line.strip())
    return " ".join(x for x in parts[""] if x), " ".join(x for x in parts["kernel"] if x)


def _doc_above(lines: list[str], i: int) -> str | None:
    """The jinja comment ending on line i - 1 (0-based i), if any."""
    j = i - 1
    if j < 0 or not lines[j].rstrip().endswith("#}"):
        return None
    k = j
    while k >= 0 and "{#" not in lines[k]:
        k -= 1
    m = _DOC.match("\n".join(lines[k:j + 1]))
    return m.group("body") if m else None


def _tla_comment_above(lines: list[str], i: int) -> str:
    out: list[str] = []
    j = i - 1
    while j >= 0 and lines[j].strip().startswith("\\*"):
        text = lines[j].strip()[2:].strip()
        if not text.startswith("----"):  # a section heading, not about this operator
            out.insert(0, text)
        j -= 1
    return " ".join(out)


_MACRO = re.compile(r"^\{%-?\s*macro\s+(definitions|variables)\(")
_ENDMACRO = re.compile(r"^\{%-?\s*endmacro")


def entries(source: str, file: str = "base.tla.j2", only: str = "") -> list[Entry]:
    """Every variable and operator of base.tla.j2's text, in file order (a name declared in
    both branches of an `if` once, documented if either declaration is).  An actor's
    template (NAME.actor.j2) declares its own state in its `definitions` and `variables`
    macros; `only` then says whose ("actor binder")."""
    lines = source.split("\n")
    conds: list[str] = [only] if only else []
    section = "head"  # head (above the algorithm), variables, define, properties, rest
    found: dict[str, Entry] = {}
    for i, line in enumerate(lines):
        if m := _MACRO.match(line):
            section = "head" if m.group(1) == "definitions" else "variables"
            continue
        if _ENDMACRO.match(line) and section in ("head", "variables") and only:
            section = "rest"
            continue
        if line.startswith("(* --algorithm"):
            section = "algorithm"
        elif line.startswith("variables") and section == "algorithm":
            section = "variables"
        elif line.startswith("define") and section == "variables":
            section = "define"
        elif _PROPERTIES in line or line.startswith("end define"):
            section = "rest" if section in ("define", "rest") else section
        if m := _IF.match(line):
            conds.append(m.group(1))
            continue
        if m := _ELSE.match(line):
            if conds:
                conds[-1] = m.group(2) or f"not ({conds[-1]})"
            continue
        if _ENDIF.match(line):
            if conds:
                conds.pop()
            continue
        if section == "variables":
            m = _DECL_VAR.match(line)
            kind = "variable"
        elif section in ("head", "define"):
            m = _DECL_OP.match(line)
            kind = "operator"
        else:
            continue
        if not m:
            continue
        name = m.group(1)
        signature = name + (m.group(2) or "") if kind == "operator" else name
        doc = _doc_above(lines, i)
        parsed = _parse_doc(doc, name) if doc is not None else None
        if parsed is not None:
            summary, kernel = parsed
            documented = True
        elif kind == "operator" and _tla_comment_above(lines, i):
            summary, kernel, documented = _tla_comment_above(lines, i), "", True
        else:
            summary, kernel, documented = "", "", False
        entry = Entry(kind, name, signature, i + 1, summary, kernel,
                      " and ".join(conds), documented, file)
        if name not in found or (not found[name].documented and documented):
            if name in found:  # keep the first place, take the documentation
                entry = Entry(kind, name, signature, found[name].line, summary, kernel,
                              found[name].only, documented, file)
            found[name] = entry
    return sorted(found.values(), key=lambda e: e.line)


def vocabulary(directory: Path) -> list[Entry]:
    """The whole state of the built-in model: base.tla.j2's, then each actor's own
    (NAME.actor.j2 in `directory`, in name order)."""
    found = entries((directory / "base.tla.j2").read_text(encoding="utf-8"))
    for path in sorted(directory.glob("*.actor.j2")):
        name = path.name.removesuffix(".actor.j2")
        found += entries(path.read_text(encoding="utf-8"), path.name, f"actor {name}")
    return found
