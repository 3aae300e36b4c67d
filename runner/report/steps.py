"""A TLC trace as the steps of threads: who acted, which kernel function, what changed.

Pure: a function of a stored trace (runner.tlc_output.Trace, values in their JSON form).
TLC 2.15 names the PlusCal label of each step but not the thread: the acting thread is
the one whose `pc` changed (or, for a loop that stays at its label, the one that was at
that label and whose registers changed).  Labels are `<thread prefix>_<kernel function>`;
`describe` turns the variables a reviewer cares about into short phrases such as
`pte[2]: orig -> none`.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runner.tlc_output import Trace

# Label (without the thread prefix) -> the name a kernel developer reads in the diagram.
FUNCTIONS = {
    "munmap": "munmap()",
    "down_write": "down_write",
    "down_write_killable": "down_write_killable",
    "rwsem_down_write_slowpath": "down_write (acquire)",  # named after its entry: see steps()
    "rwsem_down_write_failed": "down_write (acquire)",  # named after its entry: see steps()
    "rwsem_optimistic_spin": "down_write (spin)",
    "down_read": "down_read",
    "rwsem_down_read_failed": "down_read (woken)",
    "access": "access (MMU)",
    "up_read": "up_read",
    "up_write": "up_write",
    "downgrade_write": "downgrade_write",
    "find_vma": "find_vma",
    "munlock_vma_pages_all": "munlock_vma_pages_all",
    "detach_vmas_to_be_unmapped": "detach_vmas_to_be_unmapped",
    "unmap_region": "unmap_region",
    "zap_pte_range": "zap_pte_range",
    "free_pgtables": "free_pgtables",
    "free_pgd_range": "free_pgd_range",
    "remove_vma_list": "remove_vma_list",
    "return": "munmap returns",
    "expand_stack": "expand_stack",
    "handle_mm_fault": "handle_mm_fault (walk)",
    "handle_pte_fault": "handle_pte_fault",
    "mmap_region": "mmap(MAP_FIXED)",
    "vma_link": "mmap(MAP_FIXED) inserts VMA",
    "madvise": "madvise(MADV_DONTNEED)",
    "madvise_dontneed": "madvise_dontneed",
    "zap_page_range": "zap_page_range",
    "madvise_up_read": "up_read",
    # next_section, section_done, zap_start: steps of runs stored before their fusion into
    # the steps around them (docs/reduction.md); kept so that those runs still report
    "next_section": "next section",
    "section_done": "section done",
    "set_vm_dead": "set VM_DEAD",
    "special_mappings": "munlock, uprobe_munmap",
    "zap_start": "zap_page_range",
    # 6.5's stack expansion under the write lock
    "find_vma_prev": "find_vma_prev (expand_stack under the write lock)",
    # per-VMA locks (6.4)
    "lock_vma_under_rcu": "lock_vma_under_rcu",
    "vma_start_read": "vma_start_read",
    "vma_recheck": "lock_vma_under_rcu (re-check)",
    "vma_handle_mm_fault": "handle_mm_fault (walk, per-VMA lock)",
    "vma_handle_pte_fault": "handle_pte_fault (per-VMA lock)",
    "vma_end_read": "vma_end_read",
    "vma_start_write": "vma_start_write (seq)",
    "vma_start_write_wait": "vma_start_write (wait for readers)",
    "vm_area_free_rcu_cb": "vm_area_free_rcu_cb (RCU)",
    # s390 pci_mmio and binder
    "follow_pte": "follow_pte (walk)",
    "pte_offset_map_lock": "pte_offset_map_lock",
    "binder_alloc_new_buf": "binder_alloc_new_buf",
    "binder_update_page_range": "binder_update_page_range",
    "vm_insert_page": "vm_insert_page",
    "binder_unlock": "mmap_sem unlock",
    # GUP-fast, the rmap walker, /proc/pid/maps (issue 18)
    "local_irq_save": "local_irq_save",
    "gup_fast_pmd_range": "gup_fast_pmd_range (walk)",
    "gup_fast_pte_range": "gup_fast_pte_range",
    "gup_fast_recheck": "gup_fast_pte_range (re-check)",
    "local_irq_restore": "local_irq_restore",
    "tlb_flush_mmu": "tlb_flush_mmu (IPI)",
    "unlink_anon_vmas": "unlink_anon_vmas",
    "folio_lock_anon_vma_read": "folio_lock_anon_vma_read",
    "anon_vma_interval_tree_foreach": "anon_vma_interval_tree_foreach",
    "page_vma_mapped_walk": "page_vma_mapped_walk (walk)",
    "map_pte": "map_pte",
    "anon_vma_unlock_read": "anon_vma_unlock_read",
    "m_start": "m_start",
    "show_map": "show_map_vma",
    "m_stop": "m_stop",
    "lock_next_vma": "lock_next_vma",
    "lock_next_vma_check": "lock_next_vma (checks)",
    "show_map_vma": "show_map_vma",
    "unlock_ctx_vma": "vma_end_read",
    "lock_next_vma_under_mmap_lock": "lock_next_vma_under_mmap_lock",
    "vma_next": "vma_next (under mmap_lock)",
}
# Labels of a nested path: <prefix>_<sub>_<function>.
SUBPATHS = {
    "pf": "page fault: {}",  # mmap(MAP_FIXED)'s own write fault
    "again": "{} again",  # vm_dead's second down_write
    "do": "do_munmap: {}",  # vm_dead's do_munmap after it
    "wlock": "expand_stack: {}",  # 6.5: the fault takes the write lock to grow a stack
    "prepare": "vma_prepare: {}",  # 6.4: __split_vma write-locks the VMA it splits
    "fb": "lock_next_vma_under_mmap_lock: {}",  # 6.17 /proc/pid/maps: the mmap_lock fallback
}
# Per-thread registers: a change in one of these tells which thread acted.
REGISTERS = ("cur", "lo", "hi", "det", "pv", "nx", "fl", "ce", "fv", "res", "walked", "wz", "wm",
             "snap", "passed", "bv", "gv", "shown")
# The entries of a writer lock, and the step that takes it once queued: the taking step
# is named after the entry the thread queued by ("down_write_killable (acquire)").
WRITE_ENTRIES = ("down_write", "down_write_killable")
WRITE_ACQUIRE = ("rwsem_down_write_slowpath", "rwsem_down_write_failed")
# Who holds mmap_sem: variable -> the mode of the thread(s) it names (the writer, or a set
# of readers).  A model without them has no holder shown.
LOCK_HOLDERS = {"writer": "write", "readers": "read"}
# Variables `describe` turns into phrases, or leaves out on purpose (registers, history);
# a change of any other variable is shown as it is, so a new variable is never hidden.
DESCRIBED = frozenset(REGISTERS) | {"pc", "vmas", "writer", "waitw", "wq", "readers", "pte",
                                    "pt", "stale", "broken", "committed", "mapped_after",
                                    "segv_seen", "advised", "nextid", "freed", "alloc_vma",
                                    "vlock", "rcu", "mmseq", "zombies", "mroot", "mnode",
                                    "mfreed", "vdet", "ommfree", "oslot", "pending", "gq",
                                    "ptgen", "walkc"}
# Variables that are sequences indexed by page (or table), shown index by index.
BY_INDEX = ("pte", "pt", "mapped_after")
NO_VMA_START = 0


@dataclass(frozen=True)
class Step:
    """One step of the trace: TLC's state `number` is the state it leads to."""

    number: int
    thread: str | None
    label: str | None
    function: str  # the kernel function or operation it models
    changes: tuple[str, ...]  # what it changed, of what a reviewer cares about
    raw: tuple[str, ...]  # every variable it changed (the full listing)
    pc_after: str | None  # the thread's label after the step ("Done" when it finished)

    @property
    def relevant(self) -> bool:
        return bool(self.changes)


