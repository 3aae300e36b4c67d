"""Parameter sweeps over model size: `run_sweep` checks every point of a sweep file's grid
and returns one row per point and property as a pandas DataFrame.

    from runner.sweep import run_sweep
    df = run_sweep("specs/sweeps/growth.toml", jobs=2, timeout=60)
    df[df.verdict == "violated"].groupby(["protocol", "property"]).point_distinct_states.min()

The stages, one module each: runner.sweep.spec (the file and its grid), runner.sweep.run
(points checked in parallel), runner.sweep.table (the DataFrame, csv/parquet, resuming),
runner.sweep.answers (smallest violations, growth factors), runner.sweep.plots.  Files go
to results/<sweep>/ (or `out`): sweep.csv, sweep.parquet (rewritten after every point),
answers.md, answers.json, growth-<axis>.png/.svg, verdicts.png/.svg, and points/<model>/
with each point's TLC files.  A sweep run again checks only the points missing from its
table; TLC runs already made with the same spec, cfg, jar and flags come from the cache.
Nothing is printed: progress goes to the `on_progress` callback.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.check import Simulation
from runner.errors import ConfigError
from runner.files import ensure_dir, write_atomic
from runner.limits import check_timeout
from runner.progress import Tally
from runner.rundir import locked
from runner.sweep.spec import Point, Sweep, load_sweep

if TYPE_CHECKING:
    import pandas as pd

    from runner.java import JavaTools

RESULTS = Path("results")
ATTACHMENTS = ("Counterexamples: every point's review attachment, with a race diagram per "
               "violated property, is `attachment.txt` in its `directory`; the `trace` column "
               "names each trace's JSON file (states as TLC printed them).")


# What the sweep is doing, passed to `on_progress` after every event: the one progress
# record of check and sweep, runner.progress.Tally.
SweepProgress = Tally

Progress = Callable[[SweepProgress], None]


def mode_of(simulate: Simulation | None) -> str:
    return "exhaustive" if simulate is None else f"simulate:{simulate.behaviours}:{simulate.depth}"


def output_paths(out: Path) -> dict[str, Path]:
    return {"csv": out / "sweep.csv", "parquet": out / "sweep.parquet",
            "answers": out / "answers.md", "answers_json": out / "answers.json"}


def _describe(kind: str, payload: Any) -> str:
    if kind == "progress":
        distinct, generated = payload
        if distinct is None:  # simulation: TLC counts no distinct states
            return f"{generated or 0:,} states generated so far"
        return f"{distinct:,} distinct states ({generated or 0:,} generated) so far"
    return str(payload)


def _summary(rows: list[dict[str, Any]]) -> str:
    verdicts = [r["verdict"] for r in rows]
    if any(r.get("run") == "failed" for r in rows):
        return "failed: " + str(rows[0].get("message"))
    parts = [f"{verdicts.count(v)} {v}" for v in
             ("violated", "holds", "timeout", "error", "no-violation") if v in verdicts]
    states = rows[0].get("point_distinct_states") if rows else None
    return ", ".join(parts) + (f"; {states:,} states" if states is not None else "")


def run_sweep(path_or_spec: str | Path | Sweep, *, out: str | Path | None = None,
              **kwargs: Any) -> pd.DataFrame:
    """Check every point of a sweep not already in its table; return the whole table (see
    _run_sweep).  The output directory is locked while the sweep runs: a second run into
    it is refused."""
    sweep = path_or_spec if isinstance(path_or_spec, Sweep) else load_sweep(path_or_spec)
    out_dir = Path(out) if out is not None else RESULTS / sweep.name
    with locked(out_dir):
        return _run_sweep(sweep, out=out_dir, **kwargs)


def _run_sweep(path_or_spec: str | Path | Sweep, *, jobs: int | None = None,
               timeout: float | None = None, out: str | Path | None = None,
               simulate: Simulation | None = None, tools: JavaTools | None = None,
               jar: str | None = None, cache_dir: str | Path | None = RESULTS / ".cache",
               plots: bool = True, on_progress: Progress | None = None,
               scheduler: str | None = None) -> pd.DataFrame:
    """Check every point of a sweep not already in its table; return the whole table.

    `timeout` (seconds per point) and `simulate` override the sweep file's; `out` defaults
    to results/<sweep name>; `cache_dir=None` turns the TLC cache off.  `scheduler` (a Dask
    scheduler's address, e.g. "tcp://10.0.0.1:8786") runs the points on that cluster's
    workers (runner.sweep.cluster) instead of local processes; `jobs` is then the points
    at once (default: the workers' threads).  The DataFrame's `attrs["paths"]` maps csv,
    parquet, answers, answers_json and plots to their files; `attrs["notes"]` lists what
    the caller should be told (e.g. a worker without Java).
    """
    from runner.sweep import answers as sweep_answers
    from runner.sweep import table as sweep_table
    from runner.sweep.run import Settings, memory_mb, plan, run_points

    sweep = path_or_spec if isinstance(path_or_spec, Sweep) else load_sweep(path_or_spec)
    if jobs is not None and jobs < 1:
        raise ConfigError("jobs: must be at least 1")
    timeout = check_timeout(timeout if timeout is not None else sweep.timeout, "timeout")
    simulate = simulate if simulate is not None else sweep.simulate
    mode = mode_of(simulate)
    out_dir = Path(out) if out is not None else RESULTS / sweep.name
    axis_names = sweep.axis_names

    previous = sweep_table.read_table(out_dir, axis_names)
    rows, todo = sweep_table.kept_rows(previous, sweep.points, mode, timeout)
    before = len(previous) if previous is not None else 0
    changed = not (previous is not None and len(rows) == before and not todo)
    state = SweepProgress(total=len(sweep.points), skipped=len(sweep.points) - len(todo))

    def report() -> None:
        if on_progress is not None:
            on_progress(state)

    if todo:
        settings: Settings = plan(jobs, len(todo), timeout, simulate, mem_mb=memory_mb())
        state.jobs = settings.jobs
        order = {p.key: i for i, p in enumerate(sweep.points)}

        def on_message(point: Point, kind: str, payload: Any) -> None:
            if kind in ("done", "failed"):
                state.running.pop(point.label, None)
                state.done += 1
                state.failed += kind == "failed"
                state.timed_out += any(r.get("verdict") == "timeout" for r in payload)
                state.seconds_done.append(payload[0].get("point_seconds") or 0.0)
                state.last = f"{point.label}: {_summary(payload)}"
                rows[:] = [r for r in rows if r["point"] != point.key]  # never twice
                rows.extend(payload)
                rows.sort(key=lambda r: order.get(r["point"], len(order)))
                sweep_table.write_table(sweep_table.to_frame(rows, axis_names), out_dir)
            else:
                state.running[point.label] = _describe(kind, payload) if payload else "starting"
            report()

        report()
        cache = Path(cache_dir) if cache_dir is not None else None
        if scheduler is not None:
            _on_cluster(scheduler, sweep.name, todo, out_dir, jar if tools is None or
                        tools.bundled else str(tools.jar), jobs, settings, cache, on_message,
                        report, state)
        else:
            if tools is None:
                from runner.java import locate_tools

                tools = locate_tools(jar)
            from runner.cds import archive_args

            archive_args(tools, settings.heap_mb)  # made once here, not by the first points
            run_points(sweep.name, todo, out_dir, tools, settings, cache, on_message, report)

    df = sweep_table.to_frame(rows, axis_names)
    paths: dict[str, Any] = output_paths(out_dir)
    if changed or not paths["csv"].exists() or not paths["parquet"].exists():
        sweep_table.write_table(df, out_dir)
    if changed or not paths["answers"].exists():
        _write(paths["answers"], sweep_answers.answers_markdown(sweep.name, df, axis_names,
                                                                ATTACHMENTS))
        _write(paths["answers_json"], json.dumps(answers_json(df, axis_names), indent=1,
                                                 default=str) + "\n")
    paths["plots"] = sorted(out_dir.glob("growth-*.png")) + sorted(out_dir.glob("growth-*.svg"))
    paths["plots"] += [p for p in (out_dir / "verdicts.png", out_dir / "verdicts.svg")
                       if p.exists()]
    if plots and (changed or not paths["plots"]):
        from runner.sweep.plots import plot_all

        paths["plots"] = plot_all(df, axis_names, out_dir)
    df.attrs["paths"] = {k: ([str(p) for p in v] if isinstance(v, list) else str(v))
                         for k, v in paths.items()}
    df.attrs["checked"] = state.done
    df.attrs["failed"] = state.failed
    df.attrs["timed_out"] = state.timed_out
    df.attrs["notes"] = list(state.notes)
    return df


def _on_cluster(scheduler: str, name: str, todo: list[Point], out: Path, jar: str | None,
                jobs: int | None, settings: Any, cache: Path | None, on_message: Any,
                report: Callable[[], None], state: SweepProgress) -> None:
    """The points on a Dask cluster: its workers with Java, as many at once as they have
    threads (or `jobs`), one TLC worker each."""
    from runner.sweep import cluster
    from runner.sweep.run import plan

    client = cluster.connect(scheduler)
    try:
        good, bad = cluster.check_workers(client, jar)
        for worker, why in sorted(bad.items()):
            state.notes.append(f"Dask worker {worker} gets no point: {why}")
        threads = cluster.worker_threads(client, good)
        settings = plan(jobs or threads, len(todo), settings.timeout, settings.simulate,
                        cores=threads, mem_mb=None)
        state.jobs = settings.jobs
        report()
        cluster.run_points(client, name, todo, out, jar, settings, cache,
                           good if bad else [], on_message, report)
    finally:
        client.close()


def answers_json(df: pd.DataFrame, axis_names: list[str]) -> dict[str, Any]:
    from runner.sweep import answers as a

    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [{k: (None if _na(v) else v) for k, v in r.items()}
                for r in frame.to_dict("records")]

    return {"counts": a.verdict_counts(df) if not df.empty else {},
            "smallest_violations": records(a.smallest_violations(df, axis_names)),
            "growth": records(a.growth(df, axis_names)),
            "largest_complete": records(a.largest_complete(df, axis_names)),
            "attachments": ATTACHMENTS}


def _na(v: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _write(path: Path, text: str) -> None:
    ensure_dir(path.parent)
    write_atomic(path, text)

