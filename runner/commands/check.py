"""mmcheck check: check models against their expectations and print the verdict matrix."""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

from gen.model import Model, load_models
from gen.scenarios import DEFAULT_MATRIX
from runner.errors import ConfigError

DEFAULT_MODELS = DEFAULT_MATRIX
RESULTS = Path("results")

def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check models (default: the committed matrix, "
                       f"{DEFAULT_MODELS}) against their expectations", description=__doc__)
    p.add_argument("files", nargs="*", metavar="MODELS.toml",
                   help=f"model files ([[model]] tables) or matrix files (protocol x scenario; "
                        f"default: {DEFAULT_MODELS})")
    p.add_argument("--protocols", action="append", default=[], metavar="DIR",
                   help="also look for protocol templates in DIR (repeatable; searched before "
                        "$MMCHECK_PROTOCOLS and the built-in specs/templates/)")
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
    p.add_argument("--style", choices=("kernel", "full"), metavar="STYLE",
                   help="also print every counterexample's race diagram: kernel (as a commit "
                        "message draws it, the steps that matter) or full (every step)")
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
    """The verdict matrix in the README's shape: violated properties per scenario and
    protocol, at most 100 columns."""
    from runner.report.matrix import compact, render_text

    return render_text(compact(results))


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
    from gen.protocols import discover
    from runner.cache import Cache
    from runner.check import check_models, default_jobs, write_atomic
    from runner.java import locate_tools

    files = args.files or [DEFAULT_MODELS]
    models = select(load_models(*files, protocols=discover(args.protocols)), args.model)
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
    runs = sum(len(r.runs) for r in results)
    cached = sum(1 for r in results for run in r.runs if run.cached)
    print(f"\n{len(models)} models, {runs} TLC runs ({cached} from the cache) in {elapsed:.1f} s; "
          f"results in {out}")
    from runner.report.matrix import problems

    for problem in problems(results):
        print(f"UNEXPECTED: {problem.line()}", file=sys.stderr)
    from runner.report import write_all

    write_all(out)
    print(f"reports there: report.md, report.html, junit.xml, <model>/attachment.txt "
          f"({len(results)} models)")
    if args.style:
        from runner.report.kernel import render_counterexamples

        text = render_counterexamples(results, args.style)
        print("\n" + (text.rstrip("\n") if text else "No counterexample to draw."))
    return status
