"""Errors in a protocol template of one's own, with the real pcal.trans and TLC: each points
at the template line, once per model, and a failed render leaves nothing behind."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tiny_model

from runner.cli import main

pytestmark = pytest.mark.java

FRONT = '''{#---
name = "mine"
description = "a test protocol"
kernel = "none"
---#}
{% extends "base.tla.j2" %}
{% block munmap_body %}
{{ mm.down_write(P, munmap=true) }}
{{ mm.do_munmap(P, true) }}
'''

def setup(tmp_path: Path, tail: str) -> tuple[Path, Path]:
    d = tmp_path / "protocols"
    d.mkdir()
    template = d / "mine.tla.j2"
    template.write_text(FRONT + tail + "{% endblock %}\n")
    models = tmp_path / "m.toml"
    models.write_text(tiny_model("mine"))
    return template, models


def check(tmp_path: Path, models: Path, template: Path, out: str) -> int:
    return main(["check", str(models), "--protocols", str(template.parent),
                 "--out", str(tmp_path / out), "--cache-dir", str(tmp_path / "cache")])


def test_a_pluscal_error_names_the_template_line(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    template, models = setup(tmp_path, "{{ P }}_oops:\n  writer := ;\n")
    assert check(tmp_path, models, template, "out") == 2
    err = capsys.readouterr().err
    # the model is an error row (the other models of a run would be checked and reported)
    lines = [t for t in err.splitlines() if t.startswith("UNEXPECTED: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"UNEXPECTED: m: every property error: {template}:11: PlusCal "
                               "translation failed: "), err
    assert "as rendered for model m)" in lines[0]


def test_a_sany_error_names_the_template_line_once_per_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template, models = setup(tmp_path, "{{ P }}_oops:\n  await Frobnicate(self);\n"
                                       "{{ mm.up_write(P) }}\n")
    assert check(tmp_path, models, template, "out") == 2
    captured = capsys.readouterr()
    lines = [t for t in captured.err.splitlines() if t.startswith("UNEXPECTED: ")]
    assert len(lines) == 1, captured.err  # not once per property
    assert lines[0].startswith("UNEXPECTED: m: every property error: TLC: parse_error: ") and \
        f"{template}:10: " in lines[0] and "Frobnicate" in lines[0], lines[0]
    assert "ERR(12)" in captured.out  # every property
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.count("Frobnicate") == 1


def test_a_failed_render_leaves_no_run_directory(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    template, models = setup(tmp_path, "{{ mm.no_such_step(P) }}\n")
    assert check(tmp_path, models, template, "out") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mmcheck: error: {template}:10: ") and "no_such_step" in err, err
    assert not (tmp_path / "out").exists()
