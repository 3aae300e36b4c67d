"""Errors point at what the user wrote: the line map kept while rendering, and jinja errors
naming the template file and line.  Pure."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import tiny_model

from gen.load import load_models
from gen.protocols import BUILTIN, discover
from gen.render import render
from runner.errormap import spec_message, translated_line_source, translation_error
from runner.errors import TemplateError, TranslationError

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "specs" / "matrix.toml"
FRONT = '''{#---
name = "NAME"
description = "a test protocol"
kernel = "none"
---#}
'''

def model_of(tmp_path: Path, body: str, name: str = "mine"):  # type: ignore[no-untyped-def]
    (tmp_path / f"{name}.tla.j2").write_text(FRONT.replace("NAME", name) + body)
    (tmp_path / "m.toml").write_text(tiny_model(name))
    [m] = load_models(tmp_path / "m.toml", protocols=discover([tmp_path]))
    return m


@pytest.mark.slow
def test_every_label_maps_to_the_template_line_that_wrote_it() -> None:
    """For every model of the matrix, the template line a label maps to is the line that
    spells the label (`{{ P }}_<name>:` or `{{ g.prefix }}_<name>:`)."""
    for m in load_models(MATRIX):
        r = render(m)
        assert len(r.sources) == len(r.text.split("\n")), m.name
        labels = r.labels()
        assert labels, m.name
        for label, (line, src) in labels.items():
            assert src is not None, (m.name, label)
            assert r.text.split("\n")[line - 1].startswith(label + ":")
            text = (BUILTIN / src.template).read_text().split("\n")[src.line - 1]
            if label.startswith(("rcu_", "other_mm_")):  # the RCU callbacks' process (per-VMA
                # locks), mainline's other process (other_mm)
                assert text.startswith(label + ":"), (m.name, label, text)
                continue
            assert re.match(r"\{\{ (P|g\.prefix|P ~ \"_\w+\") \}\}_", text) or \
                text.startswith("{{ P }}_"), (m.name, label, str(src), text)
            prefix = max((g.prefix for g in r.groups if label.startswith(g.prefix + "_")),
                         key=len)
            suffix = label[len(prefix) + 1:]
            # nested label paths (mremap's move: "tail_", "src_"), and pte_access's "vma_"
            # infix ({{ lab }})
            for sub in ("again_", "do_", "pf_", "wlock_", "tail_", "src_", "prepare_", "fb_",
                        "vma_"):
                suffix = suffix.removeprefix(sub)
            assert suffix.split("_")[0] in text or "{{ label }}" in text, \
                (m.name, label, str(src), text)


def test_a_macro_line_knows_the_protocol_line_that_called_it() -> None:
    [m] = [m for m in load_models(MATRIX) if m.name == "detach_merged-growsdown"]
    labels = render(m).labels()
    _, src = labels["munmap0_downgrade_write"]
    assert src is not None and src.template == "mm.j2"
    call = src.via[-1]
    assert call[0] == "detach_merged.tla.j2"
    assert "mm.downgrade_write(P)" in (BUILTIN / call[0]).read_text().split("\n")[call[1] - 1]
    assert str(src) == f"mm.j2:{src.line} (from detach_merged.tla.j2:{call[1]})"


def test_a_jinja_syntax_error_names_the_template_file_and_line(tmp_path: Path) -> None:
    body = '{% extends "base.tla.j2" %}\n{% block munmap_body %}\n{{ mm.up_write(P }}\n' \
           '{% endblock %}\n'
    (tmp_path / "mine.tla.j2").write_text(FRONT.replace("NAME", "mine") + body)
    (tmp_path / "m.toml").write_text(tiny_model("mine"))
    [m] = load_models(tmp_path / "m.toml", protocols=discover([tmp_path]))
    with pytest.raises(TemplateError) as e:
        render(m)
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path / 'mine.tla.j2'}:8: "), msg
    assert "(protocol mine, model m)" in msg and "\n" not in msg


def test_an_undefined_name_names_the_template_file_and_line(tmp_path: Path) -> None:
    body = '{% extends "base.tla.j2" %}\n{% block munmap_body %}\n{{ mm.up_write(P) }}\n' \
           '{{ mm.no_such_step(P) }}\n{% endblock %}\n'
    m = model_of(tmp_path, body)
    with pytest.raises(TemplateError) as e:
        render(m)
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path / 'mine.tla.j2'}:9: "), msg
    assert "no_such_step" in msg


def test_a_missing_shared_template_says_where_it_looked(tmp_path: Path) -> None:
    m = model_of(tmp_path, '{% extends "bass.tla.j2" %}\n')
    with pytest.raises(TemplateError, match=r"template 'bass.tla.j2' not found \(looked in: "):
        render(m)


def test_the_translated_spec_maps_back_through_the_labels_and_the_define_block() -> None:
    """Lines below `\\* BEGIN TRANSLATION` belong to an action named after a label, or to a
    copy of an operator of the define block."""
    [m] = [m for m in load_models(MATRIX) if m.name == "detach_merged-fault"]
    r = render(m)
    stored = (ROOT / "tests" / "data" / "runs" / "example" / "detach_merged-fault" /
              "detach_merged.tla").read_text()
    lines = stored.split("\n")
    action = next(i for i, t in enumerate(lines, 1) if t.startswith("munmap0_free_pgtables(self)"))
    src = translated_line_source(r, stored, action + 1)
    assert src == r.labels()["munmap0_free_pgtables"][1]
    begin = next(i for i, t in enumerate(lines, 1) if t.startswith("\\* BEGIN TRANSLATION"))
    op = next(i for i, t in enumerate(lines, 1) if i > begin and t.startswith("FindVma(a) =="))
    src = translated_line_source(r, stored, op + 1)
    assert src is not None and src.template == "base.tla.j2"
    assert "IN IF S = {} THEN NoVma" in (BUILTIN / "base.tla.j2").read_text().split("\n")[
        src.line - 1]
    message = f"line {op + 1}, col 5 to line {op + 1}, col 9 of module detach_merged\n\nUnknown"
    assert spec_message(message, r, stored) == \
        f"{r.place(src)}: line {op + 1}, col 5 to line {op + 1}, col 9 of module detach_merged Unknown"
    assert r.place(src) == f"specs/templates/base.tla.j2:{src.line}"
    assert spec_message("line 3, col 1 of module Other", r, stored) == \
        "line 3, col 1 of module Other"


def test_a_translation_error_points_at_the_template_line() -> None:
    [m] = [m for m in load_models(MATRIX) if m.name == "baseline-fault"]
    r = render(m)
    line, src = r.labels()["munmap0_up_write"]
    e = TranslationError(f"x/baseline.tla:{line}: PlusCal translation failed: Expected \";\"",
                         line)
    mapped = translation_error(e, r)
    assert src is not None and r.place(src).startswith("specs/templates/mm.j2:")
    assert str(mapped) == (f"{r.place(src)}: PlusCal translation failed: Expected \";\" (at "
                           f"x/baseline.tla:{line} as rendered for model baseline-fault)")
    assert mapped.line == line
