"""runner.jvmpool: TLC runs on long-lived JVMs give what a JVM of their own gives (the real
TLC on the corpus specs, every outcome), and keep the runner's contract (timeouts, Ctrl-C,
the log, nothing left behind)."""
from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))

from capture import CASES

from runner import java, jvmpool
from runner.java import QUICK_JIT
from runner.tlc import run_tlc
from runner.tlc_output import Outcome, TlcResult

pytestmark = pytest.mark.java

SPECS = Path(__file__).resolve().parent / "corpus" / "specs"
PID = re.compile(r"\[pid: (\d+)\]")
# Every case that runs TLC on a spec as it is (no translation; the timeout case is below)
TLC_CASES = [n for n, c in CASES.items()
             if not c.get("pcal") and not c.get("pcal_only")
             and n not in ("timeout", "config_missing_file")]  # (run_tlc refuses the latter)


def pid_of(result: TlcResult) -> str | None:
    m = PID.search(result.output)
    return m.group(1) if m else None


def summary(r: TlcResult) -> tuple[object, ...]:
    """What a run decides: everything the parser makes of it but the timings."""
    trace = None if r.trace is None else (
        tuple((s.action, dict(s.values)) for s in r.trace.states), r.trace.loop_to,
        r.trace.stuttering)
    s = r.stats
    return (r.outcome, r.violated, r.exit_code, r.disagreement, r.violations, s.initial_states,
            s.states_generated, s.distinct_states, s.states_left, s.depth, trace)


def run_case(name: str, tools: java.JavaTools, work: Path, **kw: object) -> TlcResult:
    case = CASES[name]
    spec_dir = work / name
    if not spec_dir.exists():
        shutil.copytree(SPECS, spec_dir)
    heap = next((int(a[4:-1]) for a in case.get("jvm", []) if a.startswith("-Xmx")), None)
    return run_tlc(spec_dir / f"{case['spec']}.tla", spec_dir / f"{case['cfg']}.cfg",
                   tools=tools, workers=1, extra_args=case.get("args", []), heap_mb=heap,
                   timeout=60, jvm_args=QUICK_JIT, **kw)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _pool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MMCHECK_POOL", raising=False)
    monkeypatch.setenv("MMCHECK_POOL_DIR", str(tmp_path / "pool-cache"))
    jvmpool._compiled.clear()


def test_every_corpus_outcome_is_the_same_on_the_pool(tools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alone = {n: run_case(n, tools, tmp_path) for n in TLC_CASES}
    with jvmpool.session():
        first = run_case("ok", tools, tmp_path)
        pooled = {n: run_case(n, tools, tmp_path) for n in TLC_CASES}
    assert jvmpool.launcher(tools) is not None  # a JDK here: the pool was used
    for n in TLC_CASES:
        if "-simulate" in CASES[n].get("args", []):  # random behaviours: their outcome only
            assert summary(pooled[n])[:3] == summary(alone[n])[:3], n
        else:
            assert summary(pooled[n]) == summary(alone[n]), n
        assert pooled[n].outcome.value == CASES[n]["expect"]["outcome"], n
    # the runs went to one JVM (until one retired it): the pid TLC prints is the same, and
    # not the lone run's
    pid = pid_of(first)
    assert pid is not None and pid == pid_of(pooled["ok"]) == pid_of(pooled["invariant"])
    assert pid != pid_of(alone["ok"])
    # ... and the end of the session ended every JVM of the pool
    last = pid_of(pooled[TLC_CASES[-1]]) or pid
    for p in (pid, last):
        assert not Path(f"/proc/{p}").exists() or \
            "State:\tZ" in Path(f"/proc/{p}/status").read_text()


def test_no_pool_outside_a_session_or_when_turned_off(tools, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = run_case("ok", tools, tmp_path)
    second = run_case("ok", tools, tmp_path)
    assert pid_of(first) != pid_of(second)
    with jvmpool.session():  # runs with the full JIT (expected to be long): a JVM each
        spec = tmp_path / "ok"
        full = [run_tlc(spec / "Ok.tla", spec / "Ok.cfg", tools=tools, workers=1)
                for _ in range(2)]
    assert pid_of(full[0]) != pid_of(full[1])
    monkeypatch.setenv("MMCHECK_POOL", "0")
    with jvmpool.session():
        third = run_case("ok", tools, tmp_path)
        fourth = run_case("ok", tools, tmp_path)
    assert pid_of(third) != pid_of(fourth)


def test_a_timeout_kills_the_jvm_and_the_next_run_gets_another(tools, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                private_tmp: Path) -> None:
    log = tmp_path / "forever.log"
    with jvmpool.session():
        before = run_case("ok", tools, tmp_path)
        spec = tmp_path / "ok"
        started = time.monotonic()
        r = run_tlc(spec / "Forever.tla", spec / "Forever.cfg", tools=tools, workers=1,
                    timeout=3, log_path=log, jvm_args=QUICK_JIT)
        assert time.monotonic() - started < 30
        after = run_case("ok", tools, tmp_path)
    assert r.outcome is Outcome.TIMEOUT and r.exit_code is None
    assert log.read_text() == r.output and "TLC2 Version" in r.output
    assert pid_of(after) not in (None, pid_of(before))
    assert summary(after) == summary(before)
    assert list(private_tmp.iterdir()) == []  # the pool's private directories are gone


def test_cancel_all_kills_the_idle_pool(tools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with jvmpool.session():
        r = run_case("ok", tools, tmp_path)
        pid = int(pid_of(r) or 0)
        java.cancel_all()
        try:
            deadline = time.monotonic() + 10
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
                    break
                time.sleep(0.05)
            dead = not Path(f"/proc/{pid}").exists() or \
                "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
            with pytest.raises(java.Cancelled):
                run_case("ok", tools, tmp_path)
        finally:
            java.reset_cancel()
    assert dead
