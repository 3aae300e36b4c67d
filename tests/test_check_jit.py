"""runner.check.jit_flags: C1 only for the runs expected to be short (pure)."""
from __future__ import annotations

from runner.check import LONG_RUN_SECONDS, jit_flags
from runner.java import QUICK_JIT


def test_c1_until_a_run_is_expected_to_be_long() -> None:
    c1, full = list(QUICK_JIT), []
    assert jit_flags(True, 0.0, 1, False) == c1  # nothing known: the first run
    assert jit_flags(True, 2.0, 1, False) == c1
    assert jit_flags(True, LONG_RUN_SECONDS + 1, 1, False) == full  # after a long run
    assert jit_flags(False, 0.0, 1, False) == full  # asked for the full JIT


def test_a_liveness_run_without_the_symmetry_reduction_is_expected_to_grow() -> None:
    # vm_dead, 6 pages, 4 identical faults: the safety runs take about 1.5 s with symmetry
    # (4! = 24); the liveness run over the unreduced space took 25 s with the full JIT.
    assert jit_flags(True, 1.5, 24, False) == list(QUICK_JIT)
    assert jit_flags(True, 1.5, 24, True) == []
    # the matrix's starve models: two identical faults, tiny runs: still C1
    assert jit_flags(True, 0.4, 2, True) == list(QUICK_JIT)