def content(c: Any) -> str:
    """A pte's content as text: none, orig (the original page), zero page, data(T)."""
    if c in ("none", "orig"):
        return str(c)
    if c == "zero":
        return "zero page"
    return f"data({c})"


def vma_text(v: Mapping[str, Any]) -> str:
    flags = ",".join(v.get("flags", []))
    origin = v.get("origin")
    text = f"[{v['start']},{v['end']})"
    if flags:
        text += " " + flags
    if isinstance(origin, str) and origin not in ("initial", "none"):
        text += f" of {origin}"  # runs stored before VMAs had ids: the mapping thread
    return text


def _key(v: Mapping[str, Any]) -> tuple[Any, ...]:
    return (v["start"], v["end"], tuple(v.get("flags", [])), v.get("origin"))


def acting_thread(prev: Mapping[str, Any], cur: Mapping[str, Any], label: str | None) -> str | None:
    """The thread that took the step from `prev` to `cur` under `label`."""
    pc0, pc1 = prev.get("pc", {}), cur.get("pc", {})
    moved = [t for t in pc1 if pc0.get(t) != pc1.get(t)]
    at_label = [t for t in pc0 if pc0.get(t) == label]
    both = [t for t in moved if t in at_label]
    if len(both) == 1 or (both and len(moved) == 1):
        return both[0]
    if len(moved) == 1:
        return moved[0]
    if len(at_label) == 1:
        return at_label[0]
    touched = [t for t in at_label
               if any(_get(prev, r, t) != _get(cur, r, t) for r in REGISTERS)]
    if touched:
        return touched[0]
    return at_label[0] if at_label else (moved[0] if moved else None)


