"""An error in a protocol template of one's own names that template's file and line, even
when it surfaces inside a shared macro of mm.j2: a label written twice, a name nobody
defined, a fail() of a macro given a bad argument.  The render fails before anything runs
(no Java), with one line and nothing written.  Pure."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tiny_model

from runner.cli import main

HEAD = '''{#---
name = "mine"
description = "a test protocol"
kernel = "none"
---#}
{% extends "base.tla.j2" %}
'''


def check(tmp_path: Path, body: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, Path]:
    d = tmp_path / "protocols"
    d.mkdir()
    template = d / "mine.tla.j2"
    template.write_text(HEAD + body)
    models = tmp_path / "m.toml"
    models.write_text(tiny_model("mine"))
    code = main(["check", str(models), "--protocols", str(d), "--out", str(tmp_path / "out"),
                 "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    return code, err, template


def test_a_label_written_twice_names_both_calls(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    body = '''{% block munmap_body %}
{{ mm.down_write(P, munmap=true) }}
{{ mm.do_munmap(P, true) }}
{{ mm.up_write(P) }}
{{ mm.down_write(P, munmap=true) }}
{{ mm.up_write(P) }}
{% endblock %}
'''
    code, err, template = check(tmp_path, body, capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"mmcheck: error: {template}:11 (at "), err
    assert "in down_write): label munmap0_down_write is written a second time (first by " \
           f"{template}:8 " in err
    assert "mm.relock(P, ...)" in err and err.rstrip().endswith("(protocol mine, model m)")


def test_relock_takes_the_lock_again_without_a_label_twice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = '''{% block munmap_body %}
{{ mm.down_write(P, munmap=true) }}
{{ mm.do_munmap(P, true) }}
{{ mm.up_write(P) }}
{{ mm.relock(P, "write", munmap=true) }}
{{ mm.up_write(P ~ "_again") }}
{% endblock %}
'''
    from gen.load import load_models
    from gen.protocols import discover
    from gen.render import render

    d = tmp_path / "protocols"
    d.mkdir()
    (d / "mine.tla.j2").write_text(HEAD + body)
    (tmp_path / "m.toml").write_text(tiny_model("mine"))
    [m] = load_models(tmp_path / "m.toml", protocols=discover([d]))
    labels = render(m).labels()
    assert {"munmap0_down_write", "munmap0_again_down_write",
            "munmap0_again_rwsem_down_write_failed", "munmap0_again_up_write"} <= set(labels)


def test_an_undefined_name_passed_into_a_macro_names_the_call(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = '''{% block munmap_body %}
{{ mm.down_write(P, munmap=true) }}
{{ mm.do_munmap(P, munmapp) }}
{{ mm.up_write(P) }}
{% endblock %}
'''
    code, err, template = check(tmp_path, body, capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"mmcheck: error: {template}:9 (at "), err
    assert "mm.j2:" in err and " in do_munmap)" in err and "'munmapp' is undefined" in err


def test_an_undefined_setting_says_where_it_was_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = '''{% set split_order = order %}
{% block munmap_body %}
{{ mm.down_write(P, munmap=true) }}
{{ mm.do_munmap(P, true) }}
{{ mm.up_write(P) }}
{% endblock %}
'''
    code, err, template = check(tmp_path, body, capsys)
    assert code == 2, err
    assert err.startswith(f"mmcheck: error: {template}:10 (at "), err
    assert " in split, called from " in err
    assert f"'order' is undefined (`order` is written at {template}:7)" in err


def test_an_option_the_template_reads_but_does_not_declare(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = '''{% block munmap_body %}
{{ mm.down_write(P, munmap=true) }}
{% if lazy == "yes" %}
{{ mm.do_munmap(P, true) }}
{% endif %}
{% endblock %}
'''
    code, err, template = check(tmp_path, body, capsys)
    assert code == 2
    assert err.startswith(f"mmcheck: error: {template}:9: 'lazy' is undefined"), err


def test_a_fail_in_a_macro_names_the_call(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    body = '''{% block munmap_body %}
{{ mm.down_write(P, munmap=true) }}
{{ mm.do_munmap(P, true) }}
{{ mm.vma_end_write_all(P) }}
{{ mm.up_write(P) }}
{% endblock %}
'''
    code, err, template = check(tmp_path, body, capsys)
    assert code == 2
    assert err.startswith(f"mmcheck: error: {template}:10 (at "), err
    assert " in vma_end_write_all): mm.vma_end_write_all: per-VMA locks only" in err


def test_a_shared_setting_needs_no_declaration(tmp_path: Path) -> None:
    """mm.j2 reads `ablation` where a protocol sets vma_locks (per_vma declares it as an
    option); a protocol that does not declare it gets the kernel's own behaviour."""
    from gen.load import load_models
    from gen.protocols import discover
    from gen.render import render

    d = tmp_path / "protocols"
    d.mkdir()
    (d / "mine.tla.j2").write_text(HEAD + '''{% set vma_locks = true %}
{% set split_order = "6.4" %}
{% block munmap_body %}
{{ mm.down_write(P, P ~ "_prepare_vma_start_write", munmap=true) }}
{{ mm.do_munmap(P, true) }}
{{ mm.up_write(P) }}
{% endblock %}
''')
    (tmp_path / "m.toml").write_text(tiny_model("mine"))
    [m] = load_models(tmp_path / "m.toml", protocols=discover([d]))
    text = render(m).text
    assert "munmap0_vma_start_write:" in text  # not ablation no_vma_start_write
    assert "ABLATION" not in text
