"""Actors (thread kinds) as template files: the built-in ones keep the kinds and keys of
the closed list they replace, one validator checks every actor's keys, an actor of one's
own is found, listed, validated, rendered and stored like a protocol, and `mmcheck new
--actor` scaffolds one.  Pure (rendering only)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gen.actors import SUFFIX, builtin, parse_actor
from gen.frontmatter import BUILTIN, ENV_VAR
from gen.load import load_models
from gen.model import model_from_dict
from gen.protocols import discover
from gen.render import render
from runner.cli import main
from runner.errors import ConfigError

# The thread kinds and their keys before they became actors (gen/model.py THREAD_KEYS):
# the contract of every model file.
CONTRACT = {
    "fault": {"kind", "access", "addr", "count", "repeat"},
    "mmap_fixed": {"kind", "start", "end", "count", "prot"},  # prot: litmus (PROT_NONE)
    "munmap": {"kind", "start", "end", "count"},
    "madvise": {"kind", "start", "end", "count", "lock"},
    "follow_pte": {"kind", "addr", "lookup", "count"},
    "binder": {"kind", "addr", "lock", "count"},
}
ADDED = {"mprotect": {"kind", "start", "end", "count"},  # the actors added since
         "mremap": {"kind", "start", "end", "new_end", "to", "count"},
         "mincore": {"kind", "addr", "count"}, "mlock": {"kind", "start", "end", "count"},
         # observers that take no mmap_lock, or not only it (issue 18 §1)
         "gup_fast": {"kind", "addr", "count"}, "rmap_walk": {"kind", "addr", "count"},
         "proc_maps": {"kind", "lock", "count"}}

WALKER = '''{#---
name = "walker"
description = "a test actor: reads the pte of addr under down_read"
kernel = "none: a test"
summary = "walker at page {{ addr }}{{ ' (twice)' if twice else '' }}"
order = 70
variables = ["seen"]
[keys.addr]
type = "page"
[keys.twice]
type = "bool"
default = false
[keys.mode]
type = "enum"
values = ["a", "b", "c"]
default = "a"
---#}
{% import "mm.j2" as mm with context %}
{% macro definitions(groups) %}
WalkerThreads == {{ groups | map(attribute="const") | join(" \\\\cup ") }}
{%- endmacro %}
{% macro variables(groups) %}
  seen = [t \\in WalkerThreads |-> "none"],  \\* what the walker read
{%- endmacro %}
{% macro process(g) %}

\\* {{ g.describe }}
fair process {{ g.proc }} \\in {{ g.const }}
begin
{{ mm.down_read(g.prefix, g.prefix ~ "_walk") }}
{{ g.prefix }}_walk:
  seen[self] := pte[{{ g.addr }}];
{{ g.prefix }}_up_read:
  readers := readers \\ {self};
end process;
{%- endmacro %}
'''

MODEL = '''[[model]]
name = "w"
protocol = "baseline"
pages = 4
ptes_per_table = 2
munmap = { start = 1, end = 3 }
vmas = [ { start = 1, end = 4 } ]
threads = [ THREADS ]
'''


def model_file(d: Path, threads: str) -> Path:
    path = d / "m.toml"
    path.write_text(MODEL.replace("THREADS", threads))
    return path


def test_the_built_in_actors_keep_the_kinds_and_keys_of_the_closed_list() -> None:
    actors = builtin()
    assert list(actors)[:6] == ["munmap", "fault", "mmap_fixed", "madvise", "follow_pte",
                                "binder"]
    assert {n: a.allowed for n, a in actors.items()} == CONTRACT | ADDED
    assert all(a.template == BUILTIN / f"{a.name}{SUFFIX}" and a.builtin
               for a in actors.values())


def test_an_actor_of_ones_own_is_found_validated_rendered_and_stored(tmp_path: Path) -> None:
    (tmp_path / f"walker{SUFFIX}").write_text(WALKER)
    protocols = discover([tmp_path])
    # in process order: mprotect's and walker's 70 (by name), the built-in observers' 72,
    # 74, 76, mremap's 80
    assert list(protocols.actors)[-5:] == ["walker", "gup_fast", "rmap_walk", "proc_maps",
                                           "mremap"]
    assert not protocols.actors["walker"].builtin
    [m] = load_models(model_file(tmp_path, '{ kind = "walker", addr = 2, twice = true }'),
                      protocols=protocols)
    t = m.threads[0]
    assert (t.kind, t.addr, t.twice, t.mode, t.count) == ("walker", 2, True, "a", 1)
    r = render(m)
    assert "fair process Walker1Thread \\in Walker1" in r.text
    assert "WalkerThreads == Walker1" in r.text
    assert '  seen = [t \\in WalkerThreads |-> "none"],  \\* what the walker read' in r.text
    assert "walker1: walker at page 2 (twice)" in r.text
    _line, src = r.labels()["walker1_walk"]
    assert src is not None and r.place(src).startswith(str(tmp_path / f"walker{SUFFIX}"))
    # a stored result keeps the actor's definition: read back without the directory
    stored = json.loads(json.dumps(m.to_dict()))
    assert [a["name"] for a in stored["actor_definitions"]] == ["walker"]
    again = model_from_dict(stored, "result.json")
    assert again.threads == m.threads and again.threads[0].actor.name == "walker"
    # a model of built-in actors only stores none
    assert "actor_definitions" not in load_models(
        model_file(tmp_path, '{ kind = "fault", access = "read", addr = 2 }'))[0].to_dict()


def test_the_environment_variable_finds_actors_and_an_earlier_one_hides(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / f"walker{SUFFIX}").write_text(WALKER)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert "walker" in discover().actors
    own = tmp_path / "own"
    own.mkdir()
    (own / f"follow_pte{SUFFIX}").write_text(
        (BUILTIN / f"follow_pte{SUFFIX}").read_text().replace("s390 pci_mmio:", "mine:"))
    actors = discover([own]).actors
    assert actors["follow_pte"].template.parent == own
    assert [a.template.parent for a in actors.hidden] == [BUILTIN]


@pytest.mark.parametrize("threads,key,problem", [
    ('{ kind = "walker" }', "threads[0].addr", "missing"),
    ('{ kind = "walker", addr = 9 }', "threads[0].addr", "9 is out of range (1..4)"),
    ('{ kind = "walker", addr = 2, twice = 1 }', "threads[0].twice", "must be true or false"),
    ('{ kind = "walker", addr = 2, mode = "d" }', "threads[0].mode",
     "must be one of 'a', 'b', 'c', not 'd'"),
    ('{ kind = "walker", addr = 2, lock = "read" }', "threads[0].lock",
     "unknown field (allowed: addr, count, kind, mode, twice)"),
    ('{ kind = "walkers", addr = 2 }', "threads[0].kind", ("unknown value 'walkers' (one of: "
     "munmap, fault, mmap_fixed, madvise, follow_pte, binder, mincore, mlock, mprotect, walker, "
     "gup_fast, rmap_walk, proc_maps, mremap)")),
])
def test_one_validator_checks_every_actors_keys(tmp_path: Path, threads: str, key: str,
                                                problem: str) -> None:
    (tmp_path / f"walker{SUFFIX}").write_text(WALKER)
    path = model_file(tmp_path, threads)
    with pytest.raises(ConfigError) as e:
        load_models(path, protocols=discover([tmp_path]))
    assert str(e.value) == f"{path}: model 'w': {key}: {problem}"


@pytest.mark.parametrize("change,key,problem", [
    (('name = "walker"', 'name = "walk"'), "name", "but the file is walker.actor.j2"),
    (('type = "page"', 'type = "pages"'), "keys.addr.type", "is not a key type"),
    (('default = "a"', 'default = "z"'), "keys.mode.default", "is not a value"),
    (('order = 70', 'order = "late"'), "order", "an integer"),
    (('variables = ["seen"]', 'variables = ["alloc_vma"]'), "variables",
     "'alloc_vma' is a variable of actor binder too"),
    (('[keys.addr]', '[keys.count]'), "keys.count", "reserved"),
    (('summary = "walker at page {{ addr }}', 'summary = "walker at page {{ addr '), "summary",
     "not a jinja template"),
    (('kernel = "none: a test"\n', ''), "kernel", "missing or empty"),
])
def test_a_bad_actor_front_matter_is_one_line_naming_the_file_and_key(
        tmp_path: Path, change: tuple[str, str], key: str, problem: str) -> None:
    path = tmp_path / f"walker{SUFFIX}"
    assert change[0] in WALKER
    path.write_text(WALKER.replace(*change))
    with pytest.raises(ConfigError) as e:
        discover([tmp_path])
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"{path}: front matter: {key}: ")
    assert problem in message


def test_an_actor_template_needs_its_process_macro_and_valid_jinja(tmp_path: Path) -> None:
    path = tmp_path / f"walker{SUFFIX}"
    path.write_text(WALKER.replace("{% macro process(g) %}", "{% macro proc(g) %}"))
    with pytest.raises(ConfigError, match=r"walker.actor.j2: no process\(g\) macro"):
        discover([tmp_path])
    path.write_text(WALKER.replace("{%- endmacro %}\n{% macro process", "{% macro process"))
    with pytest.raises(ConfigError, match=r"walker.actor.j2:\d+: not a valid template"):
        discover([tmp_path])


def test_mremap_shrink_runs_the_protocols_munmap_over_its_tail(tmp_path: Path) -> None:
    path = model_file(tmp_path, '{ kind = "mremap", start = 2, end = 4, new_end = 3 }')
    [m] = load_models(path)
    text = render(m).text
    assert "MunmapThreads == Munmap0 \\cup Mremap1" in text
    assert "MStart(m) == CASE m \\in Munmap0 -> 1 [] m \\in Mremap1 -> 3" in text
    assert "mremap1_mremap:" in text and "mremap1_down_write" in text  # the protocol's body
    path = model_file(tmp_path, '{ kind = "mremap", start = 2, end = 4, new_end = 4 }')
    with pytest.raises(ConfigError, match=r"threads\[0\]\.end: 4 is not above new_end \(4\): "
                                          r"start < new_end < end"):
        load_models(path)


MOVE_MODEL = '''[[model]]
name = "w"
protocol = "baseline"
pages = 6
ptes_per_table = 2
munmap = { start = 1, end = 2 }
vmas = [ { start = 1, end = 2 }, { start = 3, end = 5 } ]
threads = [ THREADS ]
'''


def test_mremap_move_is_a_process_of_its_own_not_a_munmap_thread(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(MOVE_MODEL.replace(
        "THREADS", '{ kind = "mremap", start = 3, end = 5, new_end = 4, to = 2 }'))
    [m] = load_models(path)
    assert m.threads[0].to_dict() == {"kind": "mremap", "count": 1, "start": 3, "end": 5,
                                      "new_end": 4, "to": 2}
    actor = m.threads[0].actor
    assert actor.moves_to == "to" and actor.key("to").optional
    assert type(actor).from_dict(actor.to_dict()) == actor  # as results store it
    text = render(m).text
    assert "MunmapThreads == Munmap0\n" in text  # the move is not judged as a munmap
    assert "mremap of [3, 5) moved: [4, 5) unmapped, [3, 4) to [2, 3)" in text
    # the tail by do_munmap under the write lock, then the move, then the source's unmap
    order = [text.index(label) for label in ("mremap1_down_write_killable:",
                                             "mremap1_tail_find_vma:", "mremap1_move_vma:",
                                             "mremap1_src_find_vma:", "mremap1_up_write:")]
    assert order == sorted(order)
    assert "mremap1_downgrade" not in text and "mremap1_up_read" not in text


@pytest.mark.parametrize("thread,key,problem", [
    ('to = 9', "to", "9 is out of range (1..6)"),
    ('to = 6, end = 5, new_end = 5', "end", "5 is not above new_end (5)"),
    ('to = 4', "to", "the destination [4, 5) overlaps the source [3, 5) (mremap_to: -EINVAL)"),
    ('to = 1', "to", ("the destination [1, 2) is mapped (unmapping it first, mremap_to's "
                      "do_munmap, is not modelled)")),
    ('to = 5, start = 2, new_end = 3', "start", ("the source [2, 5) is not inside one VMA "
                                                 "(vma_to_resize: -EFAULT)")),
    ('to = 5, munmap = 4-5', "to",
     "[3, 5) meets the munmap range [4, 5)"),
])
def test_a_move_the_kernel_refuses_or_the_model_cannot_judge_is_one_line(
        tmp_path: Path, thread: str, key: str, problem: str) -> None:
    keys = {"start": 3, "end": 5, "new_end": 4}
    extra = ""
    for part in thread.split(", "):
        k, v = part.split(" = ")
        if k == "munmap":
            a, b = v.split("-")
            extra = f'{{ kind = "munmap", start = {a}, end = {b} }}, '
        else:
            keys[k] = int(v)
    text = ", ".join(f"{k} = {v}" for k, v in keys.items())
    path = tmp_path / "m.toml"
    path.write_text(MOVE_MODEL.replace("THREADS", extra + f'{{ kind = "mremap", {text} }}'))
    with pytest.raises(ConfigError) as e:
        load_models(path)
    index = 1 if extra else 0
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: model 'w': threads[{index}].{key}: {problem}")


@pytest.mark.parametrize("change,key,problem", [
    (('[keys.twice]', '[keys.to]\ntype = "page"\n[keys.twice]'), "moves_to",
     "the name of an optional page key"),
    (('type = "bool"', 'type = "bool"\noptional = true'), "keys.twice.optional",
     "only for a page key"),
])
def test_moves_to_names_an_optional_page_key(tmp_path: Path, change: tuple[str, str], key: str,
                                            problem: str) -> None:
    text = WALKER.replace('order = 70', 'order = 70\nprotocol_range = ["addr", "addr2"]\n'
                          'moves_to = "to"').replace(
        '[keys.twice]', '[keys.addr2]\ntype = "page"\n[keys.twice]').replace(*change)
    path = tmp_path / f"walker{SUFFIX}"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        discover([tmp_path])
    assert str(e.value).startswith(f"{path}: front matter: {key}: ")
    assert problem in str(e.value)


def test_layout_checks_come_from_the_front_matter() -> None:
    binder, fault = builtin()["binder"], builtin()["fault"]
    assert binder.key("addr").in_vma.startswith("binder caches the VMA")
    assert [(r.key, r.flag, r.when) for r in fault.refuse] == [
        ("addr", "uprobe", (("access", "write"),)), ("addr", "shared_file", (("access", "write"),))]


def test_new_actor_writes_a_valid_copy_that_list_shows(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "--actor", "my_binder", "--from", "binder", "--dir", str(tmp_path)]) == 0
    path = tmp_path / f"my_binder{SUFFIX}"
    a = parse_actor(path)
    assert a.variables == ("my_binder_alloc_vma", "my_binder_bv")
    assert "alloc_vma[" not in path.read_text().replace("my_binder_alloc_vma[", "")
    capsys.readouterr()
    assert main(["list", "--protocols", str(tmp_path), "--names", "actors"]) == 0
    names = capsys.readouterr().out.split()
    assert names.index("my_binder") == names.index("binder") + 1  # binder's order, then by name
    assert main(["list", "--protocols", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Actors (a model's thread kinds" in out
    assert f"template: {path}" in "".join(out.split()).replace("template:", "template: ")
    assert main(["new", "--actor", "my_binder", "--dir", str(tmp_path)]) == 2  # exists
    assert main(["new", "--actor", "fault", "--dir", str(tmp_path)]) == 2  # a built-in name
    assert main(["new", "--actor", "x", "--from", "nope", "--dir", str(tmp_path)]) == 2
    assert main(["new", "--actor", "x", "--from", "munmap", "--dir", str(tmp_path)]) == 2
    assert main(["new", "p", "--actor", "x", "--dir", str(tmp_path)]) == 2  # one of the two
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"my_binder{SUFFIX}"]
