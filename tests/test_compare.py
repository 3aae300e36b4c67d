"""mmcheck compare: pure on stored results of real runs, and end to end with the real TLC on
a throwaway protocol written in a temporary directory."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gen.protocols import discover, lookup
from gen.scenarios import load_scenarios
from runner.cli import build_parser, main
from runner.commands import compare as compare_command
from runner.commands.compare import comparable, models_to_compare
from runner.report import comparison, kernel
from runner.report.stored import load_run
from runner.rundir import default_out, locked, prune_runs

SPECS = Path(__file__).resolve().parent.parent / "specs"
EXAMPLE = Path(__file__).resolve().parent / "data" / "runs" / "example"


def test_what_new_fixes_and_breaks_from_stored_results() -> None:
    run = load_run(EXAMPLE)
    better = comparison.compare("madvise_user", "detach_merged", run.results)
    [pair] = better.pairs
    assert pair.scenario == "fault"
    # WriteHoldBound is latency: a number in its table, never a fix or a break
    assert pair.fixed == ("NoThirdState",) and pair.broken == ()
    assert better.status == 0 and "breaks nothing" in better.verdict()
    worse = comparison.compare("detach_merged", "madvise_user", run.results)
    assert worse.pairs[0].broken == ("NoThirdState",)
    assert worse.status == 1 and [p.scenario for p in worse.slower] == ["fault"]
    text = comparison.render_text(worse)
    assert max(len(line) for line in text.split("\n")) <= 80  # a review attachment
    assert "madvise_user breaks (holds with detach_merged, violated by madvise_user):\n" \
           "  semantics:\n    fault     NoThirdState\n" \
           "              exhaustive: 4 pages, 2 ptes/table, 2 threads, 54 states" in text
    assert "  fault                 0             1  <- more" in text
    assert "  scenario  pages  ptes/table  threads  detach_merged  madvise_user\n" \
           "  fault         4           2        2             54            95" in text
    assert "fault: NoThirdState (model madvise_user-fault, TLC run" in text
    assert ">> Step" in text  # the counterexample, drawn as the attachments draw it
    md = comparison.render_md(worse)
    assert "| fault | semantics | NoThirdState |" in md
    assert "report.html#model-madvise_user-fault-NoThirdState" in md
    html = comparison.render_html(worse)
    assert "<td class=\"num more\"><a href=\"madvise_user-fault/attachment.txt\">1</a></td>" in html


def test_an_exhaustive_comparison_says_its_scope_and_draws_the_smallest_break() -> None:
    run = load_run(EXAMPLE)
    scope = "exhaustive over every layout of <= 2 pages and <= 1 thread (1 scenarios)"
    worse = comparison.compare("detach_merged", "madvise_user", run.results, scope)
    text = comparison.render_text(worse)
    assert " ".join(text.split("\n")[:2]).replace("   ", " ").startswith(
        f"mmcheck compare: detach_merged -> madvise_user, {scope}")
    assert "Scenarios (smallest first):\n  fault" in text
    assert "(the smallest scenario of each property)" in " ".join(text.split())
    assert len(worse.shown_breaks()) == 1 == len(worse.broken)  # one per property
    assert f"{scope}." in comparison.render_md(worse)
    assert "exhaustive over every layout of &lt;= 2 pages" in comparison.render_html(worse)
    plain = comparison.compare("detach_merged", "madvise_user", run.results)
    assert "Scenarios (smallest first)" not in comparison.render_text(plain)


def test_compare_draws_the_chosen_style_as_the_attachments_do() -> None:
    """--style kernel: each counterexample as a commit message draws it, then every step (the
    attachments' order); --style full: every step only."""
    worse = comparison.compare("detach_merged", "madvise_user", load_run(EXAMPLE).results)
    assert tuple(compare_command.STYLES) == kernel.STYLES
    for name in kernel.STYLES:
        args = build_parser(["compare"]).parse_args(["compare", "a", "b", "--style", name])
        assert args.style == name
    full = comparison.render_text(worse, 80, "full")
    text = comparison.render_text(worse, 80, "kernel")
    assert max(len(line) for line in text.split("\n")) <= 80
    assert "Thread A (munmap0)" not in full and "Every step:" not in full
    head = "fault: NoThirdState (model madvise_user-fault"
    one = text[text.index(head):]
    assert one.index("For a commit message") < one.index("Thread A (munmap0)") \
        < one.index(">> breaks NoThirdState:") < one.index("Root cause: ") \
        < one.index("Every step:") < one.index(">> Step 10 breaks NoThirdState")
    assert one.split("Every step:\n\n", 1)[1] in full  # then the full diagram, unchanged
    for render in (comparison.render_md, comparison.render_html):
        drawn = render(worse, "kernel")
        assert drawn.index("Thread A (munmap0)") < drawn.index("Every step:") \
            < drawn.index("&gt;&gt; Step 10" if render is comparison.render_html else ">> Step 10")
        assert "Thread A (munmap0)" not in render(worse, "full")
    with pytest.raises(ValueError, match="unknown diagram style 'fancy'"):
        comparison.render_text(worse, 80, "fancy")


README = Path(__file__).resolve().parent.parent / "docs" / "writing-protocols.md"


def readme_walkthrough() -> tuple[str, list[str], list[str]]:
    """docs/writing-protocols.md: the template, the compare command of step 4 (its
    arguments after `mmcheck`) and the output it says that command prints, in pieces (the
    README cuts it with `...` lines)."""
    text = README.read_text().split("# Writing a protocol", 1)[1]
    template = text.split("```jinja\n", 1)[1].split("```", 1)[0]
    step = text.split("\n4. ", 1)[1].split("\n5. ", 1)[0]
    command = step.split("       mmcheck compare ", 1)[1].split("\n\n", 1)[0]
    argv = ["compare", *command.replace("\\\n", " ").split()]
    answer = step.split("stdout is the\n   answer", 1)[1].split(":\n\n", 1)[1]
    said = re.split(r"\n\n {3}(?=\S)", answer, 1)[0]
    lines = [line[7:] for line in said.split("\n")]
    pieces, piece = [], []  # type: ignore[var-annotated]
    for line in lines:
        if line == "...":
            pieces.append("\n".join(piece))
            piece = []
        else:
            piece.append(line)
    pieces.append("\n".join(piece))
    return template, argv, pieces


@pytest.mark.java
def test_the_readme_walkthrough_end_to_end(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """docs/writing-protocols.md, followed: mmcheck new, the template as the README gives
    it, list, compare as step 4 gives it; stdout is exactly what the README shows, where it
    shows it (the pieces between its `...` cuts, if any, in order, the first at the start)."""
    protocols = tmp_path / "protocols"
    protocols.mkdir()
    assert main(["new", "detach_fixed_mine", "--from", "detach_merged", "--dir", str(protocols)]) == 0
    template, argv, said = readme_walkthrough()
    (protocols / "detach_fixed_mine.tla.j2").write_text(template)
    assert main(["list", "--protocols", str(protocols)]) == 0
    assert "detach_fixed_mine  Linux 5.8 (246c320a8cfe) by hand" in capsys.readouterr().out
    cache = ["--cache-dir", str(tmp_path / "cache")]
    out = tmp_path / "out"
    assert argv[:3] == ["compare", "detach_merged", "detach_fixed_mine"]
    argv = [a.replace("~/mmcheck-protocols", str(protocols)) for a in argv]
    assert main([*argv, "--out", str(out), *cache, "--jobs", "1"]) == 0
    printed, progress = capsys.readouterr()
    at = 0
    for i, piece in enumerate(said):
        found = printed.find(piece, at)
        assert found == 0 if i == 0 else found >= at, (piece, printed)
        at = found + len(piece)
    assert len(said) == 1 and said[0] == printed.rstrip("\n")  # the README shows it whole
    # Progress and the file list on stderr (a line per model: not a terminal), not stdout.
    assert progress.startswith("mmcheck: comparing detach_merged with detach_fixed_mine on 3 ")
    assert "[6/6] " in progress and "reports in " in progress and "[6/6]" not in printed
    for name in ("compare.txt", "compare.md", "compare.html", "report.html", "results.json",
                 "cover-letter.txt",
                 "detach_fixed_mine-growsdown/attachment.txt", "detach_merged-fault/sources.json"):
        assert (out / name).is_file(), name
    text = (out / "compare.txt").read_text()
    assert max(len(line) for line in text.split("\n")) <= 80
    # The same protocol under another name breaks nothing: exit 0.
    merged = Path(__file__).resolve().parent.parent / "specs" / "templates" / \
        "detach_merged.tla.j2"
    (protocols / "detach_copy.tla.j2").write_text(
        merged.read_text().replace('name = "detach_merged"', 'name = "detach_copy"'))
    assert main(["compare", "detach_merged", "detach_copy", "--protocols", str(protocols),
                 "--scenarios", "fault", "--out", str(tmp_path / "same"), *cache]) == 0
    assert "detach_copy breaks nothing that detach_merged holds (exit 0)." in \
        capsys.readouterr().out
    # Again from the cache: --style full, -q (the comparison only), and a report that
    # cannot be written (report.html is a directory): one line, exit 2, compare.* written.
    again = tmp_path / "again"
    (again / "report.html" / "x").mkdir(parents=True)
    # (BASE and NEW swapped: detach_merged breaks what detach_fixed_mine holds)
    assert main(["compare", "detach_fixed_mine", "detach_merged", "--protocols", str(protocols),
                 "--scenarios", "growsdown", "--out", str(again), "--style", "full", "-q",
                 *cache]) == 2
    printed, err = capsys.readouterr()
    assert err.startswith("mmcheck: error: a report could not be written: ") and \
        err.count("\n") == 1 and str(again / "report.html") in err, err
    assert printed.startswith("mmcheck compare: detach_fixed_mine -> detach_merged, 1 scenario")
    drawn = printed.split("growsdown: NoLostWrite (model detach_merged-growsdown", 1)[1]
    assert "Thread A (munmap0)" not in drawn and "Every step:" not in drawn
    assert re.search(r">> Step \d+ breaks NoLostWrite", drawn)
    # the cover letter instead of the comparison: 72 columns, the break drawn
    assert main(["compare", "detach_fixed_mine", "detach_merged", "--protocols", str(protocols),
                 "--scenarios", "growsdown", "--out", str(tmp_path / "letter"), "-q",
                 "--cover-letter", *cache]) == 1
    letter = capsys.readouterr().out
    assert letter.startswith("detach_merged against detach_fixed_mine, checked with mmcheck")
    assert max(len(x) for x in letter.splitlines()) <= 72 and ">> breaks " in letter
    assert letter == (tmp_path / "letter" / "cover-letter.txt").read_text()
    for name in ("compare.txt", "compare.md", "compare.html", "results.json", "junit.xml"):
        assert (again / name).is_file(), name
    assert "Thread A (munmap0)" not in (again / "compare.txt").read_text()


def test_compare_rejects_bad_input_before_running(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    for argv, word in ((["compare", "detach_merged", "nope"], "NEW: unknown value 'nope'"),
                       (["compare", "baseline", "baseline"], "compare two protocols"),
                       (["compare", "baseline", "vm_dead", "--scenarios", "fault", "nosuch"],
                        "--scenarios: unknown scenario 'nosuch'"),
                       (["compare", "baseline", "vm_dead", "--style", "fancy"],
                        "argument --style: invalid choice: 'fancy'"),
                       (["compare", "baseline", "vm_dead", "--style", "kernel", "--scenarios",
                         "nosuch"], "--scenarios: unknown scenario 'nosuch'"),
                       (["compare", "baseline", "vm_dead", "--keep-runs", "-1"],
                        "--keep-runs: must be 0"),
                       (["compare", "baseline", "vm_dead", "--exhaustive", "--max-pages", "0"],
                        "--max-pages: must be from 1 to"),
                       (["compare", "baseline", "vm_dead", "--exhaustive", "--max-threads",
                         "9"], "--max-threads: must be from 0 to"),
                       (["compare", "baseline", "vm_dead", "--exhaustive", "--scenarios",
                         "fault"], "--scenarios: not with --exhaustive"),
                       (["compare", "baseline", "vm_dead", "--exhaustive", "--max-pages", "6",
                         "--max-threads", "3"], "scenarios up to this bound (at most")):
        assert main([*argv, "--out", str(out)]) == 2, argv
        err = capsys.readouterr().err
        assert word in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_default_scenarios_leave_out_negative_controls_and_foreign_options() -> None:
    """Without --scenarios, compare runs what both protocols can honestly be judged on: not
    the deliberately broken variants, and not a scenario setting a third protocol's option."""
    def scenarios(base: str, new: str) -> set[str]:
        args = argparse.Namespace(base=base, new=new, scenarios=None, protocols=[],
                                  scenario_file=str(SPECS / "scenarios.toml"),
                                  matrix=str(SPECS / "matrix.toml"))
        return {m.name.split("-", 1)[1] for m in models_to_compare(args)}

    every = load_scenarios(SPECS / "scenarios.toml")
    controls = {n for n, t in every.items() if t.get("mutation", "none") != "none"}
    ablations = {n for n, t in every.items() if "ablation" in t}
    assert controls and ablations
    chosen = scenarios("detach_merged", "detach_fixed")
    assert "growsdown" in chosen and not chosen & (controls | ablations)
    assert not scenarios("per_vma", "detach_merged") & ablations
    per_vma = lookup(discover([]), "per_vma", "NEW")
    assert all(comparable(every[n], (per_vma, per_vma)) for n in ablations)


def test_compare_refuses_an_unusable_cache_and_a_busy_out_before_running(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As mmcheck check: the cache is checked (Cache.open), --out is locked for the whole run;
    each refusal is one line before anything is written."""
    afile = tmp_path / "a-file"
    afile.write_text("x")
    out = tmp_path / "out"
    argv = ["compare", "detach_merged", "detach_fixed", "--scenarios", "fault"]
    assert main([*argv, "--out", str(out), "--cache-dir", str(afile / "cache")]) == 2
    err = capsys.readouterr().err
    assert str(afile / "cache") in err and "--no-cache" in err and err.count("\n") == 1, err
    assert not out.exists()
    code = ("import time\nfrom runner.rundir import locked\n"
            f"with locked({str(out)!r}):\n    print('held', flush=True)\n    time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=SPECS.parent,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert main([*argv, "--out", str(out), "--cache-dir", str(tmp_path / "cache")]) == 2
        err = capsys.readouterr().err
        assert f"in use by another mmcheck run (PID {holder.pid})" in err, err
        assert err.count("\n") == 1, err
    finally:
        holder.kill()
        holder.wait()
    assert sorted(p.name for p in out.iterdir()) == [".mmcheck.lock"]  # the holder's


def test_compare_runs_are_kept_apart_from_check_runs(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """results/ keeps the latest N runs of each kind: run-<time> (check) and
    compare-BASE-NEW-<time> (compare, every pair together, by time)."""
    results = tmp_path / "results"
    runs = [f"run-2026110{d}-120000" for d in range(1, 5)]
    compares = [f"compare-{pair}-2026110{d}-120000{suffix}"
                for d, pair, suffix in ((1, "a-b", ""), (2, "detach_merged-x", ""),
                                        (3, "a-b", ""), (3, "a-b", "-2"), (4, "z-y", ""))]
    for n in (*runs, *compares):
        (results / n).mkdir(parents=True)
    (results / "compare-notes").mkdir()  # not a run: kept
    removed = prune_runs(results, 2)
    assert sorted(p.name for p in removed) == sorted(runs[:2] + compares[:3])
    assert sorted(p.name for p in results.iterdir()) == sorted(
        runs[2:] + compares[3:] + ["compare-notes"])
    monkeypatch.chdir(tmp_path)
    first = default_out("compare-a-b")
    assert first.parent.name == "results" and first.name.startswith("compare-a-b-2")
    with locked(first):
        assert default_out("compare-a-b") != first  # taken: a suffix (or the next second)