def _get(values: Mapping[str, Any], var: str, thread: str) -> Any:
    v = values.get(var)
    return v.get(thread) if isinstance(v, dict) else None


def strip_prefix(label: str, prefixes: Sequence[str]) -> str:
    """A label without its thread prefix (the longest that matches): the kernel function."""
    for p in sorted(prefixes, key=len, reverse=True):
        if label.startswith(p + "_"):
            return label[len(p) + 1:]
    return label


def function_name(label: str | None, prefixes: Sequence[str]) -> str:
    """The name a reviewer reads for a label: the kernel function, made friendlier."""
    if label is None:
        return "initial state"
    rest = strip_prefix(label, prefixes)
    if rest in FUNCTIONS:
        return FUNCTIONS[rest]
    sub, _, inner = rest.partition("_")
    if sub in SUBPATHS and inner in FUNCTIONS:
        if sub == "pf" and inner != "down_read":
            return FUNCTIONS[inner]
        name, paren, phase = FUNCTIONS[inner].partition(" (")
        return SUBPATHS[sub].format(name) + (f" ({phase}" if paren else "")
    return rest


def _set_changes(name: str, old: Any, new: Any) -> list[str]:
    a, b = set(old or []), set(new or [])
    return [f"{name} += {x}" for x in sorted(b - a)] + [f"{name} -= {x}" for x in sorted(a - b)]


def _vma_changes(prev: Mapping[str, Any], cur: Mapping[str, Any], thread: str | None) -> list[str]:
    old = {_key(v): v for v in prev.get("vmas", [])}
    new = {_key(v): v for v in cur.get("vmas", [])}
    removed = [old[k] for k in sorted(old.keys() - new.keys())]
    added = [new[k] for k in sorted(new.keys() - old.keys())]
    detached = {_key(v) for v in (_get(cur, "det", thread) or [])} if thread else set()
    out: list[str] = []
    for r in list(removed):
        same = [a for a in added if (a["start"], a["end"]) == (r["start"], r["end"])]
        pieces = [a for a in added if r["start"] <= a["start"] and a["end"] <= r["end"]]
        grown = [a for a in added if a.get("origin") == r.get("origin") and (
            (a["end"] == r["end"] and a["start"] < r["start"])
            or (a["start"] == r["start"] and a["end"] > r["end"]))]
        if _key(r) in detached:
            out.append(f"vma [{r['start']},{r['end']}) detached")
        elif same:
            a = same[0]
            plus = sorted(set(a.get("flags", [])) - set(r.get("flags", [])))
            minus = sorted(set(r.get("flags", [])) - set(a.get("flags", [])))
            flags = " ".join([f"+{f}" for f in plus] + [f"-{f}" for f in minus])
            out.append(f"vma [{r['start']},{r['end']}) {flags}".rstrip())
            added.remove(a)
        elif len(pieces) > 1 and sum(a["end"] - a["start"] for a in pieces) == r["end"] - r["start"]:
            cuts = ", ".join(str(a["start"]) for a in sorted(pieces, key=lambda a: a["start"])[1:])
            out.append(f"vma [{r['start']},{r['end']}) split at {cuts}")
            for a in pieces:
                added.remove(a)
        elif grown:
            a = grown[0]
            way = "down" if a["start"] < r["start"] else "up"
            out.append(f"vma [{r['start']},{r['end']}) grows {way} to [{a['start']},{a['end']})")
            added.remove(a)
        else:
            out.append(f"vma {vma_text(r)} removed")
        removed.remove(r)
    out += [f"vma {vma_text(a)} inserted" for a in added]
    return out


