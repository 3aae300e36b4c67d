"""Every invariant in one run (gen/first_violations.py) with the real TLC: each invariant is
reported once, with the trace a run that stops at its first violation gives it, even one
that fails only where another fails first; plain -continue (the broken variant) never
names that one.  And the matrix models with the most runs decide as before in fewer."""
from __future__ import annotations

from pathlib import Path

import pytest

from gen.first_violations import NAME, with_first_violations
from gen.load import load_models
from runner.check import check_models
from runner.java import QUICK_JIT
from runner.tlc import run_tlc
from runner.tlc_output import Outcome, parse_tlc_output, reports_left, split_first_violations

pytestmark = pytest.mark.java
MATRIX = Path(__file__).resolve().parent.parent / "specs" / "matrix.toml"

# x counts up by 1 or 2; Same fails exactly where Early does, and only there.
SPEC = """---- MODULE Steps ----
EXTENDS Naturals, TLC
VARIABLE x
Init == x = 0
Next == x < 6 /\\ \\E d \\in {1, 2} : x' = x + d
Early == x # 3
Same == x # 3
Late == x < 5
WriteHoldReport == TRUE
====
"""
INVARIANTS = ["Early", "Same", "Late"]


def _run(tmp_path: Path, tools, name: str, invariants: list[str], continue_: bool,  # type: ignore[no-untyped-def]
         text: str = SPEC):
    d = tmp_path / name
    d.mkdir()
    (d / "Steps.tla").write_text(text)
    (d / "Steps.cfg").write_text("INIT Init\nNEXT Next\nINVARIANTS\n"
                                 + "".join(f"  {i}\n" for i in invariants))
    return run_tlc(d / "Steps.tla", d / "Steps.cfg", tools=tools, workers=1, timeout=60,
                   deadlock=False, extra_args=["-continue"] if continue_ else [],
                   jvm_args=QUICK_JIT)


def test_each_invariant_once_with_the_trace_of_a_run_of_its_own(tmp_path: Path, tools) -> None:  # type: ignore[no-untyped-def]
    text = with_first_violations(SPEC, INVARIANTS, write_hold=True)
    assert text is not None
    one = _run(tmp_path, tools, "one", [NAME], True, text)
    reports, rest_text = split_first_violations(one.output)
    assert not reports_left(rest_text)
    assert [names for names, _ in reports] == [("Early", "Same"), ("Late",)]
    rest = parse_tlc_output(rest_text, one.exit_code)
    assert rest.outcome is Outcome.OK and rest.stats.distinct_states == 8  # x = 0..7
    for names, trace in reports:
        for name in names:
            alone = _run(tmp_path, tools, name, [name], False)
            assert alone.outcome is Outcome.INVARIANT and alone.violated == name
            assert trace == alone.trace, name


def test_plain_continue_never_names_an_invariant_that_fails_where_another_does(  # type: ignore[no-untyped-def]
        tmp_path: Path, tools) -> None:
    plain = _run(tmp_path, tools, "plain", INVARIANTS, True)
    named = {line.split()[1] for line in plain.output.splitlines()
             if line.startswith("Invariant ") and line.endswith(" is violated.")}
    assert named == {"Early", "Late"}  # Same is violated too, but TLC never says so


def test_matrix_models_decide_as_with_a_run_per_invariant(tmp_path: Path, tools) -> None:  # type: ignore[no-untyped-def]
    """Three invariants and a termination check in one run; a stuck state and a deadlock
    (the run stops: the invariants it had not reported are decided by the runs after)."""
    names = ["baseline-neg-forget-zap", "detach_merged-neg-keep-writer"]
    models = [m for m in load_models(MATRIX) if m.name in names]
    results = {r.model.name: r for r in check_models(models, tmp_path, tools, jobs=2)}
    forget = results["baseline-neg-forget-zap"]
    assert [(r.name, r.outcome, r.violated) for r in forget.runs] == [
        ("safety-1", "invariant", "WriteHoldBound, PageTableSafety, RangeUnmapped")]
    assert [len(forget.verdicts[p].trace.states)  # type: ignore[union-attr]
            for p in ("WriteHoldBound", "PageTableSafety", "RangeUnmapped")] == [8, 11, 14]
    assert forget.distinct_states == 39 and forget.max_write_hold == 1
    keep = results["detach_merged-neg-keep-writer"]
    assert keep.runs[0].violated == "RwsemExclusive, WriteHoldBound, ProgressE"
    for r in results.values():
        assert all(v.matches for v in r.verdicts.values()), r.model.name


def test_its_attachment_and_reproduce_command(tmp_path: Path, tools,  # type: ignore[no-untyped-def]
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The attachment draws each trace of the one run (several of the same length are not
    "the same trace"), and its command re-runs that run, -continue included."""
    from runner.cli import main
    from runner.report.attachment import render

    model, other = sorted((m for m in load_models(MATRIX)
                           if m.name in ("baseline-neg-forget-zap", "baseline-fault")),
                          key=lambda m: m.name != "baseline-neg-forget-zap")
    [result] = check_models([model, other], tmp_path, tools, jobs=2)[:1]  # one worker each
    text = render(result)
    assert "The same trace as" not in text
    command = f"mmcheck tlc baseline.tla --config {result.runs[0].cfg} --workers 1 --continue"
    assert command in " ".join(text.split())
    spec = tmp_path / model.name / "baseline.tla"
    assert main(["tlc", str(spec), "--config", str(spec.with_name(result.runs[0].cfg)),
                 "--workers", "1", "--continue"]) == 1  # violations found
    out = capsys.readouterr().out
    named = [line.split(": ", 1)[1] for line in out.splitlines()
             if line.startswith("violated at the first state that violates it: ")]
    assert named == ["WriteHoldBound", "PageTableSafety", "RangeUnmapped"]
    assert "then: outcome: ok" in out
