"""Check the points of a sweep on a Dask distributed cluster: one task per point.

The client (this process) submits every point; a task runs on a worker, checks the point in
a process of its own there (a new interpreter running runner.sweep.run's point process, so
its peak memory is measured as in a local sweep and a stopped point kills its JVM), in a
private directory, and sends back the point's rows and files; the client writes the files
under out/points/<model>/ and hands the rows to `on_message` as they come, exactly like
runner.sweep.run.run_points.  So the client needs no Java; each worker needs Java (checked
on every worker first: a worker without it gets no point, and none with it is an error) and
mmcheck installed, whose package brings the jar.

A worker that dies during a point (killed, out of memory, its machine gone): the point's
process gets SIGTERM with it (PR_SET_PDEATHSIG) and kills its JVM, and Dask runs the task
again on another worker.  Ctrl-C or an exception in the client: a Dask Event tells the
running tasks to stop their points (they poll it every second), the futures are cancelled
and nothing more is recorded.  A client that dies outright leaves its running points to
their per-point timeout.
"""
from __future__ import annotations

import ctypes
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from runner.errors import ConfigError, OutputError, ToolNotFound
from runner.files import ensure_dir, write_atomic
from runner.java import private_dir
from runner.sweep.run import Message, Settings, _child, failed_rows
from runner.sweep.spec import Point

CONNECT_TIMEOUT = 30.0  # seconds to reach the scheduler
WORKERS_TIMEOUT = 60.0  # seconds to wait for a first worker
POLL_SECONDS = 1.0
PR_SET_PDEATHSIG = 1


def connect(address: str) -> Any:
    """A distributed.Client for `address` (e.g. tcp://host:8786), with at least one worker."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler needs the `distributed` package: pip install "
                          "'mmcheck[dask]' (or pip install distributed)") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise ConfigError(f"--scheduler {address}: cannot reach a Dask scheduler there "
                          f"({type(e).__name__}: {e})") from None
    except ValueError as e:  # a malformed address
        raise ConfigError(f"--scheduler {address}: {e}") from None
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except (TimeoutError, OSError):
        client.close()
        raise ConfigError(f"--scheduler {address}: no worker joined within "
                          f"{WORKERS_TIMEOUT:g} s (start some with `dask worker {address}`)"
                          ) from None
    return client


def java_status(jar: str | None) -> str | None:
    """On a worker: None if it can run the TLA+ tools, else why not (one line)."""
    from runner.java import locate_tools

    try:
        locate_tools(jar)
    except ToolNotFound as e:
        return str(e)
    return None


def worker_threads(client: Any, workers: Sequence[str]) -> int:
    info = client.scheduler_info().get("workers", {})
    return sum(int(info.get(w, {}).get("nthreads", 1)) for w in workers) or 1


def check_workers(client: Any, jar: str | None) -> tuple[list[str], dict[str, str]]:
    """The workers that have Java, and why each of the others has not."""
    status = client.run(java_status, jar)
    good = sorted(w for w, why in status.items() if why is None)
    bad = {w: why for w, why in status.items() if why is not None}
    if not good:
        details = "; ".join(f"{w}: {why}" for w, why in sorted(bad.items()))
        raise ToolNotFound(f"no worker of the Dask cluster can run TLC: {details}")
    return good, bad


# ---------------------------------------------------------------- on the worker


def _die_with_parent(parent: int) -> None:
    """In the point's process: SIGTERM when the worker dies (it turns into Ctrl-C there,
    which kills the JVM's process group)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the worker died before prctl
        os.kill(os.getpid(), signal.SIGTERM)


def _point_process(parent: int, conn: Any, sweep: str, point: Point, directory: Path,
                   jar: str | None, settings: Settings, cache_dir: Path | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent)
    from runner.java import locate_tools

    try:
        tools = locate_tools(jar)
    except ToolNotFound as e:
        conn.send(("failed", failed_rows(sweep, point, settings, directory,
                                         f"ToolNotFound on {socket.gethostname()}: {e}", 0.0)))
        conn.close()
        return
    _child(conn, sweep, point, directory, tools, settings, cache_dir)


def check_point(sweep: str, point: Point, jar: str | None, settings: Settings,
                cache_dir: str | None, stop_event: str) -> dict[str, Any]:
    """The task: check `point` in a process of its own, in a private directory; return
    {"kind": "done"|"failed", "rows", "files": {name: bytes}, "host", "workdir"}.

    The process is a new interpreter (`python -m runner.sweep.cluster`), not a
    multiprocessing child: a Dask worker under a nanny is a daemonic process, which
    multiprocessing forbids to have children.  Its arguments come pickled on stdin, its
    messages go back on a pipe as runner.sweep.run's point processes send them."""
    from multiprocessing.connection import Connection

    from distributed import Event

    stop = Event(stop_event)
    work = private_dir("point")
    directory = work / point.model.name
    read_fd, write_fd = os.pipe()
    root = str(Path(__file__).resolve().parent.parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])]))
    started = time.monotonic()
    kind, rows = "failed", None
    proc = None
    recv = Connection(read_fd)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "runner.sweep.cluster", str(write_fd)],
                                stdin=subprocess.PIPE, pass_fds=(write_fd,), env=env,
                                cwd=work)
        os.close(write_fd)
        write_fd = -1
        assert proc.stdin is not None
        proc.stdin.write(pickle.dumps((os.getpid(), sweep, point, directory, jar, settings,
                                       Path(cache_dir) if cache_dir else None)))
        proc.stdin.close()
        while True:
            if recv.poll(POLL_SECONDS):
                try:
                    kind, payload = recv.recv()
                except (EOFError, OSError):
                    break
                if kind in ("done", "failed"):
                    rows = payload
                    break
            elif stop.is_set():
                break
        if rows is None:
            proc.terminate()  # stopped by the client, or the process died
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if rows is None:
            why = ("stopped by the client" if stop.is_set()
                   else f"the point's process exited with {proc.returncode}")
            rows = failed_rows(sweep, point, settings, directory, why,
                               time.monotonic() - started)
            kind = "failed"
        files = {}
        if directory.is_dir():
            for f in sorted(directory.rglob("*")):
                if f.is_file():
                    files[str(f.relative_to(directory))] = f.read_bytes()
        return {"kind": kind, "rows": rows, "files": files, "host": socket.gethostname(),
                "workdir": str(directory)}
    finally:
        if write_fd >= 0:
            os.close(write_fd)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        recv.close()
        shutil.rmtree(work, ignore_errors=True)


