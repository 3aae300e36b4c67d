#!/usr/bin/env python3
"""Where a liveness run's time goes, and the runner-side levers on it.  Prints figures;
not a test.

The liveness run of a growth-sweep point (default: the issue's example, vm_dead, 6 pages,
munmap [1,6), 4 identical read faults; 21,101 distinct states, no symmetry), once per
variant, interleaved over --rounds:

  before      the full JIT, PROPERTIES MunmapCompletes AllThreadsComplete (what a sweep
              point's liveness run was)
  after       what runner.check now runs: AllThreadsComplete alone (it implies the other),
              the JIT runner.check.jit_flags picks for it (here the full JIT: the run is
              expected to be long)
  c1          `after` with C1 only (-XX:TieredStopAtLevel=1)
  lncheck     `after` with -lncheck final (the temporal check once, at the end)
  workers2    `after` with -workers 2
  safety      the same states without liveness (invariants, no symmetry): the floor

Each line: wall and CPU seconds (the JVM's user+sys), distinct states and distinct states
per second of wall time.  Profiled with JFR (not here): 93% of such a run is TLC's
LiveCheck.addNextState (evaluating the fairness conditions and ENABLED of every branch of
the temporal check for every state), 1.3% the final check of the behaviour graph.

    .venv/bin/python bench/bench_liveness.py [--point vm_dead:6:4 ...] [--rounds N]
"""
from __future__ import annotations

import argparse
import math
import resource
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gen.model import INVARIANTS, LIVENESS
from gen.render import liveness_cfg, render, tlc_cfg
from runner.check import jit_flags
from runner.java import QUICK_JIT, locate_tools
from runner.pcal import translate
from runner.sweep.spec import load_sweep
from runner.tlc import run_tlc


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--point", action="append", default=[],
                    help="PROTOCOL:PAGES:COUNT of growth.toml (repeatable; default vm_dead:6:4)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--only", help="comma-separated variants (default: all)")
    args = ap.parse_args()
    sweep = load_sweep(ROOT / "specs" / "sweeps" / "growth.toml")
    tools = locate_tools()
    for text in args.point or ["vm_dead:6:4"]:
        protocol, pages, count = text.split(":")
        want = {"protocol": protocol, "pages": int(pages), "threads[0].count": int(count)}
        point = next((p for p in sweep.points if dict(p.axes) == want), None)
        if point is None:
            sys.exit(f"no such point in growth.toml: {text}")
        rendered = render(point.model)
        reduction = math.prod(math.factorial(len(g.members)) for g in rendered.groups)
        with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
            d = Path(tmp)
            spec = d / rendered.filename
            spec.write_text(rendered.text)
            translate(spec, tools=tools)
            cfgs = {"both": liveness_cfg(rendered, LIVENESS),
                    "atc": liveness_cfg(rendered, LIVENESS[1:]),
                    "safety": tlc_cfg(rendered, INVARIANTS, report_write_hold=False,
                                      symmetry=False),
                    "reduced": tlc_cfg(rendered, INVARIANTS, report_write_hold=False)}
            for name, text_ in cfgs.items():
                (d / f"{name}.cfg").write_text(text_)
            # what the runner's JIT policy picks: it knows the symmetric safety run's time
            first = run_tlc(spec, d / "reduced.cfg", tools=tools, workers=1,
                            jvm_args=QUICK_JIT, timeout=args.timeout)
            longest = first.stats.seconds or first.wall_seconds or 0.0
            after_jit = jit_flags(True, longest, reduction, True)
            variants = {
                "before": ("both", [], [], 1),
                "after": ("atc", after_jit, [], 1),
                "c1": ("atc", list(QUICK_JIT), [], 1),
                "lncheck": ("atc", after_jit, ["-lncheck", "final"], 1),
                "workers2": ("atc", after_jit, [], 2),
                "safety": ("safety", after_jit, [], 1),
            }
            if args.only:
                variants = {k: v for k, v in variants.items() if k in args.only.split(",")}
            got: dict[str, list[tuple[float, float, int]]] = {k: [] for k in variants}
            for r in range(args.rounds):
                order = list(variants) if r % 2 == 0 else list(reversed(variants))
                for name in order:
                    cfg, jvm, extra, workers = variants[name]
                    before = cpu()
                    res = run_tlc(spec, d / f"{cfg}.cfg", tools=tools, workers=workers,
                                  jvm_args=jvm, extra_args=extra, timeout=args.timeout)
                    used = cpu() - before
                    n = res.stats.distinct_states or 0
                    got[name].append((res.wall_seconds or 0.0, used, n))
                    print(f"  {point.model.name} {name}: {res.outcome.value}, "
                          f"{res.wall_seconds:.1f} s, {n:,} states", file=sys.stderr,
                          flush=True)
        print(f"{point.model.name}: liveness run (no symmetry; the safety runs reduce by "
              f"{reduction}); JIT picked for it: {'C1 only' if after_jit else 'full'}")
        base = statistics.median(w for w, _, _ in got["before"]) if "before" in got else None
        for name, runs in got.items():
            wall = statistics.median(w for w, _, _ in runs)
            used = statistics.median(c for _, c, _ in runs)
            n = runs[0][2]
            rel = f"  {wall / base:.2f}x before" if base else ""
            print(f"  {name:>9}: {wall:7.1f} s wall {used:7.1f} s CPU {n:>9,} distinct "
                  f"{n / wall if wall else 0:9,.0f} distinct/s{rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
