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
    assert main(["steps", "--width", "100"]) == 0
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


BASE = BUILTIN / "base.tla.j2"


def test_every_variable_and_operator_of_base_is_documented() -> None:
    """What it means, and for a variable the kernel object it stands for."""
    from gen.vocabulary import vocabulary

    found = vocabulary(BUILTIN)
    variables = {e.name for e in found if e.kind == "variable"}
    assert {"vmas", "pte", "pt", "writer", "readers", "det", "fl", "ce", "mmseq"} <= variables
    assert {"FindVma", "PrevVma", "Freeable", "Lost"} <= {e.name for e in found}
    incomplete = {e.name: e.missing() for e in found if e.missing()}
    assert {"alloc_vma", "bv"} <= variables  # binder.actor.j2's own state
    assert not incomplete, f"base.tla.j2 declarations without a complete doc comment: {incomplete}"


def test_the_vocabulary_is_every_variable_a_spec_declares() -> None:
    """Parsed from the template, checked against the rendered specs of the matrix (every
    setting: tlb, per-VMA locks, maple nodes, vm_refcnt with another mm, binder)."""
    from gen.load import load_models
    from gen.render import render
    from gen.vocabulary import vocabulary

    documented = {e.name for e in vocabulary(BUILTIN) if e.kind == "variable"}
    declared: set[str] = set()
    for m in load_models(BUILTIN.parent / "matrix.toml"):
        text = render(m).text
        block = text[text.index("\nvariables\n"):text.index("\ndefine\n")]
        declared |= {line.split(" = ")[0].strip() for line in block.split("\n")
                     if line.startswith("  ") and " = " in line and not line.strip().startswith("\\*")}
    assert declared - documented == set()
    assert documented - declared == set()


def test_mmcheck_steps_state(capsys: pytest.CaptureFixture[str]) -> None:
    from gen.vocabulary import vocabulary

    assert main(["steps", "--state"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    for e in vocabulary(BUILTIN):
        assert f"\n{e.signature} " in out, e.signature
    assert "binder.actor.j2:" in out and "    only     actor binder" in out
    assert "    kernel   mm->mm_lock_seq (6.4+)" in out and "    only     vma_locks" in out
    assert main(["steps", "--state", "det"]) == 0
    one = capsys.readouterr().out
    assert "\ndet " in one and "\nvmas " not in one and "Operators" not in one
    assert main(["steps", "--state", "no_such_variable"]) == 2
    assert "no such variable or operator" in capsys.readouterr().err


def test_a_variable_without_its_doc_comment_makes_steps_state_fail(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = BASE.read_text()
    doc = text[text.index("{# nextid:"):text.index("  nextid = ")]
    path = tmp_path / "base.tla.j2"
    path.write_text(text.replace(doc, ""))
    assert main(["steps", "--state", "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:" in err and "variable nextid lacks a doc comment" in err
    path.write_text(text.replace("   kernel: mm->mm_lock_seq (6.4+), which vma_end_write_all() "
                                 "increments #}", "#}"))
    assert main(["steps", "--state", "--file", str(path)]) == 1
    assert "variable mmseq lacks kernel" in capsys.readouterr().err


def test_docs_vocabulary_lists_every_variable_and_operator() -> None:
    from gen.vocabulary import vocabulary

    page = (BUILTIN.parent.parent / "docs" / "vocabulary.md").read_text()
    missing = [e.signature for e in vocabulary(BUILTIN)
               if f"| `{e.signature}` | {e.summary.replace('|', chr(92) + '|')} |" not in page]
    assert not missing, f"docs/vocabulary.md does not list (as base.tla.j2 says): {missing}"


@pytest.mark.parametrize("width", [60, 72, 100])
def test_steps_fit_the_width(width: int, capsys: pytest.CaptureFixture[str]) -> None:
    """--width on both listings, a macro's signature longer than the width wrapped."""
    for argv in (["steps"], ["steps", "--state"]):
        assert main([*argv, "--width", str(width)]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert max(len(line) for line in lines) <= width, argv
    assert main(["steps", "relock", "--width", "60"]) == 0
    assert "mm.j2:" in capsys.readouterr().out
