#!/usr/bin/env python3
"""Cheap fairness (cost-profile.md's P5) on the models whose liveness still needs a liveness
run: threads that repeat forever (the `starve` scenario), where termination cannot decide
(docs/termination.md).  runner.check uses it for large liveness runs: see docs/termination.md, "Cheap fairness".
Prints figures; not a test.

Model: the `starve` scenario (4 pages, munmap [1,3), N read faults at page 4 repeating
forever) for --protocol.  Per N, interleaved over --rounds, each run one TLC worker, the
full JIT:

  safety        the invariants under SYMMETRY (what runner.check runs)
  safety+side   the same with BlockedExact (invariant) and MovedExact (action property):
                the side conditions under which FairSpec is Spec
  liveness      AllThreadsComplete, SPECIFICATION Spec (WF_vars of every thread)
  fair          AllThreadsComplete, SPECIFICATION FairSpec (gen/fairness.py)
  fair+side     FairSpec with the side conditions in the same run (-lncheck final)

Each line: states generated / distinct, outcome, CPU seconds (the JVM's user+sys) median
[min].  Today's cost is safety + liveness; P5's is safety+side + fair, or safety + fair+side.

    .venv/bin/python bench/bench_fairness.py [--protocol per_vma] [--threads 2 3] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_termination import interleaved
from gen.fairness import BLOCKED_EXACT, FAIR_SPEC, MOVED_EXACT, with_cheap_fairness
from gen.model import INVARIANTS, parse_model
from gen.render import liveness_cfg, render, tlc_cfg
from runner.java import locate_tools
from runner.pcal import translate


def model(protocol: str, n: int):
    return parse_model({
        "name": f"{protocol}-starve-{n}", "protocol": protocol, "pages": 4,
        "ptes_per_table": 2, "munmap": {"start": 1, "end": 3},
        "vmas": [{"start": 1, "end": 5, "flags": []}],
        "threads": [{"kind": "fault", "access": "read", "addr": 4, "count": n,
                     "repeat": True}],
    }, "bench_fairness", 0)


def with_side(cfg: str, fair: bool) -> str:
    """A cfg with the side conditions added (and FairSpec for `fair`)."""
    lines = cfg.rstrip("\n").split("\n")
    if fair:
        lines = [f"SPECIFICATION {FAIR_SPEC}" if x == "SPECIFICATION Spec" else x for x in lines]
    sym = [x for x in lines if x.startswith("SYMMETRY")]
    lines = [x for x in lines if not x.startswith("SYMMETRY")]
    if "PROPERTIES" in lines:
        lines.insert(lines.index("PROPERTIES") + 1, f"  {MOVED_EXACT}")
    else:
        lines += ["PROPERTIES", f"  {MOVED_EXACT}"]
    if "INVARIANTS" in lines:
        lines.insert(lines.index("INVARIANTS") + 1, f"  {BLOCKED_EXACT}")
    else:
        lines += ["INVARIANTS", f"  {BLOCKED_EXACT}"]
    return "\n".join(lines + sym) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--protocol", default="per_vma")
    ap.add_argument("--threads", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    tools = locate_tools()
    print(f"{args.protocol}, starve: N repeating read faults; {args.rounds} rounds, "
          "CPU median [min]")
    with tempfile.TemporaryDirectory(prefix="mmcheck-bench-fair-") as tmp:
        for n in args.threads:
            rendered = render(model(args.protocol, n))
            d = Path(tmp) / str(n)
            d.mkdir()
            spec = d / rendered.filename
            spec.write_text(rendered.text)
            translate(spec, tools=tools)
            procs = [(g.const, g.proc) for g in rendered.groups]
            text = with_cheap_fairness(spec.read_text(), procs)
            if text is None:
                print(f"N={n}: the translation is not of the shape gen/fairness.py reads")
                continue
            spec.write_text(text)
            safety = tlc_cfg(rendered, INVARIANTS)
            live = liveness_cfg(rendered, ["AllThreadsComplete"])
            runs = {
                "safety": (safety, True, []),
                "safety+side": (with_side(safety, False), True, []),
                "liveness": (live, False, []),
                "fair": (live.replace("SPECIFICATION Spec", f"SPECIFICATION {FAIR_SPEC}"),
                         False, []),
                "fair+side": (with_side(live, True), False, ["-lncheck", "final"]),
            }
            cpus, states = interleaved(runs, spec, tools, args.rounds)
            med = {k: statistics.median(v) for k, v in cpus.items()}
            for name in runs:
                print(f"N={n} {name:<12} {states[name]:<36} {med[name]:6.2f} "
                      f"[{min(cpus[name]):.2f}] s")
            print(f"N={n} whole model: today {med['safety'] + med['liveness']:.2f} s; "
                  f"P5 {med['safety+side'] + med['fair']:.2f} s (side conditions in the "
                  f"safety run), {med['safety'] + med['fair+side']:.2f} s (in the liveness run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
