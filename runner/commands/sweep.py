"""mmcheck sweep: check every point of a sweep file's grid (several at once), write the
table (csv, parquet), the answers and the plots, and print their paths."""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path("results")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="check a grid of models (a sweep file) and tabulate, "
                       "answer and plot the results", description=__doc__)
    p.add_argument("file", metavar="SWEEP.toml", help="the sweep file (e.g. specs/sweeps/growth.toml)")
    p.add_argument("--jobs", type=int, metavar="N", help="points checked at once (default: cores)")
    p.add_argument("--timeout", type=float, metavar="S",
                   help="seconds per point, all its TLC runs (default: the file's, else 60)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="results directory (default: results/<sweep name>)")
    p.add_argument("--simulate", type=int, metavar="BEHAVIOURS",
                   help="check by TLC's random simulation: this many behaviours per point "
                        "(needs --depth); reported as 'no violation in N behaviours'")
    p.add_argument("--depth", type=int, metavar="D", help="the depth of each simulated behaviour")
    p.add_argument("--jar", metavar="PATH", help="tla2tools.jar to use instead of the bundled one")
    p.add_argument("--no-cache", action="store_true", help="run TLC even for unchanged points")
    p.add_argument("--cache-dir", type=Path, default=RESULTS / ".cache", metavar="DIR",
                   help="where cached TLC runs live (default: results/.cache)")
    p.add_argument("--no-plots", action="store_true", help="do not draw the plots")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the points on the Dask cluster of this scheduler (e.g. "
                        "tcp://10.0.0.1:8786); each worker needs Java and mmcheck installed")
    p.set_defaults(run=run)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Bar:
    """A one-line progress bar on stderr (redrawn in place on a terminal; on a pipe, a line
    per finished point), with the live TLC progress of the longest-running point."""

    def __init__(self, stream: Any = sys.stderr) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.shown = 0  # finished points already printed (non-tty)
        self.width = 0

    def __call__(self, s: Any) -> None:
        elapsed = time.monotonic() - s.started
        done = s.done
        frac = done / s.todo if s.todo else 1.0
        cells = 20
        bar = "#" * int(frac * cells) + "-" * (cells - int(frac * cells))
        head = (f"[{bar}] {done}/{s.todo} done, {len(s.running)} running, {s.failed} failed"
                + (f", {s.skipped} from before" if s.skipped else "")
                + f"  {_duration(elapsed)} elapsed, ETA {_duration(s.eta_seconds)}")
        live = next((f"  | {label}: {what}" for label, what in s.running.items()
                     if "so far" in what), "")
        if self.tty:
            cols = shutil.get_terminal_size((100, 20)).columns
            line = (head + live)[: cols - 1]
            self.stream.write("\r" + line.ljust(self.width))
            self.width = len(line)
            self.stream.flush()
        elif done > self.shown:
            self.shown = done
            self.stream.write(f"{head}\n    {s.last}\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty and self.width:
            self.stream.write("\n")
            self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from runner.check import Simulation
    from runner.errors import ConfigError
    from runner.sweep import run_sweep
    from runner.sweep.answers import largest_complete, smallest_violations
    from runner.sweep.spec import load_sweep

    if (args.simulate is None) != (args.depth is None):
        raise ConfigError("--simulate BEHAVIOURS and --depth D go together")
    if args.simulate is not None and (args.simulate < 1 or args.depth < 1):
        raise ConfigError("--simulate and --depth: must be positive")
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError("--jobs: must be at least 1")
    if args.timeout is not None and args.timeout <= 0:
        raise ConfigError("--timeout: must be positive")
    simulate = Simulation(args.simulate, args.depth) if args.simulate is not None else None
    sweep = load_sweep(args.file)
    out = args.out or RESULTS / sweep.name
    timeout = args.timeout or sweep.timeout
    sim = simulate or sweep.simulate
    how = (f"by simulation ({sim.behaviours} behaviours, depth {sim.depth})" if sim
           else "exhaustively")
    print(f"mmcheck: sweep {sweep.name}: {len(sweep.points)} points "
          f"({' x '.join(f'{len(v)} {k}' for k, v in sweep.axes)}), {how}, "
          f"timeout {timeout:g} s per point, into {out}"
          + (f", on the Dask cluster at {args.scheduler}" if args.scheduler else ""), flush=True)
    bar = Bar()
    # `kill PID` stops a sweep as Ctrl-C does: every running point's JVM is killed and the
    # finished points stay in the table.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        df = run_sweep(sweep, jobs=args.jobs, timeout=args.timeout, out=out, simulate=simulate,
                       jar=args.jar, cache_dir=None if args.no_cache else args.cache_dir,
                       plots=not args.no_plots, on_progress=bar, scheduler=args.scheduler)
    finally:
        signal.signal(signal.SIGTERM, previous)
        bar.close()
    axis_names = sweep.axis_names
    checked, failed = df.attrs.get("checked", 0), df.attrs.get("failed", 0)
    for note in df.attrs.get("notes", []):
        print(f"mmcheck: note: {note}", file=sys.stderr)
    print(f"\n{df['point'].nunique()} points ({checked} checked now, "
          f"{len(sweep.points) - checked} from before), {failed} failed")
    small = smallest_violations(df, axis_names)
    if not small.empty:
        print("\nsmallest violating point per protocol and property:")
        for r in small.itertuples(index=False):
            states = "?" if r.point_distinct_states is None else f"{r.point_distinct_states:,}"
            print(f"  {r.protocol:<15} {r.property:<18} {r.model} ({states} states)")
    largest = largest_complete(df, axis_names)
    if not largest.empty:
        print("\nlargest complete exhaustive point per protocol:")
        for r in largest.itertuples(index=False):
            print(f"  {r.protocol:<15} {r.model} ({r.point_distinct_states:,} states, "
                  f"{r.point_seconds:.1f} s)")
    paths = df.attrs.get("paths", {})
    print()
    for key in ("csv", "parquet", "answers", "answers_json"):
        if key in paths:
            print(f"{key:>12}: {paths[key]}")
    for p in paths.get("plots", []):
        print(f"{'plot':>12}: {p}")
    if failed:
        return 2
    return 0