def describe(prev: Mapping[str, Any], cur: Mapping[str, Any], thread: str | None,
             label: str | None) -> list[str]:
    """What a step changed, as short phrases, in the order a reader follows them."""
    out: list[str] = []
    t = thread or ""
    lo, hi = _get(cur, "lo", t), _get(cur, "hi", t)
    if (_get(prev, "lo", t), _get(prev, "hi", t)) != (lo, hi) and lo and hi:
        out.append(f"range [{lo},{hi})")
    fv0, fv1 = _get(prev, "fv", t), _get(cur, "fv", t)
    if fv1 != fv0 and isinstance(fv1, dict) and label and label.endswith("find_vma"):
        if fv1.get("start", NO_VMA_START) != NO_VMA_START:
            out.append(f"finds vma {vma_text(fv1)}")
        else:
            out.append("finds no VMA")
    out += _vma_changes(prev, cur, thread)
    w0, w1 = prev.get("writer"), cur.get("writer")
    if w0 != w1:
        out.append(f"writer = {w1}")
    out += _set_changes("waitw", prev.get("waitw"), cur.get("waitw"))
    out += _queue_changes(prev.get("wq"), cur.get("wq"))
    out += _set_changes("readers", prev.get("readers"), cur.get("readers"))
    fl, ce = _get(cur, "fl", t), _get(cur, "ce", t)
    if (_get(prev, "fl", t), _get(prev, "ce", t)) != (fl, ce) and fl and ce:
        out.append(f"floor {fl}, ceiling {ce}")
    walked0, walked1 = _get(prev, "walked", t), _get(cur, "walked", t)
    if walked0 != walked1 and walked1:
        out.append(f"walk finds pt[{walked1}]")
    for var in ("pte", "pt"):
        a, b = prev.get(var) or [], cur.get(var) or []
        for i, (x, y) in enumerate(zip(a, b), start=1):
            if x != y:
                show = content if var == "pte" else str
                out.append(f"{var}[{i}]: {show(x)} -> {show(y)}")
    for x in sorted(set(cur.get("stale") or []) - set(prev.get("stale") or [])):
        out.append(f"{x}'s walked table freed")
    r0, r1 = _get(prev, "res", t), _get(cur, "res", t)
    if r0 != r1 and r1 not in (None, "none"):
        said = {"segv": "SIGSEGV", "sigbus": "SIGBUS", "stale": "uses a freed page table",
                "written": "writes its data", "uaf": "uses a freed VMA",
                "einval": "-EINVAL", "esrch": "-ESRCH (no VMA)", "efault": "-EFAULT"}
        if r1 in said:  # a value read is in the function's name (handle_pte_fault: read -> ..)
            out.append(said[r1])
    wz0, wz1 = _get(prev, "wz", t), _get(cur, "wz", t)
    if wz1 is not None and wz0 != wz1 and wz1:
        out.append(f"zapped under down_write: {wz1}")
    wm0, wm1 = _get(prev, "wm", t), _get(cur, "wm", t)
    if wm1 is not None and wm0 != wm1 and wm1:
        out.append(f"munlocked under down_write: {wm1}")
    for vid in sorted(set(cur.get("freed") or []) - set(prev.get("freed") or [])):
        out.append(f"frees VMA object {vid}")
    a0, a1 = prev.get("alloc_vma") or {}, cur.get("alloc_vma") or {}
    for t1 in sorted(a1):
        if a0.get(t1) != a1[t1] and a1[t1] == 0:
            out.append(f"{t1}'s alloc->vma = NULL (vm_ops->close)")
    if _get(prev, "bv", t) != _get(cur, "bv", t) and _get(cur, "bv", t):
        out.append(f"reads alloc->vma: VMA object {_get(cur, 'bv', t)}")
    # (lists from a stored result, tuples in a set from TLC's output just parsed)
    v0, v1 = set(map(tuple, prev.get("vlock") or [])), set(map(tuple, cur.get("vlock") or []))
    for pair in sorted(v1 - v0, key=str):
        out.append(f"{pair[0]} read-locks VMA object {pair[1]}")
    for pair in sorted(v0 - v1, key=str):
        out.append(f"{pair[0]} unlocks VMA object {pair[1]}")
    out += _mainline_changes(prev, cur, t)
    if prev.get("mmseq") != cur.get("mmseq") and cur.get("mmseq") is not None:
        out.append(f"mm_lock_seq = {cur.get('mmseq')} (every VMA write lock ends)")
    z0 = {z.get("v", {}).get("id") for z in prev.get("zombies") or [] if isinstance(z, dict)}
    z1 = {z.get("v", {}).get("id") for z in cur.get("zombies") or [] if isinstance(z, dict)}
    for vid in sorted(x for x in z1 - z0 if x is not None):
        out.append(f"call_rcu: VMA object {vid} freed after a grace period")
    seen = sorted(set(cur.get("segv_seen") or []) - set(prev.get("segv_seen") or []))
    if seen:
        out.append(f"sees {', '.join(seen)} taken effect")
    for p in sorted(set(cur.get("broken") or []) - set(prev.get("broken") or [])):
        out.append(f"BREAKS {p}")
    out += _other_changes(prev, cur, thread)
    if thread and _get(cur, "pc", thread) == "Done" and _get(prev, "pc", thread) != "Done":
        out.append("done")
    return out


