#!/usr/bin/env python3
"""`mmcheck tlc` against the bare TLC command it replaces.  Prints figures; not a test.

Runs, interleaved N times, on a trivial spec (tests/corpus/specs/Ok.tla, 20 states):
  bare:    java -XX:+UseParallelGC -cp JAR tlc2.TLC -tool -workers 1 -config Ok.cfg Ok.tla
           (in a copy of the spec directory, with its own -metadir and java.io.tmpdir, as
           TLC 2.15 needs them to run twice in the same second; -tool because mmcheck passes
           it too, so the difference is the runner's own work, not a TLC option's)
  mmcheck: .venv/bin/mmcheck tlc Ok.tla --workers 1  (the console script: Python startup,
           imports, locating Java and the jar incl. the jar's sha256, staging, parsing;
           its JVM starts on the class-data archive, runner/cds.py, made by the uncounted
           first run if it is missing)
Target: `mmcheck tlc` takes at most 0.9x the bare command's wall time (the median of the
paired ratios): faster than running TLC by hand.

Bytecode: Python normally caches compiled modules (__pycache__) on first import.  Where
PYTHONDONTWRITEBYTECODE is set (as on the project's machines), every run would compile the
project's modules from source again (~20-30 ms, measured); the benchmark therefore compiles
them once first (compileall), as a normal first run would.

On a busy machine both commands slow down and scatter; `nice -n -15` (as root) on this script
gives steadier figures.  The CPU line (user+sys of each command and the children it waited
for) is less sensitive to other load than wall time.

Usage:  .venv/bin/python bench/bench_runner.py [-n RUNS]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "tests" / "corpus" / "specs"


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and the children it waited for)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"failed (exit {proc.returncode}): {' '.join(argv)}\n"
                 f"{out.decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=10)
    args = ap.parse_args(argv)
    import compileall

    for pkg in ("runner", "gen"):
        compileall.compile_dir(str(ROOT / pkg), quiet=1)

    from runner.java import locate_tools

    tools = locate_tools()
    mmcheck = Path(sys.executable).parent / "mmcheck"
    work = Path(tempfile.mkdtemp(prefix="mmcheck-bench-"))
    try:
        for f in ("Ok.tla", "Ok.cfg"):
            shutil.copy(SPECS / f, work / f)
        bare_t: list[float] = []
        mm_t: list[float] = []
        cpu: dict[int, list[float]] = {id(bare_t): [], id(mm_t): []}
        for i in range(args.runs + 1):  # run 0 warms the page cache, not counted
            tmp = work / f"tmp{i}"
            tmp.mkdir()
            bare = [str(tools.java), "-XX:+UseParallelGC", f"-Djava.io.tmpdir={tmp}", "-cp",
                    str(tools.jar), "tlc2.TLC", "-tool", "-workers", "1", "-metadir",
                    str(work / f"meta{i}"), "-config", "Ok.cfg", "Ok.tla"]
            ours = [str(mmcheck), "tlc", "Ok.tla", "--workers", "1"]
            pair = [(bare_t, bare), (mm_t, ours)]
            if i % 2:
                pair.reverse()  # interleave, alternating which goes first
            for acc, cmd in pair:
                t, c = timed(cmd, work)
                if i:
                    acc.append(t)
                    cpu[id(acc)].append(c)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def line(name: str, xs: list[float]) -> str:
        return (f"{name:8} mean {statistics.mean(xs):.3f} s  median {statistics.median(xs):.3f} s"
                f"  min {min(xs):.3f} s  max {max(xs):.3f} s")

    print(f"{args.runs} interleaved runs each, Java {tools.java_version}, {tools.jar.name}, "
          f"project bytecode precompiled "
          f"(PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})")
    print(line("bare", bare_t))
    print(line("mmcheck", mm_t))
    mean_o = (statistics.mean(mm_t) / statistics.mean(bare_t) - 1) * 100
    med_o = (statistics.median(mm_t) / statistics.median(bare_t) - 1) * 100
    # Each pair ran back to back, so its difference is robust to slow drifts in machine load.
    diffs = [m - b for m, b in zip(mm_t, bare_t, strict=True)]
    pair_o = statistics.median(diffs) / statistics.median(bare_t) * 100
    ratio = statistics.median(m / b for m, b in zip(mm_t, bare_t, strict=True))
    cpu_b, cpu_m = statistics.median(cpu[id(bare_t)]), statistics.median(cpu[id(mm_t)])
    print(f"CPU (user+sys, JVM included): bare median {cpu_b:.3f} s, mmcheck median {cpu_m:.3f} s"
          f" -> the runner's own CPU {1000 * (cpu_m - cpu_b):+.0f} ms")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"difference: mean {mean_o:+.1f}%  median {med_o:+.1f}%  median of paired "
          f"differences {statistics.median(diffs) * 1000:+.0f} ms = {pair_o:+.1f}%")
    print(f"mmcheck tlc / bare java, median of paired ratios: {ratio:.2f}x  (target: <= 0.90x)")
    print(f"load average at the end: {load:.2f} on {os.cpu_count()} cores "
          "(other work on the machine inflates and scatters both)")
    return 0 if ratio <= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
