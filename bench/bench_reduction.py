#!/usr/bin/env python3
"""What fusing thread-local steps saves (docs/reduction.md): the matrix's state counts and
verdicts of two checkouts, side by side.  Prints figures; not a test.

BEFORE and AFTER are each a checkout (its `mmcheck check specs/matrix.toml` is run with an
empty cache, --jobs N, with this virtual environment) or the --out directory of a matrix
run already made (its per-model result.json files are read).  For example:

    git -C . archive main | tar -x -C /tmp/before
    .venv/bin/python bench/bench_reduction.py /tmp/before . --jobs 1

Printed: every verdict that differs (there must be none); the TLC runs whose outcome
differs; the total distinct and generated states of the runs that explored their whole
graph in both (a run stopped by a violation stops where TLC found it, so its counts are
left out, as in bench/check_equivalence.py); the distribution of the per-model ratio
after / before of those totals; the totals per protocol; the largest reductions.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

Runs = dict[str, tuple[str, int | None, int | None]]  # run -> (outcome, distinct, generated)


def read_out(out: Path) -> dict[str, dict[str, object]]:
    """model -> {protocol, verdicts, runs} from a matrix run's --out directory."""
    models: dict[str, dict[str, object]] = {}
    for f in sorted(out.glob("*/result.json")):
        m = json.loads(f.read_text())
        runs: Runs = {r["name"]: (r["outcome"], r.get("distinct_states"),
                                  r.get("states_generated")) for r in m["runs"]}
        models[m["name"]] = {"protocol": m["protocol"], "runs": runs,
                             "verdicts": {p: v["verdict"] for p, v in m["properties"].items()}}
    return models


def check_tree(tree: Path, tmp: Path, jobs: int | None) -> Path:
    argv = [sys.executable, "-m", "runner.cli", "check", str(tree / "specs" / "matrix.toml"),
            "--out", str(tmp / "out"), "--cache-dir", str(tmp / "cache"), "-q"]
    if jobs:
        argv += ["--jobs", str(jobs)]
    print(f"checking the matrix of {tree} ...", file=sys.stderr, flush=True)
    proc = subprocess.run(argv, cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)),
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        sys.exit(f"{tree}: mmcheck check exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return tmp / "out"


def load(arg: Path, tmp: Path, jobs: int | None) -> dict[str, dict[str, object]]:
    if (arg / "specs" / "matrix.toml").is_file():
        return read_out(check_tree(arg.resolve(), tmp, jobs))
    if arg.is_dir():
        return read_out(arg)
    sys.exit(f"{arg}: neither a checkout (specs/matrix.toml) nor a matrix --out directory")


def complete(runs: Runs) -> dict[str, tuple[int, int]]:
    return {n: (d, g) for n, (o, d, g) in runs.items()
            if o == "ok" and d is not None and g is not None}


def quantiles(xs: list[float]) -> str:
    xs = sorted(xs)
    at = [xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))] for q in (0, .1, .25, .5, .75, .9, 1)]
    return " ".join(f"{k} {v:.3f}" for k, v in zip(("min", "p10", "p25", "median", "p75",
                                                      "p90", "max"), at))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mmcheck-reduction-") as tmp:
        (Path(tmp) / "a").mkdir()
        (Path(tmp) / "b").mkdir()
        before = load(args.before, Path(tmp) / "a", args.jobs)
        after = load(args.after, Path(tmp) / "b", args.jobs)
    names = sorted(set(before) & set(after))
    print(f"{len(names)} models in both ({len(set(before) ^ set(after))} in one only)")
    moved = [(n, p, before[n]["verdicts"][p], after[n]["verdicts"].get(p))  # type: ignore[index]
             for n in names for p in before[n]["verdicts"]  # type: ignore[attr-defined]
             if before[n]["verdicts"][p] != after[n]["verdicts"].get(p)]  # type: ignore[index]
    print(f"verdicts that differ: {len(moved)}")
    for n, p, a, b in moved:
        print(f"  {n} {p}: {a} -> {b}")
    outcome = [(n, r, before[n]["runs"][r][0], after[n]["runs"].get(r, ("absent",))[0])  # type: ignore[index]
               for n in names for r in before[n]["runs"]  # type: ignore[attr-defined]
               if before[n]["runs"][r][0] != after[n]["runs"].get(r, ("absent",))[0]]  # type: ignore[index]
    print(f"TLC runs whose outcome differs: {len(outcome)}")
    for n, r, a, b in outcome:
        print(f"  {n} {r}: {a} -> {b}")
    tot = [0, 0, 0, 0]
    per_protocol: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    ratios: list[tuple[float, str, int, int]] = []
    runs = 0
    for n in names:
        a, b = complete(before[n]["runs"]), complete(after[n]["runs"])  # type: ignore[arg-type]
        common = sorted(set(a) & set(b))
        if not common:
            continue
        runs += len(common)
        da, ga = sum(a[r][0] for r in common), sum(a[r][1] for r in common)
        db, gb = sum(b[r][0] for r in common), sum(b[r][1] for r in common)
        tot = [tot[0] + da, tot[1] + ga, tot[2] + db, tot[3] + gb]
        pp = per_protocol[str(before[n]["protocol"])]
        pp[0] += da
        pp[1] += db
        ratios.append((db / da, n, da, db))
    print(f"\nruns that explored their whole graph in both: {runs} (of {len(ratios)} models)")
    print(f"  distinct states:  before {tot[0]:>10,}  after {tot[2]:>10,}  "
          f"after/before {tot[2] / max(tot[0], 1):.3f}")
    print(f"  states generated: before {tot[1]:>10,}  after {tot[3]:>10,}  "
          f"after/before {tot[3] / max(tot[1], 1):.3f}")
    rs = [r for r, *_ in ratios]
    print(f"  per-model distinct after/before: {quantiles(rs)}")
    print(f"  models with fewer states: {sum(r < 1 for r in rs)}, the same: "
          f"{sum(r == 1 for r in rs)}, more: {sum(r > 1 for r in rs)}; "
          f"geometric mean {statistics.geometric_mean(rs):.3f}")
    print("\nper protocol (distinct states of those runs):")
    for p, (da, db) in sorted(per_protocol.items()):
        print(f"  {p:<18} {da:>9,} -> {db:>9,}  {db / max(da, 1):.3f}")
    print(f"\nthe {args.top} largest reductions (distinct states):")
    for r, n, da, db in sorted(ratios)[:args.top]:
        print(f"  {n:<40} {da:>8,} -> {db:>8,}  {r:.3f}")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