def _main() -> None:
    """The point's process on a worker (see check_point)."""
    from multiprocessing.connection import Connection

    conn = Connection(int(sys.argv[1]))
    parent, sweep, point, directory, jar, settings, cache_dir = pickle.loads(
        sys.stdin.buffer.read())
    _point_process(parent, conn, sweep, point, directory, jar, settings, cache_dir)


# ---------------------------------------------------------------- on the client


def _deliver(result: dict[str, Any], sweep: str, point: Point, settings: Settings,
             directory: Path) -> tuple[str, list[dict[str, Any]]]:
    """The point's message kind and rows, its files installed in `directory`; files that
    cannot be written make it a failed point (checked again by the next run), not the end
    of the sweep."""
    try:
        return result["kind"], _install(result, directory)
    except OutputError as e:
        return "failed", failed_rows(sweep, point, settings, directory,
                                     f"its results cannot be installed: {e}", 0.0)


def _install(result: dict[str, Any], directory: Path) -> list[dict[str, Any]]:
    """Write the point's files into `directory` (runner.files: atomically, an unwritable
    one is an OutputError); the rows, with their paths made local."""
    ensure_dir(directory, "point's directory")
    for name, data in result["files"].items():
        if name == "result.json":  # names the directory it was written in
            data = _relocated(data, directory)
        target = directory / name
        ensure_dir(target.parent, "point's directory")
        write_atomic(target, data)
    remote = result["workdir"]
    rows = []
    for row in result["rows"]:
        row = dict(row)
        row["directory"] = str(directory)
        trace = row.get("trace")
        if trace and trace.startswith(remote):
            row["trace"] = str(directory / os.path.relpath(trace, remote))
        rows.append(row)
    return rows


def _relocated(data: bytes, directory: Path) -> bytes:
    import json

    try:
        result = json.loads(data)
        result["directory"] = str(directory)
        return (json.dumps(result, indent=2) + "\n").encode()
    except (ValueError, TypeError):
        return data


def run_points(client: Any, sweep: str, points: Sequence[Point], out: Path, jar: str | None,
               settings: Settings, cache_dir: Path | None, workers: Sequence[str],
               on_message: Message, on_tick: Callable[[], None] | None = None) -> None:
    """Check `points` on the cluster (preferably on `workers`, when given); every message
    goes to `on_message` in this thread, as runner.sweep.run.run_points does: "run" when
    the scheduler has a point processed by a worker, then "done" or "failed"."""
    from distributed import Event

    stop_name = f"mmcheck-stop-{uuid.uuid4().hex}"
    stop = Event(stop_name, client=client)
    futures = {}
    for point in points:
        # Only where Java is (when some worker lacks it); loosely, since a restarted
        # worker comes back under a new address.
        fut = client.submit(check_point, sweep, point, jar, settings,
                            str(cache_dir.resolve()) if cache_dir else None, stop_name,
                            key=f"mmcheck-point-{point.model.name}-{uuid.uuid4().hex[:8]}",
                            workers=list(workers) or None, allow_other_workers=bool(workers),
                            pure=False)
        futures[fut] = point
    pending = set(futures)
    shown: dict[str, str] = {}  # future key -> the worker it was last seen on
    try:
        while pending:
            done = {f for f in pending if f.done()}
            if not done:
                time.sleep(POLL_SECONDS / 4)
            pending -= done
            for fut in done:
                point = futures[fut]
                directory = out / "points" / point.model.name
                try:
                    result = fut.result()
                except Exception as e:  # noqa: BLE001 - e.g. KilledWorker: a failed point
                    why = f"{type(e).__name__} on the Dask cluster: {e}".replace("\n", " ")
                    on_message(point, "failed", failed_rows(sweep, point, settings, directory,
                                                            why, 0.0))
                    continue
                on_message(point, *_deliver(result, sweep, point, settings, directory))
            if pending:
                where = {k: w for w, keys in client.processing().items() for k in keys}
                for fut in pending:
                    worker = where.get(fut.key)
                    if worker is not None and shown.get(fut.key) != worker:
                        shown[fut.key] = worker
                        on_message(futures[fut], "run", f"on {worker}")
            if on_tick is not None:
                on_tick()
    finally:
        if pending:
            stop.set()
            client.cancel(list(pending))


if __name__ == "__main__":
    _main()
