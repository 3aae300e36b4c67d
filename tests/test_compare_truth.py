"""`mmcheck compare` tells the whole truth (issue 18, section 3): why a model failed, the
bound of every "holds", NEW's own race where both violate, the kernel-era warning, the
property categories, the cover letter; and the shapes of its command line (--scenarios
before BASE NEW, --properties, --width).  Pure: stored results of real runs."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from gen import eras
from gen.model import PROPERTIES
from gen.properties import CATEGORIES, category, select
from gen.protocols import discover
from runner.check import ModelResult
from runner.cli import build_parser, main
from runner.commands.compare import eras as era_differences
from runner.commands.compare import positionals
from runner.errors import ConfigError, MmcheckError
from runner.judge import Verdict
from runner.report import comparison
from runner.report.stored import load_run

RUNS = Path(__file__).resolve().parent / "data" / "runs"


def _as(r: ModelResult, protocol: str, scenario: str) -> ModelResult:
    """A stored result, renamed to another protocol and scenario (pairs are by name)."""
    model = dataclasses.replace(r.model, protocol=protocol, name=f"{protocol}-{scenario}")
    return dataclasses.replace(r, model=model)


def _result(run: str, name: str) -> ModelResult:
    return next(r for r in load_run(RUNS / run).results if r.model.name == name)


def test_every_property_is_in_one_category_and_properties_selects_by_either() -> None:
    assert sorted(p for ps in CATEGORIES.values() for p in ps) == sorted(PROPERTIES)
    assert category("PageTableSafety") == "memory-safety"
    assert category("MunmapAtomic") == "semantics" and category("WriteHoldBound") == "latency"
    assert select(None) == PROPERTIES
    assert select(["latency", "NoLostWrite"]) == ("NoLostWrite", "WriteHoldBound")
    assert select(["memory-safety,liveness"]) == (
        "TypeOK", "RwsemExclusive", "PageTableSafety", "NoVmaUseAfterFree", "DeadlockFree",
        "MunmapCompletes", "AllThreadsComplete")
    with pytest.raises(ConfigError, match="--properties: unknown property or category 'Safety'"):
        select(["Safety"])


def test_both_violate_by_another_race_draws_news_counterexample() -> None:
    """vm_dead's NoThirdState is a SIGBUS, madvise_user's a zero page: the same property,
    two races; NEW's is drawn.  The same race on both sides is not."""
    base = _as(_result("shapes", "vm_dead-special-pfnmap"), "vm_dead", "s")
    new = _as(_result("example", "madvise_user-fault"), "madvise_user", "s")
    c = comparison.compare("vm_dead", "madvise_user", [base, new])
    [pair] = c.pairs
    assert "NoThirdState" in pair.both and pair.other_race == ("NoThirdState",)
    text = comparison.render_text(c, 80, "kernel")
    assert "NoThirdState (another race)" in text
    drawn = text.split("Both violate, but madvise_user's race differs from vm_dead's", 1)[1]
    assert "s: NoThirdState (model madvise_user-s" in drawn
    assert "reads the zero page" in drawn and max(len(x) for x in text.split("\n")) <= 80
    assert "madvise_user's race differs" in comparison.render_md(c)
    same = comparison.compare("vm_dead", "madvise_user",
                              [base, _as(_result("shapes", "vm_dead-special-pfnmap"),
                                         "madvise_user", "s")])
    assert same.pairs[0].other_race == () and "race differs" not in comparison.render_text(same)


def test_a_failed_model_says_why() -> None:
    ok = _result("example", "detach_merged-fault")
    why = "my.tla.j2:12: PlusCal translation failed: Expected \"then\" but found \":=\""
    broken = _as(ok, "mine", "fault")
    broken = dataclasses.replace(broken, verdicts={
        p: Verdict(p, "error", "holds", None, None, why) for p in PROPERTIES})
    c = comparison.compare("detach_merged", "mine", [ok, broken])
    assert c.status == 2
    text = comparison.render_text(c, 80)
    assert "Why (the error of each model that failed):\n  mine-fault: my.tla.j2:12: PlusCal " \
           "translation failed:" in text
    assert text.count("PlusCal translation failed") == 1  # once per model, not per property
    assert "translation failed" in comparison.render_html(c)


