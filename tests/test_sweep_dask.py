"""Sweeps on a real Dask cluster on 127.0.0.1: a `dask scheduler` and two `dask worker`
processes (with their nannies), started here.  The rows are those of a local run; a worker
killed during a point has the point run again elsewhere, once, leaving no JVM behind; a
worker without Java is reported and gets no point; an unreachable scheduler is a one-line
error."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import jvms_mentioning

from gen.model import PROPERTIES
from runner.errors import ConfigError
from runner.sweep import run_sweep

distributed = pytest.importorskip("distributed")  # installed by `make test` ([dask] extra)
pytestmark = pytest.mark.java

SWEEP = """
[sweep]
name = "tiny"
timeout = 120
[sweep.axes]
protocol = ["vm_dead", "detach_merged"]
[base]
protocol = "vm_dead"
pages = 4
ptes_per_table = 2
munmap = { start = 1, end = 3 }
vmas = [ { start = 1, end = 3, flags = [] }, { start = 3, end = 5, flags = ["growsdown"] } ]
threads = [ { kind = "fault", access = "write", addr = 2 } ]
threshold_pages = 2
"""
# A point with a TLC run of several seconds, to kill its worker in the middle of.
SLOW = SWEEP.replace('name = "tiny"', 'name = "slow"').replace(
    'protocol = ["vm_dead", "detach_merged"]', 'protocol = ["vm_dead"]').replace(
    'threads = [ { kind = "fault", access = "write", addr = 2 } ]',
    'threads = [ { kind = "fault", access = "read", addr = 2, count = 4 } ]')

# What a point's result is, wherever it ran (not when, how long, where its files are).
SAME = ["point", "model", "model_hash", "mode", "protocol", "property", "verdict", "message",
        "run", "distinct_states", "states_generated", "depth", "point_distinct_states",
        "point_states_generated", "point_depth", "timeout"]


@dataclass
class Cluster:
    address: str
    client: Any
    tmp: Path  # the workers' TMPDIR: every JVM they start names it
    env: dict[str, str]
    scheduler_file: Path
    procs: list[subprocess.Popen[bytes]]


def _start_worker(scheduler_file: Path, name: str, env: dict[str, str],
                  log: Path) -> subprocess.Popen[bytes]:
    dask = str(Path(sys.executable).parent / "dask")
    return subprocess.Popen([dask, "worker", "--scheduler-file", str(scheduler_file),
                             "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard",
                             "--name", name, "--death-timeout", "60"],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("dask")
    tmp = root / "tmp"
    tmp.mkdir()
    scheduler_file = root / "scheduler.json"
    env = dict(os.environ, TMPDIR=str(tmp))
    dask = str(Path(sys.executable).parent / "dask")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                              stdout=(root / "scheduler.log").open("w"),
                              stderr=subprocess.STDOUT, env=env, start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs += [_start_worker(scheduler_file, f"w{i}", env, root / f"w{i}.log")
                  for i in (1, 2)]
        client = distributed.Client(address, timeout=60, set_as_default=False)
        client.wait_for_workers(2, timeout=60)
        yield Cluster(address, client, tmp, env, scheduler_file, procs)
        client.close()
    finally:
        for p in reversed(procs):
            _stop(p)
    assert jvms_mentioning(str(tmp)) == []


def test_a_sweep_on_the_cluster_gives_the_rows_of_a_local_run(cluster: Cluster,  # type: ignore[no-untyped-def]
                                                              tmp_path: Path, tools) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(SWEEP)
    local = run_sweep(path, jobs=2, out=tmp_path / "local", cache_dir=None, tools=tools,
                      plots=False)
    seen: list[int] = []
    remote = run_sweep(path, out=tmp_path / "dask", cache_dir=None, plots=False,
                       scheduler=cluster.address, on_progress=lambda s: seen.append(s.done))
    assert remote.attrs["checked"] == 2 and remote.attrs["failed"] == 0
    assert remote.attrs["notes"] == []
    assert len(remote) == 2 * len(PROPERTIES)
    assert remote[SAME].astype(str).equals(local[SAME].astype(str))
    assert 1 in seen and 2 in seen  # rows came point by point
    # the point's files came back: traces, logs, attachment, result.json naming its place
    for row in remote[remote["verdict"] == "violated"].itertuples():
        assert Path(row.trace).is_file() and Path(row.trace).parent == Path(row.directory)
    d = Path(remote["directory"].iloc[0])
    assert d.parent == tmp_path / "dask" / "points"
    assert (d / "attachment.txt").is_file() and list(d.glob("*.log"))
    assert json.loads((d / "result.json").read_text())["directory"] == str(d)
    assert (remote["peak_rss_mb"] > 30).all()  # measured on the worker, as locally

    again = run_sweep(path, out=tmp_path / "dask", cache_dir=None, plots=False,
                      scheduler=cluster.address)
    assert again.attrs["checked"] == 0 and len(again) == len(remote)


def test_a_killed_worker_has_its_point_run_elsewhere_once(cluster: Cluster,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "slow.toml"
    path.write_text(SLOW)
    out = tmp_path / "out"
    result: dict[str, Any] = {}

    def sweep() -> None:
        try:
            result["df"] = run_sweep(path, out=out, cache_dir=None, plots=False,
                                     scheduler=cluster.address)
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            result["error"] = e

    pids = cluster.client.run(os.getpid)  # worker address -> its process
    thread = threading.Thread(target=sweep)
    thread.start()
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        busy = [w for w, keys in cluster.client.processing().items() if keys]
        running = set(jvms_mentioning(str(cluster.tmp))) & (
            set(jvms_mentioning("safety-")) | set(jvms_mentioning("liveness-")))
        if busy and running:
            victim = busy[0]
        time.sleep(0.05)
    assert victim is not None, "the point's TLC run never started"
    os.kill(pids[victim], signal.SIGKILL)
    # Its JVM (a run of several seconds) dies with it: the point's process got SIGTERM.
    deadline = time.monotonic() + 4
    while running & set(jvms_mentioning(str(cluster.tmp))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running & set(jvms_mentioning(str(cluster.tmp))), "an orphan JVM"
    thread.join(180)
    assert not thread.is_alive()
    if "error" in result:
        raise result["error"]
    df = result["df"]
    assert df.attrs["failed"] == 0 and df.attrs["checked"] == 1
    assert len(df) == len(PROPERTIES) and df["point"].nunique() == 1  # once, not twice
    assert "error" not in set(df["verdict"])
    assert jvms_mentioning(str(cluster.tmp)) == []
    cluster.client.wait_for_workers(2, timeout=60)  # the nanny restarted it


def test_a_worker_without_java_is_reported_and_gets_no_point(cluster: Cluster,
                                                             tmp_path: Path) -> None:
    env = {k: v for k, v in cluster.env.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)  # python and dask, no java
    proc = _start_worker(cluster.scheduler_file, "nojava", env, tmp_path / "nojava.log")
    try:
        cluster.client.wait_for_workers(3, timeout=60)
        path = tmp_path / "one.toml"
        path.write_text(SWEEP.replace('protocol = ["vm_dead", "detach_merged"]',
                                      'protocol = ["vm_dead"]'))
        df = run_sweep(path, out=tmp_path / "out", cache_dir=None, plots=False,
                       scheduler=cluster.address)
        (note,) = df.attrs["notes"]
        assert "gets no point" in note and "java not found" in note
        assert df.attrs["failed"] == 0 and "error" not in set(df["verdict"])
    finally:
        _stop(proc)


def test_an_unreachable_scheduler_is_a_one_line_error(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.sweep import cluster as dask_backend

    monkeypatch.setattr(dask_backend, "CONNECT_TIMEOUT", 2.0)
    path = tmp_path / "tiny.toml"
    path.write_text(SWEEP)
    with pytest.raises(ConfigError, match="cannot reach a Dask scheduler") as e:
        run_sweep(path, out=tmp_path / "out", scheduler="tcp://127.0.0.1:9")
    assert "\n" not in str(e.value)
