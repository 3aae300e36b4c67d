#!/usr/bin/env python3
"""What does tying a JVM to mmcheck (PR_SET_PDEATHSIG in a preexec_fn) cost a TLC run?
Prints figures; not a test.

A preexec_fn makes subprocess fork the Python process instead of vfork-ing it, and runs one
prctl in the child.  This runs `run_tlc` on a trivial spec (tests/corpus/specs/Ok.tla, one
worker), interleaved A B A B ... N times: A without the preexec (runner.jvm._tied_preexec
made to return None), B as shipped; and, separately, just the spawn (Popen of /bin/true)
both ways, in a process holding as much memory as mmcheck check does.  Prints the medians
and the difference.

Usage:  .venv/bin/python bench/bench_spawn.py [-n RUNS]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runner import java, jvm
from runner.tlc import run_tlc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=10)
    args = ap.parse_args(argv)
    tools = java.locate_tools()
    spec = ROOT / "tests" / "corpus" / "specs" / "Ok.tla"
    shipped = jvm._tied_preexec
    times: dict[str, list[float]] = {"untied": [], "tied": []}
    spawn: dict[str, list[float]] = {"untied": [], "tied": []}
    ballast = bytearray(60 << 20)  # about the resident size of mmcheck check's process
    for i in range(args.runs + 1):  # run 0 warms up, not counted
        for label in ("untied", "tied"):
            jvm._tied_preexec = shipped if label == "tied" else (lambda: None)  # type: ignore[assignment]
            start = time.perf_counter()
            result = run_tlc(spec, tools=tools, workers=1)
            elapsed = time.perf_counter() - start
            assert result.outcome.value == "ok", result.message
            pre = jvm._tied_preexec()
            start = time.perf_counter()
            for _ in range(20):
                subprocess.run(["/bin/true"], preexec_fn=pre, start_new_session=True,
                               check=True)
            per_spawn = (time.perf_counter() - start) / 20
            if i:
                times[label].append(elapsed)
                spawn[label].append(per_spawn)
    jvm._tied_preexec = shipped  # type: ignore[assignment]
    del ballast
    a, b = statistics.median(times["untied"]), statistics.median(times["tied"])
    sa, sb = statistics.median(spawn["untied"]), statistics.median(spawn["tied"])
    print(f"TLC run of Ok.tla, median of {args.runs} interleaved: untied {a:.3f} s, tied "
          f"{b:.3f} s: {1000 * (b - a):+.1f} ms ({100 * (b - a) / a:+.1f}%)")
    print(f"spawn alone (/bin/true, 60 MB process): untied {1000 * sa:.2f} ms, tied "
          f"{1000 * sb:.2f} ms: {1000 * (sb - sa):+.2f} ms per JVM started")
    return 0


if __name__ == "__main__":
    sys.exit(main())
