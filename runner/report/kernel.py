"""The race as a kernel commit message draws it (246c320a8cfe): a short diagram for mail.

Threads are columns ("Thread A (munmap0)"), each step a kernel function nested under the
call it belongs to (munmap -> __do_munmap -> unmap_region -> free_pgtables), no state
numbers, and only the steps that matter: what changed the VMAs, ptes or page tables, the
downgrade, the reads the root cause names, and the breaking step (marked `>>`).  Lock
bookkeeping, lookups and no-op steps are left out, and a loop's iterations are folded.
Under the diagram: what broke, and the root cause (the read that went stale, found by
explain.root_cause).  The full diagram (diagram.py) keeps every step.

Which kernel function a label models, and under which call, is data: STEPS (per thread
kind), PROTOCOL_STEPS and PATH_ALIASES below.  A label in none of them is drawn by its
own name under its thread's syscall, so a new step of the model never breaks the diagram.
`render_kernel(result, prop)` is the entry point (used by the attachment, `--style kernel`
and `mmcheck compare`).
"""
from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gen.model import Model
from runner.check import ModelResult
from runner.judge import Verdict
from runner.report import explain
from runner.report.diagram import build, loop_start, thread_names
from runner.report.diagram import render_explanation as render_explanation_full
from runner.report.diagram import render_text as render_text_full
from runner.report.steps import LOCK_HOLDERS, Step, lock_held, strip_prefix

WIDTH = 80
MARK = ">> "

# How a step is drawn.  ENTRY: the syscall itself, drawn as the head of its calls; LOCK:
# lock bookkeeping, left out (but for liveness, where the lock is the story); MODE: a
# change of lock mode the race turns on (downgrade_write), drawn when the mode changed;
# VMA_LOCK: a per-VMA lock taken or dropped (vma_start_read, the re-check), drawn when it
# did: per-VMA races turn on it; STEP: drawn when it changed shared state, or when the root
# cause names it.
ENTRY, LOCK, MODE, VMA_LOCK, STEP = "entry", "lock", "mode", "vma_lock", "step"


@dataclass(frozen=True)
class Call:
    text: str  # as drawn: "free_pgtables()", "vma->vm_flags |= VM_DEAD"
    path: tuple[str, ...]  # the calls it is nested in, outermost (the syscall) first
    role: str = STEP
    known: bool = True  # False: no table has the label (drawn by its name)


def _c(spec: str, role: str = STEP) -> Call:
    """'munmap > do_munmap > unmap_region > free_pgtables()' -> Call."""
    *path, text = (x.strip() for x in spec.split(" > "))
    return Call(text, tuple(path), role)


