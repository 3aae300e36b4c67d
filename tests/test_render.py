"""Rendering: golden files, delimiters, the TLA+ value writer."""
from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from gen.load import load_models
from gen.model import INVARIANTS
from gen.render import JINJA_DELIMITERS, liveness_cfg, render, safety_cfg
from gen.tla import ModelValue, tla

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
GOLDEN_MODELS = ["madvise_user-fault", "detach_merged-growsdown", "sections-mmap-fixed",
                 "vm_dead-starve"]


def matrix():
    return {m.name: m for m in load_models(ROOT / "specs" / "matrix.toml")}


def golden_texts(name: str) -> dict[str, str]:
    r = render(matrix()[name])
    return {f"{name}.tla": r.text, f"{name}.safety.cfg": safety_cfg(r, list(INVARIANTS)),
            f"{name}.liveness.cfg": liveness_cfg(r)}


@pytest.mark.parametrize("name", GOLDEN_MODELS)
def test_golden_render(name: str) -> None:
    """Re-pin only on purpose, with tests/golden/repin.py (which translates and runs SANY)."""
    for filename, text in golden_texts(name).items():
        expected = (GOLDEN / filename).read_text()
        if text != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                f"golden/{filename}", "rendered", n=2))
            pytest.fail(f"{filename} differs from its golden file:\n{diff[:4000]}")


@pytest.mark.slow
def test_every_model_renders_without_jinja_delimiters() -> None:
    for m in matrix().values():
        text = render(m).text
        assert not [d for d in JINJA_DELIMITERS if d in text], m.name
        assert f"MODULE {m.protocol} " in text
        assert text.rstrip().endswith("=" * 80)


@pytest.mark.slow
def test_each_protocol_has_its_own_steps() -> None:
    """Each protocol's munmap shows its kernel steps and not the others'."""
    by_protocol = {}
    for m in matrix().values():
        by_protocol.setdefault(m.protocol, render(m).text)
    steps = {
        "baseline": ["munmap0_down_write:", "munmap0_zap_pte_range:", "munmap0_free_pgtables:"],
        "sections": ["hi[self] := Min({lo[self] + 1, MEnd(self)});", "goto munmap0_down_write;"],
        "madvise_user": ["munmap0_down_read:", "munmap0_zap_page_range:"],
        "madvise_kernel": ["munmap0_zap_page_range:"],
        "vm_dead": ["munmap0_set_vm_dead:", "munmap0_downgrade_write:", "munmap0_again_down_write_killable:"],
        "detach_posted": ["munmap0_downgrade_write:", "munmap0_unmap_region:"],
        "detach_merged": ["munmap0_down_write_killable:", "munmap0_munlock_vma_pages_all:",
                                 "munmap0_downgrade_write:"],
    }
    for protocol, labels in steps.items():
        for label in labels:
            assert label in by_protocol[protocol], (protocol, label)
    assert "downgrade_write" not in by_protocol["baseline"]
    assert "set_vm_dead" not in by_protocol["detach_merged"]
    assert "madvise_up_read:" not in by_protocol["vm_dead"]


def test_threads_and_layout_are_rendered_not_hard_coded() -> None:
    m = matrix()["vm_dead-starve"]
    r = render(m)
    assert "InitVmas == {[end |-> 5, flags |-> {}, id |-> 1, origin |-> 1, start |-> 1]}" in r.text
    assert "HypotheticalReaderPreferring == TRUE" in r.text
    assert "Own(m) == {1, 2}" in r.text  # one munmap: all of its range is its own
    two = render(matrix()["baseline-munmap2"])  # [1,3) and [2,4): page 2 is nobody's own
    assert "Own(m) == CASE m \\in Munmap0 -> {1} [] m \\in Munmap1 -> {3}" in two.text
    assert "Fault1 = {fault1_1, fault1_2}" in safety_cfg(r, ["TypeOK"])
    assert "SYMMETRY Symmetry" in safety_cfg(r, ["TypeOK"])
    assert "SYMMETRY" not in liveness_cfg(r)
    single = render(matrix()["vm_dead-fault"])
    assert "SYMMETRY" not in safety_cfg(single, ["TypeOK"])


def test_tla_value_writer() -> None:
    assert tla(3) == "3"
    assert tla(True) == "TRUE" and tla(False) == "FALSE"
    assert tla('a"b') == '"a\\"b"'
    assert tla({3, 1, 2}) == "{1, 2, 3}"
    assert tla(frozenset({"b", "a"})) == '{"a", "b"}'
    assert tla([1, "x"]) == '<<1, "x">>'
    assert tla({"start": 1, "flags": {"locked"}}) == '[flags |-> {"locked"}, start |-> 1]'
    assert tla({ModelValue("t2"), ModelValue("t1")}) == "{t1, t2}"
    assert tla(set()) == "{}"
    assert tla({}) == "<<>>"  # the empty function
    assert tla({1: "x", ModelValue("m"): 2}) == '(1 :> "x" @@ m :> 2)'
    assert tla("a\nb") == '"a\\nb"'
    with pytest.raises(ValueError):
        tla(1.5)
