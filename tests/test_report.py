"""Reports built from stored results of real runs (tests/data/runs/): snapshots of the
attachments and run reports, the 80-column rule, the race diagrams' key facts, the CLI.

Snapshots are re-pinned only on purpose: `.venv/bin/python tests/snapshots/repin.py`
(read the diff before committing it).
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runner import report
from runner.cli import main
from runner.errors import ConfigError
from runner.report import attachment, diagram
from runner.report.steps import acting_thread, function_name, steps
from runner.report.stored import StoredRun, load_run
from runner.tlc_output import Trace, TraceState

RUNS = Path(__file__).resolve().parent / "data" / "runs"
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
EXAMPLE = RUNS / "example"


def snapshot_texts(run_dir: Path = EXAMPLE) -> dict[str, str]:
    """Snapshot file name -> the text the reports give now."""
    run = load_run(run_dir)
    out = {}
    for fmt in ("txt", "md", "html", "junit"):
        for rel, text in report.render(run, fmt).items():
            out[f"{run_dir.name}/{rel.replace('/', '.')}"] = text
    return out


@pytest.fixture(scope="module")
def example() -> StoredRun:
    return load_run(EXAMPLE)


def _result(run: StoredRun, name: str):  # type: ignore[no-untyped-def]
    return next(r for r in run.results if r.model.name == name)


SNAPSHOT_NAMES = sorted(p.relative_to(SNAPSHOTS).as_posix()
                        for p in SNAPSHOTS.glob("*/*") if p.is_file())


def test_snapshots_cover_every_report() -> None:
    runs = sorted(p for p in RUNS.iterdir() if p.is_dir())
    assert sorted(name for run in runs for name in snapshot_texts(run)) == SNAPSHOT_NAMES


@pytest.mark.parametrize("name", SNAPSHOT_NAMES)
def test_snapshot(name: str) -> None:
    """Re-pin only on purpose, with tests/snapshots/repin.py."""
    texts = snapshot_texts(RUNS / name.split("/")[0])
    pinned = (SNAPSHOTS / name).read_text()
    if texts[name] != pinned:
        diff = "".join(difflib.unified_diff(pinned.splitlines(True), texts[name].splitlines(True),
                                            f"snapshots/{name}", "now", n=2))
        pytest.fail(f"{name} differs from its snapshot (re-pin with tests/snapshots/repin.py "
                    f"if on purpose):\n{diff[:4000]}")


@pytest.mark.parametrize("run_dir", sorted(p for p in RUNS.iterdir() if p.is_dir()),
                         ids=lambda p: p.name)
def test_every_attachment_line_fits_80_columns(run_dir: Path) -> None:
    run = load_run(run_dir)
    assert run.results
    for r in run.results:
        for n, line in enumerate(attachment.render(r).splitlines(), start=1):
            assert len(line) <= 80, f"{r.model.name}: line {n} has {len(line)} columns: {line!r}"
            assert line == line.rstrip()


def test_narrow_columns_wrap_within_80(example: StoredRun) -> None:
    r = _result(example, "detach_merged-starve")
    d = diagram.build(r.model, r.verdicts["MunmapCompletes"])
    assert d is not None and len(d.threads) == 3
    text = diagram.render_text(d, width=60)
    assert max(len(line) for line in text.splitlines()) <= 60
    assert "queues as a" in text and "readers +=" in text  # wrapped, not cut off


def test_third_state_diagram(example: StoredRun) -> None:
    r = _result(example, "madvise_user-fault")
    d = diagram.build(r.model, r.verdicts["NoThirdState"])
    assert d is not None
    assert d.threads == ("munmap0", "fault1") and d.violating == 10
    last = d.rows[-1]
    assert last.violating and last.thread == "fault1"
    assert last.lines[0] == "handle_pte_fault"
    assert "read -> zero page" in last.lines and "pte[2]: none -> zero page" in last.lines
    assert any("pte[2]: orig -> none" in row.lines for row in d.rows if row.thread == "munmap0")
    assert "zap_page_range (step 6)" in d.explanation
    text = diagram.render_text(d)
    assert re.search(r"^ *>> 10 \|", text, re.MULTILINE)


def test_page_table_diagram(example: StoredRun) -> None:
    r = _result(example, "detach_merged-growsdown")
    d = diagram.build(r.model, r.verdicts["PageTableSafety"])
    assert d is not None
    functions = [row.lines[0] for row in d.rows]
    assert "expand_stack" in functions and "free_pgd_range" in functions
    # free_pgtables reads its bounds after the zap; free_pgd_range frees with them
    assert "floor 1, ceiling 3" in next(row for row in d.rows
                                        if row.lines[0] == "free_pgtables").lines
    assert "pt[1]: present -> none" in next(row for row in d.rows
                                           if row.lines[0] == "free_pgd_range").lines
    assert functions.index("free_pgtables") < functions.index("expand_stack") \
        < functions.index("free_pgd_range")
    assert "free_pgd_range" in d.explanation and "walk found it" in d.explanation


def test_liveness_lasso(example: StoredRun) -> None:
    r = _result(example, "detach_merged-starve")
    d = diagram.build(r.model, r.verdicts["MunmapCompletes"])
    assert d is not None and d.kind == "liveness" and d.loop_to is not None
    assert d.starving == ("munmap0",)
    assert all(row.in_loop == (row.numbers[0] >= d.loop_to) for row in d.rows)
    text = diagram.render_text(d).splitlines()
    # TLC's "back to state 8": the state after the last is state 8 again, so the loop's
    # line goes right above the row of state 8, not one row lower
    banner = next(i for i, line in enumerate(text) if "loop: states" in line)
    assert re.match(rf"^ +{d.loop_to} \|", text[banner + 1]), text[banner:banner + 2]
    assert f"back to state {d.loop_to}" in text[banner]
    assert "rwsem_down_write_failed" in d.explanation


def test_a_counterexample_breaks_only_its_own_property(example: StoredRun) -> None:
    # the WriteHoldBound run did not check NoThirdState (an earlier run decided it), so
    # the step where the trace passes a third state is no news in this diagram
    r = _result(example, "madvise_user-fault")
    d = diagram.build(r.model, r.verdicts["WriteHoldBound"])
    assert d is not None
    breaks = [(row.label, line) for row in d.rows for line in row.lines
              if line.startswith("BREAKS")]
    assert breaks == [(d.rows[-1].label, "BREAKS WriteHoldBound")]
    assert any("NoThirdState" in c for s in d.steps for c in s.raw)  # the listing keeps it


def test_the_lock_is_taken_by_the_entry_that_queued(example: StoredRun) -> None:
    r = _result(example, "detach_merged-growsdown")
    d = diagram.build(r.model, r.verdicts["PageTableSafety"])
    assert d is not None
    names = [s.function for s in d.steps if s.thread == "munmap0"][:3]
    assert names[1:] == ["down_write_killable", "find_vma"]  # the fast path: no queue
    # a writer that queued by down_write_killable takes the lock as down_write_killable
    pc = ["munmap0_down_write_killable", "munmap0_rwsem_down_write_failed", "munmap0_find_vma"]
    states = tuple(TraceState(i + 1, None if i == 0 else pc[i - 1], None,
                              {"pc": {"munmap0": pc[i]}}) for i in range(3))
    assert [s.function for s in steps(Trace(states), ["munmap0"])] == [
        "down_write_killable", "down_write_killable (acquire)"]


def test_folded_steps_stay_in_the_full_listing(example: StoredRun) -> None:
    r = _result(example, "detach_merged-growsdown")
    d = diagram.build(r.model, r.verdicts["PageTableSafety"])
    assert d is not None
    folded = [row for row in d.rows if len(row.numbers) > 1]
    assert folded, "the no-op find_vma/munlock steps should fold"
    listing = diagram.render_listing(d)
    for s in d.steps:
        assert re.search(rf"^ *{s.number} {s.thread}: {s.label}$", listing, re.MULTILINE)


def test_certificate_hashes_the_files(example: StoredRun) -> None:
    import hashlib

    r = _result(example, "detach_merged-fault")
    certs = attachment.certificates(r)
    assert [c.run for c in certs] == ["check-1"]
    spec = hashlib.sha256((EXAMPLE / "detach_merged-fault" / r.spec).read_bytes()).hexdigest()
    assert all(c.spec_sha256 == spec and c.exhaustive for c in certs)
    assert certs[0].command == "mmcheck tlc detach_merged.tla --config check-1.cfg"
    assert certs[0].fp_collision is not None


def test_simulation_is_said_plainly(example: StoredRun) -> None:
    from runner.check import Simulation

    r = dataclasses.replace(_result(example, "detach_merged-fault"),
                            simulate=Simulation(100, 50))
    text = attachment.render(r)
    assert "by SIMULATION only (100 random behaviours of at most 50 steps)" in text
    assert "exhaustively" not in text


def test_acting_thread_of_a_loop_step() -> None:
    prev = {"pc": {"a": "a_zap", "b": "b_zap"}, "cur": {"a": 1, "b": 1}}
    cur = {"pc": {"a": "a_zap", "b": "b_zap"}, "cur": {"a": 1, "b": 2}}
    assert acting_thread(prev, cur, "b_zap") == "b"
    moved = {"pc": {"a": "a_zap", "b": "Done"}, "cur": {"a": 1, "b": 1}}
    assert acting_thread(prev, moved, "b_zap") == "b"


def test_function_names() -> None:
    prefixes = ["munmap0", "fault1", "mmap_fixed2"]
    assert function_name("munmap0_rwsem_down_write_slowpath", prefixes) == "down_write (acquire)"
    assert function_name("mmap_fixed2_vma_link", prefixes) == "mmap(MAP_FIXED) inserts VMA"
    assert function_name("mmap_fixed2_pf_handle_pte_fault", prefixes) == "handle_pte_fault"
    assert function_name("munmap0_again_down_write", prefixes) == "down_write again"
    assert function_name("fault1_rwsem_down_read_failed", prefixes) == "down_read (woken)"
    assert function_name("fault1_access", prefixes) == "access (MMU)"
    assert function_name("munmap0_do_find_vma", prefixes) == "do_munmap: find_vma"
    assert function_name("fault1_something_new", prefixes) == "something_new"


def test_html_is_offline_and_escaped(example: StoredRun) -> None:
    r = _result(example, "detach_merged-fault")
    model = dataclasses.replace(r.model, description="<script>alert(1)</script>")
    html = report.html.render([dataclasses.replace(r, model=model)], "t")
    assert "<script>" not in html and "&lt;script&gt;" in html
    full = report.render(example, "html")["report.html"]
    assert not re.search(r"https?://", full)
    assert '<tr class="violating' in full and 'class="race"' in full


def test_junit(example: StoredRun) -> None:
    root = ET.fromstring(report.render(example, "junit")["junit.xml"])
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 12 * len(example.results)
    assert root.get("failures") == "0" and root.get("tests") == str(len(cases))
    r = _result(example, "detach_merged-growsdown")
    v = r.verdicts["PageTableSafety"]
    wrong = dataclasses.replace(r, verdicts={**r.verdicts, v.prop: dataclasses.replace(
        v, expected="holds")})
    root = ET.fromstring(report.junit.render([wrong], "t"))
    failures = root.findall("./testsuite/testcase/failure")
    assert len(failures) == 1 and "free_pgtables" in (failures[0].text or "")


def test_json_is_the_stored_results(example: StoredRun) -> None:
    text = report.render(example, "json")["results.json"]
    assert json.loads(text) == json.loads((EXAMPLE / "results.json").read_text())


def test_load_run_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such run directory"):
        load_run(tmp_path / "missing")
    with pytest.raises(ConfigError, match="neither results.json"):
        load_run(tmp_path)
    (tmp_path / "results.json").write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_run(tmp_path)
    (tmp_path / "results.json").write_text('{"models": [{"name": "x"}]}')
    with pytest.raises(ConfigError, match="not a result of mmcheck check"):
        load_run(tmp_path)


def test_report_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "example"
    shutil.copytree(EXAMPLE, run)
    assert main(["report", str(run)]) == 0
    for name in ("report.md", "report.html", "junit.xml", "results.json",
                 "madvise_user-fault/attachment.txt"):
        assert (run / name).is_file(), name
    assert (run / "report.md").read_text() == (SNAPSHOTS / "example/report.md").read_text()
    capsys.readouterr()
    assert main(["report", str(run), "--format", "txt", "--model", "madvise_user-fault",
                 "--stdout"]) == 0
    out = capsys.readouterr().out
    assert out == (SNAPSHOTS / "example/madvise_user-fault.attachment.txt").read_text()
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "no such run directory" in capsys.readouterr().err