_DO_MUNMAP = {
    "find_vma": _c("munmap > do_munmap > find_vma()"),  # and __split_vma: drawn if it splits
    "munlock_vma_pages_all": _c("munmap > do_munmap > munlock_vma_pages_all()"),
    "detach_vmas_to_be_unmapped": _c("munmap > do_munmap > detach_vmas_to_be_unmapped()"),
    "downgrade_write": _c("munmap > do_munmap > downgrade_write()", MODE),
    "unmap_region": _c("munmap > do_munmap > unmap_region()"),
    "zap_pte_range": _c("munmap > do_munmap > unmap_region > zap_pte_range()"),
    "free_pgtables": _c("munmap > do_munmap > unmap_region > free_pgtables()"),
    "free_pgd_range": _c("munmap > do_munmap > unmap_region > free_pgtables > free_pgd_range()"),
    "unlink_anon_vmas": _c("munmap > do_munmap > unmap_region > free_pgtables > "
                           "unlink_anon_vmas()"),
    "tlb_flush_mmu": _c("munmap > do_munmap > unmap_region > tlb_finish_mmu > tlb_flush_mmu()"),
    "vma_start_write": _c("munmap > do_munmap > vma_start_write()"),
    "vma_start_write_wait": _c("munmap > do_munmap > vma_start_write()"),
    "remove_vma_list": _c("munmap > do_munmap > remove_vma_list()"),
}
_FAULT_PER_VMA = {
    "lock_vma_under_rcu": _c("page fault > do_user_addr_fault > lock_vma_under_rcu()"),
    "vma_start_read": _c("page fault > do_user_addr_fault > lock_vma_under_rcu > "
                         "vma_start_read()", VMA_LOCK),
    "vma_recheck": _c("page fault > do_user_addr_fault > lock_vma_under_rcu > "
                      "re-check of the address and vma->detached", VMA_LOCK),
    "vma_handle_mm_fault": _c("page fault > do_user_addr_fault > handle_mm_fault()"),
    "vma_handle_pte_fault": _c("page fault > do_user_addr_fault > handle_mm_fault > "
                               "handle_pte_fault()"),
    "vma_end_read": _c("page fault > do_user_addr_fault > vma_end_read()"),
    # mainline (6.15+): vm_refcnt, vma_start_read's checks, vma_refcount_put's wake-up
    "vma_start_read_mm": _c("page fault > do_user_addr_fault > lock_vma_under_rcu > "
                            "vma_start_read > mmgrab()"),
    "vma_start_read_put": _c("page fault > do_user_addr_fault > lock_vma_under_rcu > "
                             "vma_start_read > vma_refcount_put()"),
    "vma_start_read_wake": _c("page fault > do_user_addr_fault > lock_vma_under_rcu > "
                              "vma_start_read > vma_refcount_put > rcuwait_wake_up()"),
    "vma_start_read_mmdrop": _c("page fault > do_user_addr_fault > lock_vma_under_rcu > "
                                "vma_start_read > mmdrop()"),
    "vma_check_range": _c("page fault > do_user_addr_fault > lock_vma_under_rcu > "
                          "vma_end_read > vma_refcount_put()"),
    "vma_end_read_wake": _c("page fault > do_user_addr_fault > lock_vma_under_rcu > "
                            "vma_end_read > vma_refcount_put > rcuwait_wake_up()"),
    "mas_walk": _c("page fault > do_page_fault > find_vma > mas_walk()"),
    "find_vma_prev": _c("page fault > do_page_fault > expand_stack > find_vma_prev()"),
    # (wlock_vma_start_write: 6.5 write-locks the stack VMA before it grows it)
    "vma_start_write": _c("page fault > do_page_fault > expand_stack > vma_start_write()"),
    "vma_start_write_wait": _c("page fault > do_page_fault > expand_stack > vma_start_write()"),
}
_LOCKS = {
    "down_write": _c("munmap > down_write()", LOCK),
    "down_write_killable": _c("munmap > down_write_killable()", LOCK),
    "rwsem_down_write_slowpath": _c("munmap > down_write()", LOCK),
    "rwsem_down_write_failed": _c("munmap > down_write()", LOCK),
    "rwsem_optimistic_spin": _c("munmap > down_write()", LOCK),
    "up_write": _c("munmap > up_write()", LOCK),
    "up_read": _c("munmap > up_read()", LOCK),
}
_MADVISE = {
    "madvise": _c("madvise", ENTRY),
    "down_read": _c("madvise > down_read()", LOCK),
    "rwsem_down_read_failed": _c("madvise > down_read()", LOCK),
    "madvise_dontneed": _c("madvise > madvise_dontneed()"),
    "zap_page_range": _c("madvise > madvise_dontneed > zap_page_range()"),
    "madvise_up_read": _c("madvise > up_read()", LOCK),
}
# An access the MMU could not serve (the thread goes on to the page fault): it takes
# mmap_sem (down_read's fast path, or queues for it), or enters the per-VMA path first.
FAULTED = {
    "mmap_sem": _c("page fault > do_page_fault > down_read()", LOCK),
    "per_vma": _c("page fault > do_user_addr_fault()", LOCK),
}
# Thread kind -> label (without the thread prefix) -> Call.
STEPS: dict[str, dict[str, Call]] = {
    "other_mm": {  # mainline's other process, labelled by its full label (a helper)
        "other_mm_vm_area_alloc": _c("other process > mmap > vm_area_alloc()"),
        "other_mm_vma_start_write": _c("other process > munmap > vma_start_write()"),
        "other_mm_vma_start_write_wait": _c("other process > munmap > vma_start_write > "
                                            "rcuwait_wait_event()"),
        "other_mm_remove_vma": _c("other process > munmap > remove_vma()"),
        "other_mm_exit_mm": _c("other process > exit_mmap > mmdrop()"),
    },
    "munmap": {
        "munmap": _c("munmap", ENTRY),
        "return": _c("munmap > return to user space", LOCK),
        # next_section, section_done (sections), zap_start (vm_dead), vms_clear_ptes
        # (mainline): steps of runs stored before their fusion (docs/reduction.md)
        "next_section": _c("munmap > next section", LOCK),
        "section_done": _c("munmap > section done", LOCK),
        **_LOCKS, **_DO_MUNMAP, **_MADVISE,
    },
    "fault": {
        "down_read": _c("page fault > do_page_fault > down_read()", LOCK),
        "rwsem_down_read_failed": _c("page fault > do_page_fault > down_read()", LOCK),
        "find_vma": _c("page fault > do_page_fault > find_vma()"),
        "expand_stack": _c("page fault > do_page_fault > expand_stack()"),
        "handle_mm_fault": _c("page fault > do_page_fault > handle_mm_fault()"),
        "handle_pte_fault": _c("page fault > do_page_fault > handle_mm_fault > "
                               "handle_pte_fault()"),
        "up_read": _c("page fault > do_page_fault > up_read()", LOCK),
        **_FAULT_PER_VMA,
        # the MMU uses a present pte (no fault); else this step enters the page fault
        # (drawn by FAULTED, see step_call)
        "access": _c("access > MMU: the pte is present, no fault"),
    },
    "mmap_fixed": {
        "mmap_region": _c("mmap", ENTRY),
        "vma_link": _c("mmap > mmap_region > vma_link()"),
        **{k: _c("mmap > " + c.text, LOCK) for k, c in _LOCKS.items()},
        **{k: Call(c.text, ("mmap", "mmap_region", "do_munmap", *c.path[2:]), c.role)
           for k, c in _DO_MUNMAP.items()},
    },
    "madvise": dict(_MADVISE),
    "follow_pte": {
        "down_read": _c("s390_pci_mmio_write > mmap_read_lock()", LOCK),
        "rwsem_down_read_failed": _c("s390_pci_mmio_write > mmap_read_lock()", LOCK),
        "find_vma": _c("s390_pci_mmio_write > find_vma()"),
        "follow_pte": _c("s390_pci_mmio_write > follow_pte()"),
        "pte_offset_map_lock": _c("s390_pci_mmio_write > follow_pte > pte_offset_map_lock()"),
        "up_read": _c("s390_pci_mmio_write > mmap_read_unlock()", LOCK),
    },
    "gup_fast": {  # v6.18 mm/gup.c (4.20: get_user_pages_fast, gup_pmd_range, gup_pte_range)
        "local_irq_save": _c("gup_fast > local_irq_save()", LOCK),
        "gup_fast_pmd_range": _c("gup_fast > gup_fast_pgd_range > gup_fast_pmd_range()"),
        "gup_fast_pte_range": _c("gup_fast > gup_fast_pgd_range > gup_fast_pmd_range > "
                                 "gup_fast_pte_range()"),
        "gup_fast_recheck": _c("gup_fast > gup_fast_pgd_range > gup_fast_pmd_range > "
                               "gup_fast_pte_range > ptep_get() again"),
        "local_irq_restore": _c("gup_fast > local_irq_restore()", LOCK),
    },
    "rmap_walk": {  # v6.18 mm/rmap.c folio_referenced -> rmap_walk_anon
        "folio_lock_anon_vma_read": _c("folio_referenced > rmap_walk_anon > "
                                       "folio_lock_anon_vma_read()", LOCK),
        "anon_vma_interval_tree_foreach": _c("folio_referenced > rmap_walk_anon > "
                                             "anon_vma_interval_tree_foreach()"),
        "page_vma_mapped_walk": _c("folio_referenced > rmap_walk_anon > folio_referenced_one > "
                                   "page_vma_mapped_walk()"),
        "map_pte": _c("folio_referenced > rmap_walk_anon > folio_referenced_one > "
                      "page_vma_mapped_walk > map_pte()"),
        "anon_vma_unlock_read": _c("folio_referenced > rmap_walk_anon > "
                                   "anon_vma_unlock_read()", LOCK),
    },
    "proc_maps": {  # fs/proc/task_mmu.c, mm/mmap_lock.c lock_next_vma (6.17+)
        "down_read": _c("read /proc/pid/maps > m_start > mmap_read_lock()", LOCK),
        "rwsem_down_read_failed": _c("read /proc/pid/maps > m_start > mmap_read_lock()", LOCK),
        "m_start": _c("read /proc/pid/maps > m_start()", LOCK),
        "show_map": _c("read /proc/pid/maps > show_map > show_map_vma()"),
        "m_stop": _c("read /proc/pid/maps > m_stop()", LOCK),
        "lock_next_vma": _c("read /proc/pid/maps > m_next > lock_next_vma > vma_next()"),
        "vma_start_read": _c("read /proc/pid/maps > m_next > lock_next_vma > vma_start_read()",
                             VMA_LOCK),
        "lock_next_vma_check": _c("read /proc/pid/maps > m_next > lock_next_vma > "
                                  "re-check of vm_lock_seq and the position", VMA_LOCK),
        "show_map_vma": _c("read /proc/pid/maps > show_map > show_map_vma()"),
        "unlock_ctx_vma": _c("read /proc/pid/maps > m_next > unlock_ctx_vma > vma_end_read()",
                             VMA_LOCK),
        "lock_next_vma_under_mmap_lock": _c("read /proc/pid/maps > m_next > lock_next_vma > "
                                            "lock_next_vma_under_mmap_lock()", LOCK),
        "vma_next": _c("read /proc/pid/maps > m_next > lock_next_vma > "
                       "lock_next_vma_under_mmap_lock > vma_next()"),
    },
    "binder": {
        "binder_alloc_new_buf": _c("binder_alloc_new_buf > binder_alloc_get_vma()"),
        "down_read": _c("binder_alloc_new_buf > mmap_read_lock()", LOCK),
        "rwsem_down_read_failed": _c("binder_alloc_new_buf > mmap_read_lock()", LOCK),
        "down_write": _c("binder_alloc_new_buf > mmap_write_lock()", LOCK),
        "rwsem_down_write_failed": _c("binder_alloc_new_buf > mmap_write_lock()", LOCK),
        "rwsem_optimistic_spin": _c("binder_alloc_new_buf > mmap_write_lock()", LOCK),
        "binder_update_page_range": _c("binder_alloc_new_buf > binder_update_page_range()"),
        "vm_insert_page": _c("binder_alloc_new_buf > binder_update_page_range > "
                             "vm_insert_page()"),
        "binder_unlock": _c("binder_alloc_new_buf > mmap_unlock()", LOCK),
    },
}
# A thread kind not in STEPS looks its labels up here, under its own syscall.
COMMON = {
    "down_read": _c("down_read()", LOCK), "up_read": _c("up_read()", LOCK),
    "down_write": _c("down_write()", LOCK), "up_write": _c("up_write()", LOCK),
    "rwsem_down_write_slowpath": _c("down_write()", LOCK),
    "find_vma": _c("find_vma()"), "vma_lookup": _c("vma_lookup()"),
}
# A label no table knows is lock bookkeeping if it looks like it (rwsem_down_read_failed,
# up_write_wake, ...): left out like the known ones.
LOCKISH = re.compile(r"rwsem|(^|_)(down|up)_(read|write)|mmap_(read|write)_(un)?lock")
# Nested paths in a label, <prefix>_<sub>_<label>: the thread kind whose table they use.
SUBPATHS = {"pf": "fault", "again": None, "do": None,  # None: the thread's own kind
            "wlock": None,  # 6.5's expand_stack under the write lock
            "prepare": None,  # 6.4 __split_vma's vma_prepare
            "fb": None}  # 6.17 /proc/pid/maps: lock_next_vma_under_mmap_lock
