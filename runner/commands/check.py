"""mmcheck check: check models against their expectations and print the verdict matrix.

Exit status: 0 every verdict as expected, 1 one differs, 2 one could not be decided (an
error, a timeout, a model that failed: every other model is still checked and reported).
The matrix and the summary go to stdout; progress and diagnostics to stderr."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gen.load import load_models
from gen.model import Model
from gen.properties import CATEGORIES
from gen.scenarios import DEFAULT_MATRIX
from runner.errors import ConfigError
from runner.limits import TIMEOUT_RANGE, WIDTH, add_width, parse_jobs, parse_timeout
from runner.progress import (
    Console,
    Tally,
    add_verbosity,
    count,
    model_callbacks,
    paint,
    progress_callback,
)
from runner.rundir import KEEP_RUNS, KEEP_RUNS_ENV, RESULTS, default_out, link_latest

if TYPE_CHECKING:
    from runner.check import ModelResult

DEFAULT_MODELS = DEFAULT_MATRIX
EXAMPLES = f"""\
examples:
  mmcheck check                                 # every model of {DEFAULT_MODELS}
  mmcheck check --model vm_dead-fault -v        # one model, printing each TLC run
  mmcheck check my-models.toml --out /tmp/run   # your own models, results in /tmp/run
  mmcheck check -q --json results.json         # the summary line only, results as JSON
  mmcheck check --timeout 60 --jobs 2 --keep-runs 3"""


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
                   help="results directory (default: results/run-<time>, linked as "
                        "results/latest); one run at a time per directory")
    p.add_argument("--json", type=Path, metavar="FILE",
                   help="also write the results as JSON")
    p.add_argument("--jobs", type=parse_jobs, metavar="N",
                   help="models checked at once (default: cores + 1)")
    p.add_argument("--timeout", type=parse_timeout, default=600.0, metavar="S",
                   help=f"per TLC run: seconds before one TLC run (a model has 1 to 3) is "
                        f"stopped ({TIMEOUT_RANGE}; default: 600)")
    p.add_argument("--properties", nargs="+", metavar="NAME",
                   help="check only these properties or categories (" + ", ".join(CATEGORIES)
                        + "); the others are not-selected and run no TLC (default: all)")
    p.add_argument("--simulate", type=int, metavar="TRACES",
                   help="TLC's random simulation instead of exhaustive checking: TRACES "
                        "random behaviours (-simulate num=TRACES); a violation found is "
                        "real, nothing found is \"no violation in TRACES traces\", never "
                        "\"holds\"; liveness is not checked")
    p.add_argument("--depth", type=int, default=100, metavar="D",
                   help="--simulate: the most steps of each behaviour (default: 100)")
    p.add_argument("--jar", metavar="PATH",
                   help="tla2tools.jar to use instead of the bundled one")
    p.add_argument("--full-jit", action="store_true",
                   help="run the JVM with its optimising compiler (C2): slower to start, faster "
                        "on models with millions of states (default: C1 only, and C2 for a run "
                        "expected to take more than 10 s from the model's earlier runs)")
    p.add_argument("--distributed", type=int, metavar="N",
                   help="check each model's invariants and deadlock freedom on distributed "
                        "TLC, a server and N local workers (liveness and the write-hold "
                        "report are not checked; a violation is named by a normal run); "
                        "models one at a time unless --jobs")
    p.add_argument("--no-cache", action="store_true", help="run TLC even for unchanged models")
    p.add_argument("--cache-dir", type=Path, default=RESULTS / ".cache", metavar="DIR",
                   help="where cached TLC runs live (default: results/.cache)")
    p.add_argument("--keep-runs", type=int, metavar="N",
                   help=f"results/ keeps the latest N run-<time> directories (and N "
                        f"compare-* ones), removing older ones (default: ${KEEP_RUNS_ENV}, "
                        f"else {KEEP_RUNS}; 0 keeps all)")
    p.add_argument("--style", choices=("kernel", "full"), metavar="STYLE",
                   help="also print every counterexample's race diagram: kernel (as a commit "
                        "message draws it, the steps that matter) or full (every step)")
    p.add_argument("--labels", metavar="LABELS.toml",
                   help="head the printed matrix's columns with a release per protocol "
                        "([releases]) and list what each scenario stands for ([bugs]), as "
                        "specs/history-labels.toml does for make history")
    add_width(p)
    add_verbosity(p)
    p.set_defaults(run=run)


def select(models: list[Model], names: list[str]) -> list[Model]:
    if not names:
        return models
    known = {m.name for m in models}
    for n in names:
        if n not in known:
            raise ConfigError(f"--model {n}: no such model in the given files")
    return [m for m in models if m.name in names]


def matrix(results, width: int = WIDTH,  # type: ignore[no-untyped-def]
           labels: tuple[dict[str, str], dict[str, str]] | None = None) -> str:
    """The verdict matrix in docs/models.md's shape: violated properties per scenario and
    protocol, at most `width` columns; `labels`: (releases, bugs) of load_labels."""
    from runner.report.matrix import compact, render_text

    heads, rows = labels or ({}, {})
    return render_text(compact(results), width, heads, rows)


def load_labels(path: str) -> tuple[dict[str, str], dict[str, str]]:
    """The [releases] and [bugs] tables of a labels file (specs/history-labels.toml):
    protocol -> release, scenario -> the known bug; a one-line ConfigError otherwise."""
    from gen.model import read_toml

    data = read_toml(path, "labels file")
    extra = sorted(set(data) - {"releases", "bugs"})
    if extra:
        raise ConfigError(f"{path}: {extra[0]}: unknown table (a labels file holds [releases] "
                          f"and [bugs])")
    out = []
    for key in ("releases", "bugs"):
        table = data.get(key, {})
        if not isinstance(table, dict) or not all(
                isinstance(v, str) and v.strip() and "\n" not in v for v in table.values()):
            raise ConfigError(f"{path}: [{key}]: must map names to one-line strings")
        out.append({k: v.strip() for k, v in table.items()})
    return out[0], out[1]


def outcome(r: ModelResult) -> str:
    """A model's result in a few words, for the progress line."""
    undecided = [v for v in r.verdicts.values() if v.verdict in ("error", "timeout")]
    if undecided:
        kinds = sorted({v.verdict for v in undecided})
        return f"{len(undecided)} {'/'.join(kinds)}" + timeout_hint(r)
    if r.simulate is not None:
        found = [p for p, v in r.verdicts.items() if v.verdict == "violated"]
        return (f"violates {', '.join(found)}" if found else
                f"no violation in {r.simulate.behaviours:,} traces (not a proof)")
    wrong = [p for p, v in r.verdicts.items() if not v.matches]
    return f"UNEXPECTED {', '.join(wrong)}" if wrong else "as expected"


