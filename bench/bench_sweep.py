#!/usr/bin/env python3
"""Sweeps: do they keep the cores busy, is an unchanged re-run fast, and how much does
symmetry reduction save?  Prints figures; not a test.

1. A sweep of 7 protocols x pages {4, 5, 6} x fault count {1, 2} = 42 small points with an
   empty TLC cache, `--jobs` = cores.  CPU utilisation = CPU time of this process and all
   its descendants (os.times, children included once waited for) / wall / cores; the
   machine's whole utilisation over the same interval (/proc/stat) is printed beside it,
   as other users share the machine.  Target: both cores busy.
2. The same sweep again, unchanged, as a user runs it: `mmcheck sweep FILE` in a fresh
   process (interpreter start, imports, reading the table, rendering every point to hash
   it).  Target: under 5 s.
3. Symmetry: distinct states of the safety run of models with `count` >= 2 identical
   fault threads, with the cfg's SYMMETRY and without it (the same translated spec).

Usage:  .venv/bin/python bench/bench_sweep.py [--jobs N] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SWEEP = """
[sweep]
name = "bench"
timeout = 120
[sweep.axes]
protocol = ["baseline", "sections", "madvise_user", "madvise_kernel", "vm_dead",
            "detach_posted", "detach_merged"]
pages = [4, 5, 6]
"threads[0].count" = [1, 2]
[sweep.derive]
"vmas[0].end" = "pages + 1"
[base]
protocol = "baseline"
pages = 4
ptes_per_table = 2
munmap = { start = 1, end = 3 }
vmas = [ { start = 1, end = 5, flags = [] } ]
threads = [ { kind = "fault", access = "read", addr = 2 } ]
threshold_pages = 2
"""


def proc_stat() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def bench_sweep(work: Path, jobs: int | None) -> Path:
    from runner.sweep import run_sweep

    path = work / "bench.toml"
    path.write_text(SWEEP)
    cores = os.cpu_count() or 1
    print(f"1. sweep of 42 points, jobs={jobs or cores}, {cores} cores, empty cache ...",
          flush=True)
    busy0, total0 = proc_stat()
    cpu0, wall0 = cpu_seconds(), time.monotonic()
    df = run_sweep(path, jobs=jobs, out=work / "out", cache_dir=work / "cache", plots=False)
    wall = time.monotonic() - wall0
    cpu = cpu_seconds() - cpu0
    busy1, total1 = proc_stat()
    points = df.drop_duplicates("point")
    print(f"   {len(points)} points ({df.attrs['checked']} checked, {df.attrs['failed']} failed) "
          f"in {wall:.1f} s wall; sum of point wall times {points['point_seconds'].sum():.1f} s")
    print(f"   CPU utilisation of the sweep (own + descendants' CPU / wall / cores): "
          f"{100 * cpu / wall / cores:.0f}% ({cpu:.1f} CPU-s)")
    print(f"   whole machine over the same interval (/proc/stat, other users included): "
          f"{100 * (busy1 - busy0) / max(1, total1 - total0):.0f}%")
    peak = points["peak_rss_mb"].dropna()
    if not peak.empty:
        print(f"   peak JVM memory per point: {peak.min():.0f}..{peak.max():.0f} MB")
    return path


def bench_rerun(path: Path, work: Path) -> None:
    mmcheck = Path(sys.executable).parent / "mmcheck"
    argv = [str(mmcheck), "sweep", str(path), "--out", str(work / "out"), "--cache-dir",
            str(work / "cache")]
    times = []
    for _ in range(3):
        start = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        times.append(time.monotonic() - start)
        if proc.returncode != 0 or "(0 checked now" not in proc.stdout:
            sys.exit(f"re-run failed or checked something:\n{proc.stdout}\n{proc.stderr}")
    print(f"2. re-run of the unchanged sweep (mmcheck sweep in a new process): "
          f"{min(times):.2f} s best, {max(times):.2f} s worst of 3 (target < 5 s)")


def bench_symmetry(work: Path) -> None:
    from gen.model import INVARIANTS, parse_model
    from gen.render import render, safety_cfg
    from runner.check import Options, check_model
    from runner.java import locate_tools
    from runner.tlc import run_tlc

    tools = locate_tools()
    print("3. symmetry reduction (safety run, same spec, with and without SYMMETRY):")
    print(f"   {'model':<36} {'with':>8} {'without':>9} {'ratio':>7}  count!")
    for protocol, count in (("vm_dead", 2), ("vm_dead", 3), ("detach_merged", 2),
                            ("detach_merged", 3), ("baseline", 4)):
        table = {"name": f"sym-{protocol}-{count}", "protocol": protocol, "pages": 4,
                 "ptes_per_table": 2, "munmap": {"start": 1, "end": 3},
                 "vmas": [{"start": 1, "end": 5}], "threshold_pages": 2,
                 "threads": [{"kind": "fault", "access": "read", "addr": 2, "count": count}]}
        model = parse_model(table, "bench", 0)
        d = work / "sym" / model.name
        # check_model translates the spec (and runs it, with symmetry, as always)
        res = check_model(model, d, tools, options=Options(timeout=300, workers=2))
        rendered = render(model)
        cfg = safety_cfg(rendered, list(INVARIANTS), report_write_hold=False)
        counts = []
        for name, text in (("with", cfg), ("without", cfg.replace("SYMMETRY Symmetry\n", ""))):
            assert (name == "with") == ("SYMMETRY" in text)
            (d / f"{name}.cfg").write_text(text)
            r = run_tlc(d / rendered.filename, d / f"{name}.cfg", tools=tools, workers=2,
                        timeout=300, deadlock=False)
            counts.append(r.stats.distinct_states)
        w, wo = counts
        ratio = f"{wo / w:.2f}" if w and wo else "?"
        fact = 1
        for i in range(2, count + 1):
            fact *= i
        print(f"   {model.name:<36} {w!s:>8} {wo!s:>9} {ratio:>7}  {fact}"
              f"   (check_model's own safety run: {res.runs[0].distinct_states})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it")
    ap.add_argument("--skip-sweep", action="store_true")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="mmcheck-bench-sweep-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if not args.skip_sweep:
            path = bench_sweep(work, args.jobs)
            bench_rerun(path, work)
        bench_symmetry(work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
