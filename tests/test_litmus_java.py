"""Every committed litmus test's verdict per kernel protocol, decided by the real TLC and held
against the `expect` table of its file (what the traces showed when they were read).  Each
model is tiny (at most ~3000 states); the JVMs run two at a time."""
from __future__ import annotations

from pathlib import Path

import pytest

from runner.litmus import check, load_tests

pytestmark = pytest.mark.java
LITMUS = Path(__file__).resolve().parents[1] / "specs" / "litmus"
KERNEL_PROTOCOLS = ["baseline", "detach_merged", "detach_fixed", "per_vma", "detach_always",
                    "mainline"]


def test_committed_verdicts_per_protocol(tools) -> None:  # type: ignore[no-untyped-def]
    tests = load_tests([LITMUS])
    decisions = check(tests, KERNEL_PROTOCOLS, tools, jobs=2)
    got = {(d.test, d.protocol): d.verdict for d in decisions}
    want = {(t.name, p): t.expect[p] for t in tests for p in KERNEL_PROTOCOLS}
    assert got == want
    # an allowed outcome comes with its race diagram
    assert all(d.diagram for d in decisions if d.verdict == "allowed")


def test_third_state_is_allowed_by_a_protocol_that_zaps_before_detaching(tools) -> None:  # type: ignore[no-untyped-def]
    """The NoThirdState control's outcome is reachable where the property is violated: the
    hypothetical madvise_user protocol (the negative side of third-state-munmap)."""
    [t] = load_tests([LITMUS / "third-state-munmap.toml"])
    [d] = check([t], ["madvise_user"], tools)
    assert d.verdict == "allowed" and "zap_page_range" in d.diagram
    narrow = d.drawn(60)  # --width: the same diagram, drawn again in 60 columns
    assert max(len(line) for line in narrow.splitlines()) <= 60 < max(
        len(line) for line in d.diagram.splitlines())
