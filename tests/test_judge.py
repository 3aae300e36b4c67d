"""The judge's folding of TLC outcomes into verdicts (pure)."""
from __future__ import annotations

from gen.model import DEADLOCK, INVARIANTS, LIVENESS
from runner import judge
from runner.tlc_output import Outcome, Stats, TlcResult, Trace, TraceState

TRACE = Trace((TraceState(1, None, None, {"x": 1}), TraceState(2, "a", None, {"x": 2})))


def result(outcome: Outcome, violated: str | None = None, left: int | None = 0) -> TlcResult:
    return TlcResult(outcome=outcome, violated=violated, message="", stats=Stats(states_left=left),
                     trace=TRACE if outcome.is_violation else None, tlc_version="2.15",
                     tlc_revision="d5b5a7f", exit_code=0, disagreement=None)


def test_safety_reruns_without_the_violated_invariant_until_a_run_completes() -> None:
    s = judge.SafetyState(INVARIANTS, True)
    s = judge.next_safety(s, result(Outcome.INVARIANT, "WriteHoldBound"), "r1")
    assert "WriteHoldBound" not in s.invariants and not s.done
    s = judge.next_safety(s, result(Outcome.DEADLOCK), "r2")
    assert not s.check_deadlock and not s.done
    s = judge.next_safety(s, result(Outcome.OK), "r3")
    assert s.done
    assert s.decided["WriteHoldBound"][:2] == ("violated", "r1")
    assert s.decided["WriteHoldBound"][2] is TRACE
    assert s.decided[DEADLOCK][:2] == ("violated", "r2")
    assert s.decided["TypeOK"][:2] == ("holds", "r3")


def test_one_run_decides_what_it_reported_then_as_a_run_of_the_others() -> None:
    """gen/first_violations.py's run: its reports (the first of each name; a name not
    asked for, e.g. ProgressE, is the caller's), then what ended it, as next_safety."""
    other = Trace((TraceState(1, None, None, {"x": 0}),))
    reports = [(("WriteHoldBound", "ProgressE"), TRACE), (("NoLostWrite",), other),
               (("WriteHoldBound",), other)]
    s = judge.next_safety(judge.first_violations(judge.SafetyState(INVARIANTS, True),
                                                 reports, "r1"), result(Outcome.OK), "r1")
    assert s.done
    assert s.decided["WriteHoldBound"] == ("violated", "r1", TRACE,
                                           "Invariant WriteHoldBound is violated.")
    assert s.decided["NoLostWrite"][2] is other and "ProgressE" not in s.decided
    assert s.decided["TypeOK"][:2] == ("holds", "r1") and s.decided[DEADLOCK][0] == "holds"
    # a deadlock ends it: the invariants it did not report are left to the next runs
    s = judge.next_safety(judge.first_violations(judge.SafetyState(INVARIANTS, True),
                                                 reports[:1], "r1"), result(Outcome.DEADLOCK), "r1")
    assert not s.done and s.decided[DEADLOCK][0] == "violated"
    assert s.invariants == tuple(i for i in INVARIANTS if i != "WriteHoldBound")
    # TLC could not finish: only what it reported is decided
    s = judge.next_safety(judge.first_violations(judge.SafetyState(INVARIANTS, True),
                                                 reports[:1], "r1"), result(Outcome.TIMEOUT), "r1")
    assert s.decided["WriteHoldBound"][0] == "violated" and s.decided["TypeOK"][0] == "timeout"


def test_a_liveness_violation_decides_the_invariants_only_after_a_complete_search() -> None:
    s = judge.SafetyState(INVARIANTS, True)
    mid = judge.next_safety(s, result(Outcome.LIVENESS, left=12), "r1")
    assert mid == s  # found by a periodic check: the search was not over
    unknown = judge.next_safety(s, result(Outcome.LIVENESS, left=None), "r1")
    assert unknown == s
    end = judge.next_safety(s, result(Outcome.LIVENESS, left=0), "r1")
    assert end.done and end.decided["NoThirdState"][0] == "holds"
    assert end.decided[DEADLOCK][0] == "holds"


