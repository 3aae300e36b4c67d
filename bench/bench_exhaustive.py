#!/usr/bin/env python3
"""`mmcheck compare BASE NEW --exhaustive` against the hand-written scenarios: the
scenario count, the wall and CPU time (cold: an empty cache), and whether the exhaustive
comparison finds every property the hand-written one finds fixed or broken.  Prints
figures; not a test.

    .venv/bin/python bench/bench_exhaustive.py [BASE NEW] [--max-pages N] [--max-threads K]
                                              [--kinds fault ...] [--skip-hand-written]
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gen.exhaustive import DEFAULT_KINDS, DEFAULT_PAGES, DEFAULT_THREADS, PTES_PER_TABLE
from gen.scenarios import DEFAULT_MATRIX, DEFAULT_SCENARIOS
from runner.cache import Cache
from runner.check import check_models
from runner.commands.compare import exhaustive_models, models_to_compare
from runner.java import locate_tools
from runner.report import comparison


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def found(c: comparison.Comparison) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    fixed: dict[str, list[str]] = {}
    broken: dict[str, list[str]] = {}
    for p in c.pairs:
        for prop in p.fixed:
            fixed.setdefault(prop, []).append(p.scenario)
        for prop in p.broken:
            broken.setdefault(prop, []).append(p.scenario)
    return fixed, broken


def run(name: str, models: list, work: Path, base: str, new: str,  # type: ignore[type-arg]
        scope: str = "") -> comparison.Comparison:
    tools = locate_tools()
    c0, w0 = cpu(), time.monotonic()
    results = check_models(models, work / name, tools, cache=Cache.open(work / f"{name}-cache"))
    wall, used = time.monotonic() - w0, cpu() - c0
    c = comparison.compare(base, new, results, scope)
    runs = sum(len(r.runs) for r in results)
    print(f"{name}: {len(models) // 2} scenarios, {len(models)} models, {runs} TLC runs: "
          f"wall {wall:.0f} s, CPU {used:.0f} s")
    fixed, broken = found(c)
    for what, by in (("fixes", fixed), ("breaks", broken)):
        for prop, scenarios in by.items():
            first = next(p for p in c.pairs if p.scenario == scenarios[0])
            print(f"  {what} {prop}: {len(scenarios)} scenarios; smallest {scenarios[0]}: "
                  f"{first.new.model.description}")
    return c


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base", nargs="?", default="detach_merged")
    ap.add_argument("new", nargs="?", default="detach_fixed")
    ap.add_argument("--max-pages", type=int, default=DEFAULT_PAGES)
    ap.add_argument("--max-threads", type=int, default=DEFAULT_THREADS)
    ap.add_argument("--ptes-per-table", type=int, default=PTES_PER_TABLE)
    ap.add_argument("--kinds", nargs="+", default=list(DEFAULT_KINDS))
    ap.add_argument("--skip-hand-written", action="store_true")
    args = ap.parse_args(argv)
    ns = argparse.Namespace(base=args.base, new=args.new, protocols=[], scenarios=None,
                            scenario_file=DEFAULT_SCENARIOS, matrix=DEFAULT_MATRIX,
                            max_pages=args.max_pages, max_threads=args.max_threads,
                            ptes_per_table=args.ptes_per_table, kinds=args.kinds)
    with tempfile.TemporaryDirectory(prefix="mmcheck-bench-exhaustive-") as tmp:
        work = Path(tmp)
        models, scope = exhaustive_models(ns)
        print(scope)
        ex = run("exhaustive", models, work, args.base, args.new, scope)
        if args.skip_hand_written:
            return 0
        hand = run("hand-written", models_to_compare(ns), work, args.base, args.new)
        missed = []
        for what, a, b in zip(("fixes", "breaks"), found(hand), found(ex)):
            missed += [f"{what} {prop} (hand-written: {', '.join(sc)})"
                       for prop, sc in a.items() if prop not in b]
        print("the exhaustive comparison finds every property the hand-written scenarios "
              "find fixed or broken" if not missed else "MISSED: " + "; ".join(missed))
        extra = [f"{what} {prop}" for what, a, b in zip(("fixes", "breaks"), found(ex),
                                                      found(hand)) for prop in a
                 if prop not in b]
        print("found only by the exhaustive comparison: " + (", ".join(extra) or "nothing"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
