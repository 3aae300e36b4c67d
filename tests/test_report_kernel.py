"""The kernel style (runner/report/kernel.py): the race as a commit message draws it, built
from the stored real runs in tests/data/runs/ (example: the 4.20 stack race and the madvise
third state; shapes: growsup, vm_dead vs mmap(MAP_FIXED), sections, madvise, two munmaps).
"""
from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from runner import report
from runner.cli import main
from runner.report import attachment, explain, kernel
from runner.report.diagram import thread_names
from runner.report.steps import steps
from runner.report.stored import StoredRun, load_run
from runner.tlc_output import Trace, TraceState

RUNS = Path(__file__).resolve().parent / "data" / "runs"


@pytest.fixture(scope="module")
def runs() -> dict[str, StoredRun]:
    return {p.name: load_run(p) for p in sorted(RUNS.iterdir()) if p.is_dir()}


def _result(runs: dict[str, StoredRun], name: str):  # type: ignore[no-untyped-def]
    return next(r for run in runs.values() for r in run.results if r.model.name == name)


def _diagram(runs: dict[str, StoredRun], name: str, prop: str) -> tuple[str, list[str]]:
    text = kernel.render_kernel(_result(runs, name), prop)
    diagram, _, _ = text.partition("\n\n>>" if "\n\n>>" in text else "\n\n" + prop)
    return text, diagram.splitlines()


def _column(line: str) -> int:
    return len(line) - len(line.lstrip(" >"))


def test_the_stack_race_as_246c320a8cfe_draws_it(runs: dict[str, StoredRun]) -> None:
    text, lines = _diagram(runs, "detach_merged-growsdown", "PageTableSafety")
    assert lines[0].split() == ["Thread", "A", "(munmap0)", "Thread", "B", "(fault1)"]
    assert 10 <= len(lines) <= kernel.BUDGET + 2
    assert max(len(line) for line in text.splitlines()) <= 80
    body = "\n".join(lines)
    # no state numbers, no lock bookkeeping, the lookups left out
    assert not re.search(r"\bstep \d|\bstate \d", text)
    for gone in ("waitw", "readers", "writer =", "down_write", "find_vma", "down_read"):
        assert gone not in body, gone
    # nested by call: munmap -> __do_munmap -> unmap_region -> free_pgtables, and
    # page fault -> do_page_fault -> expand_stack
    col = {line.strip(" >").split(" //")[0]: _column(line) for line in lines[2:]}
    assert col["munmap() [1,3)"] < col["__do_munmap()"] < col["unmap_region()"] \
        < col["free_pgtables()"] < col["free_pgd_range()"]
    assert col["page fault at 2 (write)"] < col["do_page_fault()"] < col["expand_stack()"]
    assert col["downgrade_write()"] == col["unmap_region()"]
    # Thread B's steps are in its column, right of Thread A's
    assert col["page fault at 2 (write)"] > col["free_pgtables()"]
    marked = [line for line in lines if line.startswith(">>")]
    assert len(marked) == 1 and "handle_pte_fault()" in marked[0]
    # free_pgtables reads its bounds after the zap (the kernel's order), the stack grows,
    # then free_pgd_range frees with the stale ceiling
    assert body.index("free_pgtables()") < body.index("expand_stack()") \
        < body.index("free_pgd_range()") < body.index("handle_pte_fault()")
    # the root cause, not only the symptom
    assert ("Root cause: munmap0's free_pgd_range used the ceiling (3) read in free_pgtables "
            "before fault1's expand_stack grew vma [3,5) down to [2,5)") in " ".join(
                text.split())


def test_growsup_blames_the_floor(runs: dict[str, StoredRun]) -> None:
    text, _ = _diagram(runs, "detach_merged-growsup", "PageTableSafety")
    assert "used the floor (3) read in free_pgtables before fault1's expand_stack grew vma " \
           "[1,3) up to [1,4)" in " ".join(text.split())


def test_root_cause_chain_follows_stale_reads(runs: dict[str, StoredRun]) -> None:
    r = _result(runs, "detach_merged-growsdown")
    v = r.verdicts["PageTableSafety"]
    assert v.trace is not None
    names, prefixes = thread_names(r.model)
    chain = explain.root_cause(steps(v.trace, prefixes), [s.values for s in v.trace.states],
                               names)
    # the symptom: the walk's table was freed under it; behind it: the stale ceiling
    assert [(c.user.number, c.writer.number, c.reader and c.reader.number, c.register)
            for c in chain] == [(18, 17, 16, "walked"), (17, 15, 12, "ce")]