def test_kernel_eras_are_read_off_the_templates() -> None:
    ps = discover([])
    merged, per_vma = eras.era(ps["detach_merged"]), eras.era(ps["per_vma"])
    assert "under the write lock" in merged.features["munlock"]
    assert per_vma.features["munlock"] == "at the zap (5.18+)"
    assert {k for k, _, _ in eras.differences(merged, per_vma)} == {
        "fault_path", "munlock", "vma_locks", "split_order"}
    assert eras.differences(merged, eras.era(ps["detach_fixed"])) == []
    # mainline_615 extends mainline: its vm_refcnt comes from there
    assert eras.era(ps["mainline_615"]).features["vma_refcnt"].startswith("yes")
    diffs = era_differences((ps["detach_merged"], ps["per_vma"]))
    assert ("per-VMA locks", "no", "yes (6.4+)", ("fault", "madvise")) in diffs


def test_the_era_warning_says_which_verdicts_it_can_explain() -> None:
    run = load_run(RUNS / "example")
    base = _result("example", "madvise_user-fault")
    new = _as(_result("example", "detach_merged-fault"), "x", "fault")
    growsdown = _result("example", "detach_merged-growsdown")
    c = comparison.compare("madvise_user", "x", [base, new, growsdown],
                           eras=[("page fault", "old", "new", ("fault",)),
                                 ("munlock", "walk", "at the zap", ("locked",))])
    text = comparison.render_text(c, 80)
    assert "Warning: madvise_user and x model different kernel eras" in text
    assert "page fault: madvise_user: old; x: new\n    can explain: fault (NoThirdState " \
           "fixed, write hold 1 -> 0)" in text
    assert "munlock: madvise_user: walk; x: at the zap\n    (no verdict moved where it " \
           "runs)" in text
    assert "can explain: fault" in comparison.render_letter(c)
    assert run.results  # the stored run is what the pairs came from


def test_the_cover_letter_fits_mail_and_says_what_was_checked() -> None:
    run = load_run(RUNS / "example")
    c = comparison.compare("detach_merged", "madvise_user", run.results)
    letter = comparison.render_letter(c)
    assert max(len(x) for x in letter.split("\n")) <= 72
    flat = " ".join(letter.split())
    assert flat.startswith("madvise_user against detach_merged, checked with mmcheck "
                           "(TLA+/TLC): 1 scenario (2 models)")
    assert "exhaustively within its bound: 4 pages, 2 threads" in flat
    assert "Breaks: NoThirdState (semantics) in fault." in flat
    assert "Latency: fault 0 -> 1" in flat
    assert "Holds with madvise_user in every decided scenario (1 of 1): memory safety: " \
           "TypeOK, RwsemExclusive, PageTableSafety, NoVmaUseAfterFree" in flat
    assert ">> breaks NoThirdState" in letter and letter.rstrip().endswith("(exit 1).")
    assert comparison.render(c, "letter", "kernel", 60).count("\n") > letter.count("\n")


def test_scenarios_before_base_and_new_are_not_swallowed() -> None:
    def parse(*argv: str) -> argparse.Namespace:
        args = build_parser(["compare"]).parse_args(["compare", *argv])
        positionals(args)
        return args

    a = parse("--scenarios", "fault", "growsdown", "detach_merged", "detach_fixed")
    assert (a.base, a.new, a.scenarios) == ("detach_merged", "detach_fixed",
                                            ["fault", "growsdown"])
    a = parse("detach_merged", "--scenarios", "fault", "detach_fixed")
    assert (a.base, a.new, a.scenarios) == ("detach_merged", "detach_fixed", ["fault"])
    a = parse("detach_merged", "detach_fixed", "--scenarios", "fault", "growsdown")
    assert (a.base, a.new, a.scenarios) == ("detach_merged", "detach_fixed",
                                            ["fault", "growsdown"])
    with pytest.raises(ConfigError, match="give BASE and NEW"):
        parse("--scenarios", "fault", "detach_merged")