# Protocol -> label -> Call, for the munmap threads of that protocol.
_VMS = "munmap > __vm_munmap > do_vmi_align_munmap"
_MAINLINE = {  # v6.18 mm/vma.c (mainline, mainline_615)
    "vms_gather_munmap_vmas": _c(f"{_VMS} > vms_gather_munmap_vmas > vma_start_write()"),
    "vma_start_write_wait": _c(f"{_VMS} > vms_gather_munmap_vmas > vma_start_write()"),
    "split_vma": _c(f"{_VMS} > vms_gather_munmap_vmas > __split_vma()"),
    "vma_mark_detached": _c(f"{_VMS} > vms_gather_munmap_vmas > vma_mark_detached()"),
    "vma_iter_clear_gfp": _c(f"{_VMS} > vma_iter_clear_gfp()"),
    "vms_complete_munmap_vmas": _c(f"{_VMS} > vms_complete_munmap_vmas > "
                                   "mmap_write_downgrade()", MODE),
    "vms_clear_ptes": _c(f"{_VMS} > vms_complete_munmap_vmas > vms_clear_ptes()"),
    "unmap_vmas": _c(f"{_VMS} > vms_complete_munmap_vmas > vms_clear_ptes > unmap_vmas()"),
    "free_pgtables": _c(f"{_VMS} > vms_complete_munmap_vmas > vms_clear_ptes > "
                        "free_pgtables()"),
    "remove_vma": _c(f"{_VMS} > vms_complete_munmap_vmas > remove_vma()"),
    "unlink_anon_vmas": _c(f"{_VMS} > vms_complete_munmap_vmas > vms_clear_ptes > "
                           "free_pgtables > unlink_anon_vmas()"),
}
PROTOCOL_STEPS: dict[str, dict[str, Call]] = {
    "mainline": _MAINLINE,
    "mainline_615": _MAINLINE,
    "vm_dead": {  # RFC v4: vm_munmap_zap_early -> do_munmap_zap_early
        "find_vma": _c("munmap > do_munmap_zap_early > find_vma()"),
        "set_vm_dead": _c("munmap > do_munmap_zap_early > vma->vm_flags |= VM_DEAD"),
        "special_mappings": _c("munmap > do_munmap_zap_early > uprobe_munmap()"),
        "downgrade_write": _c("munmap > do_munmap_zap_early > downgrade_write()", MODE),
        "zap_start": _c("munmap > do_munmap_zap_early > zap_page_range()"),
        "zap_page_range": _c("munmap > do_munmap_zap_early > zap_page_range()"),
    },
}
# Protocol -> a call of a path -> what the protocol calls it (or nests it under).
PATH_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "detach_merged": {"do_munmap": ("__do_munmap",)},
    "detach_fixed": {"do_munmap": ("__do_munmap",)},
    "detach_always": {"do_munmap": ("do_vmi_align_munmap",)},
    "per_vma": {"do_munmap": ("do_vmi_align_munmap",)},
    "madvise_kernel": {"madvise": ("munmap", "do_madvise")},
}
# How a syscall heads its column.
ROOTS = {
    "munmap": "munmap() {range}",
    "madvise": "madvise(MADV_DONTNEED) {range}",
    "mmap": "mmap(MAP_FIXED) {range}",
    "page fault": "page fault at {addr} ({access})",
    "s390_pci_mmio_write": "s390_pci_mmio_write() at {addr}",
    "binder_alloc_new_buf": "binder_alloc_new_buf() for page {addr}",
    "gup_fast": "gup_fast() at {addr}",
    "folio_referenced": "folio_referenced() of the page at {addr}",
    "read /proc/pid/maps": "read(/proc/pid/maps)",
    "access": "{access} at page {addr}",
    "other process": "another process (its own mm)",
}

