"""gen/exhaustive.py: the scenarios of `compare --exhaustive` (pure)."""
from __future__ import annotations

from pathlib import Path

import pytest

from gen import exhaustive
from gen.exhaustive import Bound, cared_flags, layouts, scenarios, shifted, thread_sets
from gen.model import parse_model

TEMPLATES = Path(__file__).resolve().parent.parent / "specs" / "templates"


def template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def test_the_flags_a_comparison_cares_about() -> None:
    """detach_fixed differs from detach_merged in a step that tests the stack flags; two
    protocols that use the same steps care about no flag."""
    mm = template("mm.j2")
    assert cared_flags(template("detach_merged.tla.j2"), template("detach_fixed.tla.j2"),
                       mm) == ("growsdown", "growsup")
    same = template("detach_merged.tla.j2")
    assert cared_flags(same, same, mm) == ()


def test_layouts_of_two_pages() -> None:
    """Holes never side by side, at least one VMA, each VMA with no flag or one."""
    got = [tuple((v["start"], v["end"], tuple(v["flags"])) for v in vmas)
           for vmas in layouts(2, ("growsdown",))]
    assert len(got) == len(set(got))
    assert ((1, 3, ()),) in got and ((1, 2, ()), (2, 3, ("growsdown",))) in got
    assert ((2, 3, ()),) in got  # a hole below
    # one VMA over both pages (2 kinds) + two VMAs (2 x 2) + VMA and hole either way (2 x 2)
    assert len(got) == 2 + 4 + 4


def test_identical_threads_are_one_thread_with_a_count() -> None:
    options = [{"kind": "fault", "access": "read", "addr": 1},
               {"kind": "fault", "access": "write", "addr": 1}]
    sets = list(thread_sets(options, 2))
    assert [] in sets
    assert [dict(options[0], count=2)] in sets
    assert len(sets) == 1 + 2 + 3  # none, one of two, a multiset of two of two
    assert not any(len(s) == 2 and s[0] == s[1] for s in sets)


def test_a_scenario_shifted_by_a_page_table_is_left_out() -> None:
    s = {"vmas": [{"start": 3, "end": 4, "flags": [], "populated": True}], "munmap": (3, 4),
         "threads": [{"kind": "fault", "access": "read", "addr": 3}]}
    assert shifted(s, 2)
    assert not shifted(dict(s, threads=[{"kind": "fault", "access": "read", "addr": 2}]), 2)
    assert not shifted(s, 4)


def test_every_scenario_is_a_valid_model_and_they_come_smallest_first() -> None:
    found = scenarios(Bound(2, 1, 1), ("growsdown", "growsup"))
    assert len(found) == len({repr(s) for s in found})
    for i, s in enumerate(found):
        parse_model(dict(s, name=f"x{i}", protocol="detach_merged"), "test", i)
    threads = [len(s["threads"]) for s in found]
    assert threads == sorted(threads)  # no thread first
    assert found[0]["description"] == "VMAs [1,2); munmap [1,2)"
    # the shape of the hand-written growsdown scenario, scaled to one pte per table
    assert ("VMAs [1,2) [2,3) growsdown; munmap [1,2); write fault at 1"
            in [s["description"] for s in found])
    # nothing but munmap ranges that touch a VMA
    for s in found:
        touched = {p for v in s["vmas"] for p in range(v["start"], v["end"])}
        assert touched & set(range(s["munmap"]["start"], s["munmap"]["end"]))


def test_populated_or_not_only_where_munmap_takes_something() -> None:
    found = scenarios(Bound(2, 0, 1), ())
    for s in found:
        for v in s["vmas"]:
            if not v["populated"]:
                assert v["start"] < s["munmap"]["end"] and s["munmap"]["start"] < v["end"]


def test_more_threads_and_kinds_give_more_scenarios() -> None:
    one = len(scenarios(Bound(2, 1, 1), ()))
    two = len(scenarios(Bound(2, 2, 1), ()))
    kinds = len(scenarios(Bound(2, 1, 1, ("fault", "munmap")), ()))
    assert one < two and one < kinds


@pytest.mark.parametrize("total,name", [(9, "x0001"), (12345, "x00001")])
def test_scenario_names(total: int, name: str) -> None:
    assert exhaustive.scenario_name(1, total) == name


def test_every_builtin_thread_kind_enumerates_including_one_of_no_page() -> None:
    """A /proc/pid/maps reader has no page (it walks every VMA): its scenarios are made,
    named and valid like the others (it was an internal error)."""
    from gen.protocols import discover

    actors = discover([]).actors
    kinds = tuple(actors.found)
    found = scenarios(Bound(2, 1, 1, kinds), ("growsdown", "growsup"), actors=actors)
    assert {t["kind"] for s in found for t in s["threads"]} == set(kinds)
    maps = [s for s in found if [t["kind"] for t in s["threads"]] == ["proc_maps"]]
    assert maps and maps[0]["description"].endswith("; proc_maps")
    for i, s in enumerate(maps):
        parse_model(dict(s, name=f"x{i}", protocol="mainline"), "test", i)


def test_kinds_all_is_every_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.cli import build_parser
    from runner.commands.compare import exhaustive_models

    monkeypatch.chdir(TEMPLATES.parent.parent)
    args = build_parser().parse_args(["compare", "detach_merged", "detach_fixed",
                                      "--exhaustive", "--max-pages", "1", "--kinds", "all"])
    models, scope = exhaustive_models(args)
    assert "thread kinds: munmap, fault," in scope and "proc_maps, mremap" in scope
    assert {t.kind for m in models for t in m.threads} >= {"fault", "proc_maps", "binder"}
