#!/usr/bin/env python3
"""The cold matrix: `mmcheck check specs/matrix.toml` with an empty cache (as `make
check-protocols` from a fresh clone), its wall time and the CPU of everything it ran.
Prints figures; not a test.

--tree DIR runs the mmcheck of another checkout (e.g. `git archive 215e7a6 | tar -x -C
DIR`) with this virtual environment, for a before/after pair; several --tree are run
interleaved over --rounds.  --env NAME=VALUE adds a variant: the same tree with that
environment (e.g. --env MMCHECK_POOL=0, runner.jvmpool off).

Each variant's results are compared with the first one's: every model's verdicts, the
outcome of each of its TLC runs and the distinct and generated states of each complete one
must be the same (the differences are printed; "identical" when there are none).
--same traces compares instead what a change of the runs themselves must keep: every
model's verdicts, the trace of each safety violation (invariants, deadlock) state by state,
and the model's distinct states (liveness traces depend on when TLC's periodic check ran).

    .venv/bin/python bench/bench_cold_matrix.py [--tree DIR ...] [--env NAME=VALUE ...]
                                                [--rounds 1] [--jobs N] [--only REGEX]
"""
from __future__ import annotations

import argparse
import json
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


SAFETY = ("TypeOK", "RwsemExclusive", "NoThirdState", "NoLostWrite", "PageTableSafety",
          "MunmapAtomic", "WriteHoldBound", "RangeUnmapped", "NoVmaUseAfterFree", "DeadlockFree")


def traces(results: Path) -> dict[str, object]:
    """model -> (its verdicts, each safety violation's trace, its distinct states, what
    WriteHoldReport measured)."""
    try:
        models = json.loads(results.read_text())["models"]
    except (OSError, ValueError, KeyError):
        return {}
    return {m["name"]: ({p: v["verdict"] for p, v in m["properties"].items()},
                        {p: v["trace"] for p, v in m["properties"].items() if p in SAFETY},
                        m.get("distinct_states"),
                        [m.get(k) for k in ("max_write_hold", "max_write_zap",
                                            "max_write_munlock")])
            for m in models}


def figures(results: Path) -> dict[str, object]:
    """model -> (its verdicts, (run, outcome, distinct, generated) of each TLC run).  The
    counts only of runs that explored the whole graph: a liveness run stopped by a violation
    stops where TLC's periodic check, every so many seconds, found it (timing, not the spec;
    as bench/check_equivalence.py)."""
    try:
        models = json.loads(results.read_text())["models"]
    except (OSError, ValueError, KeyError):
        return {}
    return {m["name"]: ({p: v["verdict"] for p, v in m["properties"].items()},
                        [(r["name"], r["outcome"],
                          *((r["distinct_states"], r["states_generated"])
                            if r["outcome"] == "ok" else ()))
                         for r in m["runs"]])
            for m in models}


def differences(a: dict[str, object], b: dict[str, object]) -> list[str]:
    out = [f"{m}: only in one" for m in sorted(set(a) ^ set(b))]
    out += [f"{m}: {a[m]} != {b[m]}" for m in sorted(set(a) & set(b)) if a[m] != b[m]]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", action="append", default=[], type=Path)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--only", help="check only the models whose name matches (a regex)")
    ap.add_argument("--same", choices=("runs", "traces"), default="runs",
                    help="what must be the same as the first variant's (see above)")
    args = ap.parse_args(argv)
    trees = args.tree or [ROOT]
    variants: list[tuple[Path, dict[str, str]]] = [(t, {}) for t in trees]
    variants += [(trees[0], dict([e.split("=", 1)])) for e in args.env]
    first: dict[str, object] | None = None
    for _ in range(args.rounds):
        for tree, extra in variants:
            with tempfile.TemporaryDirectory(prefix="mmcheck-cold-") as tmp:
                argv_ = [sys.executable, "-m", "runner.cli", "check",
                         str(tree / "specs" / "matrix.toml"), "--out", f"{tmp}/out",
                         "--cache-dir", f"{tmp}/cache", "-q"]
                if args.jobs:
                    argv_ += ["--jobs", str(args.jobs)]
                if args.only:
                    argv_ = argv_[:4] + [
                        x for m in models_matching(tree, args.only) for x in ("--model", m)
                    ] + argv_[4:]
                env = dict(os.environ, PYTHONPATH=str(tree), **extra)
                c0, w0 = cpu(), time.monotonic()
                proc = subprocess.run(argv_, cwd=tree, env=env, capture_output=True, text=True,
                                      check=False)
                wall, used = time.monotonic() - w0, cpu() - c0
                last = (proc.stdout.strip().splitlines() or ["?"])[-1]
                summary = next((line for line in proc.stdout.splitlines()
                                if line.startswith(("161 models", "models:"))
                                or " models: " in line), last)
                label = " ".join([str(tree), *(f"{k}={v}" for k, v in extra.items())])
                print(f"{label}: exit {proc.returncode}, wall {wall:.1f} s, CPU {used:.1f} s "
                      f"(cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}); {summary}",
                      flush=True)
                got = (traces if args.same == "traces" else figures)(
                    Path(tmp) / "out" / "results.json")
                if first is None:
                    first = got
                else:
                    diff = differences(first, got)
                    print(f"  {'verdicts, traces' if args.same == 'traces' else 'verdicts and state counts'} against the first: "
                          f"{'identical' if not diff else f'{len(diff)} differences'} "
                          f"({len(got)} models)")
                    for line in diff:
                        print(f"    {line}")
    return 0


def models_matching(tree: Path, pattern: str) -> list[str]:
    import re
    import subprocess as sp

    # gen.load since 63a51b6; gen.model in trees before it
    code = ("import sys\ntry:\n    from gen.load import load_models\nexcept ImportError:\n"
            "    from gen.model import load_models\n"
            "print('\\n'.join(m.name for m in load_models(sys.argv[1])))")
    names = sp.run([sys.executable, "-c", code, str(tree / "specs" / "matrix.toml")],
                   cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)), capture_output=True,
                   text=True, check=True).stdout.split()
    return [n for n in names if re.search(pattern, n)]


if __name__ == "__main__":
    sys.exit(main())