# The phrases of steps.describe, as the diagram's comments (present tense) and in the
# root cause (past tense); kind "write": changed shared state (the step is drawn), "read":
# drawn only when the root cause names the step; a phrase matching no rule is drawn as it
# is (a write); DROP: lock bookkeeping and what the diagram says otherwise.
_RULES: list[tuple[str, str, str, str]] = [
    (r"pte\[(\d+)\]: .+ -> none", r"zaps pte[\1]", r"zapped pte[\1]", "write"),
    (r"pte\[(\d+)\]: none -> zero page", r"pte[\1] = zero page",
     r"mapped the zero page at pte[\1]", "write"),
    (r"pte\[(\d+)\]: .+ -> (.+)", r"pte[\1] = \2", r"wrote \2 to pte[\1]", "write"),
    (r"pt\[(\d+)\]: present -> none", r"frees pt[\1]", r"freed pt[\1]", "write"),
    (r"pt\[(\d+)\]: none -> present", r"allocates pt[\1]", r"allocated pt[\1]", "write"),
    (r"vma (\[\d+,\d+\)) grows (down|up) to (\[\d+,\d+\))", r"vma \1 -> \3",
     r"grew vma \1 \2 to \3", "write"),
    (r"vma (.+) detached", r"detaches vma \1", r"detached vma \1", "write"),
    (r"vma (.+) inserted", r"inserts vma \1", r"inserted vma \1", "write"),
    (r"vma (.+) removed", r"removes vma \1", r"removed vma \1", "write"),
    (r"vma (\[\d+,\d+\)) split at (.+)", r"splits vma \1 at \2", r"split vma \1 at \2",
     "write"),
    (r"vma (\[\d+,\d+\)) \+dead", r"vma \1 VM_DEAD", r"set VM_DEAD on vma \1", "write"),
    (r"floor (\d+), ceiling (\d+)", r"floor \1, ceiling \2", r"read floor \1, ceiling \2",
     "read"),
    (r"walk finds (pt\[\d+\])", r"walk finds \1", r"walked to \1", "read"),
    (r"finds vma (.+)", r"finds vma \1", r"found vma \1", "read"),
    (r"finds no VMA", "finds no VMA", "found no VMA", "read"),
    (r"read -> zero page", "reads the zero page", "read the zero page", "read"),
    (r"read -> (.+)", r"reads \1", r"read \1", "read"),
    (r"zapped under down_write: (\d+)", r"\1 zapped under down_write",
     r"zapped \1 under down_write", "write"),
    (r"munlocked under down_write: (\d+)", r"\1 munlocked under down_write",
     r"munlocked \1 under down_write", "write"),
    (r"load \(no fault\) -> (.+)", r"loads \1 (no fault)", r"loaded \1 without a fault", "read"),
    (r"SIGBUS", "SIGBUS", "got SIGBUS", "write"),
    (r"uses a freed page table", "uses a freed page table", "used a freed page table",
     "write"),
    (r"frees VMA object (\d+)", r"frees VMA object \1", r"freed VMA object \1", "write"),
    (r"\w+ read-locks VMA object (\d+)", r"read-locks VMA object \1",
     r"read-locked VMA object \1", "write"),
    (r"\w+ unlocks VMA object (\d+)", r"unlocks VMA object \1", r"unlocked VMA object \1",
     "write"),
    (r"(\w+)'s alloc->vma = NULL \(vm_ops->close\)", r"\1's alloc->vma = NULL (vm_ops->close)",
     r"cleared \1's alloc->vma (vm_ops->close)", "write"),
    (r"call_rcu: VMA object (\d+) freed after a grace period",
     r"call_rcu: VMA object \1 freed after a grace period",
     r"queued VMA object \1 to be freed after a grace period", "write"),
]
GENERIC = re.compile(r"\w+: .* -> .*")  # steps.describe's form for a variable it does not know
_DROP = re.compile(r"^(range |writer = |waitw |readers |queues as a |leaves the queue: |sees .* "
                   r"taken effect$|BREAKS |done$|writes its data$)|'s walked table freed$")


def phrase(change: str) -> tuple[str, str, str] | None:
    """(present, past, kind) of one change phrase; None when the diagram leaves it out."""
    if _DROP.search(change):
        return None
    for pattern, present, past, kind in _RULES:
        m = re.fullmatch(pattern, change)
        if m:
            return m.expand(present), m.expand(past), kind
    return change, change, "write"