def test_third_state_names_the_zap_under_the_read_lock(runs: dict[str, StoredRun]) -> None:
    text, lines = _diagram(runs, "madvise_user-fault", "NoThirdState")
    assert lines[2].strip() == "madvise(MADV_DONTNEED) [1,3)"
    assert any("zap_page_range() // zaps pte[1], pte[2]" in line for line in lines)
    assert ">>" in next(line for line in lines if "handle_pte_fault()" in line)
    flat = " ".join(text.split())
    assert "Root cause: munmap0's zap_page_range zapped pte[2], yet fault1's find_vma still " \
           "found vma [1,5), so fault1's handle_pte_fault mapped the zero page at pte[2]." in flat


def test_a_dropped_lock_is_drawn_as_the_window(runs: dict[str, StoredRun]) -> None:
    text, lines = _diagram(runs, "vm_dead-mmap-fixed-observed", "MunmapAtomic")
    body = "\n".join(lines)
    assert "downgrade_write()" in body and "up_read()" in body
    assert "down_write_killable() again" in body
    # the observer's SIGSEGV fixes munmap's instant before the new mapping exists
    assert body.index("up_read()") < body.index("// SIGSEGV") < body.index("vma_link()") \
        < body.index("down_write_killable() again")
    flat = " ".join(text.split())
    assert "after fault2's access had seen the munmap take effect (SIGSEGV" in flat
    assert "mmap_fixed1's vma_link inserted vma [1,3), then munmap0's " \
           "detach_vmas_to_be_unmapped detached vma [1,3)" in flat


def test_liveness_loop_folded(runs: dict[str, StoredRun]) -> None:
    text, lines = _diagram(runs, "detach_merged-starve", "MunmapCompletes")
    banner = next(i for i, line in enumerate(lines) if "then, forever" in line)
    loop = [line.strip() for line in lines[banner + 1:]]
    # munmap0 queues (state 5, the loop's first) and waits while the readers take turns
    assert loop[:2] == ["munmap() [1,3)", "down_write_killable()"]
    assert sorted(loop[2:]) == ["down_read()", "down_read()", "up_read()", "up_read()"]
    flat = " ".join(text.split())
    assert "munmap0 waits in down_write_killable() forever: munmap never returns." in flat
    # the readers' turns overlap in every state of the loop, or leave the lock free now and
    # then (weak fairness does not force munmap0 in): the cause names the lock either way
    assert ("mmap_sem is held, by turns, by fault1_1 (read), fault1_2 (read), so munmap0 "
            "never gets it (hypothetical-reader-preferring rwsem)" in flat) or \
           ("mmap_sem is held by turns by fault1_1 (read), fault1_2 (read); it is free only "
            "between their turns" in flat and "weak fairness does not force" in flat)


@pytest.mark.parametrize("run", ["example", "shapes"])
def test_every_kernel_diagram_is_short_and_fits_mail(runs: dict[str, StoredRun],
                                                     run: str) -> None:
    for r in runs[run].results:
        for prop, v in r.verdicts.items():
            if v.verdict != "violated":
                continue
            d = kernel.build_kernel(r.model, v)
            assert d is not None
            text = kernel.render(d)
            assert all(len(line) <= 80 and line == line.rstrip() for line in text.splitlines())
            assert len(kernel.render_diagram(d).splitlines()) <= kernel.BUDGET + 2, \
                f"{r.model.name} {prop}"
            assert sum(line.violating for line in d.lines) == (d.kind != "liveness")


