"""The observers that take no mmap_lock, or not only it (issue 18): GUP-fast, the rmap
walker and the /proc/pid/maps reader; the munmap steps they hook into (the page-table free
that waits for IRQs-off walkers, unlink_anon_vmas before free_pgd_range); their negative
controls."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import text

from gen.load import load_models
from gen.render import render
from runner.errors import ConfigError, TemplateError


def free_step(t: str, label: str) -> str:
    return t.split(label)[1].split("\nmunmap0_")[0]


def test_the_tables_wait_for_irqs_off_walkers_by_ipi_before_615_and_rcu_after(  # type: ignore[no-untyped-def]
        matrix) -> None:
    ipi = text(matrix, "detach_merged-gup-fast")
    assert "stale := stale \\cup {th \\in Threads \\ irqoff :" in free_step(
        ipi, "munmap0_free_pgd_range:")
    assert "munmap0_tlb_flush_mmu:" in ipi and "await irqoff = {};" in ipi
    rcu = text(matrix, "mainline-gup-fast")
    assert "stale := stale \\cup {th \\in Threads \\ irqoff :" in free_step(
        rcu, "munmap0_free_pgtables:")
    assert "munmap0_tlb_flush_mmu:" not in rcu  # call_rcu: munmap does not wait
    for name in ("baseline-neg-gup-no-table-sync", "mainline-neg-gup-no-table-sync"):
        t = text(matrix, name)
        assert "\\ irqoff :" not in t and "munmap0_tlb_flush_mmu:" not in t


def test_a_model_without_the_new_actors_has_none_of_their_state(matrix) -> None:  # type: ignore[no-untyped-def]
    for name in ("detach_merged-fault", "mainline-fault", "per_vma-binder"):
        t = text(matrix, name)
        for word in ("irqoff", "unlinked", "rlock", "shown =", "tlb_flush_mmu", "unlink_anon_vmas"):
            assert word not in t, (name, word)


def test_unlink_anon_vmas_comes_before_free_pgd_range_but_in_the_negative_control(  # type: ignore[no-untyped-def]
        matrix) -> None:
    for name, free in (("detach_merged-rmap-walk", "munmap0_free_pgd_range:"),
                       ("mainline-rmap-walk", "munmap0_free_pgtables:")):
        t = text(matrix, name)
        assert t.index("munmap0_unlink_anon_vmas:") < t.index(free)
        neg = text(matrix, name.replace("rmap-walk", "neg-unlink-after-free"))
        assert neg.index(free) < neg.index("munmap0_unlink_anon_vmas:")


def test_the_maps_reader_takes_mmap_lock_before_617_and_vma_locks_after(matrix) -> None:  # type: ignore[no-untyped-def]
    old = text(matrix, "detach_always-proc-maps")
    assert "proc_maps1_down_read:" in old and "proc_maps1_vma_start_read:" not in old
    new = text(matrix, "mainline-proc-maps-vma")
    assert "proc_maps1_vma_start_read:" in new and "proc_maps1_fb_down_read:" in new
    neg = text(matrix, "mainline-neg-maps-no-vma-lock")
    assert "proc_maps1_vma_start_read:" not in neg and "proc_maps1_show_map_vma:" in neg


def _one(tmp_path: Path, protocol: str, thread: str, vmas: str = "[ { start = 1, end = 5 } ]") -> Path:
    p = tmp_path / "m.toml"
    p.write_text(f'[[model]]\nname = "m"\nprotocol = "{protocol}"\npages = 4\n'
                 f'ptes_per_table = 2\nmunmap = {{ start = 1, end = 3 }}\nvmas = {vmas}\n'
                 f'threads = [ {thread} ]\n')
    return p


def test_the_617_maps_reader_needs_a_vm_refcnt_protocol(tmp_path: Path) -> None:
    (model,) = load_models(_one(tmp_path, "detach_always", '{ kind = "proc_maps", lock = "vma" }'))
    with pytest.raises(TemplateError, match="per-VMA /proc/pid/maps.*model m"):
        render(model)


@pytest.mark.parametrize("thread,problem", [
    ('{ kind = "proc_maps", lock = "rcu" }', "lock"),
    ('{ kind = "gup_fast" }', "addr"),
    ('{ kind = "gup_fast", addr = 9 }', "addr"),
    ('{ kind = "rmap_walk", addr = 1, start = 1 }', "start"),
])
def test_bad_threads_of_the_new_kinds_are_one_line_errors(tmp_path: Path, thread: str,
                                                           problem: str) -> None:
    with pytest.raises(ConfigError, match=f"model 'm': threads\\[0\\]\\.{problem}"):
        load_models(_one(tmp_path, "baseline", thread))


def test_the_rmap_walker_starts_from_an_anonymous_page(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="threads\\[0\\]\\.addr"):
        load_models(_one(tmp_path, "baseline", '{ kind = "rmap_walk", addr = 1 }',
                         '[ { start = 1, end = 5, flags = ["pfnmap"] } ]'))


@pytest.mark.java
def test_each_negative_control_breaks_what_its_walker_protects(matrix, tools,  # type: ignore[no-untyped-def]
                                                               tmp_path: Path) -> None:
    """TLC (a few hundred states each): the walker whose page table or VMA goes away under it
    is the one the trace ends in; the unbroken models hold."""
    from runner.check import check_models

    names = ["baseline-neg-gup-no-table-sync", "mainline-neg-unlink-after-free",
             "mainline-neg-maps-no-vma-lock", "mainline-neg-maps-null-window",
             "baseline-gup-fast", "mainline-rmap-walk"]
    # the safety properties asserted here only: the null-window model's liveness takes a
    # 22,000-state liveness run (a retry cycle), which the matrix checks
    chosen = ("PageTableSafety", "NoVmaUseAfterFree", "MunmapAtomic")
    results = check_models([matrix[n] for n in names], tmp_path, tools, jobs=1,
                           properties=chosen)
    by = dict(zip(names, results))
    for name, prop, thread, res in (
            ("baseline-neg-gup-no-table-sync", "PageTableSafety", "gup_fast1", "stale"),
            ("mainline-neg-unlink-after-free", "PageTableSafety", "rmap_walk1", "stale")):
        v = by[name].verdicts[prop]
        assert v.verdict == "violated" and v.trace is not None
        assert v.trace.states[-1].values["res"][thread] == res
    assert by["mainline-neg-maps-no-vma-lock"].verdicts["NoVmaUseAfterFree"].verdict == "violated"
    v = by["mainline-neg-maps-null-window"].verdicts["MunmapAtomic"]
    assert v.verdict == "violated" and v.trace is not None
    assert v.trace.states[-1].values["pc"]["proc_maps1"] == "Done"  # broken at m_stop
    for name in ("baseline-gup-fast", "mainline-rmap-walk"):
        assert by[name].verdicts["PageTableSafety"].verdict == "holds"
    assert all(r.verdicts[p].verdict == r.model.expected(p) for r in results for p in chosen)
