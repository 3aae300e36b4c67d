"""One sentence per broken property, saying what went wrong in the counterexample.

Pure: a function of the property, the trace's steps and its last state.  Each sentence
names the threads and kernel functions involved, found in the trace; where the trace does
not show them (a trace cut short, a model shape nobody foresaw) it falls back to the
property's definition.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gen.model import PROPERTY_DESCRIPTIONS
from runner.report.steps import Step, content


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
    return f"{step.thread}'s {step.function.split(':')[0]} (step {step.number})"


def _munmap_of(values: Mapping[str, Any], page: int, threads: Sequence[str]) -> str:
    for m in threads:
        lo, hi = values.get("lo", {}).get(m), values.get("hi", {}).get(m)
        if m in values.get("wz", {}) and isinstance(lo, int) and isinstance(hi, int) \
                and lo <= page < hi:
            return m
    return "munmap0"


def safety(prop: str, steps: Sequence[Step], last: Mapping[str, Any], threads: Sequence[str],
           ptes_per_table: int, bound: int) -> str:
    """Why the last step of `steps` breaks the invariant `prop`."""
    if not steps:
        return f"the initial state already breaks {prop} ({PROPERTY_DESCRIPTIONS.get(prop, '')})."
    step = steps[-1]
    t = step.thread or "a thread"
    if prop == "NoThirdState":
        zero = [(p, o) for p, o, n in _pte_changes(step) if n == "zero page"]
        page = zero[0][0] if zero else None
        if page is not None:
            m = _munmap_of(last, page, threads)
            zapper = _who_zapped(steps, page, step.number)
            how = f": {_where(zapper)} had zapped it while its VMA stayed mapped" if zapper else ""
            return (f"{t}'s read fault at page {page} returns the zero page, though page {page} "
                    f"was mapped with its original content when {m}'s munmap started{how}; "
                    f"the thread sees a third state, neither its data nor SIGSEGV.")
    if prop == "NoLostWrite":
        lost = [(p, o) for p, o, n in _pte_changes(step) if o.startswith("data(") and n == "none"]
        if lost:
            page, old = lost[0]
            return (f"{_where(step)} zaps page {page}, which held {old}, while the VMA mapping "
                    f"it is still in the tree and not dead: that write is lost.")
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
            return (f"{_where(step)} removes {', '.join(gone) or 'a VMA'}, mapped in its range "
                    f"after {t}'s munmap had begun removing it: munmap removes more than its "
                    f"range held at any one instant.")
        return (f"{t} finds original content in the munmap range after a fault had already "
                f"seen another page of it gone (SIGSEGV): munmap is not atomic to observers.")
    if prop == "WriteHoldBound":
        wz = last.get("wz", {})
        over = [(m, n) for m, n in wz.items() if isinstance(n, int) and n > bound]
        if over:
            m, n = over[0]
            return (f"{m} has zapped {n} present page(s) while holding mmap_sem for write "
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

