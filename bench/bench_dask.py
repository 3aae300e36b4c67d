#!/usr/bin/env python3
"""A sweep on a local Dask cluster (a `dask scheduler` and two `dask worker` processes on
127.0.0.1, one thread each) against the same sweep run locally (the process pool, 2 jobs):
wall time of each and whether their rows are the same; and what a LocalCluster costs to
start and stop (why local sweeps keep the process pool).  Prints figures; not a test.

The sweep: specs/sweeps/growth.toml with pages 4 and 6 and 1 to 3 fault threads (12
points), no cache, interleaved: local, dask, local, dask ... (--rounds).

    .venv/bin/python bench/bench_dask.py [--rounds N]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAME = ["point", "model_hash", "property", "verdict", "message", "run", "distinct_states",
        "states_generated", "depth", "point_distinct_states", "point_states_generated",
        "point_depth"]


def sweep_file(directory: Path) -> Path:
    text = (ROOT / "specs" / "sweeps" / "growth.toml").read_text()
    text = text.replace("pages = [4, 6, 8, 10]", "pages = [4, 6]").replace(
        '"threads[0].count" = [1, 2, 3, 4, 5]', '"threads[0].count" = [1, 2, 3]')
    path = directory / "bench-growth.toml"
    path.write_text(text.replace("[sweep]", '[sweep]\nname = "bench-growth"', 1))
    return path


def start_cluster(directory: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    dask = str(Path(sys.executable).parent / "dask")
    sched_file = directory / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sched_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)]
    while not sched_file.exists():
        time.sleep(0.1)
    address = json.loads(sched_file.read_text())["address"]
    for i in (1, 2):
        procs.append(subprocess.Popen([dask, "worker", address, "--host", "127.0.0.1",
                                       "--nthreads", "1", "--no-dashboard", "--name",
                                       f"bench{i}"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
    return address, procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in reversed(procs):
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def local_cluster_cost() -> tuple[float, float]:
    """(start, stop) seconds of a LocalCluster of two worker processes, one thread each."""
    code = ("import time\n"
            "if __name__ == '__main__':\n"
            "    t0 = time.perf_counter()\n"
            "    from distributed import Client, LocalCluster\n"
            "    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,\n"
            "                     dashboard_address=':0')\n"
            "    cl = Client(c); cl.submit(sum, [1]).result()\n"
            "    t1 = time.perf_counter(); cl.close(); c.close()\n"
            "    print(t1 - t0, time.perf_counter() - t1)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    start, stop_ = (float(x) for x in out.stdout.split())
    return start, stop_


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    from runner.sweep import run_sweep

    times: dict[str, list[float]] = {"local": [], "dask": []}
    frames = {}
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        root = Path(tmp)
        path = sweep_file(root)
        address, procs = start_cluster(root)
        try:
            for r in range(args.rounds):
                for kind in ("local", "dask") if r % 2 == 0 else ("dask", "local"):
                    out = root / f"{kind}-{r}"
                    started = time.monotonic()
                    df = run_sweep(path, out=out, cache_dir=None, plots=False,
                                   jobs=2 if kind == "local" else None,
                                   scheduler=address if kind == "dask" else None)
                    times[kind].append(time.monotonic() - started)
                    frames[kind] = df
                    print(f"  {kind}: {times[kind][-1]:.1f} s ({df['point'].nunique()} "
                          f"points)", file=sys.stderr, flush=True)
        finally:
            stop(procs)
    same = frames["local"][SAME].astype(str).equals(frames["dask"][SAME].astype(str))
    points = frames["local"]["point"].nunique()
    for kind in ("local", "dask"):
        print(f"{kind:>5}: {statistics.median(times[kind]):6.1f} s median over "
              f"{len(times[kind])} run(s), {points} points")
    print(f"dask / local: {statistics.median(times['dask']) / statistics.median(times['local']):.2f}x;"
          f" rows identical (verdicts, states, depth, messages): {same}")
    start, stop_ = local_cluster_cost()
    print(f"LocalCluster of 2 worker processes: {start:.1f} s to start (import included), "
          f"{stop_:.1f} s to stop")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