def _mainline_changes(prev: Mapping[str, Any], cur: Mapping[str, Any],
                      thread: str | None) -> list[str]:
    """Maple-tree nodes (maple_nodes models), vm_refcnt detaching, the other process's slot
    reuse (mainline) and the mmu_gathers (tlb models)."""
    out: list[str] = []
    t = thread or ""
    n0, n1 = _get(prev, "mnode", t), _get(cur, "mnode", t)
    if n1 and n0 != n1:
        out.append(f"holds maple node {n1} (mmap_lock only, no RCU)")
    if prev.get("mroot") != cur.get("mroot") and cur.get("mroot") is not None:
        out.append(f"replaces maple node {prev.get('mroot')} by node {cur.get('mroot')}")
    for n in sorted(set(cur.get("mfreed") or []) - set(prev.get("mfreed") or [])):
        out.append(f"ma_free_rcu: maple node {n} freed (no RCU reader holds it off)")
    for vid in sorted(set(cur.get("vdet") or []) - set(prev.get("vdet") or [])):
        out.append(f"vma_mark_detached: VMA object {vid} vm_refcnt 0, still in the tree")
    if prev.get("oslot") != cur.get("oslot") and cur.get("oslot"):
        out.append(f"another process's mmap reuses VMA slot {cur.get('oslot')}")
    if cur.get("ommfree") is True and prev.get("ommfree") is not True:
        out.append("the other process's mm_struct is freed")
    p0, p1 = prev.get("pending"), cur.get("pending")
    if p1 is not None and p0 is not None and p1 > p0:
        out.append(f"tlb_gather_mmu: tlb_flush_pending = {p1}")
    for tab in sorted(set(_get(cur, "gq", t) or []) - set(_get(prev, "gq", t) or [])):
        out.append(f"queues pt[{tab}] in its mmu_gather (freed_tables = 1)")
    g0, g1 = prev.get("ptgen") or [], cur.get("ptgen") or []
    freed = [i for i, (a, b) in enumerate(zip(g0, g1), start=1) if b > a]
    if freed:
        kept = any(e and e[0] in freed for es in (cur.get("walkc") or {}).values() for e in es)
        nested = p0 is not None and p0 > 1
        out.append(("nested flush: " if nested else "")
                   + ("walk caches kept (freed_tables cleared: leaf-only TLBI)" if kept
                      else "TLB and walk caches flushed")
                   + "; " + ", ".join(f"pt[{i}]" for i in freed) + " freed")
    return out


def _queue_changes(old: Any, new: Any) -> list[str]:
    """The rwsem wait queue: who joined it (as a reader or a writer) and who left it.  An
    entry is [k, ts] (a writer, or readers queued in a row), or [t, k] in runs stored
    before readers were grouped."""
    def who(q: Any) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in q or []:
            if isinstance(e, dict):
                for t in (e.get("ts") or [e.get("t")]):
                    out[str(t)] = str(e.get("k"))
        return out
    a, b = who(old), who(new)
    kinds = {"r": "reader", "w": "writer"}
    return ([f"queues as a {kinds.get(b[t], b[t])}: {t}" for t in b if t not in a]
            + [f"leaves the queue: {t}" for t in a if t not in b])


