"""mmcheck compare: pure on stored results of real runs, and end to end with the real TLC on
a throwaway protocol written in a temporary directory."""
from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main
from runner.report import comparison
from runner.report.stored import load_run

EXAMPLE = Path(__file__).resolve().parent / "data" / "runs" / "example"


def test_what_new_fixes_and_breaks_from_stored_results() -> None:
    run = load_run(EXAMPLE)
    better = comparison.compare("madvise_user", "detach_merged", run.results)
    [pair] = better.pairs
    assert pair.scenario == "fault"
    assert pair.fixed == ("NoThirdState", "WriteHoldBound") and pair.broken == ()
    assert better.status == 0 and "breaks nothing" in better.verdict()
    worse = comparison.compare("detach_merged", "madvise_user", run.results)
    assert worse.pairs[0].broken == ("NoThirdState", "WriteHoldBound")
    assert worse.status == 1
    text = comparison.render_text(worse)
    assert max(len(line) for line in text.split("\n")) <= 80  # a review attachment
    assert "madvise_user breaks (holds with detach_merged, violated by madvise_user):\n" \
           "  fault     NoThirdState, WriteHoldBound" in text
    assert "  fault                 0             1  <- more" in text
    assert "fault: NoThirdState (model madvise_user-fault, TLC run" in text
    assert ">> Step" in text  # the counterexample, drawn as the attachments draw it
    md = comparison.render_md(worse)
    assert "| fault | NoThirdState, WriteHoldBound |" in md
    assert "report.html#model-madvise_user-fault-NoThirdState" in md
    html = comparison.render_html(worse)
    assert "<td class=\"num more\"><a href=\"madvise_user-fault/attachment.txt\">1</a></td>" in html


FIXED = '''{#---
name = "detach_fixed"
description = "detach_merged, but no downgrade next to a stack VMA (test copy)"
kernel = "torvalds/linux 246c320a8cfe"
---#}
{% extends "base.tla.j2" %}
{% block munmap_body %}
{{ mm.down_write(P, munmap=true, killable=true) }}
{{ mm.find_split_munlock_detach(P, true) }}
{{ P }}_downgrade_check:  \\* no downgrade next to a VM_GROWSDOWN/VM_GROWSUP VMA
  if (FindVma(hi[self]) # NoVma /\\ "growsdown" \\in FindVma(hi[self]).flags)
     \\/ (PrevVma(lo[self]) # NoVma /\\ "growsup" \\in PrevVma(lo[self]).flags) then
    goto {{ P }}_unmap_region;
  end if;
{{ mm.downgrade_write(P) }}
{{ mm.unmap_region(P, true) }}
{{ P }}_remove_vma_list:
  det[self] := {};
{{ P }}_vm_munmap_unlock:
  if writer = self then writer := Nobody; else readers := readers \\ {self}; end if;
{% endblock %}
'''


@pytest.mark.java
def test_compare_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    protocols = tmp_path / "protocols"
    protocols.mkdir()
    (protocols / "detach_fixed.tla.j2").write_text(FIXED)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    out = tmp_path / "out"
    assert main(["compare", "detach_merged", "detach_fixed", "--protocols", str(protocols),
                 "--scenarios", "growsdown", "fault", "--out", str(out), *cache]) == 1
    printed = capsys.readouterr().out
    assert "detach_fixed fixes (violated by detach_merged, holds with detach_fixed):\n" \
           "  growsdown  NoLostWrite, PageTableSafety" in printed
    assert "detach_fixed breaks (holds with detach_merged, violated by detach_fixed):\n" \
           "  growsdown  WriteHoldBound" in printed
    assert "growsdown: WriteHoldBound (model detach_fixed-growsdown" in printed
    for name in ("compare.txt", "compare.md", "compare.html", "report.html", "results.json",
                 "detach_fixed-growsdown/attachment.txt", "detach_merged-fault/sources.json"):
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


def test_compare_rejects_bad_input_before_running(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    for argv, word in ((["compare", "detach_merged", "nope"], "NEW: unknown value 'nope'"),
                       (["compare", "baseline", "baseline"], "compare two protocols"),
                       (["compare", "baseline", "vm_dead", "--scenarios", "fault", "nosuch"],
                        "--scenarios: unknown scenario 'nosuch'"),
                       (["compare", "baseline", "vm_dead", "--style", "fancy"], "--style fancy")):
        assert main([*argv, "--out", str(out)]) == 2, argv
        err = capsys.readouterr().err
        assert word in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