def run(args: argparse.Namespace) -> int:
    from gen.properties import select as select_properties
    from gen.protocols import discover
    from runner.cache import Cache
    from runner.check import Simulation, check_models, default_jobs
    from runner.files import ensure_file_destination, write_atomic
    from runner.java import locate_tools
    from runner.rundir import keep_runs, locked, prune_runs

    console = Console(args.verbosity)
    files = args.files or [DEFAULT_MODELS]
    width = args.width or WIDTH
    labels = load_labels(args.labels) if args.labels else None
    properties = select_properties(args.properties) if args.properties else None
    simulate = None
    if args.simulate is not None:
        if not 1 <= args.simulate <= 10_000_000:
            raise ConfigError("--simulate: the number of traces must be from 1 to 10000000")
        if not 1 <= args.depth <= 100_000:
            raise ConfigError("--depth: must be from 1 to 100000 steps")
        if args.distributed is not None:
            raise ConfigError("--simulate: not with --distributed")
        simulate = Simulation(args.simulate, args.depth)
    if args.distributed is not None and args.distributed < 1:
        raise ConfigError("--distributed: must be at least 1 worker")
    keep = keep_runs(args.keep_runs)
    models = select(load_models(*files, protocols=discover(args.protocols)), args.model)
    tools = locate_tools(args.jar)
    if args.json:
        ensure_file_destination(args.json, "--json file")
    cache = None if args.no_cache else Cache.open(args.cache_dir)
    jobs = args.jobs or (1 if args.distributed is not None else default_jobs())
    from gen.render import render

    rendered = {m.name: render(m) for m in models}  # a template error: nothing written yet
    with locked(args.out or default_out()) as out:
        console.info(f"mmcheck: checking {count(len(models), 'model')} from {', '.join(map(str, files))}, "
                     f"{min(jobs, len(models) or 1)} at a time, into {out}")
        tally = Tally(total=len(models), jobs=min(jobs, len(models) or 1), noun="models")
        on_event, on_result = model_callbacks(
            console, tally, outcome,
            unexpected=lambda r: any(not v.matches and v.verdict in ("holds", "violated")
                                     for v in r.verdicts.values()))

        started = time.monotonic()
        try:
            results = check_models(models, out, tools, jobs=jobs, timeout=args.timeout,
                                   cache=cache, quick_jit=not args.full_jit, on_event=on_event,
                                   on_result=on_result, rendered=rendered,
                                   on_progress=progress_callback(console, tally),
                                   distributed=args.distributed, properties=properties,
                                   simulate=simulate)
        except KeyboardInterrupt:
            console.status.close()
            console.warn(f"mmcheck: stopped: {tally.done} of {count(len(models), 'model')} finished; "
                         f"their results are in {out}/<model>/result.json "
                         f"(mmcheck report {out} rebuilds the reports from them)")
            raise
        finally:
            console.status.close()
        elapsed = time.monotonic() - started
        summary = {"models": [r.to_dict() for r in results]}
        text = json.dumps(summary, indent=2) + "\n"
        write_atomic(out / "results.json", text)
        from runner.errors import OutputError
        from runner.report import write_all

        report_error = None
        try:
            write_all(out, but=("json",))  # results.json: just written
        except OutputError as e:  # e.g. a failed model's directory: the rest is written
            report_error = e
    if len(results) > 1:  # results/latest: the last matrix (or compare) run, never one model's
        link_latest(out)
    removed = prune_runs(RESULTS, keep, current=out) if _under_results(out) else []

    status = max((r.status for r in results), default=0)
    if report_error is not None:
        console.warn(f"mmcheck: error: a report could not be written: {report_error}")
        status = 2
    if args.verbosity:
        console.result()
        console.result(matrix(results, width, labels))
        console.result()
    runs = sum(len(r.runs) for r in results)
    cached = sum(1 for r in results for run in r.runs if run.cached)
    n_unexpected = sum(r.status == 1 for r in results)
    n_undecided = sum(r.status == 2 for r in results)
    line = (f"{count(len(results), 'model')}: {len(results) - n_unexpected - n_undecided} as expected, "
            f"{n_unexpected} unexpected, {n_undecided} undecided ({runs} TLC runs, {cached} "
            f"from the cache, {elapsed:.1f} s)")
    console.result(paint(line, ("green", "red", "yellow")[status], console.colour))
    import textwrap

    if properties is not None:
        console.result(textwrap.fill(
            f"checked only {', '.join(properties)} (--properties); the other properties are "
            f"not-selected: no verdict, no TLC run", width, break_on_hyphens=False))
    if simulate is not None:
        console.result(textwrap.fill(
            f"simulation: {simulate.behaviours:,} random traces of at most {simulate.depth} "
            f"steps per TLC run; a violation found is real, a property without one is "
            f"\"no-violation\" (not found in {simulate.behaviours:,} traces), never "
            f"\"holds\": exit 2", width, break_on_hyphens=False))
    from runner.report.matrix import UNDECIDED, problems

    for problem in problems(results):
        colour = "yellow" if problem.verdict in UNDECIDED else "red"
        console.warn(paint("UNEXPECTED", colour, console.err_colour) + ": " + problem.line())
    console.info(f"results in {out}/: report.md, .html, junit.xml, <model>/attachment.txt")
    if removed:
        console.info(f"results/ keeps the latest {keep} runs (--keep-runs N or "
                     f"${KEEP_RUNS_ENV}; 0 keeps all): removed {len(removed)} older run"
                     + ("s" if len(removed) > 1 else "") + f" ({removed[-1].name} ...)")
    if cache is not None and cache.write_errors:
        console.warn(f"mmcheck: warning: {len(cache.write_errors)} cache entries could not be "
                     f"written ({cache.write_errors[0]})")
    if args.style:
        from runner.report.kernel import render_counterexamples
        from runner.report.stored import load_run

        # as stored (the attachments' input): the same diagrams and root causes as they
        drawn = render_counterexamples(load_run(out).results, args.style, width)
        console.result("\n" + (drawn.rstrip("\n") if drawn else "No counterexample to draw."))
    if args.json:
        write_atomic(args.json, text)
    return status


def timeout_hint(r: ModelResult) -> str:
    """For a model that timed out: how far TLC got, and what to try next."""
    runs = [x for x in r.runs if x.outcome == "timeout"]
    if not runs:
        return ""
    states = runs[-1].distinct_states
    got = f"{states:,} distinct states so far" if states is not None else "no state count"
    return (f" ({got}; next: --simulate N, a random search; a smaller scenario; or a "
            f"longer --timeout)")


def _under_results(out: Path) -> bool:
    try:
        return out.resolve().parent == RESULTS.resolve()
    except OSError:
        return False