def _other_changes(prev: Mapping[str, Any], cur: Mapping[str, Any], thread: str | None) -> list[str]:
    """Variables `describe` does not know, as they changed (per-thread ones: the actor's)."""
    out = []
    for var in sorted(set(cur) - DESCRIBED):
        a, b = prev.get(var), cur[var]
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict) and thread in b:
            if a.get(thread) != b[thread]:
                out.append(f"{var}: {_text(a.get(thread))} -> {_text(b[thread])}")
        else:
            out.append(f"{var}: {_text(a)} -> {_text(b)}")
    return out


def lock_held(values: Mapping[str, Any], thread: str) -> str | None:
    """"write", "read" or "none": how `thread` holds mmap_sem in a state (None: unknown)."""
    known = False
    for var, mode in LOCK_HOLDERS.items():
        v = values.get(var)
        if v is None:
            continue
        known = True
        if v == thread or (isinstance(v, (list, tuple, set, frozenset)) and thread in v):
            return mode
    return "none" if known else None


def _text(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_text(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_text(x)}" for k, x in v.items()) + "}"
    return str(v)


def raw_changes(prev: Mapping[str, Any], cur: Mapping[str, Any]) -> list[str]:
    """Every changed variable, entry by entry, for the full listing."""
    out = []
    for var in sorted(cur):
        a, b = prev.get(var), cur[var]
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{var}[{k}]: {_text(a.get(k))} -> {_text(b[k])}"
                    for k in b if a.get(k) != b[k]]
        elif var in BY_INDEX and isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            out += [f"{var}[{i}]: {_text(x)} -> {_text(y)}"
                    for i, (x, y) in enumerate(zip(a, b), start=1) if x != y]
        else:
            out.append(f"{var}: {_text(a)} -> {_text(b)}")
    return out


def initial_values(values: Mapping[str, Any]) -> list[str]:
    return [f"{var} = {_text(values[var])}" for var in sorted(values)]


def _fault_entry(prev: Mapping[str, Any], cur: Mapping[str, Any]) -> str:
    """The name of an access the MMU did not serve: the page fault it starts, by what it did
    with mmap_sem (took it by down_read's fast path, queued for it, or neither: the per-VMA
    path comes first)."""
    if prev.get("readers") != cur.get("readers"):
        return "page fault: down_read"
    if prev.get("wq") != cur.get("wq"):
        return "page fault: down_read queues"
    return "page fault"


def steps(trace: Trace, prefixes: Sequence[str]) -> list[Step]:
    """The steps of a trace (one per state after the initial one)."""
    out = []
    states = trace.states
    queued: dict[str | None, str] = {}  # thread -> the writer entry it queued by
    for prev, cur in itertools.pairwise(states):
        thread = acting_thread(prev.values, cur.values, cur.action)
        name = function_name(cur.action, prefixes)
        rest = strip_prefix(cur.action, prefixes) if cur.action else ""
        if rest in WRITE_ENTRIES or rest.partition("_")[2] in WRITE_ENTRIES:  # also again_...
            queued[thread] = name
        elif rest.endswith(WRITE_ACQUIRE) and thread in queued:
            name = f"{queued.pop(thread)} (acquire)"
        changes = describe(prev.values, cur.values, thread, cur.action)
        if (rest == "access" or rest.endswith("_access")) and thread is not None \
                and _get(cur.values, "pc", thread) != "Done":
            name = _fault_entry(prev.values, cur.values)
        res = _get(cur.values, "res", thread) if thread else None
        if res not in (None, "none", "segv", "sigbus", "stale", "written", "uaf", "einval",
                       "esrch", "efault") and (
                name == "handle_pte_fault" or (rest == "access" and thread is not None and
                                               _get(cur.values, "pc", thread) == "Done")):
            # a read fault's result, or a load the MMU served from a present pte
            changes.insert(0, f"read -> {content(res)}" if name == "handle_pte_fault"
                           else f"load (no fault) -> {content(res)}")
        out.append(Step(cur.number, thread, cur.action, name, tuple(changes),
                        tuple(raw_changes(prev.values, cur.values)),
                        _get(cur.values, "pc", thread) if thread else None))
    return out