def test_unknown_labels_and_variables_are_drawn_by_name(runs: dict[str, StoredRun]) -> None:
    """The model's labels and variables will change: a label no table knows is drawn by
    its name under its thread's syscall; a new lock variable changes nothing."""
    r = _result(runs, "detach_merged-growsdown")
    v = r.verdicts["PageTableSafety"]
    assert v.trace is not None

    def rename(x: object) -> object:
        if isinstance(x, str):
            return x.replace("munmap0_free_pgd_range", "munmap0_free_pgd_range_v2")
        if isinstance(x, dict):
            return {k: rename(y) for k, y in x.items()}
        return x

    states = tuple(dataclasses.replace(
        s, action=rename(s.action),
        values={**rename(s.values), "waitq2": [] if s.number < 5 else ["munmap0"]})
        for s in v.trace.states)
    trace = Trace(states, v.trace.loop_to, v.trace.stuttering)
    changed = dataclasses.replace(r, verdicts={**r.verdicts, v.prop: dataclasses.replace(
        v, trace=trace)})
    text = kernel.render_kernel(changed, "PageTableSafety")
    # drawn as written: no "()" that would make it look like a kernel function
    line = next(x for x in text.splitlines() if "free_pgd_range_v2 " in x)
    assert "free_pgd_range_v2()" not in text
    assert "// frees pt[1]" in line and _column(line) == 5  # under munmap() [1,3)
    assert "free_pgd_range()" not in text.split("\n\n")[0]
    # step 5 (find_vma) now changes a variable nobody knows: the full diagram shows it,
    # the short one does not draw a known lookup for it
    full = attachment.render(changed)
    assert "waitq2: [] -> [munmap0]" in full
    assert "find_vma" not in text
    rwsem = kernel.lookup("munmap0_rwsem_wake_readers",
                          kernel.thread_info(r.model)["munmap0"], r.model.protocol,
                          ["munmap0", "fault1"])
    assert rwsem.role == kernel.LOCK and not rwsem.known
    info = kernel.ThreadInfo("walker1", "walker", None, 2, None)  # a kind no table knows
    call = kernel.lookup("walker1_pte_offset_map", info, "per_vma", ["munmap0", "walker1"])
    assert (call.text, call.path) == ("pte_offset_map", ("walker",))
    assert kernel._root_text("walker", info) == "walker() at 2"
    assert kernel.lookup("walker1_down_read", info, "per_vma", ["walker1"]).role == kernel.LOCK
    info = kernel.ThreadInfo("follow_pte1", "follow_pte", None, 2, None)  # a known one
    call = kernel.lookup("follow_pte1_pte_offset_map_lock", info, "per_vma",
                         ["munmap0", "follow_pte1"])
    assert call.path == ("s390_pci_mmio_write", "follow_pte")


def test_render_kernel_without_a_counterexample(runs: dict[str, StoredRun]) -> None:
    r = _result(runs, "detach_merged-fault")
    assert kernel.render_kernel(r, "PageTableSafety") == \
        "PageTableSafety: holds in model detach_merged-fault; no counterexample."
    assert kernel.render_style(r, "Nope", "full").startswith("Nope: not checked")
    with pytest.raises(ValueError, match="unknown diagram style"):
        kernel.render_style(r, "PageTableSafety", "fancy")


def test_attachment_puts_the_short_diagram_first(runs: dict[str, StoredRun]) -> None:
    text = attachment.render(_result(runs, "detach_merged-growsdown"))
    section = text[text.index("Counterexample: PageTableSafety"):]
    assert section.index("For a commit message") < section.index("Root cause:") \
        < section.index("Every step:") < section.index("    step | munmap0")


def test_html_shades_who_holds_mmap_sem(runs: dict[str, StoredRun]) -> None:
    html = report.render(runs["example"], "html")["report.html"]
    assert '<pre class="kernel">' in html
    section = html[html.index('id="model-detach_merged-growsdown-PageTableSafety"'):]
    section = section[:section.index("</table>")]
    rows = re.findall(r'<tr class="[^"]*"><td class="step">([\d-]+)</td>\s*(.*?)</tr>',
                      section, re.DOTALL)
    held = {n: re.findall(r'<td class="(hold-\w+|)"', cells) for n, cells in rows}
    assert held["2"] == ["", ""]  # munmap() has not taken the lock yet
    assert held["3"] == ["hold-write", ""]  # down_write_killable (the fast path)
    assert held["7"] == ["hold-read", ""]  # downgrade_write
    assert held["13"] == ["hold-read", "hold-read"]  # fault1's access: a fault, down_read
    assert "Who holds mmap_sem after each step" in section + html


