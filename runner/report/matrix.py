"""The verdict matrix of a run (protocol x scenario x property), shared by every report."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gen.model import PROPERTIES
from runner.check import ModelResult
from runner.judge import Verdict

ABBREV = {
    "TypeOK": "Type", "RwsemExclusive": "Rwsem", "NoThirdState": "3rdSt",
    "NoLostWrite": "LostW", "PageTableSafety": "PgTbl", "MunmapAtomic": "Atomic",
    "WriteHoldBound": "WHold", "RangeUnmapped": "Unmap", "DeadlockFree": "Dlock",
    "MunmapCompletes": "MCompl", "AllThreadsComplete": "AllCo",
}
CELL = {"holds": "ok", "violated": "VIOL", "error": "ERR", "timeout": "T/O",
        "no-violation": "nv", "not-checked": "-"}
LEGEND = ("ok holds, VIOL violated, ERR error, T/O timeout, nv no violation found by "
          "simulation, - not checked; '!' marks a verdict that differs from its expectation")


def scenario(result: ModelResult) -> str:
    """The model's name without its protocol: the scenario it plays."""
    name, proto = result.model.name, result.model.protocol.value
    return name[len(proto) + 1:] if name.startswith(proto + "-") else name


def cell(v: Verdict | None) -> str:
    if v is None:
        return "?"
    text = CELL.get(v.verdict, v.verdict)
    return text if v.matches else "!" + text


@dataclass(frozen=True)
class Counts:
    models: int
    verdicts: int
    unexpected: int
    undecided: int
    status: int  # the exit status `mmcheck check` gives these results


UNDECIDED = ("error", "timeout", "no-violation", "not-checked")


def counts(results: Sequence[ModelResult]) -> Counts:
    vs = [v for r in results for v in r.verdicts.values()]
    return Counts(len(results), len(vs), sum(not v.matches for v in vs),
                  sum(v.verdict in UNDECIDED for v in vs),
                  max((r.status for r in results), default=0))


def unexpected(results: Sequence[ModelResult]) -> list[tuple[ModelResult, Verdict]]:
    return [(r, r.verdicts[p]) for r in results for p in PROPERTIES
            if p in r.verdicts and not r.verdicts[p].matches]
