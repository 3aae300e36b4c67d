"""Protocols as template files: discovery, front matter, options, the fault path, `mmcheck
new` and `mmcheck list`.  Pure (rendering only)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import tiny_model

from gen.load import load_models
from gen.protocols import BUILTIN, ENV_VAR, discover, parse_protocol
from gen.render import render
from runner.cli import main
from runner.errors import ConfigError

BUILTIN_NAMES = {"baseline", "sections", "madvise_user", "madvise_kernel", "vm_dead",
                 "detach_posted", "detach_merged", "detach_fixed", "per_vma", "detach_always",
                 "detach_merged_52", "detach_fixed_61", "mainline_615", "mainline"}
BODY = '''{% extends "base.tla.j2" %}
{% block munmap_body %}
{{ mm.down_write(P, munmap=true) }}
{{ mm.do_munmap(P, true) }}
{{ mm.up_write(P) }}
{% endblock %}
'''
FRONT = '''{#---
name = "NAME"
description = "a test protocol: baseline under another name"
kernel = "none: a test"
---#}
'''

def template(d: Path, name: str, front: str = FRONT, body: str = BODY) -> Path:
    path = d / f"{name}.tla.j2"
    path.write_text(front.replace("NAME", name) + body)
    return path


def model_file(d: Path, protocol: str, extra: str = "") -> Path:
    path = d / "models.toml"
    path.write_text(tiny_model(protocol) + extra)
    return path


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_the_built_in_protocols_are_their_templates() -> None:
    found = discover()
    assert set(found) == BUILTIN_NAMES
    dm = found["detach_merged"]
    assert dm.template == BUILTIN / "detach_merged.tla.j2" and dm.builtin
    assert dm.description == "Linux 4.20 (dd2283f2605e): detach, downgrade_write, unmap_region"
    assert dm.kernel.startswith("torvalds/linux dd2283f2605e")
    assert dm.options == () and dm.fault_path == "page_fault"


def test_a_protocol_of_ones_own_needs_only_a_template(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    template(tmp_path, "mine")
    assert "mine" not in discover()
    found = discover([tmp_path])
    assert set(found) == BUILTIN_NAMES | {"mine"} and not found["mine"].builtin
    [m] = load_models(model_file(tmp_path, "mine"), protocols=found)
    r = render(m)
    assert "MODULE mine " in r.text and "a test protocol: baseline under another name" in r.text
    assert "munmap0_zap_pte_range:" in r.text  # base.tla.j2 and mm.j2 come from the built-in
    assert main(["list", "--protocols", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "mine" in out and "a test protocol" in out and "template:" in out


def test_the_environment_variable_and_the_search_order(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    template(first, "mine", FRONT.replace("a test protocol", "the first"))
    template(second, "mine", FRONT.replace("a test protocol", "the second"))
    template(second, "detach_merged")  # hides the built-in one
    monkeypatch.setenv(ENV_VAR, str(second))
    found = discover()
    assert found["mine"].description.startswith("the second")
    assert found["detach_merged"].template.parent == second
    found = discover([first])  # --protocols before the environment variable
    assert found["mine"].description.startswith("the first")
    assert [p.template.parent for p in found.hidden] == [second, BUILTIN]
    assert main(["list", "--protocols", str(first)]) == 0
    assert "(hidden: mine of " in capsys.readouterr().out
    with pytest.raises(ConfigError, match="--protocols .*nowhere: no such directory"):
        discover([tmp_path / "nowhere"])


BAD_FRONT = [
    # (front matter, the key the message names, a word it contains)
    ("{% extends \"base.tla.j2\" %}\n", "1", "must start with its front matter"),
    (FRONT.replace('description = "a test protocol: baseline under another name"\n', ""),
     "front matter: description", "missing"),
    (FRONT.replace('name = "NAME"', 'name = "other"'), "front matter: name", "but the file is"),
    (FRONT.replace('kernel = "none: a test"', 'kernel = "x"\ncolour = "red"'),
     "front matter: colour", "unknown field"),
    (FRONT.replace('kernel = "none: a test"', 'kernel = '), "front matter", "not valid TOML"),
    (FRONT.replace("---#}", ""), "front matter", "no closing"),
    (FRONT.replace("---#}", 'fault_path = "no_such_macro"\n---#}'), "front matter: fault_path",
     "not a macro of mm.j2"),
    (FRONT.replace("---#}", '[options.x]\nvalues = [1, 2]\ndefault = 3\ndescription = "d"\n---#}'),
     "front matter: options.x.default", "not one of the values"),
    (FRONT.replace("---#}", '[options.pages]\nvalues = [1]\ndefault = 1\ndescription = "d"\n---#}'),
     "front matter: options.pages", "reserved"),
    (FRONT.replace("---#}", '[options.x]\nvalues = [1, "a"]\ndefault = 1\ndescription = "d"\n---#}'),
     "front matter: options.x.values", "all of one type"),
    (FRONT.replace("---#}", '[options.x]\nvalues = [1]\ndefault = 1\n---#}'),
     "front matter: options.x.description", "missing"),
]


@pytest.mark.parametrize("front,key,word", BAD_FRONT, ids=[f"{b[1]}:{b[2]}" for b in BAD_FRONT])
def test_a_bad_front_matter_is_one_line_naming_the_file_and_key(tmp_path: Path, front: str,
                                                                key: str, word: str) -> None:
    path = template(tmp_path, "mine", front)
    with pytest.raises(ConfigError) as e:
        discover([tmp_path])
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"{path}:{key}" if key == "1" else f"{path}: {key}")
    assert word in msg, msg


OPTION_FRONT = FRONT.replace("---#}", '''[options.ablation]
values = ["none", "no_downgrade"]
default = "none"
description = "no_downgrade: munmap keeps the write lock (the downgrade is what is tested)"
---#}''')
OPTION_BODY = '''{% extends "base.tla.j2" %}
{% block munmap_body %}
{{ mm.down_write(P, munmap=true) }}
{{ mm.find_split_munlock_detach(P, true) }}
{% if ablation != "no_downgrade" %}
{{ mm.downgrade_write(P) }}
{% endif %}
{{ mm.unmap_region(P, true) }}
{{ P }}_remove_vma_list:
  det[self] := {};
{% if ablation == "no_downgrade" %}
{{ mm.up_write(P) }}
{% else %}
{{ mm.up_read(P) }}
{% endif %}
{% endblock %}
'''


def test_options_are_declared_validated_passed_and_listed(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    template(tmp_path, "abl", OPTION_FRONT, OPTION_BODY)
    found = discover([tmp_path])
    [plain] = load_models(model_file(tmp_path, "abl"), protocols=found)
    assert plain.options == {"ablation": "none"}  # the default
    assert "munmap0_downgrade_write:" in render(plain).text
    [ablated] = load_models(model_file(tmp_path, "abl", 'ablation = "no_downgrade"\n'),
                            protocols=found)
    assert ablated.options == {"ablation": "no_downgrade"}
    text = render(ablated).text
    assert "munmap0_downgrade_write:" not in text and "munmap0_up_write:" in text
    assert ablated.to_dict()["ablation"] == "no_downgrade"
    path = model_file(tmp_path, "abl", 'ablation = "none_at_all"\n')
    with pytest.raises(ConfigError) as e:
        load_models(path, protocols=found)
    assert str(e.value).startswith(f"{path}: model 'm': ablation: 'none_at_all' is not a value "
                                   f"of abl's option ablation ('none' | 'no_downgrade')")
    path = model_file(tmp_path, "baseline", 'ablation = "none"\n')  # not baseline's option
    with pytest.raises(ConfigError, match=r"model 'm': ablation: unknown field"):
        load_models(path, protocols=found)
    assert main(["list", "--protocols", str(tmp_path)]) == 0
    assert "option ablation = none | no_downgrade (default none): no_downgrade: munmap keeps" \
        in " ".join(capsys.readouterr().out.split())  # wrapped at --width (default 80)


def test_a_template_declares_its_fault_path(tmp_path: Path) -> None:
    """fault_path names the mm.j2 macro base.tla.j2 runs for every page fault; a protocol
    directory may bring its own mm.j2 with a new fault path."""
    mm = (BUILTIN / "mm.j2").read_text() + '''
{#- page_fault_traced: page_fault, with a comment naming it.
    kernel: as page_fault
    lock: none -> read -> none
    changes: as page_fault
-#}
{% macro page_fault_traced(P, A, access, repeat) -%}
\\* the traced fault path
{{ page_fault(P, A, access, repeat) }}
{%- endmacro %}
'''
    (tmp_path / "mm.j2").write_text(mm)
    template(tmp_path, "traced", FRONT.replace("---#}", 'fault_path = "page_fault_traced"\n---#}'))
    found = discover([tmp_path])
    assert found["traced"].fault_path == "page_fault_traced"
    [m] = load_models(model_file(tmp_path, "traced"), protocols=found)
    assert "\\* the traced fault path\nfault1_access:" in render(m).text
    [b] = load_models(model_file(tmp_path, "baseline"), protocols=found)
    assert "the traced fault path" not in render(b).text  # the built-in keeps its own mm.j2


def test_new_writes_a_starting_template_that_list_shows(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "detach_next", "--from", "detach_merged", "--dir", str(tmp_path)]) == 0
    path = tmp_path / "detach_next.tla.j2"
    p = parse_protocol(path)
    assert p.name == "detach_next" and p.description.startswith("detach_merged, changed")
    body = path.read_text().split("---#}", 1)[1]
    assert body == (BUILTIN / "detach_merged.tla.j2").read_text().split("---#}", 1)[1]
    capsys.readouterr()
    assert main(["list", "--protocols", str(tmp_path)]) == 0
    assert "detach_next" in capsys.readouterr().out
    assert main(["new", "detach_next", "--dir", str(tmp_path)]) == 2  # no overwrite
    assert "exists already" in capsys.readouterr().err
    assert main(["new", "with-dash", "--dir", str(tmp_path)]) == 2
    assert main(["new", "x", "--dir", str(tmp_path / "nowhere")]) == 2
    template(tmp_path, "abl", OPTION_FRONT, OPTION_BODY)  # options are copied along
    assert main(["new", "abl2", "--from", "abl", "--dir", str(tmp_path)]) == 0
    assert [o.name for o in parse_protocol(tmp_path / "abl2.tla.j2").options] == ["ablation"]


def test_an_unknown_protocol_names_the_known_ones_and_how_to_add_one(tmp_path: Path) -> None:
    path = model_file(tmp_path, "detach_nope")
    with pytest.raises(ConfigError) as e:
        load_models(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: model 'm': protocol: unknown value 'detach_nope' (one of: ")
    assert "--protocols DIR" in msg and ENV_VAR in msg


def test_a_stored_result_keeps_its_protocol_definition(tmp_path: Path) -> None:
    """Reports are built from stored results: a protocol from a directory no longer given
    is still known by the definition stored with the model."""
    from gen.model import model_from_dict

    d = tmp_path / "p"
    d.mkdir()
    template(d, "abl", OPTION_FRONT, OPTION_BODY)
    [m] = load_models(model_file(tmp_path, "abl", 'ablation = "no_downgrade"\n'),
                      protocols=discover([d]))
    stored = m.to_dict()
    shutil.rmtree(d)
    again = model_from_dict(stored, "results.json")
    assert again == m


def test_list_takes_the_scenario_file_as_compare_does(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`--scenario-file FILE`, as `mmcheck compare` names it; `--scenarios FILE` still works."""
    (tmp_path / "s.toml").write_text('[scenario.mine]\ndescription = "my one scenario"\n'
                                     'pages = 4\nptes_per_table = 2\n'
                                     'munmap = { start = 1, end = 3 }\n'
                                     'vmas = [ { start = 1, end = 5, flags = [] } ]\n')
    for flag in ("--scenario-file", "--scenarios"):
        assert main(["list", flag, str(tmp_path / "s.toml")]) == 0
        assert "my one scenario" in capsys.readouterr().out
