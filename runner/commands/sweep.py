"""mmcheck sweep: check every point of a sweep file's grid (several at once), write the
table (csv, parquet), the answers and the plots, and print their paths.

Exit status: 0 every point decided, 2 a point failed or timed out (the last line says how
many).  Interrupted (Ctrl-C, kill), it keeps the finished points: run it again to go on."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from runner.limits import MAX_POINTS, TIMEOUT_RANGE, parse_jobs, parse_timeout
from runner.progress import Console, add_verbosity, paint

RESULTS = Path("results")
EXAMPLES = """\
examples:
  mmcheck sweep specs/sweeps/growth.toml                 # into results/growth/
  mmcheck sweep specs/sweeps/growth.toml --jobs 1 --timeout 300
  mmcheck sweep my.toml --simulate 10000 --depth 100     # random simulation per point
  mmcheck sweep big.toml --max-points 50000 --no-plots   # allow a grid above the limit"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="check a grid of models (a sweep file) and tabulate, "
                       "answer and plot the results", description=__doc__)
    p.add_argument("file", metavar="SWEEP.toml", help="the sweep file (e.g. specs/sweeps/growth.toml)")
    p.add_argument("--jobs", type=parse_jobs, metavar="N", help="points checked at once (default: cores)")
    p.add_argument("--timeout", type=parse_timeout, metavar="S",
                   help=f"per point: seconds for all of a point's TLC runs together "
                        f"({TIMEOUT_RANGE}; default: the file's, else 60; check and compare's "
                        f"--timeout is per TLC run)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="results directory (default: results/<sweep name>)")
    p.add_argument("--simulate", type=int, metavar="BEHAVIOURS",
                   help="check by TLC's random simulation: this many behaviours per point "
                        "(needs --depth); reported as 'no violation in N behaviours'")
    p.add_argument("--depth", type=int, metavar="D", help="the depth of each simulated behaviour")
    p.add_argument("--jar", metavar="PATH", help="tla2tools.jar to use instead of the bundled one")
    p.add_argument("--protocols", action="append", default=[], metavar="DIR",
                   help="also look for protocol templates in DIR (repeatable; searched before "
                        "$MMCHECK_PROTOCOLS and the built-in specs/templates/)")
    p.add_argument("--no-cache", action="store_true", help="run TLC even for unchanged points")
    p.add_argument("--cache-dir", type=Path, default=RESULTS / ".cache", metavar="DIR",
                   help="where cached TLC runs live (default: results/.cache)")
    p.add_argument("--no-plots", action="store_true", help="do not draw the plots")
    p.add_argument("--max-points", type=int, default=MAX_POINTS, metavar="N",
                   help=f"refuse a grid of more than N points (default: {MAX_POINTS:,})")
    add_verbosity(p)
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the points on the Dask cluster of this scheduler (e.g. "
                        "tcp://10.0.0.1:8786); each worker needs Java and mmcheck installed")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gen.protocols import discover
    from runner.cache import Cache
    from runner.check import Simulation
    from runner.errors import ConfigError
    from runner.progress import VERBOSE, Tally
    from runner.rundir import locked
    from runner.sweep import run_sweep
    from runner.sweep.answers import largest_complete, smallest_violations
    from runner.sweep.spec import load_sweep

    console = Console(args.verbosity)
    if (args.simulate is None) != (args.depth is None):
        raise ConfigError("--simulate BEHAVIOURS and --depth D go together")
    if args.simulate is not None and (args.simulate < 1 or args.depth < 1):
        raise ConfigError("--simulate and --depth: must be positive")
    if args.max_points < 1:
        raise ConfigError("--max-points: must be at least 1")
    simulate = Simulation(args.simulate, args.depth) if args.simulate is not None else None

    def on_size(n: int) -> None:  # a big grid takes a while to validate: say so first
        if n > 100:
            console.info(f"mmcheck: {args.file}: {n:,} points; validating them")

    sweep = load_sweep(args.file, max_points=args.max_points, on_size=on_size,
                       protocols=discover(args.protocols))
    out = args.out or RESULTS / sweep.name
    timeout = args.timeout or sweep.timeout
    sim = simulate or sweep.simulate
    how = (f"by simulation ({sim.behaviours} behaviours, depth {sim.depth})" if sim
           else "exhaustively")
    shown = [0]

    def on_progress(s: Tally) -> None:
        if args.verbosity >= VERBOSE and s.done > shown[0]:
            shown[0] = s.done
            console.detail(f"[{s.done}/{s.todo}] {s.last}")
        console.status(s)

    cache = None if args.no_cache else Cache.open(args.cache_dir).dir
    with locked(out):  # refused before anything is said or run, if it is in use
        console.info(f"mmcheck: sweep {sweep.name}: {len(sweep.points)} points "
                     f"({' x '.join(f'{len(v)} {k}' for k, v in sweep.axes)}), {how}, "
                     f"timeout {timeout:g} s per point, into {out}"
                     + (f", on the Dask cluster at {args.scheduler}" if args.scheduler else ""))
        try:
            df = run_sweep(sweep, jobs=args.jobs, timeout=args.timeout, out=out,
                           simulate=simulate, jar=args.jar, cache_dir=cache,
                           plots=not args.no_plots, on_progress=on_progress,
                           scheduler=args.scheduler)
        finally:
            console.status.close()
    axis_names = sweep.axis_names
    checked, failed = df.attrs.get("checked", 0), df.attrs.get("failed", 0)
    for note in df.attrs.get("notes", []):
        console.warn(f"mmcheck: note: {note}")
    timed_out = df[df["verdict"] == "timeout"]["point"].nunique() if not df.empty else 0
    if args.verbosity:
        _answers(console, df, axis_names, smallest_violations, largest_complete)
    status = 2 if failed or timed_out else 0
    if timed_out:
        console.info(f"mmcheck: a point that timed out is checked again only with a --timeout "
                     f"above {timeout:g} s")
    line = (f"{df['point'].nunique()} points ({checked} checked now, "
            f"{len(sweep.points) - checked} from before): {failed} failed, {timed_out} timed out")
    console.result(paint(line, "yellow" if status else "green", console.colour))
    return status


def _answers(console: Console, df: Any, axis_names: list[str], smallest_violations: Any,
             largest_complete: Any) -> None:
    small = smallest_violations(df, axis_names)
    if not small.empty:
        console.result("smallest violating point per protocol and property:")
        for r in small.itertuples(index=False):
            states = "?" if r.point_distinct_states is None else f"{r.point_distinct_states:,}"
            console.result(f"  {r.protocol:<15} {r.property:<18} {r.model} ({states} states)")
        console.result()
    largest = largest_complete(df, axis_names)
    if not largest.empty:
        console.result("largest complete exhaustive point per protocol:")
        for r in largest.itertuples(index=False):
            console.result(f"  {r.protocol:<15} {r.model} ({r.point_distinct_states:,} states, "
                           f"{r.point_seconds:.1f} s)")
        console.result()
    paths = df.attrs.get("paths", {})
    for key in ("csv", "parquet", "answers", "answers_json"):
        if key in paths:
            console.result(f"{key:>12}: {paths[key]}")
    for p in paths.get("plots", []):
        console.result(f"{'plot':>12}: {p}")
    console.result()