def test_errors_and_timeouts_decide_nothing_true() -> None:
    s = judge.next_safety(judge.SafetyState(INVARIANTS, True), result(Outcome.TIMEOUT), "r1")
    assert s.done and {v[0] for v in s.decided.values()} == {"timeout"}
    s = judge.next_safety(judge.SafetyState(INVARIANTS, True), result(Outcome.PARSE_ERROR), "r1")
    assert {v[0] for v in s.decided.values()} == {"error"}
    # An invariant TLC names that was not asked for is not taken as a verdict.
    s = judge.next_safety(judge.SafetyState(("TypeOK",), False), result(Outcome.INVARIANT, "Other"), "r")
    assert s.decided["TypeOK"][0] == "error"


def test_simulation_never_says_holds() -> None:
    s = judge.next_safety(judge.SafetyState(INVARIANTS, True), result(Outcome.OK), "r1", simulated=True)
    assert {v[0] for v in s.decided.values()} == {"no-violation"}
    live = judge.start_liveness(skip=True)
    assert live.done and {v[0] for v in live.decided.values()} == {"not-checked"}


def test_liveness_splits_only_when_the_combined_run_fails() -> None:
    munmap, all_threads = LIVENESS
    # the first run checks AllThreadsComplete alone: it implies MunmapCompletes
    assert judge.start_liveness().properties == (all_threads,)
    live = judge.next_liveness(judge.start_liveness(), result(Outcome.OK), "r1")
    assert live.done and live.decided[munmap][0] == live.decided[all_threads][0] == "holds"
    assert live.decided[munmap][1] == "r1"

    live = judge.next_liveness(judge.start_liveness(), result(Outcome.LIVENESS), "r1")
    assert live.properties == (munmap,)
    held = judge.next_liveness(live, result(Outcome.OK), "r2")
    assert held.decided[munmap][0] == "holds"
    assert held.decided[all_threads][:2] == ("violated", "r1")  # the combined run's trace
    failed = judge.next_liveness(live, result(Outcome.LIVENESS), "r2")
    assert failed.decided[munmap][:2] == ("violated", "r2")
    assert failed.decided[all_threads][0] == "violated"


def test_a_failed_first_liveness_run_leaves_both_properties_undecided_alike() -> None:
    live = judge.next_liveness(judge.start_liveness(), result(Outcome.PARSE_ERROR), "r1")
    assert live.done
    assert {p: v[:2] for p, v in live.decided.items()} == {p: ("error", "r1") for p in LIVENESS}


def test_a_run_stopped_by_an_invariant_says_nothing_of_liveness() -> None:
    start = judge.start_liveness()
    assert judge.next_liveness(start, result(Outcome.INVARIANT, "TypeOK"), "r1") == start
    assert judge.next_liveness(start, result(Outcome.DEADLOCK), "r1") == start


def test_verdicts_compare_with_expectations() -> None:
    s = judge.next_safety(judge.SafetyState(INVARIANTS, True), result(Outcome.OK), "r1")
    live = judge.next_liveness(judge.start_liveness(), result(Outcome.OK), "r2")
    v = judge.verdicts({**s.decided, **live.decided}, {"NoThirdState": "violated"},
                       INVARIANTS + (DEADLOCK,) + LIVENESS)
    assert not v["NoThirdState"].matches and v["TypeOK"].matches
    assert v["NoThirdState"].to_dict()["expected"] == "violated"


def test_a_timeout_says_how_far_tlc_got_and_what_to_try_next() -> None:
    import dataclasses

    far = dataclasses.replace(result(Outcome.TIMEOUT), stats=Stats(distinct_states=1234567))
    s = judge.next_safety(judge.SafetyState(INVARIANTS, True), far, "safety-1")
    why = s.decided["TypeOK"][3]
    assert why.startswith("TLC: timeout (1,234,567 distinct states so far; next: --simulate N")
    assert "a smaller scenario or sweep point" in why and "a longer --timeout" in why
    none = judge.next_safety(judge.SafetyState(INVARIANTS, True), result(Outcome.TIMEOUT), "r")
    assert "(no state count yet;" in none.decided["TypeOK"][3]
    assert "so far" not in judge.next_safety(
        judge.SafetyState(INVARIANTS, True), result(Outcome.PARSE_ERROR), "r").decided["TypeOK"][3]


def test_a_property_left_out_by_properties_is_not_selected_and_never_differs() -> None:
    v = judge.verdicts({"TypeOK": ("holds", "r", None, "")}, {"NoLostWrite": "violated"},
                       ("TypeOK", "NoLostWrite"), selected=("TypeOK",))
    assert v["TypeOK"].verdict == "holds"
    assert v["NoLostWrite"].verdict == judge.NOT_SELECTED and v["NoLostWrite"].matches