def _join(phrases: Sequence[str]) -> list[str]:
    """'zaps pte[1]', 'zaps pte[2]' -> 'zaps pte[1], pte[2]'; duplicates once; a read
    fault's 'pte[2] = zero page' goes with its 'reads the zero page'."""
    out: list[str] = []
    for p in phrases:
        if p.endswith("= zero page") and "reads the zero page" in phrases:
            continue
        verb, _, obj = p.partition(" ")
        if out and obj and out[-1].split(" ", 1)[0] == verb and verb in (
                "zaps", "frees", "allocates", "detaches"):
            if obj not in out[-1]:
                out[-1] += f", {obj}"
        elif p not in out:
            out.append(p)
    return out


# ---------------------------------------------------------------- the threads


@dataclass(frozen=True)
class ThreadInfo:
    name: str
    kind: str
    range: tuple[int, int] | None
    addr: int | None
    access: str | None


def thread_info(model: Model) -> dict[str, ThreadInfo]:
    names, _ = thread_names(model)
    lo, hi = model.munmap
    out = {names[0]: ThreadInfo(names[0], "munmap", (lo, hi), None, None)}
    i = 1
    for t in model.threads:
        kind = getattr(t.kind, "value", str(t.kind))
        start, end = getattr(t, "start", None), getattr(t, "end", None)
        rng = (start, end) if isinstance(start, int) and isinstance(end, int) else None
        for _ in range(t.count):
            out[names[i]] = ThreadInfo(names[i], kind, rng, getattr(t, "addr", None),
                                       getattr(t, "access", None))
            i += 1
    if model.options.get("other_mm") is True:  # mainline's other process (its own mm)
        out["other_mm"] = ThreadInfo("other_mm", "other_mm", None, None, None)
    return out


def lookup(label: str | None, info: ThreadInfo, protocol: str,
           prefixes: Sequence[str]) -> Call:
    """The Call a label models, for a thread of `info`'s kind (a label no table knows:
    drawn by its own name under the thread's syscall)."""
    rest = strip_prefix(label or "?", prefixes)
    kind, sub = info.kind, None
    first, _, inner = rest.partition("_")
    if first in SUBPATHS and inner:
        sub, rest, kind = first, inner, SUBPATHS[first] or kind
    table = STEPS.get(kind, {})
    call = None
    if kind == "munmap" and sub is None:
        call = PROTOCOL_STEPS.get(protocol, {}).get(rest)
    call = call or table.get(rest)
    if call is None:  # a label no table knows: drawn as written (no invented name)
        root = _root_of(kind)
        base = COMMON.get(rest) or Call(rest, (), LOCK if LOCKISH.search(rest) else STEP,
                                        known=False)
        call = Call(base.text, (root, *base.path), base.role, base.known)
    if sub == "again" and call.role == LOCK:
        call = dataclasses.replace(call, text=call.text.replace("()", "() again"))
    if kind == "munmap" or info.kind == "munmap":
        aliases = PATH_ALIASES.get(protocol, {})
        path: tuple[str, ...] = ()
        for p in call.path:
            path += aliases.get(p, (p,))
        call = dataclasses.replace(call, path=path)
    return call


def step_call(s: Step, info: ThreadInfo, protocol: str, prefixes: Sequence[str],
              seen: frozenset[str] | None = None) -> Call:
    """The Call a step models: as lookup, but an access the MMU did not serve (the thread
    goes on) is drawn as the page fault it starts, not as the MMU's hit.  `seen` (a user's
    protocol: see labels_seen): the calls a munmap step is nested under are only those the
    trace shows (its syscall, and the labels the thread passed), never a function the
    tables name for a built-in protocol that this one may not call."""
    call = lookup(s.label, info, protocol, prefixes)
    if seen is not None and call.path and info.kind == "munmap":  # the protocol's own code
        call = dataclasses.replace(call, path=(call.path[0], *(
            p for p in call.path[1:] if p in seen)))
    rest = strip_prefix(s.label or "?", prefixes)
    if (rest == "access" or rest.endswith("_access")) and s.pc_after != "Done":
        took = any(r.split(":", 1)[0] in ("readers", "wq") for r in s.raw)
        return FAULTED["mmap_sem" if took else "per_vma"]
    return call


def labels_seen(model: Model, steps: Sequence[Step],
                prefixes: Sequence[str]) -> frozenset[str] | None:
    """For a protocol that is not built in (a user's template): every label of the trace,
    without its thread prefix and nested path (step_call's `seen`); None for a built-in
    protocol, whose calls the tables know."""
    if getattr(model.definition, "builtin", True):
        return None
    out = set()
    for st in steps:
        rest = strip_prefix(st.label or "", prefixes)
        first, _, inner = rest.partition("_")
        out |= {rest, inner if first in SUBPATHS and inner else rest}
    return frozenset(out)


def _root_of(kind: str) -> str:
    """The syscall a thread kind's steps are drawn under (its kind's name if unknown)."""
    return next((c.path[0] for c in STEPS.get(kind, {}).values() if c.path), kind)


def _root_text(root: str, info: ThreadInfo) -> str:
    rng = f"[{info.range[0]},{info.range[1]})" if info.range else ""
    addr = info.addr if info.addr is not None else (info.range[0] if info.range else None)
    access = info.access or "write"  # mmap_fixed's own fault writes
    form = ROOTS.get(root)
    if form is None:  # a thread kind no table knows: its name, and where it acts
        return f"{root}()" + (f" at {info.addr}" if info.addr is not None else
                              f" {rng}" if rng else "")
    return form.format(range=rng, addr=addr, access=access).rstrip()


# ---------------------------------------------------------------- the lines


@dataclass
class Line:
    thread: str
    depth: int
    text: str
    comment: list[str]
    numbers: list[int]
    violating: bool = False
    in_loop: bool = False
    head: bool = False  # a call drawn to nest what follows


@dataclass(frozen=True)
class KernelDiagram:
    prop: str
    kind: str  # safety, deadlock, liveness
    threads: tuple[str, ...]  # the columns: threads with a step drawn
    lines: tuple[Line, ...]
    symptom: str
    cause: str
    loop: bool
    stuttering: bool = False


