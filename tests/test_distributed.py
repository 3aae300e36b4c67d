"""Distributed TLC (runner.distributed): the judge on captured server output (pure), then
real servers and workers on 127.0.0.1: the same verdict and distinct-state count as a normal
run, on a spec of our own and on committed models; `mmcheck worker` joining a server; no
JVM left after a timeout or Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CORPUS_SPECS, jvms_mentioning

from runner.distributed import judge, parse_address, run_distributed, temporal_properties
from runner.errors import ConfigError
from runner.tlc import run_tlc
from runner.tlc_output import Outcome, parse_tlc_output

CAPTURED = Path(__file__).parent / "corpus" / "distributed"
ROOT = Path(__file__).parent.parent

# Ours: PlusCal (translated in the private copy), two processes taking a lock around a
# bounded counter; 1,000-odd states.
RING = r"""---- MODULE Ring ----
EXTENDS Naturals
CONSTANTS Procs, Max
(* --algorithm Ring
variables count = 0, holder = 0;
fair process p \in Procs
variables mine = 0;
begin
  loop:
    while count < Max do
      take:
        await holder = 0;
        holder := self;
      bump:
        if count < Max then
          count := count + 1;
          mine := mine + 1;
        end if;
      give:
        holder := 0;
    end while;
end process;
end algorithm; *)
TypeOK == count \in 0..Max /\ holder \in Procs \cup {0}
Exclusive == holder # 0 => pc[holder] \in {"bump", "give"}
Small == count < Max
====
"""
CFG = "CONSTANTS Procs = {1, 2, 3}\nMax = 4\nSPECIFICATION Spec\nINVARIANT TypeOK Exclusive\n"


def test_parse_address_and_temporal_properties() -> None:
    assert parse_address("node7") == ("node7", 10997)
    assert parse_address("10.0.0.2:4000") == ("10.0.0.2", 4000)
    for bad in ("", ":1", "h:x", "h:0", "h:70000"):
        with pytest.raises(ConfigError, match="not a server address"):
            parse_address(bad)
    cfg = "SPECIFICATION Spec\n\\* PROPERTY Commented\nPROPERTY Reach\nINVARIANT TypeOK\n" \
          "PROPERTIES A\n  B\nCONSTANT TLCSet <- X\n"
    assert temporal_properties(cfg) == ["Reach", "A", "B"]


def captured(name: str) -> str:
    return (CAPTURED / f"{name}.out").read_text()


def test_judge_names_what_the_server_leaves_out() -> None:
    ok = judge(parse_tlc_output(captured("ok"), 0), "INIT Init\nNEXT Next\n", True)
    assert ok.outcome is Outcome.OK and ok.stats.distinct_states == 20  # as TLC's 20
    assert ok.disagreement is None
    # Inv.tla: Small is violated; the server says nothing but a bare trace, and exits 0
    raw = parse_tlc_output(captured("invariant"), 0)
    assert raw.outcome is Outcome.TOOL_ERROR
    inv = judge(raw, "INIT Init\nNEXT Next\nINVARIANT Small\n", True)
    assert inv.outcome is Outcome.INVARIANT and inv.violated is None and inv.trace is None
    assert "an invariant or deadlock freedom is violated (Small checked)" in inv.message
    only_inv = judge(raw, "INIT Init\nNEXT Next\nINVARIANT Small\n", False)
    assert only_inv.message.startswith("an invariant is violated")
    dead = judge(raw, "INIT Init\nNEXT Next\n", True)
    assert dead.outcome is Outcome.DEADLOCK
    # Live.tla: Reach is violated, but the server checks no temporal property
    live = judge(parse_tlc_output(captured("liveness"), 0), "PROPERTY Reach\n", True)
    assert live.outcome is Outcome.OK


# ---------------------------------------------------------------- the real engine


@pytest.fixture
def ring(tmp_path: Path) -> Path:
    (tmp_path / "Ring.tla").write_text(RING)
    (tmp_path / "Ring.cfg").write_text(CFG)
    (tmp_path / "Small.cfg").write_text(CFG.replace("Exclusive", "Small"))
    return tmp_path / "Ring.tla"


def translate_in(tools):  # type: ignore[no-untyped-def]
    from runner.pcal import translate

    return lambda work, name: translate(work / name, tools=tools) and None


@pytest.mark.java
def test_own_spec_same_verdict_and_states_as_normal_tlc(tools, ring: Path,  # type: ignore[no-untyped-def]
                                                        private_tmp: Path) -> None:
    prepare = translate_in(tools)
    normal = run_tlc(ring, tools=tools, workers=1, prepare=prepare)
    dist = run_distributed(ring, tools=tools, workers=2, threads=1, timeout=120,
                           prepare=prepare)
    assert normal.outcome is Outcome.OK and dist.outcome is Outcome.OK
    assert normal.stats.distinct_states is not None and normal.stats.distinct_states > 500
    assert dist.stats.distinct_states == normal.stats.distinct_states
    assert dist.stats.states_left == 0

    cfg = ring.with_name("Small.cfg")
    normal = run_tlc(ring, cfg, tools=tools, workers=1, prepare=prepare, deadlock=False)
    dist = run_distributed(ring, cfg, tools=tools, workers=2, threads=1, timeout=120,
                           prepare=prepare, deadlock=False)
    assert normal.outcome is Outcome.INVARIANT and normal.violated == "Small"
    assert dist.outcome is Outcome.INVARIANT and dist.violated is None
    assert dist.message.startswith("an invariant is violated (TypeOK, Small checked)")
    assert jvms_mentioning(str(private_tmp)) == []
    assert list(private_tmp.iterdir()) == []


@pytest.mark.java
def test_committed_models_same_verdicts_and_states(tools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from gen.load import load_models
    from gen.model import INVARIANTS, LIVENESS
    from runner.check import Options, check_model

    models = {m.name: m for m in load_models(ROOT / "specs" / "matrix.toml")}
    for name in ("vm_dead-fault", "detach_merged-growsdown"):
        model = models[name]
        normal = check_model(model, tmp_path / "normal" / name, tools,
                             options=Options(workers=1, quick_jit=True))
        dist = check_model(model, tmp_path / "dist" / name, tools,
                           options=Options(workers=1, quick_jit=True, distributed=2))
        assert dist.runs[0].name == "distributed-1"
        for prop in (*INVARIANTS, "DeadlockFree"):
            assert dist.verdicts[prop].verdict == normal.verdicts[prop].verdict, (name, prop)
            assert dist.verdicts[prop].matches
        assert {dist.verdicts[p].verdict for p in LIVENESS} == {"not-checked"}
        if dist.runs[0].outcome == "ok":  # complete: the whole state space, as TLC's
            assert dist.runs[0].distinct_states == normal.distinct_states
            assert dist.distinct_states == normal.distinct_states
    # a violation is named by a normal run after the distributed one
    assert dist.runs[0].outcome == "invariant" and len(dist.runs) > 1
    assert dist.verdicts["PageTableSafety"].verdict == "violated"
    assert dist.verdicts["PageTableSafety"].trace is not None


@pytest.mark.java
def test_mmcheck_worker_joins_a_server_started_without_workers(tmp_path: Path) -> None:
    from runner.distributed import free_port

    for f in ("Ok.tla", "Ok.cfg"):
        (tmp_path / f).write_text((CORPUS_SPECS / f).read_text())
    port = free_port()
    mm = [sys.executable, "-m", "runner.cli"]
    server = subprocess.Popen([*mm, "tlc", str(tmp_path / "Ok.tla"), "--distributed", "0",
                               "--port", str(port), "--timeout", "120"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    worker = subprocess.run([*mm, "worker", f"127.0.0.1:{port}", "--threads", "1",
                             "--timeout", "120"], cwd=ROOT, capture_output=True, timeout=180,
                            check=False)
    out, err = server.communicate(timeout=180)
    assert server.returncode == 0, err.decode()
    assert b"ready at 127.0.0.1:" in err and b"states: 20 distinct" in out
    assert worker.returncode == 0, worker.stderr.decode()
    assert b"work completed" in worker.stdout


@pytest.mark.java
def test_timeout_kills_server_and_workers(tools, corpus_specs: Path,  # type: ignore[no-untyped-def]
                                          private_tmp: Path) -> None:
    seen: list[int] = []
    r = run_distributed(corpus_specs / "Forever.tla", tools=tools, workers=2, threads=1,
                        timeout=8, on_ready=seen.append)
    assert seen, "the workers never started"
    assert r.outcome is Outcome.TIMEOUT
    assert jvms_mentioning(str(private_tmp)) == []
    assert list(private_tmp.iterdir()) == []


@pytest.mark.java
def test_ctrl_c_kills_server_and_workers(corpus_specs: Path, private_tmp: Path) -> None:
    env = dict(os.environ, TMPDIR=str(private_tmp))
    proc = subprocess.Popen([sys.executable, "-m", "runner.cli", "tlc", "--distributed", "2",
                             "--workers", "1", str(corpus_specs / "Forever.tla")], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(jvms_mentioning(str(private_tmp))) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(jvms_mentioning(str(private_tmp))) == 3, "server and 2 workers never ran"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert jvms_mentioning(str(private_tmp)) == []
    assert list(private_tmp.iterdir()) == []


@pytest.mark.java
def test_workers_are_registered_so_cancel_all_ends_them(tools, corpus_specs: Path,  # type: ignore[no-untyped-def]
                                                        private_tmp: Path) -> None:
    from runner import java

    seen: list[tuple[int, list[int]]] = []

    def ready(port: int) -> None:  # the server takes workers: both have been started
        with java._live_lock:
            live = len(java._live)
        java.cancel_all()  # what Ctrl-C and SIGTERM do
        seen.append((live, jvms_mentioning(str(private_tmp))))

    try:
        run_distributed(corpus_specs / "Forever.tla", tools=tools, workers=2, threads=1,
                        timeout=60, on_ready=ready)
    finally:
        java.reset_cancel()
    assert seen == [(3, [])], "cancel_all did not reach the server and both workers"
    assert list(private_tmp.iterdir()) == []


@pytest.mark.java
def test_sigkill_ends_server_and_workers_and_the_next_run_cleans_up(corpus_specs: Path,
                                                                    private_tmp: Path) -> None:
    env = dict(os.environ, TMPDIR=str(private_tmp))
    mm = [sys.executable, "-m", "runner.cli", "tlc"]
    proc = subprocess.Popen([*mm, "--distributed", "2", "--workers", "1",
                             str(corpus_specs / "Forever.tla")], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(jvms_mentioning(str(private_tmp))) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(jvms_mentioning(str(private_tmp))) == 3, "server and 2 workers never ran"
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while jvms_mentioning(str(private_tmp)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert jvms_mentioning(str(private_tmp)) == [], "a JVM survived SIGKILL of mmcheck"
    finally:
        for pid in jvms_mentioning(str(private_tmp)):
            os.kill(pid, signal.SIGKILL)
    left = sorted(p.name for p in private_tmp.iterdir())
    assert any(n.startswith(f"mmcheck-dtlc-{proc.pid}-") for n in left), left
    again = subprocess.run([*mm, str(corpus_specs / "Ok.tla"), "--workers", "1"], env=env,
                           cwd=ROOT, capture_output=True, timeout=60, check=False)
    assert again.returncode == 0, again.stderr.decode()
    assert list(private_tmp.iterdir()) == []  # the killed run's directories are removed


@pytest.mark.java
def test_the_cache_holds_a_distributed_runs_own_output(tools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """As for normal runs (test_reliability_java): the log on disk is not the run's to trust;
    here it is a link to /dev/null, and the cache still holds what the server printed."""
    from gen.load import load_models
    from runner.cache import Cache
    from runner.check import Options, check_model

    [model] = [m for m in load_models(ROOT / "specs" / "matrix.toml") if m.name == "vm_dead-fault"]
    directory = tmp_path / "m"
    directory.mkdir()
    (directory / "distributed-1.log").symlink_to(os.devnull)
    check_model(model, directory, tools, cache=Cache(tmp_path / "cache"),
                options=Options(workers=1, quick_jit=True, distributed=2))
    entries = [p.read_text() for p in (tmp_path / "cache").glob("*/*.entry")]
    assert any("TLC Server Version" in e for e in entries), "the distributed run's output"
