"""One sentence per broken property, saying what went wrong in the counterexample.

Pure: a function of the property, the trace's steps and its last state.  Each sentence
names the threads and kernel functions involved, found in the trace; where the trace does
not show them (a trace cut short, a model shape nobody foresaw) it falls back to the
property's definition.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gen.model import PROPERTY_DESCRIPTIONS
from runner.report.steps import Step, content, vma_text


def _pte_changes(step: Step) -> list[tuple[int, str, str]]:
    """(page, old, new) for every pte this step changed, from its phrases."""
    out = []
    for c in step.changes:
        if c.startswith("pte["):
            page, _, rest = c[4:].partition("]: ")
            old, _, new = rest.partition(" -> ")
            out.append((int(page), old, new))
    return out


def _who_zapped(steps: Sequence[Step], page: int, before: int) -> Step | None:
    for s in reversed([s for s in steps if s.number < before]):
        if any(p == page and new == "none" and old != "none" for p, old, new in _pte_changes(s)):
            return s
    return None


def _where(step: Step) -> str:
    return f"{step.thread}'s {step.function.split(': ')[-1]} (step {step.number})"


def _munmap_of(values: Mapping[str, Any], page: int, threads: Sequence[str]) -> str:
    for m in threads:
        lo, hi = values.get("lo", {}).get(m), values.get("hi", {}).get(m)
        if m in values.get("wz", {}) and isinstance(lo, int) and isinstance(hi, int) \
                and lo <= page < hi:
            return m
    return "munmap0"


def safety(prop: str, steps: Sequence[Step], last: Mapping[str, Any], threads: Sequence[str],
           ptes_per_table: int, bound: int, addrs: Mapping[str, int] | None = None) -> str:
    """Why the last step of `steps` breaks the invariant `prop`."""
    if not steps:
        return f"the initial state already breaks {prop} ({PROPERTY_DESCRIPTIONS.get(prop, '')})."
    step = steps[-1]
    t = step.thread or "a thread"
    if prop == "NoThirdState":
        zero = [(p, o) for p, o, n in _pte_changes(step) if n == "zero page"]
        page = zero[0][0] if zero else None
        what = "the zero page"
        if page is None and "SIGBUS" in step.changes:
            page, what = (addrs or {}).get(t), "SIGBUS"
        if page is not None:
            m = _munmap_of(last, page, threads)
            zapper = _who_zapped(steps, page, step.number)
            fv = (last.get("fv") or {}).get(t)
            stays = f"its VMA {vma_text(fv)} still mapped" if isinstance(fv, dict) and \
                fv.get("start") else "its VMA still there"
            how = f": {_where(zapper)} had zapped it, with {stays}" if zapper else ""
            return (f"{t}'s read fault at page {page} returns {what}, though page {page} "
                    f"was mapped with data by the same mapping when {m}'s munmap started{how}; "
                    f"the thread sees a third state, neither its data nor SIGSEGV.")
    if prop == "NoLostWrite":
        lost = [(p, o) for p, o, n in _pte_changes(step) if o.startswith("data(") and n == "none"]
        if lost:
            page, old = lost[0]
            return (f"{_where(step)} zaps page {page}, which held {old}, written into a VMA "
                    f"that survives the unmap (still in the tree, mapped there after the "
                    f"range was detached): that write is lost.")
        freed = [c.split("]")[0][3:] for c in step.changes if c.startswith("pt[")
                 and c.endswith("present -> none")]
        pte = last.get("pte") or []
        for table_no in freed:
            pages = [i for i, c in enumerate(pte, start=1)
                     if (i - 1) // ptes_per_table + 1 == int(table_no) and str(c) not in
                     ("none", "orig", "zero")]
            if pages:
                return (f"{_where(step)} frees page table pt[{table_no}], which maps page "
                        f"{pages[0]} "
                        f"holding {content(pte[pages[0] - 1])} of a VMA that survives the "
                        f"unmap: that write is lost with its page table.")
    if prop == "PageTableSafety":
        if last.get("res", {}).get(step.thread) == "stale":
            walk = next((s for s in reversed(steps) if s.thread == step.thread
                         and any(c.startswith("walk finds") for c in s.changes)), None)
            freer = next((s for s in reversed(steps)
                          if f"{step.thread}'s walked table freed" in s.changes), None)
            table = next((c.split()[-1] for c in walk.changes if c.startswith("walk finds")),
                         "its page table") if walk else "its page table"
            if freer:
                after = f" after {t}'s walk found it (step {walk.number})" if walk else ""
                return (f"{t} accesses page table {table}, which {_where(freer)} freed{after}: "
                        f"a use after free of a page-table page.")
        pte, pt = last.get("pte") or [], last.get("pt") or []
        for page, c in enumerate(pte, start=1):
            k = (page - 1) // ptes_per_table + 1
            if c != "none" and k <= len(pt) and pt[k - 1] == "none":
                return (f"pte[{page}] holds {content(c)} in page table pt[{k}], which has "
                        f"been freed; {_where(step)} made it so.")
    if prop == "MunmapAtomic":
        if step.label and step.label.endswith("detach_vmas_to_be_unmapped"):
            gone = [c[len("vma "):-len(" detached")] for c in step.changes if c.endswith("detached")]
            seer = next((s for s in reversed(steps) if s.number < step.number
                         and any(c.startswith(f"sees {t}") for c in s.changes)), None)
            if seer is not None:
                return (f"{_where(step)} removes {', '.join(gone) or 'a VMA'}, mapped in its "
                        f"range after {seer.thread}'s access had seen the munmap take effect "
                        f"(SIGSEGV, step {seer.number}): "
                        f"no single instant of the munmap explains both.")
            return (f"{_where(step)} removes {', '.join(gone) or 'a VMA'}, part of a mapping "
                    f"made after {t}'s munmap started, while another part of that mapping stays "
                    f"on a page {t} had already unmapped: no single instant of the munmap "
                    f"explains both.")
        if step.label and step.label.endswith("_m_stop"):
            value = last.get("shown")
            listed = value.get(t) if isinstance(value, dict) else None
            shown = (", ".join(map(str, listed)) if isinstance(listed, list)
                     else str(listed) if listed else "none")
            return (f"{t}'s /proc/pid/maps listing ends without a page that was mapped during "
                    f"the whole read (it listed page(s) {shown}): a hole that no single instant "
                    f"of a munmap or mmap explains (proc.rst: something mapped during the whole "
                    f"walk is listed).")
        return (f"{t} finds original content in the munmap range after a fault had already "
                f"seen another page of it gone (SIGSEGV): munmap is not atomic to observers.")
    if prop == "WriteHoldBound":
        wz, wm = last.get("wz", {}), last.get("wm", {})
        over = [(m, n, wm.get(m) or 0) for m, n in wz.items()
                if isinstance(n, int) and n + (wm.get(m) or 0) > bound]
        if over:
            m, n, locked = over[0]
            work = f"zapped {n} present page(s)" + (f" and munlocked {locked} page(s)"
                                                     if locked else "")
            return (f"{m} has {work} while holding mmap_sem for write "
                    f"(write_hold_bound = {bound}); {_where(step)} is the last of them.")
    if prop == "RwsemExclusive":
        writer, readers = last.get("writer"), last.get("readers") or []
        if writer not in (None, "nobody") and readers:
            return (f"{writer} holds mmap_sem for write while {', '.join(readers)} hold(s) it "
                    f"for read, after {_where(step)}.")
        return f"{_where(step)} downgrades mmap_sem without holding it for write."
    if prop == "RangeUnmapped":
        snap = last.get("snap", {}).get(t) or []
        lo = last.get("lo", {}).get(t) or 0
        pte = last.get("pte") or []
        for i, s in enumerate(snap):
            page = lo + i
            if isinstance(s, dict) and s.get("c") not in ("none", "zero") \
                    and 0 < page <= len(pte) and pte[page - 1] == s.get("c"):
                return (f"{t}'s munmap returns while page {page} of its range still holds "
                        f"{content(s['c'])}, the content it had when munmap started.")
    if prop == "NoVmaUseAfterFree" and last.get("ommfree") is True:
        # generic: any step reaching an exited mm through a recycled VMA slot (one such
        # path, vma_refcount_put's wake-up, was fixed by 9bbffee67ffd)
        return (f"{_where(step)} uses vma->vm_mm after the VMA's slot was freed and reused "
                f"by another process (SLAB_TYPESAFE_BY_RCU), whose mm_struct has since been "
                f"freed: a use after free of an mm_struct reached through a recycled VMA.")
    if prop == "PageTableSafety" and step.function.startswith("access") \
            and (last.get("walkc") or {}).get(t):
        return (f"{_where(step)}: the CPU walks through its cached pmd (walk-cache entry) to a "
                f"page table that tlb_finish_mmu freed without invalidating walk caches: its "
                f"flush was nested (another mmu_gather of the mm in progress) and "
                f"__tlb_reset_range() had cleared freed_tables, so arm64 issued leaf-only "
                f"TLBIs (7a30df49f63a).")
    if prop == "NoVmaUseAfterFree" and step.function.startswith("mas_walk"):
        return (f"{_where(step)} reads the maple-tree node its walk took under mmap_lock "
                f"alone, which a stack expansion replaced and RCU freed: a use after free "
                f"of a maple node (StackRot, CVE-2023-3269).")
    if prop == "NoVmaUseAfterFree":
        freer = next((s for s in reversed(steps) if s.number < step.number
                      and any(c.startswith("frees VMA object") for c in s.changes)), None)
        reader = next((s for s in reversed(steps) if s.thread == step.thread
                       and any(c.startswith("reads alloc->vma") or "read-locks VMA" in c
                               for c in s.changes)), None)
        by = f", which {_where(freer)} freed" if freer else ", which has been freed"
        got = f" after {t} took the pointer (step {reader.number})" if reader else ""
        return (f"{_where(step)} uses a VMA{by}{got}: a use after free of a VMA "
                f"(KASAN: use-after-free in {step.function.split()[0]}).")
    if prop == "TypeOK":
        return ("after the last step a variable is out of its type, or two VMAs overlap "
                "(see the full trace below).")
    return f"after {_where(step)}: {PROPERTY_DESCRIPTIONS.get(prop, prop)} no longer holds."


def deadlock(last: Mapping[str, Any], pcs: Mapping[str, str]) -> str:
    waiting = [f"{t} waits in {f}" for t, f in pcs.items() if last.get("pc", {}).get(t) != "Done"]
    return ("no thread can take another step, yet not all have finished: "
            + "; ".join(waiting) + ".")


def liveness(prop: str, loop_to: int | None, stuttering: bool, last: int,
             starving: Mapping[str, str]) -> str:
    """`starving`: thread -> the kernel function it stays in."""
    stuck = "; ".join(f"{t} stays in {f}" for t, f in starving.items()) or "no thread finishes"
    goal = "so munmap never returns" if prop == "MunmapCompletes" else \
        "so not every thread finishes"
    if loop_to is not None:
        return (f"from state {loop_to} on, the steps up to state {last} repeat forever "
                f"(back to state {loop_to}) under weak fairness, and {stuck}: it never "
                f"progresses, {goal}.")
    if stuttering:
        return f"after state {last} nothing happens any more (stuttering), and {stuck}, {goal}."
    return f"{stuck}, {goal}."



# ---------------------------------------------------------------- root cause
#
# The symptom is the breaking step; the root cause is an earlier read that went stale.
# Registers hold what a thread read of the shared state: register -> (what it is, the
# shared variables it was read from).  A step that acts on one after another thread
# changed its source acted on a stale read.  Extend these tables when the model grows.
READS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ce": ("the ceiling", ("vmas",)),
    "fl": ("the floor", ("vmas",)),
    "det": ("the detached VMAs", ("vmas",)),
    "fv": ("the VMA find_vma returned", ("vmas", "freed")),
    "walked": ("the page table its walk found", ("pt",)),
    "bv": ("the VMA pointer alloc->vma", ("freed", "alloc_vma", "zombies")),
}
# Label (without thread prefix; matched as a suffix) -> the registers the step acts on.
# A step not listed may act on any register of its thread.
USES: dict[str, tuple[str, ...]] = {
    "free_pgd_range": ("fl", "ce", "det"),
    "free_pgtables": (),  # reads its arguments afresh (prev->vm_end, next->vm_start)
    "detach_vmas_to_be_unmapped": (),  # looks the tree up afresh
    "zap_pte_range": ("det",),
    "remove_vma_list": ("det",),
    "handle_pte_fault": ("walked", "fv"),
    "handle_mm_fault": ("fv",),
    "expand_stack": ("fv",),
    "vm_insert_page": ("bv",),
    "pte_offset_map_lock": ("walked",),
    "vma_handle_mm_fault": ("fv",),
    "vma_end_read": ("fv",),
}
# Shared variables that only record history for the properties: never a cause.
HISTORY = frozenset({"broken", "committed", "mapped_after", "segv_seen", "snap", "stale", "pc",
                     "passed", "advised", "nextid"})


@dataclass(frozen=True)
class Cause:
    """`user` acted on `what`, which `reader` (of the same thread) had read before `writer`
    (another thread) changed it; reader None: `user` acted on a location `writer` had
    changed last (no stale read, a write in between)."""

    user: Step
    writer: Step
    reader: Step | None
    what: str
    register: str | None


def _per_thread(value: Any, threads: Sequence[str]) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= set(threads)


def written(prev: Mapping[str, Any], cur: Mapping[str, Any],
            threads: Sequence[str]) -> set[tuple[str, int | None]]:
    """The shared locations a step changed: (variable, index) for sequences of scalars
    (pte, pt), (variable, None) for the others; registers and history left out."""
    out: set[tuple[str, int | None]] = set()
    for var, b in cur.items():
        a = prev.get(var)
        if a == b or var in HISTORY or _per_thread(b, threads):
            continue
        if (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                and not any(isinstance(x, (dict, list)) for x in b)):
            out |= {(var, i) for i, (x, y) in enumerate(zip(a, b), start=1) if x != y}
        else:
            out.add((var, None))
    return out


def _numbers(v: Any) -> set[int]:
    """The numbers a value holds; of a VMA record ({id, start, end, ...}) only its bounds:
    a floor of 1 is not "touched" by the change of VMA 1 (its id) when its bounds are 3
    and 5."""
    if isinstance(v, bool):
        return set()
    if isinstance(v, int):
        return {v}
    if isinstance(v, (list, tuple, set, frozenset)):
        return set().union(*(_numbers(x) for x in v)) if v else set()
    if isinstance(v, dict):
        if "start" in v and "end" in v:
            return _numbers([v["start"], v["end"]])
        return set().union(*(_numbers(x) for x in v.values())) if v else set()
    return set()


def _uses(step: Step) -> tuple[str, ...]:
    label = step.label or ""
    for suffix in sorted(USES, key=len, reverse=True):
        if label.endswith("_" + suffix):
            return USES[suffix]
    return tuple(READS)


class _Trace:
    def __init__(self, steps: Sequence[Step], states: Sequence[Mapping[str, Any]],
                 threads: Sequence[str]):
        self.steps = list(steps)
        self.states = list(states)  # states[i] is the state before steps[i]
        self.threads = threads
        self.index = {s.number: i for i, s in enumerate(self.steps)}
        self.writes = [written(states[i], states[i + 1], threads) for i in range(len(steps))]

    def register(self, i: int, reg: str, thread: str) -> Any:
        v = self.states[i].get(reg)
        return v.get(thread) if isinstance(v, dict) else None

    def stale_read(self, user: Step) -> Cause | None:
        """The register `user` acts on that another thread changed the source of after
        `user`'s thread read it; the latest such read, one whose value the change touched
        first (the ceiling 3 when the VMA starting at 3 moved)."""
        u, t = self.index[user.number], user.thread
        if t is None:
            return None
        best: tuple[tuple[bool, int], Cause] | None = None
        for reg in _uses(user):
            if reg not in READS:
                continue
            value = self.register(u, reg, t)
            if value in (None, 0, [], {}):
                continue
            r = next((i for i in range(u - 1, -1, -1) if self.steps[i].thread == t
                      and self.register(i, reg, t) != self.register(i + 1, reg, t)), None)
            if r is None:
                continue
            sources = READS[reg][1]
            w = next((i for i in range(u - 1, r, -1) if self.steps[i].thread != t
                      and any(var in sources for var, _ in self.writes[i])), None)
            if w is None:
                continue
            touched = bool(_numbers(value) & self._old_numbers(w, sources))
            what = READS[reg][0] + (f" ({value})" if isinstance(value, int) else "")
            cause = Cause(user, self.steps[w], self.steps[r], what, reg)
            if best is None or (touched, r) > best[0]:
                best = ((touched, r), cause)
        return best[1] if best else None

    def _old_numbers(self, w: int, sources: Sequence[str]) -> set[int]:
        """Numbers of the values step w overwrote in `sources` (bounds of a moved VMA,
        the index of a changed entry)."""
        out: set[int] = set()
        for var, idx in self.writes[w]:
            if var not in sources:
                continue
            if idx is not None:
                out.add(idx)
                continue
            before, after = self.states[w].get(var), self.states[w + 1].get(var)
            seq = (list, tuple, set, frozenset)  # as stored (lists) or as parsed (live)
            if isinstance(before, seq) and isinstance(after, seq):
                out |= _numbers([x for x in before if x not in after])
        return out

    def last_writer(self, user: Step) -> Cause | None:
        """Another thread's step that last changed a location `user` changes."""
        u, t = self.index[user.number], user.thread
        mine = self.writes[u]
        for i in range(u - 1, -1, -1):
            if self.steps[i].thread != t and self.writes[i] & mine:
                var, idx = min(self.writes[i] & mine, key=str)
                return Cause(user, self.steps[i], None,
                             var if idx is None else f"{var}[{idx}]", None)
        return None


def root_cause(steps: Sequence[Step], states: Sequence[Mapping[str, Any]],
               threads: Sequence[str], breaking: Step | None = None) -> list[Cause]:
    """The causes behind the breaking step (default: the last), the symptom's first: each a
    stale read that the next one explains, the last the root.  With no stale read behind
    the breaking step, the last write of what it acts on by another thread (and the stale
    reads behind that write).  `states` are the trace's states, the initial one first."""
    if not steps:
        return []
    tr = _Trace(steps, states, threads)
    step = breaking or steps[-1]
    chain: list[Cause] = []
    cause = tr.stale_read(step) or tr.last_writer(step)
    while cause is not None and len(chain) < len(steps):
        chain.append(cause)
        cause = tr.stale_read(cause.writer)
    return chain