def test_width_and_properties_are_checked_before_anything_runs(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for argv in (["compare", "a", "b", "--width", "20"], ["check", "--width", "x"],
                 ["report", str(tmp_path), "--width", "1000"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--width" in err, err
    assert main(["compare", "detach_merged", "detach_fixed", "--properties", "nonsense",
                 "--out", str(tmp_path / "o")]) == 2
    assert "unknown property or category 'nonsense'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_long_model_shows_its_states_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """TLC's progress reports of a model: states so far and the rate of the current run; a
    line of its own off a terminal, once the model ran `quiet_for` seconds."""
    import io
    import time as clock

    from runner.progress import NORMAL, Console, Tally, progress_callback
    from runner.tlc_output import Progress

    err = io.StringIO()
    console = Console(NORMAL, out=io.StringIO(), err=err)
    tally = Tally(total=1, noun="models")
    model = _result("example", "detach_merged-fault").model
    now = [100.0]
    monkeypatch.setattr(clock, "monotonic", lambda: now[0])
    on_progress = progress_callback(console, tally, quiet_for=60.0)
    for t, states in ((100.0, 1_000), (130.0, 31_000), (160.0, 61_000), (170.0, 500)):
        now[0] = t
        on_progress(model, Progress(12, None, states * 3, states, 10))
    lines = err.getvalue().splitlines()
    # quiet for the first minute, then the rate of this run; a new run starts its own rate
    assert lines == [("      detach_merged-fault: 61,000 distinct states so far, 1,000 "
                     "states/s, depth 12")]
    assert tally.running["detach_merged-fault"] == "500 distinct states so far, depth 12"


def test_in_a_compare_run_a_fix_is_not_an_unexpected_verdict() -> None:
    """NEW's pair borrows BASE's expectation (NoThirdState violated, as madvise_user): NEW
    holding it is a fix, shown green in report.html, not a red "unexpected"; the same
    results outside a compare run show it as unexpected."""
    from runner.report import html
    from runner.report.matrix import compact, fixes, problems

    base = _result("example", "madvise_user-fault")
    new = _result("example", "detach_merged-fault")
    v = new.verdicts["NoThirdState"]
    new = dataclasses.replace(new, verdicts={**new.verdicts, "NoThirdState": dataclasses.replace(
        v, expected="violated")})
    results = [base, new]
    fixed = fixes(results, ("madvise_user", "detach_merged"))
    assert fixed == {("detach_merged-fault", "NoThirdState")}
    assert fixes(results, None) == frozenset()
    assert [p.props for p in problems(results)] == [("NoThirdState",)]
    assert problems(results, fixed) == []
    cell = compact(results, fixed).cell("fault", "detach_merged")
    assert cell is not None and not cell.differs
    page = html.render(results, "t", ("madvise_user", "detach_merged"))
    assert "NoThirdState fixed" in page and "holds (fixed)" in page
    assert 'class=" cat-semantics"' in page  # madvise_user's violation, coloured by category
    assert "NoThirdState holds" in html.render(results, "t")  # unexpected without compare


def test_by_default_a_scenario_one_protocol_cannot_model_is_left_out_and_said() -> None:
    """madvise lock = "vma" is 6.17's per-VMA MADV_DONTNEED: detach_merged's template
    refuses it; without --scenarios the comparison leaves that scenario out (and says
    why); named with --scenarios, it is the usual one-line error."""
    from runner.commands.compare import models_to_compare, render_pairs

    def args(*scenarios: str) -> argparse.Namespace:
        return argparse.Namespace(base="detach_merged", new="detach_fixed",
                                  scenarios=list(scenarios) or None, protocols=[],
                                  scenario_file="specs/scenarios.toml",
                                  matrix="specs/matrix.toml")

    models = models_to_compare(args("fault", "madvise-vma"))
    kept, rendered, left_out = render_pairs(models, optional=True)
    assert [m.name for m in kept] == ["detach_merged-fault", "detach_fixed-fault"]
    assert sorted(rendered) == sorted(m.name for m in kept)
    [(name, why)] = left_out
    assert name == "madvise-vma" and "mainline" in why
    with pytest.raises(MmcheckError, match="madvise"):
        render_pairs(models, optional=False)
    with pytest.raises(MmcheckError, match="madvise"):  # nothing left: the error itself
        render_pairs(models[2:], optional=True)


def test_report_md_of_a_compare_run_counts_fixes_apart() -> None:
    from runner.report import markdown

    base = _result("example", "madvise_user-fault")
    new = _result("example", "detach_merged-fault")
    v = new.verdicts["NoThirdState"]
    new = dataclasses.replace(new, verdicts={**new.verdicts, "NoThirdState": dataclasses.replace(
        v, expected="violated")})
    text = markdown.render([base, new], "t", ("madvise_user", "detach_merged"))
    assert "(1 of them fixes of a compare run)" in text and "## Unexpected verdicts" not in text
    assert "## Unexpected verdicts" in markdown.render([base, new], "t")


def test_a_model_that_failed_as_a_whole_is_one_undecided_group() -> None:
    ok = _result("example", "detach_merged-fault")
    broken = dataclasses.replace(_as(ok, "mine", "fault"), verdicts={
        p: Verdict(p, "error", "holds", None, None, "SANY: boom") for p in PROPERTIES})
    c = comparison.compare("detach_merged", "mine", [ok, broken])
    assert [rows for title, rows in comparison.sections(c) if title.startswith("undecided")] \
        == [[("fault", ["every property (holds -> error)"])]]
    assert "every property (holds -> error)" in comparison.render_md(c)
    assert "every property (holds -&gt; error)" in comparison.render_html(c)
    half = dataclasses.replace(broken, verdicts={
        **ok.verdicts, "TypeOK": Verdict("TypeOK", "timeout", "holds", None, None, "t")})
    c = comparison.compare("detach_merged", "mine", [ok, half])
    assert "TypeOK (holds -> timeout)" in comparison.render_text(c)


@pytest.mark.parametrize("width", [60, 72, 100])
def test_the_comparison_fits_any_width(width: int) -> None:
    shapes = load_run(RUNS / "shapes").results
    for base, new in (("detach_merged", "sections"), ("sections", "detach_merged")):
        c = comparison.compare(base, new, shapes)
        for text in (comparison.render_text(c, width, "kernel"),
                     comparison.render_letter(c, width)):
            assert max(len(x) for x in text.splitlines()) <= width


def test_a_left_out_scenario_is_said_in_the_comparison() -> None:
    run = load_run(RUNS / "example")
    why = "specs/templates/base.tla.j2:384: threads: madvise lock = \"vma\" is 6.17's"
    c = comparison.compare("detach_merged", "madvise_user", run.results,
                           left_out=[("madvise-vma", why)])
    text = comparison.render_text(c, 80)
    assert "Left out (a scenario one of the two templates refuses):\n  madvise-vma: " in text
    assert "- `madvise-vma`: " in comparison.render_md(c)


def test_the_matrix_says_every_selected_property_holds_under_properties() -> None:
    from runner.report.matrix import compact, legend

    r = _result("example", "detach_merged-fault")
    assert legend(compact([r])).endswith("- every property holds.")
    chosen = dataclasses.replace(r, verdicts={**r.verdicts, "TypeOK": Verdict(
        "TypeOK", "not-selected", "holds")})
    assert legend(compact([chosen])) == "- every selected (--properties) property holds."
