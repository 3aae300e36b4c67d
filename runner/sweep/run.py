"""Check the points of a sweep, several at once: one forked process per point.

Each point runs runner.check.check_model in a process of its own (forked, so it
costs no interpreter start), with its own TLC worker count and heap and a deadline
for the whole point.  A process per point gives an exact figure for its memory:
the peak resident size of the largest JVM it waited for (getrusage of its
children); a thread per point could not tell the JVMs apart.  The point reports
back through a pipe ("run", "progress", then "done" with its rows or "failed");
on Ctrl-C or an exception every running point is stopped (SIGTERM, on which its
process kills its JVM's process group and starts no other) and nothing of it is
recorded.  A point's process dies with the sweep (PR_SET_PDEATHSIG), SIGKILL too.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from gen.model import PROPERTIES
from runner.cache import Cache
from runner.check import ModelResult, Options, Simulation, check_model
from runner.files import write_atomic
from runner.java import Cancelled, JavaTools, cancel_all, tie_to_parent
from runner.sweep.spec import Point, column_value

STOP_GRACE_SECONDS = 10.0

# (point, kind, payload): kind "start" (None), "run" (text), "progress" ((distinct,
# generated)), "done" (rows), "failed" (rows; payload rows say why)
Message = Callable[[Point, str, Any], None]


@dataclass(frozen=True)
class Settings:
    """How each point is run."""

    jobs: int  # points at once
    workers: int  # TLC workers of each point
    heap_mb: int | None  # -Xmx of each TLC
    timeout: float  # seconds for a whole point
    simulate: Simulation | None

    @property
    def mode(self) -> str:
        s = self.simulate
        return "exhaustive" if s is None else f"simulate:{s.behaviours}:{s.depth}"


def memory_mb() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def plan(jobs: int | None, points: int, timeout: float, simulate: Simulation | None,
         cores: int | None = None, mem_mb: int | None = None) -> Settings:
    """`jobs` points at once (default: cores); each TLC gets cores/jobs workers (1 when
    jobs >= cores) and half the machine's memory split evenly between the jobs."""
    cores = cores or os.cpu_count() or 1
    jobs = max(1, jobs or cores)
    busy = max(1, min(jobs, points))
    workers = max(1, cores // busy)
    heap = max(256, mem_mb // 2 // busy) if mem_mb else None
    return Settings(jobs, workers, heap, timeout, simulate)


# ---------------------------------------------------------------- rows of one point


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _base_row(sweep: str, point: Point, settings: Settings, directory: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"sweep": sweep, "point": point.key, "model": point.model.name,
                           "model_hash": point.model_hash, "mode": settings.mode}
    row.update({k: column_value(v) for k, v in point.axes})
    sim = settings.simulate
    row.update(protocol=point.model.protocol, workers=settings.workers,
               heap_mb=settings.heap_mb, timeout=settings.timeout,
               behaviours=sim.behaviours if sim else None, sim_depth=sim.depth if sim else None,
               directory=str(directory), finished=_now())
    return row


def point_rows(sweep: str, point: Point, settings: Settings, directory: Path,
               result: ModelResult, peak_kb: int | None,
               progress: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """One row per property; counterexamples written beside the point's result.json."""
    runs = {r.name: r for r in result.runs}
    known = [r for r in result.runs if r.distinct_states is not None]
    largest = max(known, key=lambda r: r.distinct_states or 0, default=None)
    p_distinct = largest.distinct_states if largest else None
    p_generated = largest.states_generated if largest else None
    if progress is not None and progress[0] is not None and (p_distinct is None
                                                             or progress[0] > p_distinct):
        p_distinct, p_generated = progress  # a timed-out run: what it had found (lower bound)
    all_cached = bool(result.runs) and all(r.cached for r in result.runs)
    peak = None if all_cached or not peak_kb else round(peak_kb / 1024, 1)
    sim = settings.simulate
    rows = []
    for prop in PROPERTIES:
        v = result.verdicts[prop]
        r = runs.get(v.run) if v.run else None
        trace = None
        if v.trace is not None:
            path = directory / f"trace-{prop}.json"
            write_atomic(path, json.dumps({"model": point.model.name, "property": prop,
                                           "run": v.run, "trace": v.trace.to_dict()}, indent=1))
            trace = str(path)
        message = v.message
        if v.verdict == "no-violation" and sim is not None:
            message = f"no violation in {sim.behaviours} behaviours (depth <= {sim.depth})"
        row = _base_row(sweep, point, settings, directory)
        row.update(property=prop, verdict=v.verdict, message=message, run=v.run,
                   distinct_states=r.distinct_states if r else None,
                   states_generated=r.states_generated if r else None,
                   depth=r.depth if r else None, seconds=r.seconds if r else None,
                   point_distinct_states=p_distinct, point_states_generated=p_generated,
                   point_depth=largest.depth if largest else None,
                   point_seconds=round(result.seconds, 3), peak_rss_mb=peak,
                   cached=all_cached, trace=trace)
        rows.append(row)
    return rows


def failed_rows(sweep: str, point: Point, settings: Settings, directory: Path,
                why: str, seconds: float) -> list[dict[str, Any]]:
    """A point whose check raised (or whose process died): every property "error"; it is
    checked again by the next run of the sweep."""
    rows = []
    for prop in PROPERTIES:
        row = _base_row(sweep, point, settings, directory)
        row.update(property=prop, verdict="error", message=why, run="failed",
                   point_seconds=round(seconds, 3), cached=False)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- the point's process


def _stop_point(signum: int, frame: Any) -> None:
    """SIGTERM/SIGINT of a point: kill its JVM (from a thread: the handler may have
    interrupted this one inside runner.java's lock) and start none; the check then ends with
    Cancelled.  Raising here instead would land anywhere, inside a Popen.__del__ too
    ("Exception ignored in: <function Popen.__del__>"), and be lost."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=cancel_all, daemon=True).start()


def _child(conn: Connection, sweep: str, point: Point, directory: Path, tools: JavaTools,
           settings: Settings, cache_dir: Path | None) -> None:
    signal.signal(signal.SIGTERM, _stop_point)
    signal.signal(signal.SIGINT, _stop_point)
    # SIGKILL of the sweep must not leave this point running: its death TERMs us (and our
    # JVMs, tied to us, die with us).
    parent = multiprocessing.parent_process()
    tie_to_parent(signal.SIGTERM, parent.pid if parent is not None else None)
    started = time.monotonic()
    last: list[tuple[int, int]] = []
    try:
        options = Options(timeout=settings.timeout, workers=settings.workers,
                          heap_mb=settings.heap_mb, simulate=settings.simulate, quick_jit=True)
        options = replace(options, deadline=started + settings.timeout)

        def on_event(kind: str, model: Any, text: str) -> None:
            if kind == "run":
                last.clear()
                conn.send(("run", text))

        def on_progress(model: Any, p: Any) -> None:
            last[:] = [(p.distinct_states, p.states_generated)]
            conn.send(("progress", last[0]))

        result = check_model(point.model, directory, tools, options=options,
                             cache=Cache(cache_dir) if cache_dir else None,
                             on_event=on_event, on_progress=on_progress)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        from runner.report import attachment

        write_atomic(directory / attachment.ATTACHMENT, attachment.render(result))
        timed_out = any(v.verdict == "timeout" for v in result.verdicts.values())
        rows = point_rows(sweep, point, settings, directory, result, peak_kb,
                          last[0] if last and timed_out else None)
        conn.send(("done", rows))
    except (KeyboardInterrupt, Cancelled):
        pass  # stopped: record nothing
    except Exception as e:  # noqa: BLE001 - a failed point is data for the table
        why = f"{type(e).__name__}: {e}".replace("\n", " ")
        try:
            conn.send(("failed", failed_rows(sweep, point, settings, directory, why,
                                             time.monotonic() - started)))
        except OSError:
            pass
    finally:
        conn.close()


# ---------------------------------------------------------------- the scheduler


@dataclass
class _Running:
    point: Point
    process: Any  # multiprocessing.Process
    conn: Connection
    started: float
    finished: bool = False


def run_points(sweep: str, points: Sequence[Point], out: Path, tools: JavaTools,
               settings: Settings, cache_dir: Path | None, on_message: Message,
               on_tick: Callable[[], None] | None = None) -> None:
    """Check `points`, `settings.jobs` at a time; every message goes to `on_message` (in
    this process, from this thread).  Points' files go to out/points/<model name>/."""
    ctx = multiprocessing.get_context("fork")
    pending = deque(points)
    running: dict[Connection, _Running] = {}
    try:
        while pending or running:
            while pending and len(running) < settings.jobs:
                point = pending.popleft()
                directory = out / "points" / point.model.name
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, name=f"mmcheck-sweep {point.model.name}",
                                   args=(send, sweep, point, directory, tools, settings,
                                         cache_dir))
                proc.start()
                send.close()
                running[recv] = _Running(point, proc, recv, time.monotonic())
                on_message(point, "start", None)
            for conn in wait(list(running), timeout=0.5):
                r = running[conn]  # type: ignore[index]
                try:
                    kind, payload = r.conn.recv()
                except (EOFError, OSError):
                    r.process.join()
                    del running[r.conn]
                    r.conn.close()
                    if not r.finished:
                        why = f"the point's process exited with {r.process.exitcode}"
                        on_message(r.point, "failed", failed_rows(
                            sweep, r.point, settings, out / "points" / r.point.model.name, why,
                            time.monotonic() - r.started))
                    continue
                if kind in ("done", "failed"):
                    r.finished = True
                on_message(r.point, kind, payload)
            if on_tick is not None:
                on_tick()
    finally:
        _stop([r.process for r in running.values()])
        for r in running.values():
            r.conn.close()


def _stop(processes: list[Any]) -> None:
    """SIGTERM every live point process (it kills its JVM), then SIGKILL what is left."""
    for p in processes:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join()
