"""mmcheck check: check models against their expectations and print the verdict matrix."""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

from gen.model import PROPERTIES, Model, load_models
from runner.errors import ConfigError

DEFAULT_MODELS = "specs/models.toml"
RESULTS = Path("results")

def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check models (default: specs/models.toml) against their "
                       "expectations", description=__doc__)
    p.add_argument("files", nargs="*", metavar="MODELS.toml", help=f"model files (default: {DEFAULT_MODELS})")
    p.add_argument("--model", action="append", default=[], metavar="NAME",
                   help="check only this model (repeatable)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="results directory (default: results/run-<time>, linked as results/latest)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="models checked at once (default: cores + 1)")
    p.add_argument("--timeout", type=float, default=600.0, metavar="S",
                   help="timeout of one TLC run in seconds (default: 600)")
    p.add_argument("--jar", metavar="PATH", help="tla2tools.jar to use instead of the bundled one")
    p.add_argument("--full-jit", action="store_true",
                   help="run the JVM with its optimising compiler (C2): slower to start, faster "
                        "on models with millions of states (default: C1 only, for small models)")
    p.add_argument("--distributed", type=int, metavar="N",
                   help="check each model's invariants and deadlock freedom on distributed "
                        "TLC, a server and N local workers (liveness and the write-hold "
                        "report are not checked; a violation is named by a normal run); "
                        "models one at a time unless --jobs")
    p.add_argument("--no-cache", action="store_true", help="run TLC even for unchanged models")
    p.add_argument("--cache-dir", type=Path, default=RESULTS / ".cache", metavar="DIR",
                   help="where cached TLC runs live (default: results/.cache)")
    p.set_defaults(run=run)


def select(models: list[Model], names: list[str]) -> list[Model]:
    if not names:
        return models
    known = {m.name for m in models}
    for n in names:
        if n not in known:
            raise ConfigError(f"--model {n}: no such model in the given files")
    return [m for m in models if m.name in names]


def matrix(results) -> str:  # type: ignore[no-untyped-def]
    """The verdict matrix: a row per model, grouped by protocol; '!' marks the unexpected."""
    from runner.report.matrix import ABBREV, LEGEND, cell

    width = max([len(r.model.name) for r in results] + [5])
    head = f"{'model':<{width}} " + " ".join(f"{ABBREV[p]:>6}" for p in PROPERTIES) + "  wzap  states"
    lines = [head, "-" * len(head)]
    protocol = None
    for r in results:
        if protocol is not None and r.model.protocol != protocol:
            lines.append("")
        protocol = r.model.protocol
        wz = "?" if r.max_write_hold is None else str(r.max_write_hold)
        states = "?" if r.distinct_states is None else str(r.distinct_states)
        lines.append(f"{r.model.name:<{width}} "
                     + " ".join(f"{cell(r.verdicts[p]):>6}" for p in PROPERTIES)
                     + f"  {wz:>4}  {states:>6}")
    lines.append("")
    lines.append(LEGEND + "; wzap: most present pages zapped under down_write")
    return "\n".join(lines)


def default_out() -> Path:
    return RESULTS / time.strftime("run-%Y%m%d-%H%M%S")


def link_latest(out: Path) -> None:
    """Point results/latest at the newest run, when it lives under results/."""
    try:
        if out.resolve().parent != RESULTS.resolve():
            return
        tmp = RESULTS / f".latest.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(out.name)
        os.replace(tmp, RESULTS / "latest")
    except OSError:
        pass


def run(args: argparse.Namespace) -> int:
    from runner.cache import Cache
    from runner.check import check_models, default_jobs, write_atomic
    from runner.java import locate_tools

    files = args.files or [DEFAULT_MODELS]
    models = select(load_models(*files), args.model)
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError("--jobs: must be at least 1")
    if args.timeout <= 0:
        raise ConfigError("--timeout: must be positive")
    if args.distributed is not None and args.distributed < 1:
        raise ConfigError("--distributed: must be at least 1 worker")
    tools = locate_tools(args.jar)
    out = args.out or default_out()
    cache = None if args.no_cache else Cache(args.cache_dir)
    jobs = args.jobs or (1 if args.distributed is not None else default_jobs())

    print(f"mmcheck: checking {len(models)} model(s) from {', '.join(map(str, files))}, "
          f"{jobs} at a time, into {out}", flush=True)
    lock = threading.Lock()
    done = [0]

    def on_event(kind: str, model: Model, text: str) -> None:
        with lock:
            if kind == "done":
                done[0] += 1
                print(f"[{done[0]}/{len(models)}] {model.name} done", flush=True)
            elif kind == "run" and text:
                print(f"      {model.name}: {text}", flush=True)

    started = time.monotonic()
    results = check_models(models, out, tools, jobs=jobs, timeout=args.timeout, cache=cache,
                           quick_jit=not args.full_jit, distributed=args.distributed,
                           on_event=on_event)
    elapsed = time.monotonic() - started
    summary = {"models": [r.to_dict() for r in results]}
    write_atomic(out / "results.json", json.dumps(summary, indent=2) + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.json, json.dumps(summary, indent=2) + "\n")
    link_latest(out)

    print()
    print(matrix(results))
    status = max((r.status for r in results), default=0)
    unexpected = [(r.model.name, p) for r in results for p, v in r.verdicts.items() if not v.matches]
    runs = sum(len(r.runs) for r in results)
    cached = sum(1 for r in results for run in r.runs if run.cached)
    print(f"\n{len(models)} models, {runs} TLC runs ({cached} from the cache) in {elapsed:.1f} s; "
          f"results in {out}")
    for name, prop in unexpected:
        v = next(r for r in results if r.model.name == name).verdicts[prop]
        print(f"UNEXPECTED: {name}: {prop} {v.verdict} (expected {v.expected})"
              + (f": {v.message}" if v.message else ""), file=sys.stderr)
    from runner.report import write_all

    write_all(out)
    print(f"reports: {out / 'report.md'}, {out / 'report.html'}, {out / 'junit.xml'}; "
          f"attachments: {out}/<model>/attachment.txt ({len(results)} models)")
    return status
