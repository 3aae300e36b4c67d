"""The step vocabulary: every macro of mm.j2 documents itself; `mmcheck steps` shows it."""
from __future__ import annotations

from pathlib import Path

import pytest

from gen.macros import REQUIRED, load, macro_docs
from gen.protocols import BUILTIN
from runner.cli import main

MM = BUILTIN / "mm.j2"


def test_every_macro_of_mm_j2_has_a_complete_doc_comment() -> None:
    """kernel function, lock, what it changes: the lead's new macros too (README "Writing a
    protocol" gives the format)."""
    docs = load(MM)
    assert len(docs) >= 12
    incomplete = {d.name: d.missing() for d in docs if d.missing()}
    assert not incomplete, f"mm.j2 macros whose doc comment is incomplete: {incomplete}"
    for d in docs:
        assert all(d.fields[f] for f in REQUIRED), d.name
        assert d.labels or d.calls, f"{d.name} writes no label and uses no other macro"


def test_the_doc_comment_format() -> None:
    source = '''{#- file comment, not a doc comment -#}

{#- step_a: does a thing
    over two lines.
    kernel: a_function() (mm/a.c),
      continued
    lock: read -> read
    changes: x, y
-#}
{% macro step_a(P, flag=false) -%}
{{ P }}_a{{ "_flagged" if flag else "" }}:
  x := 1;
{{ step_b(P) }}
{%- endmacro %}

{% macro step_b(P) -%}
{{ P }}_b:
  y := 2;
{%- endmacro %}

{#- wrong_name: a doc comment naming another macro
    kernel: k
-#}
{% macro step_c(P) -%}
{{ P }}_{{ "c" }}:
  skip;
{%- endmacro %}
'''
    a, b, c = macro_docs(source)
    assert (a.name, a.args, a.line) == ("step_a", "P, flag=false", 10)
    assert a.summary == "does a thing over two lines."
    assert a.fields == {"kernel": "a_function() (mm/a.c), continued", "lock": "read -> read",
                        "changes": "x, y"}
    assert a.labels == ("P_a[_flagged]",) and a.calls == ("step_b",)
    assert a.missing() == []
    assert b.doc_name is None and b.missing() == ["a doc comment"]
    assert c.missing() == ["its first line naming step_c (it names wrong_name)", "lock",
                           "changes"]


def test_mmcheck_steps_lists_every_macro(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["steps"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    for d in load(MM):
        assert f"{d.name}({d.args})" in out
    assert "    kernel   downgrade_write() (kernel/locking/rwsem-xadd.c: rwsem_downgrade_wake)" in out
    assert "    lock     write -> read" in out
    assert main(["steps", "detach"]) == 0
    one = capsys.readouterr().out
    assert "detach(P, munmap)" in one and "down_write(" not in one
    assert main(["steps", "no_such_step"]) == 2
    assert "no such macro" in capsys.readouterr().err


def test_an_undocumented_macro_makes_steps_fail(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mm.j2"
    path.write_text(MM.read_text() + "\n{% macro shiny(P) -%}\n{{ P }}_shiny:\n  skip;\n"
                                     "{%- endmacro %}\n")
    assert main(["steps", "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:" in err and "macro shiny has no doc comment" in err
