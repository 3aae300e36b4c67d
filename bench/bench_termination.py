#!/usr/bin/env python3
"""The issue-19 table: what a model's liveness costs before and after deciding it by
termination (docs/termination.md).  Prints figures; not a test.

Model: vm_dead, 4 pages, munmap [1,4), N identical read faults at page 2 (--protocol,
--pages change it; the VMA covers every page, munmap all but the last).  Per N, the runs,
interleaved over --rounds, each one TLC worker, the full JIT (as runner.check picks for
long runs; --c1 for C1 only):

  safety      the invariants under SYMMETRY (what runner.check ran before)
  liveness    AllThreadsComplete under weak fairness, no symmetry (ran after `safety`)
  termination the invariants + ProgressE + NoCycle, SafetySpec under SYMMETRY,
              -lncheck final (what runner.check runs now, instead of both)

Each line: states generated / distinct, and CPU seconds (the JVM's user+sys) median [min].

    .venv/bin/python bench/bench_termination.py [--threads 3 4 5] [--rounds 3]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gen.model import INVARIANTS, parse_model
from gen.render import liveness_cfg, render, tlc_cfg
from runner.java import QUICK_JIT, locate_tools
from runner.pcal import translate
from runner.tlc import run_tlc


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


Runs = dict[str, tuple[str, bool, list[str]]]  # name -> (cfg text, deadlock, TLC args)


def interleaved(runs: Runs, spec: Path, tools: Any, rounds: int, jvm: list[str] | None = None
                ) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Each run's CPU seconds per round (the runs interleaved, one TLC worker each) and
    its last "generated / distinct outcome [violated]"; the cfgs go beside `spec`."""
    cpus: dict[str, list[float]] = {k: [] for k in runs}
    states: dict[str, str] = {}
    for _ in range(rounds):
        for name, (text, deadlock, extra) in runs.items():
            cfg = spec.parent / f"{name.replace('+', '-')}.cfg"
            cfg.write_text(text)
            c0 = cpu()
            r = run_tlc(spec, cfg, tools=tools, workers=1, deadlock=deadlock,
                        extra_args=extra, jvm_args=jvm or [])
            cpus[name].append(cpu() - c0)
            s = r.stats
            states[name] = (f"{s.states_generated or 0:,} / {s.distinct_states or 0:,} "
                            f"{r.outcome.value}" + (f" {r.violated}" if r.violated else ""))
    return cpus, states


def model(protocol: str, pages: int, n: int):
    return parse_model({
        "name": f"{protocol}-{pages}p-{n}t", "protocol": protocol, "pages": pages,
        "ptes_per_table": 2, "threshold_pages": 2,
        "munmap": {"start": 1, "end": pages},
        "vmas": [{"start": 1, "end": pages + 1, "flags": []}],
        "threads": [{"kind": "fault", "access": "read", "addr": 2, "count": n}],
    }, "bench_termination", 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--protocol", default="vm_dead")
    ap.add_argument("--pages", type=int, default=4)
    ap.add_argument("--threads", type=int, nargs="+", default=[3, 4, 5])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--c1", action="store_true", help="C1 only (-XX:TieredStopAtLevel=1)")
    ap.add_argument("--variants", nargs="+", default=["safety", "liveness", "termination"],
                    choices=["safety", "liveness", "termination"])
    args = ap.parse_args(argv)
    tools = locate_tools()
    jvm = list(QUICK_JIT) if args.c1 else []
    print(f"{args.protocol}, {args.pages} pages, N read faults at page 2; "
          f"{args.rounds} rounds, CPU median [min]")
    with tempfile.TemporaryDirectory(prefix="mmcheck-bench-term-") as tmp:
        for n in args.threads:
            rendered = render(model(args.protocol, args.pages, n))
            d = Path(tmp) / str(n)
            d.mkdir()
            spec = d / rendered.filename
            spec.write_text(rendered.text)
            translate(spec, tools=tools)
            runs = {
                "safety": (tlc_cfg(rendered, INVARIANTS), True, []),
                "liveness": (liveness_cfg(rendered, ["AllThreadsComplete"]), False, []),
                "termination": (tlc_cfg(rendered, INVARIANTS, termination=True), True,
                                ["-lncheck", "final"]),
            }
            runs = {k: v for k, v in runs.items() if k in args.variants}
            cpus, states = interleaved(runs, spec, tools, args.rounds, jvm)
            for name in runs:
                print(f"N={n} {name:<12} {states[name]:<28} "
                      f"{statistics.median(cpus[name]):6.2f} [{min(cpus[name]):.2f}] s")
            if len(runs) == 3:
                before = (statistics.median(cpus["safety"])
                          + statistics.median(cpus["liveness"]))
                after = statistics.median(cpus["termination"])
                print(f"N={n} whole model: before {before:.2f} s, after {after:.2f} s "
                      f"({before / after:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
