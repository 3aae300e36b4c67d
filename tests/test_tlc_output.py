"""The TLC output parser on the corpus of real (and a few hand-written) TLC outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.tla_values import FrozenDict, ModelValue
from runner.tlc_output import (
    Outcome,
    ProgressWatcher,
    TlcResult,
    parse_progress_line,
    parse_tlc_output,
    split_frames,
)

CORPUS = Path(__file__).parent / "corpus"
TLC_CASES = sorted(p.stem for p in CORPUS.glob("*.json") if not p.stem.startswith("pcal_"))


def load(name: str) -> tuple[dict, TlcResult]:
    meta = json.loads((CORPUS / f"{name}.json").read_text())
    text = (CORPUS / f"{name}.out").read_text()
    return meta, parse_tlc_output(text, meta["exit_code"], timed_out=meta["timed_out"])


def test_corpus_covers_every_outcome() -> None:
    seen = {json.loads((CORPUS / f"{n}.json").read_text())["expect"]["outcome"]
            for n in TLC_CASES}
    assert seen == {o.value for o in Outcome}


def test_every_captured_case_is_from_the_pinned_jar() -> None:
    for name in TLC_CASES:
        meta = json.loads((CORPUS / f"{name}.json").read_text())
        assert meta["source"] in ("captured", "hand-written", "synthetic"), name
        if meta["source"] == "captured":
            assert meta["jar_sha256"].startswith("58c6df9a"), name


@pytest.mark.parametrize("name", TLC_CASES)
def test_corpus_expectations(name: str) -> None:
    meta, r = load(name)
    exp = meta["expect"]
    assert r.outcome.value == exp["outcome"], r.message
    for key in ("violated",):
        if key in exp:
            assert r.violated == exp[key]
    for key in ("distinct_states", "states_generated", "depth"):
        if key in exp:
            assert getattr(r.stats, key) == exp[key]
    if "trace_len" in exp:
        assert (len(r.trace.states) if r.trace else None) == exp["trace_len"]
    if "loop_to" in exp:
        assert r.trace is not None and r.trace.loop_to == exp["loop_to"]
    if "stuttering" in exp:
        assert r.trace is not None and r.trace.stuttering == exp["stuttering"]
    assert (r.disagreement is not None) == exp.get("disagreement", False), r.disagreement
    json.dumps(r.to_dict())  # JSON-safe, whatever the case
    if meta["source"] == "captured" and r.outcome is not Outcome.TOOL_ERROR:
        assert (r.tlc_version, r.tlc_revision) == ("2.15", "d5b5a7f")


def test_ok_statistics() -> None:
    _, r = load("ok")
    s = r.stats
    assert (s.initial_states, s.states_generated, s.distinct_states, s.states_left, s.depth) == (
        1, 33, 20, 0, 8)
    assert s.fp_collision == pytest.approx(1.4e-17)
    assert s.seconds is not None and 0 < s.seconds < 60
    assert r.trace is None and r.disagreement is None and r.exit_code == 0
    assert r.progress and r.progress[-1].distinct_states == 20


def test_invariant_trace_values() -> None:
    _, r = load("invariant")
    assert r.trace is not None
    s1, s2, s3 = r.trace.states
    assert (s1.number, s1.action, s1.location) == (1, None, None)
    assert s2.action == "Next"
    assert s2.location == "line 6, col 9 to line 6, col 94 of module Inv"
    assert s1.values == {"q": (), "r": {"a": 1, "b": "q"}, "s": frozenset(), "x": 0}
    assert s3.values == {"q": (0, 1), "r": {"a": 1, "b": "q"}, "s": frozenset({0, 1}), "x": 2}
    assert r.to_dict()["trace"]["states"][2]["values"]["s"] == [0, 1]


def test_values_of_every_kind_and_multi_line() -> None:
    _, r = load("values")
    assert r.trace is not None
    v = r.trace.states[0].values
    assert v["str"] == 'he said "hi"\\ok'
    assert v["mv"] == "M1" and isinstance(v["mv"], ModelValue)
    assert v["neg"] == -5 and v["b"] is True and v["e"] == ()
    assert v["f"] == ("x", "y")  # a function with domain 1..2 prints as a sequence
    assert v["g"] == {ModelValue("M1"): True, ModelValue("M2"): False}
    assert v["nest"] == ({"a": frozenset({(1, "a")}), "b": ()},
                         frozenset({frozenset(), frozenset({1})}), {"u": 0, "v": 0})
    assert len(v["big"]) == 40 and v["big"][39] == frozenset({40, 1040})  # wrapped over 40 lines
    after = r.trace.states[1].values
    assert after["f"] == {3: 4, 5: 6} and isinstance(after["f"], FrozenDict)
    assert after["b"] is False
    assert not r.warnings
    d = r.to_dict()["trace"]["states"][1]["values"]
    assert d["f"] == {"3": 4, "5": 6} and d["g"] == {"M1": True, "M2": False}


def test_initial_state_violation_has_a_one_state_trace() -> None:
    _, r = load("invariant_initial")
    assert r.trace is not None and len(r.trace.states) == 1
    assert r.trace.states[0].values["n"] == 0 and len(r.trace.states[0].values) == 10


def test_single_variable_states_and_lasso() -> None:
    _, r = load("liveness_lasso")
    assert r.trace is not None
    assert [s.values for s in r.trace.states] == [{"x": 0}, {"x": 1}, {"x": 2}]
    assert r.trace.loop_to == 1 and not r.trace.stuttering


def test_stuttering() -> None:
    _, r = load("liveness_stuttering")
    assert r.trace is not None and r.trace.stuttering and r.trace.loop_to is None
    assert r.exit_code == 13


def test_assert_nested_frame_2_15() -> None:
    _, r = load("assert")
    assert r.exit_code == 75 and r.trace is None
    assert '"x got too big"' in r.message
    top, _, closed = split_frames((CORPUS / "assert.out").read_text())
    outer = next(m for m in top if m.code == 1000)
    assert closed and [c.code for c in outer.children] == [2132]


def test_assert_with_trace_1_8_handwritten() -> None:
    meta, r = load("handwritten_tlc18_assert_trace")
    assert meta["source"] == "hand-written"
    assert r.outcome is Outcome.ASSERT and r.exit_code == 14 and r.disagreement is None
    assert r.trace is not None and len(r.trace.states) == 3
    assert r.tlc_version == "2.18" and r.tlc_revision == "3ea3222"


def test_action_arguments_1_8_handwritten() -> None:
    _, r = load("handwritten_tlc18_pluscal_step_args")
    assert r.trace is not None
    assert [(s.action, s.action_args) for s in r.trace.states] == [
        (None, None), ("step", "1"), ("step", "2")]


def test_minutes_in_duration_handwritten() -> None:
    _, r = load("handwritten_tlc17_ok")
    assert r.stats.seconds == 62.0 and r.stats.states_generated == 1033


def test_assumption_exit_code_is_cross_checked() -> None:
    text = (CORPUS / "assumption.out").read_text()
    assert parse_tlc_output(text, 10).disagreement is None  # 2.15 as measured here
    r = parse_tlc_output(text, 0)  # the exit code the TLC notes report
    assert r.outcome is Outcome.ASSUMPTION
    assert r.disagreement == "exit code 0 but the messages report assumption"


def test_continue_counts_violations_and_records_disagreement() -> None:
    _, r = load("continue")
    assert r.exit_code == 0 and r.outcome is Outcome.INVARIANT and r.violations == 2
    assert r.disagreement is not None and "exit code 0" in r.disagreement


def test_pluscal_actions_are_labels() -> None:
    _, r = load("pluscal_mutex")
    assert r.trace is not None
    assert [s.action for s in r.trace.states][1:] == ["test", "test", "set", "enter", "set",
                                                       "enter"]
    assert r.trace.states[-1].values["inside"] == frozenset({1, 2})


@pytest.mark.parametrize("name,needle", [
    ("parse_error_syntax", "Was expecting"),
    ("parse_error_semantic", "Unknown operator: `Frob'"),
    ("config_undefined_invariant", "The invariant Nope"),
    ("config_syntax", "configuration file at line 3"),
    ("config_missing_file", "NoSuchFile.cfg"),
    ("eval_error", "out of domain"),
    ("out_of_memory", "Java heap space"),
    ("bad_option", "unrecognized option: -bogus"),
])
def test_error_messages_are_short_and_say_what_happened(name: str, needle: str) -> None:
    _, r = load(name)
    assert needle in r.message
    assert len(r.message) <= 400 and "This was probably caused" not in r.message


def test_timeout_keeps_partial_statistics_from_progress() -> None:
    _, r = load("timeout")
    assert r.exit_code is None and r.progress
    assert r.stats.distinct_states == r.progress[-1].distinct_states > 1000
    assert r.stats.seconds is None  # unknown stays None


def test_truncated_output_is_a_tool_error_not_a_violation() -> None:
    _, r = load("synthetic_truncated_mid_trace")
    assert r.outcome is Outcome.TOOL_ERROR and r.violated is None
    assert "truncated" in r.message and "invariant" in r.message


@pytest.mark.parametrize("text", ["", "\x00\xff garbage", "@!@!@STARTMSG 2217:4 @!@!@\n1: <",
                                  "@!@!@ENDMSG 2186 @!@!@\n", "@!@!@STARTMSG 2110:1 @!@!@\n",
                                  "@!@!@STARTMSG x:y @!@!@"])
def test_never_crashes(text: str) -> None:
    for code in (None, 0, 12, 255):
        assert parse_tlc_output(text, code).outcome is Outcome.TOOL_ERROR


def test_every_prefix_of_a_real_output_parses() -> None:
    text = (CORPUS / "values.out").read_text()
    for cut in range(0, len(text), 37):
        r = parse_tlc_output(text[:cut], None)
        assert r.outcome is Outcome.TOOL_ERROR
    assert parse_tlc_output(text, 12).outcome is Outcome.INVARIANT


def test_unreadable_value_is_kept_as_text_with_a_warning() -> None:
    text = (CORPUS / "invariant.out").read_text().replace("/\\ s = {0, 1}", "/\\ s = {0, 1")
    r = parse_tlc_output(text, 12)
    assert r.outcome is Outcome.INVARIANT and r.trace is not None
    assert r.trace.states[2].values["s"] == "{0, 1"
    assert any("value of s not parsed" in w for w in r.warnings)


def test_progress_line_and_watcher() -> None:
    line = ("Progress(2605) at 2026-11-26 01:01:46: 6,779,029 states generated (6,779,029 s/min),"
            " 3,392,119 distinct states found (3,392,119 ds/min), 2,604 states left on queue.")
    p = parse_progress_line(line)
    assert p is not None
    assert (p.depth, p.states_generated, p.distinct_states, p.states_left) == (
        2605, 6779029, 3392119, 2604)
    assert parse_progress_line("Progress is not a number") is None
    got: list = []
    w = ProgressWatcher(got.append)
    for ln in (CORPUS / "timeout.out").read_text().splitlines():
        w(ln)
    assert [g.distinct_states for g in got] == [3392119]


def test_pcal_translation_error_line_from_captured_output() -> None:
    from runner.pcal import has_pluscal, translation_error

    meta = json.loads((CORPUS / "pcal_error.json").read_text())
    reason, line = translation_error((CORPUS / "pcal_error.out").read_text())
    assert meta["exit_code"] == 255 and line == meta["expect"]["line"] == 9
    assert reason == 'Expected "then" but found ":=" line 9, column 16.'
    assert "Translation completed" in (CORPUS / "pcal_ok.out").read_text()
    assert has_pluscal((CORPUS / "specs" / "Mutex.tla").read_text())
    assert has_pluscal("(* --fair algorithm X\n")
    assert not has_pluscal((CORPUS / "specs" / "Inv.tla").read_text())


def test_random_simulation() -> None:
    _, r = load("simulate_ok")
    assert r.outcome is Outcome.OK and r.exit_code == 0 and r.disagreement is None
    assert r.stats.distinct_states is None and r.stats.states_generated
    assert r.progress and r.progress[-1].depth is None
    _, v = load("simulate_invariant")
    assert v.outcome is Outcome.INVARIANT and v.trace is not None
