#!/usr/bin/env python3
"""TLC runs on a JVM of their own against runs on a long-lived JVM (runner.jvmpool): the
CPU (user+sys of the JVMs) and wall time per run, on the specs of a few matrix models as
mmcheck renders them (their first safety cfg).  Blocks of --runs runs of every model,
alternated over --rounds; the state counts of every run are checked to be the same both
ways.  Prints figures; not a test.

    .venv/bin/python bench/bench_pool.py [--model NAME ...] [--runs 5] [--rounds 2]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gen.load import load_models
from gen.model import INVARIANTS
from gen.render import render, tlc_cfg
from runner import jvmpool
from runner.java import QUICK_JIT, locate_tools
from runner.pcal import translate
from runner.tlc import run_tlc

DEFAULT_MODELS = ("detach_merged-fault", "baseline-mmap-fixed", "vm_dead-observers",
                  "mainline-fault")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    names = args.model or list(DEFAULT_MODELS)
    tools = locate_tools()
    if jvmpool.launcher(tools) is None:
        print("no javac beside java: the pool is off here")
        return 2
    models = {m.name: m for m in load_models(Path("specs/matrix.toml"))}
    work = Path(tempfile.mkdtemp(prefix="mmcheck-bench-pool-"))
    specs = []
    for name in names:
        r = render(models[name])
        d = work / name
        d.mkdir()
        spec = d / r.filename
        spec.write_text(r.text)
        translate(spec, tools=tools)
        cfg = d / "safety.cfg"
        cfg.write_text(tlc_cfg(r, INVARIANTS, report_write_hold=True))
        specs.append(spec)

    def block() -> list[tuple[int | None, int | None]]:
        return [(res.stats.distinct_states, res.stats.states_generated)
                for spec in specs for _ in range(args.runs)
                for res in [run_tlc(spec, spec.parent / "safety.cfg", tools=tools, workers=1,
                                    jvm_args=QUICK_JIT)]]

    figures: dict[str, list[tuple[float, float]]] = {"own JVM": [], "pool": []}
    counts: dict[str, list[object]] = {"own JVM": [], "pool": []}
    n = args.runs * len(specs)
    for _ in range(args.rounds):
        for label, rows in figures.items():
            c0, w0 = cpu(), time.monotonic()
            if label == "pool":
                with jvmpool.session():
                    got = block()
            else:
                got = block()
            rows.append(((cpu() - c0) / n, (time.monotonic() - w0) / n))
            counts[label].append(got)
    print(f"{len(specs)} models x {args.runs} runs x {args.rounds} rounds "
          f"({', '.join(names)}); cores 2, load {os.getloadavg()[0]:.1f}")
    for label, rows in figures.items():
        print(f"  {label:8s} CPU per run: median {statistics.median(r[0] for r in rows):.3f} s "
              f"[min {min(r[0] for r in rows):.3f}]; wall per run: median "
              f"{statistics.median(r[1] for r in rows):.3f} s")
    same = all(c == counts["own JVM"][0] for c in counts["own JVM"] + counts["pool"])
    print(f"  state counts of every run: {'the same both ways' if same else 'DIFFERENT'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
