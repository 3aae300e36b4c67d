"""Judge: turn parsed TLC results into per-property verdicts.  Pure: no processes.

Several properties are checked per TLC run.  The first safety run decides every
invariant at once where it can (gen/first_violations.py, first_violations): each
violated one with the trace to the first state that violates it.  Otherwise a run
checks every invariant still undecided (and deadlock freedom); TLC stops at the
first violation, so the violated one is recorded and the run repeated without it
until a run completes.  Liveness is checked by the same runs when the model has no
symmetry to exploit (a run with both is folded into both states), else by
runs of its own.  AllThreadsComplete implies MunmapCompletes (every munmap
thread is a thread that does not repeat), so liveness is checked by a run of
AllThreadsComplete alone: if it holds, both hold; only if it fails is
MunmapCompletes checked alone.  (Checking both in the first run would cost TLC
one more branch of the temporal check per state: measured 10% of the run, and
TLC 2.15 would not say which of the two failed either.)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from gen.model import DEADLOCK, LIVENESS
from runner.tlc_output import Outcome, TlcResult, Trace

NOT_SELECTED = "not-selected"  # a property --properties left out


@dataclass(frozen=True)
class Verdict:
    """What is known of one property of one model."""

    prop: str
    verdict: str  # holds | violated | error | timeout | no-violation | not-checked |
    #                not-selected (left out by --properties: never run, never a difference)
    expected: str  # holds | violated
    run: str | None = None  # the TLC run (cfg name) that decided it
    trace: Trace | None = None
    message: str = ""

    @property
    def matches(self) -> bool:
        return self.verdict == self.expected or self.verdict == NOT_SELECTED

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "expected": self.expected,
            "matches": self.matches,
            "run": self.run,
            "message": self.message,
            "trace": self.trace.to_dict() if self.trace is not None else None,
        }


@dataclass(frozen=True)
class SafetyState:
    """The safety check between runs: what is still to check and what is known."""

    invariants: tuple[str, ...]  # still undecided
    check_deadlock: bool  # deadlock freedom still undecided
    decided: dict[str, tuple[str, str | None, Trace | None, str]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return not self.invariants and not self.check_deadlock


def _undecided(result: TlcResult) -> str:
    return "timeout" if result.outcome is Outcome.TIMEOUT else "error"


def _why(result: TlcResult) -> str:
    why = f"TLC: {result.outcome.value}" + (f": {result.message}" if result.message else "")
    if result.outcome is Outcome.TIMEOUT:  # how far it got, and what to try next
        n = result.stats.distinct_states
        why += (f" ({n:,} distinct states so far" if n is not None else " (no state count yet")
        why += ("; next: --simulate N, a random search whose violations are real; a smaller "
                "scenario or sweep point; or a longer --timeout)")
    return why


def next_safety(state: SafetyState, result: TlcResult, run: str,
                simulated: bool = False) -> SafetyState:
    """Fold one safety run into what is known.  A simulation that finds nothing
    proves nothing: its open properties are "no-violation", never "holds"."""
    decided = dict(state.decided)
    invariants, deadlock = state.invariants, state.check_deadlock
    # A run that checked temporal properties too: the search is complete (nothing left on
    # TLC's queue) only if the liveness check ran at the end; then no invariant and no
    # deadlock was found.  A periodic liveness check mid-search decides nothing here.
    if result.outcome is Outcome.LIVENESS and result.stats.states_left != 0:
        return state
    if result.outcome in (Outcome.OK, Outcome.LIVENESS):
        verdict = "no-violation" if simulated else "holds"
        note = "no violation in the simulated behaviours" if simulated else ""
        for inv in invariants:
            decided[inv] = (verdict, run, None, note)
        if deadlock:
            decided[DEADLOCK] = (verdict, run, None, note)
        return SafetyState((), False, decided)
    if result.outcome is Outcome.INVARIANT and result.violated in invariants:
        decided[result.violated] = ("violated", run, result.trace, result.message)
        return SafetyState(tuple(i for i in invariants if i != result.violated), deadlock, decided)
    if result.outcome is Outcome.DEADLOCK and deadlock:
        decided[DEADLOCK] = ("violated", run, result.trace, result.message)
        return SafetyState(invariants, False, decided)
    # Anything else decides nothing: every open property is an error (or a timeout).
    verdict = _undecided(result)
    for prop in invariants + ((DEADLOCK,) if deadlock else ()):
        decided[prop] = (verdict, run, None, _why(result))
    return SafetyState((), False, decided)


def first_violations(state: SafetyState, reports: list[tuple[tuple[str, ...], Trace | None]],
                     run: str) -> SafetyState:
    """The reports of a run of gen/first_violations.py's MmcheckInvariants: each invariant
    reported is violated, with the trace to the first state that violated it (its first
    report; other names, e.g. ProgressE, are the caller's).  The rest of that run then
    decides the others with next_safety, as a run that checked only them: all hold if it
    explored the whole graph, a deadlock is violated, nothing if TLC could not finish."""
    decided = dict(state.decided)
    for names, trace in reports:
        for name in names:
            if name in state.invariants and name not in decided:
                decided[name] = ("violated", run, trace, f"Invariant {name} is violated.")
    left = tuple(i for i in state.invariants if i not in decided)
    return SafetyState(left, state.check_deadlock, decided)


@dataclass(frozen=True)
class LivenessState:
    properties: tuple[str, ...]  # to check in the next run; () when done
    decided: dict[str, tuple[str, str | None, Trace | None, str]] = field(default_factory=dict)
    combined: tuple[str, Trace | None] | None = None  # the failed combined run

    @property
    def done(self) -> bool:
        return not self.properties


def start_liveness(skip: bool = False) -> LivenessState:
    """The liveness check; `skip` (simulation) leaves both properties "not-checked"."""
    if skip:
        why = "liveness is not checked by simulation"
        return LivenessState((), {p: ("not-checked", None, None, why) for p in LIVENESS})
    return LivenessState((LIVENESS[1],))


# How a liveness verdict decided by a safety run reads (docs/termination.md).
BY_TERMINATION = ("by termination, on the safety run's graph: no cycle (NoCycle) and a step "
                  "possible in every state but a final one (ProgressE), so every fair "
                  "behaviour ends with every thread done")


def terminated(run: str) -> LivenessState:
    """Both liveness properties hold: the safety run `run` completed with NoCycle and
    ProgressE (docs/termination.md)."""
    munmap, all_threads = LIVENESS
    return LivenessState((), {all_threads: ("holds", run, None, BY_TERMINATION),
                              munmap: ("holds", run, None,
                                       "implied by AllThreadsComplete, " + BY_TERMINATION)})


def next_liveness(state: LivenessState, result: TlcResult, run: str) -> LivenessState:
    munmap, all_threads = LIVENESS
    decided = dict(state.decided)
    if result.outcome in (Outcome.INVARIANT, Outcome.DEADLOCK):
        return state  # a run that checked invariants too stopped before liveness was checked
    if result.outcome not in (Outcome.OK, Outcome.LIVENESS):
        verdict = _undecided(result)
        # the first run stands for both (AllThreadsComplete implies MunmapCompletes)
        for prop in LIVENESS if state.combined is None else state.properties:
            decided[prop] = (verdict, run, None, _why(result))
        if state.combined is not None:  # the combined run failed, the single one said nothing
            decided[all_threads] = ("violated", state.combined[0], state.combined[1],
                                    "the AllThreadsComplete run failed")
        return replace(state, properties=(), decided=decided)
    holds = result.outcome is Outcome.OK
    if state.combined is None:  # the first run: AllThreadsComplete, which implies the other
        if holds:
            decided[all_threads] = ("holds", run, None, "")
            decided[munmap] = ("holds", run, None, "implied by AllThreadsComplete")
            return LivenessState((), decided)
        return LivenessState((munmap,), decided, (run, result.trace))
    # The second run: MunmapCompletes alone, after AllThreadsComplete failed.
    assert state.combined is not None
    decided[munmap] = ("holds", run, None, "") if holds else \
        ("violated", run, result.trace, result.message)
    trace_run, trace = (state.combined if holds else (run, result.trace))
    decided[all_threads] = ("violated", trace_run, trace,
                            "" if not holds else "MunmapCompletes holds, so another thread starves")
    return LivenessState((), decided)


def verdicts(decided: dict[str, tuple[str, str | None, Trace | None, str]],
             expected: dict[str, str], props: tuple[str, ...],
             selected: tuple[str, ...] | None = None) -> dict[str, Verdict]:
    """A verdict for each of `props`; one not in `selected` (when given) is NOT_SELECTED."""
    out = {}
    for prop in props:
        if selected is not None and prop not in selected:
            out[prop] = Verdict(prop, NOT_SELECTED, expected.get(prop, "holds"), None, None,
                                "not selected (--properties)")
            continue
        verdict, run, trace, message = decided.get(prop, ("error", None, None, "not checked"))
        out[prop] = Verdict(prop, verdict, expected.get(prop, "holds"), run, trace, message)
    return out
