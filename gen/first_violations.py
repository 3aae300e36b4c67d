"""Every invariant of a safety run decided in that one run (runner.check's first safety run;
docs/termination.md, "One safety run").

TLC stops at the first state that violates an invariant, so deciding k violated invariants
took k + 1 runs, each parsing the spec and exploring the graph again up to its violation
(213 of the cold matrix's 600 runs).  With `-continue` TLC does not stop; it reports a
violating state and goes on, but it reports every violating state, and at each only the
first invariant of the cfg that fails there (tlc2.tool.Worker.doNextCheckInvariants): an
invariant that fails only where an earlier one fails would never be named.  So the run
checks one invariant, `MmcheckInvariants`, which evaluates every invariant of the list at
every state and fails only where one of them fails for the first time in the run:

    MmcheckFirst(k, name, ok) == ok \\/ TLCGet(k) = 1
                                  \\/ (TLCSet(k, 1) /\\ PrintT(<<"mmcheck_violated", name>>) /\\ FALSE)
    MmcheckInvariants == /\\ WriteHoldReport
                         /\\ {i \\in 1..n : ~CASE i = 1 -> MmcheckFirst(.., "TypeOK", TypeOK) [] ..} = {}

TLC then prints, for each invariant, the names it failed with (PrintT, just before) and the
trace to the first state where it failed, and goes on to the end of the graph (and
NoCycle's check after it); runner.tlc_output.split_first_violations takes the reports apart.

Why each invariant gets the trace a run of its own would give it: TLC's search with one
worker visits the states in the same order whatever it reports, and every invariant is
evaluated at every state (the set's filter evaluates each element), so the state where the
register of invariant I is set is the first state of that order violating I; a run that
stops at its first violation, with the invariants decided before left out, stops at that
same state for I (no state before it violates I, and none of the invariants it still checks
fails earlier, or that one would be reported first and left out of the next run), and TLC's
trace to a state is its path in the search tree, which is the same.  With several workers
each has its own registers: an invariant may be reported once by each, never missed, but
their reports interleave in the output (runner.check runs it on one worker).

Pure text work on the translated module: nothing here runs TLC.
"""
from __future__ import annotations

from collections.abc import Sequence

NAME = "MmcheckInvariants"
REPORT = "mmcheck_violated"  # PrintT(<<REPORT, name>>) names an invariant, before its trace
_FIRST_REGISTER = 10  # TLC registers 10, 11, ...; WriteHoldReport uses 1-3


def definitions(invariants: Sequence[str], write_hold: bool) -> str:
    """MmcheckFirst and MmcheckInvariants over `invariants` (names of the module's state
    predicates), with WriteHoldReport evaluated first at every state if `write_hold`."""
    if not invariants:
        raise ValueError("no invariant to check")
    cases = "\n       [] ".join(
        f'i = {n} -> MmcheckFirst({_FIRST_REGISTER + n - 1}, "{inv}", {inv})'
        for n, inv in enumerate(invariants, 1))
    registers = " /\\ ".join(f"TLCSet({_FIRST_REGISTER + n}, 0)" for n in range(len(invariants)))
    return "\n".join([
        "\\* Every invariant decided in one run (gen/first_violations.py): each reported once,",
        "\\* at the first state that violates it, by -continue.",
        f"ASSUME {registers}",
        "MmcheckFirst(k, name, ok) ==",
        "    \\/ ok",
        "    \\/ TLCGet(k) = 1",
        f'    \\/ TLCSet(k, 1) /\\ PrintT(<<"{REPORT}", name>>) /\\ FALSE',
        f"{NAME} ==",
        *(["    /\\ WriteHoldReport"] if write_hold else []),
        f"    /\\ {{i \\in 1..{len(invariants)} :",
        f"         ~CASE {cases}}} = {{}}",
        "",
    ])


def with_first_violations(translated: str, invariants: Sequence[str],
                          write_hold: bool) -> str | None:
    """The translated module with `definitions` before its closing line (None: no such
    line)."""
    end = translated.rstrip().rfind("\n")
    if not translated.rstrip()[end + 1:].startswith("===="):
        return None
    return translated[:end + 1] + definitions(invariants, write_hold) + "\n" + translated[end + 1:]