def test_style_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "shapes"
    shutil.copytree(RUNS / "shapes", run)
    assert main(["report", str(run), "--style", "kernel", "--model",
                 "detach_merged-growsup"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("detach_merged-growsup: NoLostWrite is violated (as expected)\n")
    assert "detach_merged-growsup: PageTableSafety is violated" in out
    assert "Thread A (munmap0)" in out and "   step |" not in out
    assert not (run / "report.md").exists()  # --style prints, writes nothing
    assert main(["report", str(run), "--style", "full", "--model", "baseline-munmap2"]) == 0
    out = capsys.readouterr().out
    assert "   step | munmap0" in out and "Thread A" not in out
    assert main(["report", str(run), "--style", "kernel", "--format", "md"]) == 2
    assert "give it without --format" in capsys.readouterr().err


def test_two_step_trace_states(runs: dict[str, StoredRun]) -> None:
    """A trace of the initial state and one breaking step still draws."""
    r = _result(runs, "madvise_user-fault")
    v = r.verdicts["NoThirdState"]
    assert v.trace is not None
    first, last = v.trace.states[0], v.trace.states[-1]
    short = Trace((first, TraceState(2, last.action, last.location, last.values, None)),
                  None, False)
    changed = dataclasses.replace(r, verdicts={**r.verdicts, v.prop: dataclasses.replace(
        v, trace=short)})
    text = kernel.render_kernel(changed, "NoThirdState")
    assert ">>" in text and "breaks NoThirdState" in text


def test_a_downgrade_is_drawn_only_where_munmap_downgraded(runs: dict[str, StoredRun]) -> None:
    """5.8's munmap passes its downgrade_write step next to a stack without downgrading:
    a commit message would not draw a downgrade there; 4.20's does downgrade."""
    _, kept = _diagram(runs, "detach_fixed-growsdown", "WriteHoldBound")
    _, downgraded = _diagram(runs, "detach_merged-growsup", "PageTableSafety")
    assert not any("downgrade_write()" in line for line in kept)
    assert any("zap_pte_range()" in line for line in kept)
    assert any("downgrade_write()" in line for line in downgraded)


def test_binder_as_its_fix_tells_it(runs: dict[str, StoredRun]) -> None:
    """d1d8875c8c13: the driver read alloc->vma under the read lock, munmap (downgraded)
    freed the VMA, then vm_insert_page used it (KASAN: use-after-free in vm_insert_page)."""
    text, lines = _diagram(runs, "detach_merged-binder", "NoVmaUseAfterFree")
    order = ["downgrade_write()", "// reads alloc->vma", "remove_vma_list()", "vm_insert_page()"]
    at = [next(i for i, line in enumerate(lines) if w in line) for w in order]
    assert at == sorted(at), lines
    cause = " ".join(text.split("Root cause:", 1)[1].split())
    assert cause.startswith("binder1's vm_insert_page used the VMA pointer alloc->vma")
    assert "remove_vma_list freed VMA object 1 and cleared binder1's alloc->vma" in cause


def test_a_fault_that_takes_mmap_sem_is_drawn_as_a_fault(runs: dict[str, StoredRun]) -> None:
    """Audit X3 (issue 16 §1.6): the access step that enters the page fault and takes
    down_read's fast path is the fault's down_read, not "MMU: the pte is present"; the
    writer it ignored is drawn too."""
    text, lines = _diagram(runs, "detach_merged-neg-read-ignores-writer", "RwsemExclusive")
    assert not any("MMU" in line for line in lines), lines
    at = {w: next(i for i, line in enumerate(lines) if w in line)
          for w in ("down_write_killable()", "page fault at 2 (read)", "do_page_fault()",
                    ">>")}
    assert at["down_write_killable()"] < at["page fault at 2 (read)"] < at["do_page_fault()"]
    assert "down_read()" in lines[at[">>"]] and _column(lines[at[">>"]]) > 20
    assert "while fault1 hold(s) it for read, after fault1's down_read." in " ".join(text.split())
    # an access the MMU serves is still drawn as the MMU's
    _, observers = _diagram(runs, "detach_merged-observers", "MunmapAtomic")
    assert any("MMU: the pte is present" in line for line in observers)


def test_a_liveness_wait_names_the_faults_down_read(runs: dict[str, StoredRun]) -> None:
    """The fault that queues for mmap_sem at its access waits in down_read, not in the MMU."""
    text = kernel.render_kernel(_result(runs, "baseline-neg-skip-unlock"), "AllThreadsComplete")
    assert "fault1 waits in down_read() forever" in " ".join(text.split())
    assert "MMU" not in text


def test_per_vma_locks_are_drawn(runs: dict[str, StoredRun]) -> None:
    """lock_vma_under_rcu / vma_start_read are where per-VMA races happen: the read lock
    taken is drawn nested in lock_vma_under_rcu, and a use after free at vma_start_read
    (per_vma without call_rcu, audit X7) is drawn there."""
    _, lines = _diagram(runs, "per_vma-neg-no-detached-check", "PageTableSafety")
    lock = next(i for i, line in enumerate(lines) if "lock_vma_under_rcu()" in line)
    start = next(i for i, line in enumerate(lines) if "vma_start_read()" in line)
    assert lock < start and _column(lines[start]) > _column(lines[lock])
    assert "// read-locks VMA object 1" in lines[start + 1]
    assert start < next(i for i, line in enumerate(lines) if "handle_mm_fault()" in line)
    text, lines = _diagram(runs, "per_vma-neg-no-call-rcu", "NoVmaUseAfterFree")
    breaking = next(line for line in lines if line.startswith(">>"))
    assert "vma_start_read()" in breaking
    free = next(i for i, line in enumerate(lines) if "remove_vma_list()" in line)
    assert "frees VMA object 1" in lines[free] and free < lines.index(breaking)
    assert "fault1's vma_start_read used the VMA" in " ".join(text.split())


def test_a_users_protocol_is_drawn_without_invented_calls_and_with_its_lock_changes() -> None:
    """tests/data/protocols/detach_relock.tla.j2 (not built in): zap under the read lock,
    up_read, take the write lock again (a label prefix no table knows), then free.  Its
    munmap steps nest only under calls its trace shows (no do_munmap, no unmap_region: it
    calls neither); the unknown label is drawn as written; the lock changes are drawn."""
    [r] = load_run(RUNS / "user_protocol").results
    assert not r.model.definition.builtin
    for prop in ("NoLostWrite", "PageTableSafety"):
        text = kernel.render_kernel(r, prop)
        diagram_part = text.split("\n\n")[1]
        assert "do_munmap()" not in diagram_part and "unmap_region()" not in diagram_part
        lines = diagram_part.splitlines()
        up = next(i for i, x in enumerate(lines) if x.strip() == "up_read()")
        relock = next(i for i, x in enumerate(lines) if x.strip() == "relock_down_write")
        free = next(i for i, x in enumerate(lines) if "free_pgd_range()" in x)
        assert up < relock < free and "do_page_fault()" in diagram_part  # the fault's own
    # a built-in protocol keeps its tables' calls
    builtin = next(x for x in load_run(RUNS / "example").results
                   if x.model.name == "detach_merged-growsdown")
    assert "unmap_region()" in kernel.render_kernel(builtin, "NoLostWrite")


def test_the_root_cause_is_the_same_from_parsed_and_from_stored_values() -> None:
    """A trace as TLC's output parses it (sets, tuples, records) and as results.json stores
    it (lists, objects) gives one root cause: the ceiling (3) that went stale, not the
    floor (1), which VMA 1's id once matched."""
    from runner.tla_values import FrozenDict

    def parsed(v: object) -> object:
        if isinstance(v, list):
            return tuple(parsed(x) for x in v)
        if isinstance(v, dict):
            return FrozenDict({k: parsed(x) for k, x in v.items()})
        return v

    r = next(x for x in load_run(RUNS / "example").results
             if x.model.name == "detach_merged-growsdown")
    v = r.verdicts["NoLostWrite"]
    assert v.trace is not None
    states = tuple(dataclasses.replace(s, values={k: parsed(x) for k, x in s.values.items()})
                   for s in v.trace.states)
    live = dataclasses.replace(v, trace=Trace(states, v.trace.loop_to, v.trace.stuttering))
    stored_cause = kernel.build_kernel(r.model, v).cause  # type: ignore[union-attr]
    assert "used the ceiling (3) read in free_pgtables" in stored_cause
    assert kernel.build_kernel(r.model, live).cause == stored_cause  # type: ignore[union-attr]
