#!/usr/bin/env python3
"""Distributed TLC (a server and 2 local workers of 1 thread) against normal TLC (2 worker
threads) on one growth-sweep model's safety run: every invariant but the WriteHoldReport
register, without symmetry (or --symmetry); wall time, distinct states (they must be equal) and states/s,
interleaved over --rounds.  Prints figures; not a test.

    .venv/bin/python bench/bench_distributed.py [--protocol P] [--pages N] [--count K]
                                                [--symmetry] [--rounds R]
Default: vm_dead, 6 pages, 5 read faults, no symmetry (122,809 distinct states): the
largest growth-sweep safety run found to take under 60 s here.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gen.model import INVARIANTS
from gen.render import render, tlc_cfg
from runner.distributed import run_distributed
from runner.java import locate_tools
from runner.pcal import translate
from runner.sweep.spec import load_sweep
from runner.tlc import run_tlc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default="vm_dead")
    ap.add_argument("--pages", type=int, default=6)
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--symmetry", action="store_true",
                    help="with the symmetry reduction (a much smaller state space)")
    args = ap.parse_args()
    sweep = load_sweep(ROOT / "specs" / "sweeps" / "growth.toml")
    want = {"protocol": args.protocol, "pages": args.pages, "threads[0].count": args.count}
    point = next((p for p in sweep.points if dict(p.axes) == want), None)
    if point is None:
        sys.exit(f"no such point in growth.toml: {want}")
    tools = locate_tools()
    rendered = render(point.model)
    times: dict[str, list[float]] = {"normal": [], "distributed": []}
    states: dict[str, set[int | None]] = {"normal": set(), "distributed": set()}
    with tempfile.TemporaryDirectory(prefix="bench-dtlc-") as tmp:
        d = Path(tmp)
        spec = d / rendered.filename
        spec.write_text(rendered.text)
        translate(spec, tools=tools)
        cfg = d / "safety.cfg"
        cfg.write_text(tlc_cfg(rendered, INVARIANTS, report_write_hold=False,
                               symmetry=args.symmetry))
        for r in range(args.rounds):
            for kind in ("normal", "distributed") if r % 2 == 0 else ("distributed", "normal"):
                if kind == "normal":
                    res = run_tlc(spec, cfg, tools=tools, workers=2)
                else:
                    res = run_distributed(spec, cfg, tools=tools, workers=2, threads=1,
                                          no_registers=True)
                if res.outcome.value != "ok":
                    sys.exit(f"{kind}: {res.outcome.value}: {res.message}")
                times[kind].append(res.wall_seconds or 0.0)
                states[kind].add(res.stats.distinct_states)
                print(f"  {kind}: {res.wall_seconds:.1f} s, {res.stats.distinct_states:,} "
                      "distinct states", file=sys.stderr, flush=True)
    print(f"{point.model.name}: safety run (8 invariants, "
          f"{'symmetry' if args.symmetry else 'no symmetry'}), "
          f"{len(rendered.groups) - 1} thread group(s)")
    for kind, secs in times.items():
        (n,) = states[kind]
        t = statistics.median(secs)
        print(f"{kind:>12}: {t:6.1f} s median of {len(secs)}, {n:,} distinct states, "
              f"{(n or 0) / t:,.0f} distinct states/s")
    same = states["normal"] == states["distributed"]
    ratio = statistics.median(times["distributed"]) / statistics.median(times["normal"])
    print(f"distributed / normal: {ratio:.2f}x wall; same distinct states: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
