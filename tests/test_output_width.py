"""Output a reviewer pastes into mail (issue 18, section 4): --width on every printing
command, and make history's table with release labels and bug names.  Pure."""
from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import pytest

from runner.cli import build_parser
from runner.commands.check import load_labels, matrix
from runner.errors import ConfigError
from runner.limits import MAIL_WIDTH, WIDTH, parse_width
from runner.report.stored import load_run

ROOT = Path(__file__).resolve().parent.parent
RUNS = Path(__file__).resolve().parent / "data" / "runs"


def test_width_is_one_option_on_every_printing_command() -> None:
    assert (WIDTH, MAIL_WIDTH) == (80, 72)
    assert parse_width("72") == 72
    for bad in ("0", "49", "251", "wide"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_width(bad)
    for argv in (["check"], ["compare", "a", "b"], ["report", "dir"],
                 ["litmus", "check", "f.toml"], ["list"]):
        args = build_parser(argv[:1]).parse_args([*argv, "--width", "72"])
        assert args.width == 72, argv


@pytest.mark.parametrize("width", [60, 72, 80, 120])
def test_the_matrix_fits_the_width_with_release_labels_and_bug_names(width: int) -> None:
    results = load_run(RUNS / "shapes").results
    labels = load_labels(str(ROOT / "specs" / "history-labels.toml"))
    text = matrix(results, width, labels)
    assert max(len(line) for line in text.splitlines()) <= width
    heads = [x for x in text.splitlines() if x.startswith("scenario")]
    assert "| 4.19" in heads[0] and any("| 4.20" in x for x in heads)
    assert re.search(r"\ngrowsdown +stack race, CVE-2020-29369\n", text)
    plain = matrix(results, width)
    assert "4.20" not in plain.splitlines()[0] and "CVE-2020-29369" not in plain


def test_history_labels_name_the_history_tables_protocols_and_scenarios() -> None:
    history = tomllib.loads((ROOT / "specs" / "history.toml").read_text())
    releases, bugs = load_labels(str(ROOT / "specs" / "history-labels.toml"))
    protocols = [k for k, v in history.items() if isinstance(v, dict)]
    assert sorted(releases) == sorted(protocols)
    scenarios = {s for p in protocols for s in history[p] if s != "parameters"}
    assert sorted(bugs) == sorted(scenarios)


def test_a_bad_labels_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "l.toml"
    bad.write_text('[releases]\nbaseline = 4\n')
    with pytest.raises(ConfigError, match=r"\[releases\]: must map names to one-line strings"):
        load_labels(str(bad))
    bad.write_text('[colours]\n')
    with pytest.raises(ConfigError, match="colours: unknown table"):
        load_labels(str(bad))


def test_column_blocks_fit_the_width() -> None:
    from runner.limits import column_blocks

    assert column_blocks(10, [15, 15, 15, 15], 80) == [[0, 1, 2, 3]]
    assert column_blocks(10, [15, 15, 15, 15], 50) == [[0, 1], [2, 3]]
    assert column_blocks(10, [100, 5], 50) == [[0], [1]]  # a column wider than the line


@pytest.mark.parametrize("width", [60, 80])
def test_list_fits_the_width(width: int, capsys: pytest.CaptureFixture[str]) -> None:
    from runner.cli import main

    assert main(["list", "--width", str(width)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= width
    assert any(line.startswith("  NoLostWrite ") and "[semantics]" in line for line in lines)