def _importance(s: Step, call: Call, named: set[int], breaking: int | None,
                liveness: bool, involved: set[Any]) -> tuple[int, list[str]]:
    """How much a step matters (0: left out, 1: a write elsewhere, 2: a write to what the
    race is about, the downgrade, 3: the breaking step and the root cause's steps) and the
    comment it is drawn with."""
    phrases = [p for p in (phrase(c) for c in s.changes) if p is not None]
    if call.known:  # a variable steps.describe does not know is news only from a new step
        phrases = [p if not GENERIC.fullmatch(p[0]) else (*p[:2], "read") for p in phrases]
    writes = [p[0] for p in phrases if p[2] == "write"]
    if s.number == breaking or s.number in named:
        return 3, [p[0] for p in phrases]
    if call.role == ENTRY:
        return 0, []
    if call.role == LOCK:
        return (2 if liveness else 0), []
    if call.role == MODE:  # drawn when the mode changed: 5.8's check may keep the writer
        changed = any(r.split(":", 1)[0] in LOCK_HOLDERS for r in s.raw)
        return (3, writes) if changed else (0, [])
    if call.role == VMA_LOCK:  # drawn when it took or dropped a per-VMA lock
        changed = any(r.split(":", 1)[0] == "vlock" for r in s.raw)
        return (3, writes) if changed else (0, [])
    if not writes:
        return 0, []
    return (2 if s.number in involved else 1), writes


def _lines(model: Model, d_steps: Sequence[Step], weight: Mapping[int, tuple[int, list[str]]],
           least: int, breaking: int | None, loop_from: int | None,
           liveness: bool) -> list[Line]:
    """The lines of the steps of at least `least` importance, with the calls they nest in."""
    _, prefixes = thread_names(model)
    infos = thread_info(model)
    protocol = getattr(model.protocol, "value", str(model.protocol))
    out: list[Line] = []
    open_calls: dict[str, tuple[str, ...]] = {}
    last: dict[str, Line] = {}
    seen = labels_seen(model, d_steps, prefixes)
    for s in d_steps:
        if s.thread is None or s.thread not in infos:
            continue
        level, comment = weight[s.number]
        if level < least:
            continue
        info = infos[s.thread]
        call = step_call(s, info, protocol, prefixes, seen)
        in_loop = loop_from is not None and s.number >= loop_from
        here = (*call.path, call.text.removesuffix("()"))
        prev = out[-1] if out else None
        if (prev is not None and prev.thread == s.thread and not prev.head
                and prev.text == call.text and prev.in_loop == in_loop
                and open_calls.get(s.thread) == here):
            prev.comment = _join(prev.comment + comment)
            prev.numbers.append(s.number)
            prev.violating |= s.number == breaking
            continue
        if liveness and in_loop and s.thread in last and last[s.thread].in_loop \
                and last[s.thread].text == call.text:
            continue  # the loop is drawn once: the same call of the same thread again
        opened = open_calls.get(s.thread, ())
        keep = 0
        while keep < min(len(opened), len(call.path)) and opened[keep] == call.path[keep]:
            keep += 1
        for depth in range(keep, len(call.path)):
            name = call.path[depth]
            text = _root_text(name, info) if depth == 0 else f"{name}()"
            out.append(Line(s.thread, depth, text, [], [s.number], in_loop=in_loop, head=True))
        line = Line(s.thread, len(call.path), call.text, _join(comment), [s.number],
                    s.number == breaking, in_loop)
        out.append(line)
        last[s.thread] = line
        open_calls[s.thread] = here
    return out


WRITERS = ("munmap", "mmap_fixed")  # thread kinds whose write lock is their syscall's own
BUDGET = 15  # lines of a diagram, as in a commit message; past it, side writes are left out


def build_kernel(model: Model, verdict: Verdict, width: int = WIDTH) -> KernelDiagram | None:
    """The kernel-style diagram of a violated property (None without a trace)."""
    full = build(model, verdict)
    trace = verdict.trace
    if full is None or trace is None:
        return None
    names, prefixes = thread_names(model)
    infos = thread_info(model)
    protocol = getattr(model.protocol, "value", str(model.protocol))
    all_steps = list(full.steps)
    values = [s.values for s in trace.states]
    liveness = full.kind == "liveness"
    breaking = full.violating if not liveness else None
    chain: list[explain.Cause] = []
    if full.kind == "safety" and all_steps:
        chain = explain.root_cause(all_steps, values, names)
    named = {c.user.number for c in chain} | {c.writer.number for c in chain} | {
        c.reader.number for c in chain if c.reader is not None}
    if verdict.prop == "MunmapAtomic":  # the observations that fix munmap's instant
        named |= {st.number for st in all_steps if "SIGSEGV" in st.changes}
    if verdict.prop == "RwsemExclusive" and breaking is not None:  # the writer's side too
        took = [st.number for st in all_steps if st.number < breaking
                and any(r.split(":", 1)[0] == "writer" for r in st.raw)]
        named |= set(took[-1:])  # the step that made the writer the writer
    if verdict.prop == "PageTableSafety" and trace.states[0].values.get("walkc") is not None:
        named |= {st.number for st in all_steps if any(  # 7a30df49f63a: the gathers, the flush
            c.startswith(("tlb_gather_mmu", "nested flush", "TLB and walk")) for c in st.changes)}
    if verdict.prop == "NoVmaUseAfterFree" and "other_mm" in infos:  # 9bbffee67ffd: the slot's
        # reuse by the other process, its writer and its exit, and the count taken on it
        named |= {st.number for st in all_steps if st.thread == "other_mm"
                  or any(" read-locks VMA object" in c or c.startswith("owake") for c in st.changes)}
    index = {st.number: i for i, st in enumerate(all_steps)}
    where = set().union(*(explain.written(values[index[n]], values[index[n] + 1], names)
                          for n in named | ({breaking} if breaking else set())))
    involved = {st.number for i, st in enumerate(all_steps)
                if explain.written(values[i], values[i + 1], names) & where}
    weight = {}
    seen = labels_seen(model, all_steps, prefixes)
    calls = {st.number: step_call(st, infos[st.thread], protocol, prefixes, seen)
             if st.thread in infos else Call(st.function, (), STEP) for st in all_steps}
    windows = _lock_windows(all_steps, values, calls) | _write_locks(all_steps, values, calls,
                                                                     infos)
    for st in all_steps:
        weight[st.number] = (3, []) if st.number in windows else _importance(
            st, calls[st.number], named, breaking, liveness, involved)
    def name_of(st: Step) -> str:
        if st.thread not in infos:
            return st.function
        return step_call(st, infos[st.thread], protocol, prefixes, seen).text.removesuffix("()")

    symptom = _symptom(full.explanation)
    if full.kind == "safety":
        cause = _cause_text(chain, values, all_steps, name_of)
    elif liveness:
        cause = _liveness_cause(model, trace.states, full.loop_to, full.starving, names)
        symptom = _liveness_symptom(verdict.prop, full.starving, all_steps, calls)
    else:
        cause = ""
    d = None
    # without a cause nothing tells what matters, but in a liveness trace the locks do (2)
    for least in ((1, 2, 3) if chain else (1, 2) if liveness else (1,)):
        lines = _lines(model, all_steps, weight, least, breaking, loop_start(full), liveness)
        threads = tuple(t for t in [*names, *(h for h in infos if h not in names)]
                        if any(line.thread == t for line in lines))
        d = KernelDiagram(verdict.prop, full.kind, threads, tuple(lines), symptom, cause,
                          full.loop_to is not None or full.stuttering, full.stuttering)
        if len(render_diagram(d, width).splitlines()) <= BUDGET + 2:  # + heads, blank line
            break
    return d


