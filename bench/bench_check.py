"""Benchmark `mmcheck check` on the committed matrix against a naive driver.

Both ways in one run, on the same machine, interleaved: the models are dealt into
--chunks groups, and each group is checked our way (cold) and then the naive way
before the next group, so that a change of the machine's load hits both alike:
  naive: one TLC run per property (each invariant alone, deadlock alone, each
         liveness property alone), models one at a time, no symmetry, no cache,
         with C1 only as ours (so that the ratio does not measure the JIT), and
         without the class-data archive (runner/cds.py), as TLC run by hand starts;
  ours:  check_models cold (an empty TLC cache; the archive made beforehand, as any
         earlier mmcheck run leaves it), then, after every group, warm on all models
         (the same cache again).
Target: cold at least 10x faster than naive.
Prints the wall times and the ratio.  No assertion: the figures are the output.

    .venv/bin/python bench/bench_check.py [--models specs/matrix.toml] [--only REGEX]
                                          [--chunks 4] [--skip-naive]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gen.load import load_models
from gen.model import DEADLOCK, INVARIANTS, LIVENESS, Model
from gen.render import liveness_cfg, render, safety_cfg
from runner.cache import Cache
from runner.check import check_models
from runner.java import QUICK_JIT, JavaTools, locate_tools
from runner.pcal import translate
from runner.tlc import run_tlc


def naive(models: list[Model], tools: JavaTools, work: Path) -> tuple[float, int]:
    """One TLC run per property; returns (seconds, TLC runs)."""
    runs = 0
    start = time.monotonic()
    for model in models:
        rendered = render(model)
        d = work / model.name
        d.mkdir(parents=True)
        spec = d / rendered.filename
        spec.write_text(rendered.text)
        translate(spec, tools=tools, jvm_args=QUICK_JIT)
        configs = [(inv, safety_cfg(rendered, [inv], report_write_hold=False, symmetry=False), False)
                   for inv in INVARIANTS]
        configs.append((DEADLOCK, safety_cfg(rendered, [], report_write_hold=False,
                                             symmetry=False), True))
        configs += [(p, liveness_cfg(rendered, [p]), False) for p in LIVENESS]
        for prop, text, deadlock in configs:
            cfg = d / f"{prop}.cfg"
            cfg.write_text(text)
            result = run_tlc(spec, cfg, tools=tools, workers=1, deadlock=deadlock,
                             jvm_args=QUICK_JIT)
            runs += 1
            if result.outcome.value not in ("ok", "invariant", "deadlock", "liveness"):
                print(f"  naive: {model.name} {prop}: {result.outcome.value}", file=sys.stderr)
        print(f"  naive: {model.name} done ({runs} runs, {time.monotonic() - start:.0f} s)",
              file=sys.stderr, flush=True)
    return time.monotonic() - start, runs


def ours(models: list[Model], tools: JavaTools, work: Path, cache: Cache) -> tuple[float, int, int]:
    start = time.monotonic()
    results = check_models(models, work, tools, cache=cache)
    elapsed = time.monotonic() - start
    runs = sum(len(r.runs) for r in results)
    cached = sum(1 for r in results for run in r.runs if run.cached)
    return elapsed, runs, cached


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="specs/matrix.toml")
    ap.add_argument("--only", help="models whose name matches this regex")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--chunks", type=int, default=4, help="groups of models, interleaved")
    args = ap.parse_args()
    models = load_models(args.models)
    if args.only:
        models = [m for m in models if re.search(args.only, m.name)]
    tools = locate_tools()
    print(f"{len(models)} models, {os.cpu_count()} cores, TLC jar {tools.jar.name}")
    from runner.cds import archive_args

    archive_args(tools)  # made once, like the first mmcheck run on a machine does
    chunks = [models[i::max(1, args.chunks)] for i in range(max(1, args.chunks))]
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        root = Path(tmp)
        cache = Cache(root / "cache")
        cold = slow = 0.0
        runs = nruns = 0
        for i, chunk in enumerate(c for c in chunks if c):
            t, r, _ = ours(chunk, tools, root / f"cold-{i}", cache)
            cold, runs = cold + t, runs + r
            print(f"  group {i + 1}: mmcheck check cold {t:.1f} s ({len(chunk)} models)",
                  file=sys.stderr, flush=True)
            if args.skip_naive:
                continue
            saved = os.environ.get("MMCHECK_CDS")
            os.environ["MMCHECK_CDS"] = "0"  # TLC by hand: no archive
            try:
                t, r = naive(chunk, tools, root / f"naive-{i}")
            finally:
                if saved is None:
                    del os.environ["MMCHECK_CDS"]
                else:
                    os.environ["MMCHECK_CDS"] = saved
            slow, nruns = slow + t, nruns + r
        print(f"mmcheck check, cold: {cold:7.1f} s  ({runs} TLC runs)")
        warm, wruns, cached = ours(models, tools, root / "warm", cache)
        print(f"mmcheck check, warm: {warm:7.1f} s  ({cached}/{wruns} TLC runs from the cache)")
        if args.skip_naive:
            return 0
        print(f"naive, one TLC run per property: {slow:7.1f} s  ({nruns} TLC runs)")
        print(f"speed-up of mmcheck check (cold) over the naive driver: {slow / cold:.1f}x "
              "(target: >= 10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
