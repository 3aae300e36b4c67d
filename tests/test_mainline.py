"""The 6.x era: mainline (6.15-6.18), mainline_615, detach_fixed_61, detach_merged_52 and
the state only some models carry (maple_nodes, tlb, other_mm, madvise lock = "vma")."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import text

from gen.load import load_models
from gen.render import render
from runner.errors import ConfigError, TemplateError


def test_mainline_munmap_is_v618s(matrix) -> None:  # type: ignore[no-untyped-def]
    t = text(matrix, "mainline-fault")
    order = ["munmap0_vms_gather_munmap_vmas:", "munmap0_vma_start_write_wait:",
             "munmap0_split_vma:", "munmap0_vma_mark_detached:", "munmap0_vma_iter_clear_gfp:",
             "munmap0_vms_complete_munmap_vmas:", "munmap0_unmap_vmas:",
             "munmap0_free_pgtables:", "munmap0_remove_vma:", "munmap0_up_read:"]
    at = [t.index(label) for label in order]
    assert at == sorted(at)
    # always downgrades (no 5.8 rule), frees at once (no call_rcu process), faults by refcount
    assert "GROWSDOWN" not in t.split("munmap0_vms_complete_munmap_vmas:")[1].split("\n")[0]
    assert "RcuCallbacks" not in t and "zombies := zombies" not in t
    assert "fault1_lock_vma_under_rcu:" in t and "fault1_vma_check_range:" in t
    # the 6.4+ split order: the part below start and above end are the new objects
    assert "SplitAbove(SplitBelow(vmas, lo[self], nextid), hi[self]" in t


def test_mainline_map_fixed_has_no_null_window(matrix) -> None:  # type: ignore[no-untyped-def]
    t = text(matrix, "mainline-mmap-fixed")
    region = t.split("fair process MmapFixed1Thread")[1].split("mmap_fixed1_pf")[0]
    assert "mmap_fixed1_vma_iter_clear_gfp:" not in region  # no NULL store before the new VMA
    assert region.index("mmap_fixed1_free_pgtables:") < region.index(
        "mmap_fixed1_vma_iter_store_new:") < region.index("mmap_fixed1_up_write:")


def test_the_mm_check_is_early_on_618_and_late_on_615(matrix) -> None:  # type: ignore[no-untyped-def]
    early, late = text(matrix, "mainline-vma-reuse"), text(matrix, "mainline_615-vma-reuse")
    assert "fault1_vma_start_read_mm:" in early and "fault1_vma_end_read_wake:" not in early
    assert "fault1_vma_end_read_wake:" in late and "fault1_vma_start_read_mm:" not in late
    for t in (early, late):
        assert 'fair process OtherMm = "other_mm"' in t
    assert "OtherMm" not in text(matrix, "mainline-fault")  # other_mm = false: no process


@pytest.mark.parametrize("name,absent", [
    ("per_vma-fault", ("vdet", "walkc", "mroot", "oslot")),
    ("detach_always-binder", ("vdet", "walkc", "mroot", "oslot")),
    ("detach_merged-growsdown", ("walkc", "pending", "mroot")),
    ("mainline-fault", ("walkc", "mroot", "oslot")),
])
def test_new_state_only_where_a_model_needs_it(matrix, name: str,  # type: ignore[no-untyped-def]
                                               absent: tuple[str, ...]) -> None:
    variables = text(matrix, name).split("variables")[1].split("define")[0]
    for v in absent:
        assert f"\n  {v} =" not in variables, (name, v)


def test_maple_nodes_and_tlb_render_their_state(matrix) -> None:  # type: ignore[no-untyped-def]
    sr = text(matrix, "detach_fixed_61-stackrot")
    assert "mroot = 1" in sr and "fault2_mas_walk:" in sr and "Swallows(" in sr
    nf = text(matrix, "detach_merged-nested-flush")
    assert "walkc = [t \\in Threads |-> WarmWalk(t)]" in nf
    assert "clears freed_tables" in nf.split("munmap0_tlb_finish_mmu:")[1].split("\n")[0]
    fixed = text(matrix, "detach_merged_52-nested-flush")
    assert "fullmm = 1, freed_tables = 1" in fixed.split("munmap0_tlb_finish_mmu:")[1]


def test_the_flags_and_madvise_lock_are_validated(tmp_path: Path) -> None:
    base = ('[[model]]\nname = "m"\nprotocol = "mainline"\npages = 4\nptes_per_table = 2\n'
            'munmap = { start = 1, end = 3 }\nvmas = [ { start = 1, end = 5 } ]\n')
    bad = [("maple_nodes = 1\n", "maple_nodes: must be true or false"),
           ("tlb = \"yes\"\n", "tlb: must be true or false"),
           ('threads = [ { kind = "madvise", start = 3, end = 4, lock = "read" } ]\n',
            "threads[0].lock: must be 'mmap' or 'vma'"),
           ('vma_read_mm_check = "never"\n', "not a value of mainline's option")]
    for extra, message in bad:
        p = tmp_path / "m.toml"
        p.write_text(base + extra)
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            load_models(p)


def test_per_vma_madvise_is_mainline_only(tmp_path: Path) -> None:
    p = tmp_path / "m.toml"
    p.write_text('[[model]]\nname = "m"\nprotocol = "detach_always"\npages = 4\n'
                 'ptes_per_table = 2\nmunmap = { start = 1, end = 3 }\n'
                 'vmas = [ { start = 1, end = 5 } ]\n'
                 'threads = [ { kind = "madvise", start = 3, end = 4, lock = "vma" } ]\n')
    (model,) = load_models(p)
    with pytest.raises(TemplateError, match="per-VMA MADV_DONTNEED.*model m"):
        render(model)
    p.write_text(p.read_text().replace("detach_always", "mainline"))
    (model,) = load_models(p)
    assert "madvise1_try_vma_read_lock:" in render(model).text


@pytest.mark.java
def test_9bbffee67ffd_is_found_on_615_and_gone_on_618(matrix, tools,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    """TLC on the two vma-reuse models (under 1000 states each): 6.15-6.16's late vm_mm check
    wakes the other process's freed mm; 6.17+'s mmgrab before the put holds."""
    from runner.check import check_models

    models = [matrix["mainline_615-vma-reuse"], matrix["mainline-vma-reuse"]]
    late, early = check_models(models, tmp_path, tools, jobs=2)
    v = late.verdicts["NoVmaUseAfterFree"]
    assert v.verdict == "violated" and v.trace is not None
    last = v.trace.states[-1].values
    assert last["ommfree"] is True and last["pc"]["fault1"] != "Done"
    assert early.verdicts["NoVmaUseAfterFree"].verdict == "holds"
    assert all(r.verdicts[p].verdict == r.model.expected(p) for r in (late, early)
               for p in r.verdicts)