def _symptom(text: str) -> str:
    """The full diagram's sentence without its state numbers."""
    text = re.sub(r" \(steps? [\d, -]+\)", "", text)
    return re.sub(r"after state \d+ ", "", text)


def _lock_windows(all_steps: Sequence[Step], values: Sequence[Mapping[str, Any]],
                  calls: Mapping[int, Call]) -> set[int]:
    """Steps that drop mmap_sem in the middle of a syscall, and the steps that take it
    again there: the window another thread gets in by (vm_dead's up_read and second
    down_write, the sections' up_write)."""
    out: set[int] = set()
    for i, st in enumerate(all_steps):
        t = st.thread
        if t is None or calls[st.number].role != LOCK:
            continue
        if lock_held(values[i], t) not in ("read", "write") or lock_held(values[i + 1], t) \
                != "none":
            continue
        root = calls[st.number].path[:1]
        for j in range(i + 1, len(all_steps)):
            nxt = all_steps[j]
            if nxt.thread != t:
                continue
            if calls[nxt.number].path[:1] != root:
                break
            if lock_held(values[j + 1], t) in ("read", "write"):
                out |= {st.number, nxt.number}  # the release, and the step that holds it again
                break
    return out


def _write_locks(all_steps: Sequence[Step], values: Sequence[Mapping[str, Any]],
                 calls: Mapping[int, Call], infos: Mapping[str, ThreadInfo]) -> set[int]:
    """The steps by which a thread whose lock is the scenario's choice takes mmap_sem for
    write (binder's mmap_write_lock, lock = "write"; a thread kind no table knows): what
    it does under that lock is safe from munmap's read-locked part, so the diagram shows
    it.  (munmap's and mmap(MAP_FIXED)'s write locks are their syscall's own.)"""
    out: set[int] = set()
    for i, st in enumerate(all_steps):
        t = st.thread
        if t is None or t not in infos or infos[t].kind in WRITERS \
                or calls[st.number].role != LOCK:
            continue
        if lock_held(values[i + 1], t) == "write" and lock_held(values[i], t) != "write":
            out.add(st.number)
    return out


def _liveness_symptom(prop: str, starving: Sequence[str], all_steps: Sequence[Step],
                      calls: Mapping[int, Call]) -> str:
    waits = []
    for t in starving:
        last = next((st for st in reversed(all_steps) if st.thread == t), None)
        fn = calls[last.number].text if last else "its first step"
        waits.append(f"{t} waits in {fn} forever")
    goal = "munmap never returns" if prop == "MunmapCompletes" else "not every thread finishes"
    return (", ".join(waits) or "no thread finishes") + f": {goal}."


def _past(s: Step, location: str | None = None) -> str:
    ps = [p for p in (phrase(c) for c in s.changes) if p is not None and p[2] == "write"]
    if location == "vmas":
        ps = [p for p in ps if "vma" in p[0].lower()] or ps
    elif location:
        ps = [p for p in ps if location in p[0]] or ps
    return " and ".join(p[1] for p in ps[:2]) or "changed it"


def _cause_text(chain: Sequence[explain.Cause], values: Sequence[Mapping[str, Any]],
                all_steps: Sequence[Step], name_of: Any) -> str:
    if not chain:
        return ""

    def who(st: Step) -> str:
        return f"{st.thread}'s {name_of(st)}"

    root = chain[-1]
    if root.reader is not None:
        read = name_of(root.reader)
        where = "earlier" if read == name_of(root.user) else f"in {read}"
        text = (f"{who(root.user)} used {root.what} read {where} before "
                f"{who(root.writer)} {_past(root.writer, 'vmas')}")
    else:
        fv = _found_vma(root, values, all_steps)
        yet = f", yet {root.user.thread}'s find_vma still found vma {fv}, so" if fv else \
            ", then"
        text = (f"{who(root.writer)} {_past(root.writer, root.what)}{yet} "
                f"{who(root.user)} {_past(root.user, root.what)}")
    if len(chain) > 1:
        sym = chain[0]
        text += f"; so {name_of(sym.writer)} {_past(sym.writer, sym.what)}"
        if sym.register == "walked":
            text += f", which {sym.user.thread}'s walk had found"
    return text + "."


def _found_vma(c: explain.Cause, values: Sequence[Mapping[str, Any]],
               all_steps: Sequence[Step]) -> str | None:
    """For a write before a fault: the VMA the fault's find_vma found after that write."""
    idx = {s.number: i for i, s in enumerate(all_steps)}
    u, w, t = idx[c.user.number], idx[c.writer.number], c.user.thread
    for i in range(w + 1, u + 1):
        s = all_steps[i]
        if s.thread == t and s.label and s.label.endswith("find_vma"):
            v = values[i + 1].get("fv", {}).get(t)
            if isinstance(v, dict) and v.get("start"):
                return f"[{v['start']},{v['end']})"
    return None


