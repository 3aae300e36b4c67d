"""check --properties and --simulate with the real TLC (--jobs 1)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import main

pytestmark = pytest.mark.java


def _verdicts(out: Path) -> tuple[dict[str, str], list[str]]:
    [m] = json.loads((out / "results.json").read_text())["models"]
    return {p: v["verdict"] for p, v in m["properties"].items()}, [r["name"] for r in m["runs"]]


def test_properties_checks_only_the_chosen_ones(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """detach_merged-growsdown violates NoLostWrite (semantics) and PageTableSafety (memory
    safety); checking memory safety only finds the one, runs no liveness run, and leaves
    NoLostWrite not-selected: every verdict as expected, exit 0."""
    out = tmp_path / "out"
    assert main(["check", "--model", "detach_merged-growsdown", "--properties", "memory-safety",
                 "--jobs", "1", "--out", str(out), "--no-cache"]) == 0
    verdicts, runs = _verdicts(out)
    assert verdicts["PageTableSafety"] == "violated"
    assert verdicts["NoLostWrite"] == verdicts["MunmapCompletes"] == "not-selected"
    assert {verdicts[p] for p in ("TypeOK", "RwsemExclusive", "NoVmaUseAfterFree")} == {"holds"}
    assert not any(r.startswith("liveness") for r in runs)
    printed = capsys.readouterr().out
    assert "checked only TypeOK, RwsemExclusive, PageTableSafety, NoVmaUseAfterFree" in printed
    assert "not-selected" in (out / "detach_merged-growsdown" /
                              "result.json").read_text()


def test_simulate_never_says_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["check", "--model", "detach_merged-fault", "--simulate", "50", "--depth", "30",
                 "--jobs", "1", "--out", str(out), "--no-cache"]) == 2
    verdicts, _ = _verdicts(out)
    assert "holds" not in verdicts.values()
    assert verdicts["TypeOK"] == "no-violation" and verdicts["MunmapCompletes"] == "not-checked"
    printed = " ".join(capsys.readouterr().out.split())
    assert "not found in 50 traces), never \"holds\"" in printed
    assert main(["check", "--simulate", "0"]) == 2
    assert "--simulate: the number of traces" in capsys.readouterr().err
