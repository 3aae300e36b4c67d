#!/usr/bin/env python3
"""The cold matrix: `mmcheck check specs/matrix.toml` with an empty cache (as `make
check-protocols` from a fresh clone), its wall time and the CPU of everything it ran.
Prints figures; not a test.

--tree DIR runs the mmcheck of another checkout (e.g. `git archive 215e7a6 | tar -x -C
DIR`) with this virtual environment, for a before/after pair; several --tree are run
interleaved over --rounds.

    .venv/bin/python bench/bench_cold_matrix.py [--tree DIR ...] [--rounds 1] [--jobs N]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", action="append", default=[], type=Path)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args(argv)
    trees = args.tree or [ROOT]
    for _ in range(args.rounds):
        for tree in trees:
            with tempfile.TemporaryDirectory(prefix="mmcheck-cold-") as tmp:
                argv_ = [sys.executable, "-m", "runner.cli", "check",
                         str(tree / "specs" / "matrix.toml"), "--out", f"{tmp}/out",
                         "--cache-dir", f"{tmp}/cache", "-q"]
                if args.jobs:
                    argv_ += ["--jobs", str(args.jobs)]
                env = dict(os.environ, PYTHONPATH=str(tree))
                c0, w0 = cpu(), time.monotonic()
                proc = subprocess.run(argv_, cwd=tree, env=env, capture_output=True, text=True,
                                      check=False)
                wall, used = time.monotonic() - w0, cpu() - c0
                last = (proc.stdout.strip().splitlines() or ["?"])[-1]
                summary = next((line for line in proc.stdout.splitlines()
                                if line.startswith(("161 models", "models:"))
                                or " models: " in line), last)
                print(f"{tree}: exit {proc.returncode}, wall {wall:.1f} s, CPU {used:.1f} s "
                      f"(cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}); {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