def _liveness_cause(model: Model, states: Sequence[Any], loop_to: int | None,
                    starving: Sequence[str], names: Sequence[str]) -> str:
    loop = [s for s in states if loop_to is None or s.number >= loop_to] or list(states[-1:])
    holders: dict[str, set[str]] = {}
    for s in loop:
        for t in names:
            mode = lock_held(s.values, t)
            if mode in ("read", "write"):
                holders.setdefault(t, set()).add(mode)
    always = all(any(lock_held(s.values, t) in ("read", "write") for t in names if
                     t not in starving) for s in loop)
    if not starving or not holders:
        return ""
    who = ", ".join(f"{t} ({'/'.join(sorted(m))})" for t, m in holders.items())
    rwsem = getattr(model.rwsem, "value", str(model.rwsem))
    if always:
        return (f"in every state of the loop mmap_sem is held, by turns, by {who}, so "
                f"{' and '.join(starving)} never gets it ({rwsem} rwsem).")
    return (f"mmap_sem is held by turns by {who}; it is free only between their turns, and "
            f"they take it again first each time ({rwsem} rwsem): "
            f"{' and '.join(starving)} can take it only now and then, which weak fairness "
            f"does not force.")


# ---------------------------------------------------------------- text


def _heads(threads: Sequence[str], col: int) -> str:
    out = []
    for i, t in enumerate(threads):
        letter = chr(ord("A") + i) if i < 26 else str(i)
        h = f"Thread {letter} ({t})"
        out.append((h if len(h) <= col - 1 else f"Thread {letter}")[:col - 1])
    return "".join(f"{h:<{col}}" for h in out).rstrip()


def _cell(line: Line, col: int, room: int) -> list[str]:
    """A line's text and its comment, on one line when they fit in `room` (a line holds
    one thread's text only, so it may run on into the columns to its right), else the
    comment on the lines below."""
    indent = "  " * line.depth
    comment = ("// " + "; ".join(line.comment)) if line.comment else ""
    one = f"{indent}{line.text}" + (f" {comment}" if comment else "")
    if len(one) <= max(col - 1, room):
        return [one]
    out = textwrap.wrap(line.text, room, initial_indent=indent,
                        subsequent_indent=indent + "    ", break_on_hyphens=False)
    if comment:
        out += textwrap.wrap(comment, room,
                             initial_indent=indent + "  ", subsequent_indent=indent + "  // ",
                             break_on_hyphens=False)
    return out


def render_diagram(d: KernelDiagram, width: int = WIDTH) -> str:
    n = max(len(d.threads), 1)
    col = (width - len(MARK)) // n
    out = [" " * len(MARK) + _heads(d.threads, col), ""]
    looped = False
    for line in d.lines:
        if line.in_loop and not looped:
            looped = True
            out.append(" " * len(MARK) + " then, forever: ".center(width - len(MARK), "-"))
        x = d.threads.index(line.thread)
        for i, text in enumerate(_cell(line, col, width - len(MARK) - col * x)):
            mark = MARK if line.violating and i == 0 else " " * len(MARK)
            out.append((mark + " " * (col * x) + text).rstrip())
    if d.stuttering:
        out.append(" " * len(MARK) + " then nothing, forever ".center(width - len(MARK), "-"))
    return "\n".join(out)


def render_explanation(d: KernelDiagram, width: int = WIDTH) -> str:
    if d.kind in ("liveness", "deadlock"):
        head = f"{d.prop} fails: "
    else:
        head = f">> breaks {d.prop}: "
    out = textwrap.wrap(head + d.symptom, width, break_on_hyphens=False)
    if d.cause:
        out += textwrap.wrap("Root cause: " + d.cause,
                             width, break_on_hyphens=False)
    return "\n".join(out)


def render(d: KernelDiagram, width: int = WIDTH) -> str:
    return render_diagram(d, width) + "\n\n" + render_explanation(d, width)


def render_kernel(result: ModelResult, prop: str, width: int = WIDTH) -> str:
    """The kernel-style diagram of `prop`'s counterexample in `result`, with what broke and
    its root cause; one sentence when there is none to draw."""
    v = result.verdicts.get(prop)
    if v is None:
        return f"{prop}: not checked in model {result.model.name}."
    if v.verdict != "violated":
        return f"{prop}: {v.verdict} in model {result.model.name}; no counterexample."
    d = build_kernel(result.model, v, width)
    if d is None:
        return f"{prop}: violated, but TLC gave no trace ({v.message or 'no message'})."
    return render(d, width)



# ---------------------------------------------------------------- styles

STYLES = ("kernel", "full")  # --style: the commit-message diagram, or every step


def render_full(result: ModelResult, prop: str, width: int = WIDTH) -> str:
    """The full race diagram of `prop` (every step) with its explanation."""
    v = result.verdicts.get(prop)
    d = build(result.model, v) if v is not None and v.verdict == "violated" else None
    if v is None or d is None:
        return render_kernel(result, prop, width)  # the same one-sentence answers
    return f"{render_text_full(d, width)}\n\n{render_explanation_full(d, width)}"


def render_style(result: ModelResult, prop: str, style: str, width: int = WIDTH) -> str:
    """`prop`'s counterexample in `style` (one of STYLES)."""
    if style == "kernel":
        return render_kernel(result, prop, width)
    if style == "full":
        return render_full(result, prop, width)
    raise ValueError(f"unknown diagram style {style!r} (known: {', '.join(STYLES)})")


def render_counterexamples(results: Sequence[ModelResult], style: str,
                           width: int = WIDTH) -> str:
    """Every violated property's counterexample in `style`, each under a title line."""
    out = []
    for r in results:
        for prop, v in r.verdicts.items():
            if v.verdict != "violated":
                continue
            expected = "as expected" if v.matches else "NOT EXPECTED"
            title = f"{r.model.name}: {prop} is violated ({expected})"
            out.append(f"{title}\n{'-' * len(title)}\n{render_style(r, prop, style, width)}")
    return "\n\n".join(out) + ("\n" if out else "")
