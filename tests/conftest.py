"""Shared fixtures.  Tests marked `java` run the real TLC from the bundled jar (Java >= 11)."""

from __future__ import annotations

import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

CORPUS_SPECS = Path(__file__).parent / "corpus" / "specs"
MATRIX = Path(__file__).resolve().parent.parent / "specs" / "matrix.toml"


def tiny_model(protocol: str) -> str:
    """A model file of one small model "m" of `protocol`: 4 pages, munmap [1,3) of one VMA
    [1,5), one read fault at page 2."""
    return f'''[[model]]
name = "m"
protocol = "{protocol}"
pages = 4
ptes_per_table = 2
munmap = {{ start = 1, end = 3 }}
vmas = [ {{ start = 1, end = 5, flags = [] }} ]
threads = [ {{ kind = "fault", access = "read", addr = 2 }} ]
'''

# Fuzzing (test_fuzz*.py): corpus -> outcome -> inputs tried; printed at the end of the run.
FUZZ: defaultdict[str, Counter[str]] = defaultdict(Counter)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not FUZZ:
        return
    terminalreporter.section("fuzzed inputs")
    for corpus, outcomes in FUZZ.items():
        terminalreporter.write_line(f"{corpus}: {sum(outcomes.values())} inputs")
        for outcome, n in sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0])):
            terminalreporter.write_line(f"  {n:5d}  {outcome}")


@pytest.fixture(scope="session")
def tools():  # type: ignore[no-untyped-def]
    from runner.errors import ToolNotFound
    from runner.java import locate_tools

    try:
        return locate_tools()
    except ToolNotFound as e:  # a failure, not a skip: .ci/run installs Java
        pytest.fail(f"java tests need Java and the jar: {e} (or run: pytest -m 'not java')")


@pytest.fixture(scope="module")
def matrix():  # type: ignore[no-untyped-def]
    """The committed matrix's models, by name."""
    from gen.load import load_models

    return {m.name: m for m in load_models(MATRIX)}


def text(matrix, name: str) -> str:  # type: ignore[no-untyped-def]
    """The spec one of `matrix`'s models renders."""
    from gen.render import render

    return render(matrix[name]).text


@pytest.fixture
def corpus_specs() -> Path:
    return CORPUS_SPECS


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point every private directory the runner makes (tempfile) at an empty directory, so a
    test can assert that nothing was left behind."""
    root = tmp_path / "private"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    monkeypatch.setenv("TMPDIR", str(root))
    yield root


def jvms_mentioning(marker: str) -> list[int]:
    """PIDs of live processes whose command line contains `marker` (Linux /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        if marker.encode() in cmdline and "State:\tZ" not in status:
            pids.append(int(entry))
    return pids
