#!/usr/bin/env python3
"""TLC runs on a JVM of their own against runs on a long-lived JVM (runner.jvmpool), each
run in a fresh class loader (MMCHECK_POOL_REUSE=0) or in a loader shared by the runs, TLC's
static state put back between them (the default): the CPU (user+sys of the JVMs) and wall
time per run, on the specs of a few matrix models as mmcheck renders them (their first
safety cfg).  Blocks of --runs runs of every model, the three ways alternated over
--rounds; what every run decides (outcome, violated property, exit code, state counts and
the trace, with every value as TLC prints it) is checked to be the same all three ways.
Prints figures; not a test.

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
from runner.tlc_output import TlcResult

DEFAULT_MODELS = ("detach_merged-fault", "baseline-mmap-fixed", "vm_dead-observers",
                  "mainline-fault", "detach_merged-neg-keep-writer")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def decided(r: TlcResult) -> tuple[object, ...]:
    """What a run decides: everything the parser makes of it but the timings."""
    trace = None if r.trace is None else (
        tuple((s.action, dict(s.values)) for s in r.trace.states), r.trace.loop_to,
        r.trace.stuttering)
    s = r.stats
    return (r.outcome, r.violated, r.exit_code, s.initial_states, s.states_generated,
            s.distinct_states, s.states_left, s.depth, trace)


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

    def block() -> list[object]:
        return [decided(res) for spec in specs for _ in range(args.runs)
                for res in [run_tlc(spec, spec.parent / "safety.cfg", tools=tools, workers=1,
                                    jvm_args=QUICK_JIT)]]

    ways = {"own JVM": None, "fresh loader": "0", "shared loader": None}
    figures: dict[str, list[tuple[float, float]]] = {w: [] for w in ways}
    counts: dict[str, list[object]] = {w: [] for w in ways}
    n = args.runs * len(specs)
    for _ in range(args.rounds):
        for label, rows in figures.items():
            os.environ.pop("MMCHECK_POOL_REUSE", None)
            if ways[label] is not None:
                os.environ["MMCHECK_POOL_REUSE"] = str(ways[label])
            c0, w0 = cpu(), time.monotonic()
            if label == "own JVM":
                got = block()
            else:
                with jvmpool.session():
                    got = block()
            rows.append(((cpu() - c0) / n, (time.monotonic() - w0) / n))
            counts[label].append(got)
    os.environ.pop("MMCHECK_POOL_REUSE", None)
    print(f"{len(specs)} models x {args.runs} runs x {args.rounds} rounds "
          f"({', '.join(names)}); cores 2, load {os.getloadavg()[0]:.1f}")
    for label, rows in figures.items():
        print(f"  {label:13s} CPU per run: median {statistics.median(r[0] for r in rows):.3f} s "
              f"[min {min(r[0] for r in rows):.3f}]; wall per run: median "
              f"{statistics.median(r[1] for r in rows):.3f} s")
    same = all(c == counts["own JVM"][0] for w in ways for c in counts[w])
    print(f"  what every run decided (outcome, counts, trace): "
          f"{'the same all three ways' if same else 'DIFFERENT'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
