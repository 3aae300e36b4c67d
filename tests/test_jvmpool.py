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


# Specs whose runs on one shared class loader would differ from a JVM of their own if any
# of TLC's static state leaked from one run to the next (runner/MmcheckTlcPool.java, Reused):
# `x` a VARIABLE in one and an operator in the next (its string's variable location), model
# values and strings met in another order (TLC orders both by when the run first met them:
# sets and functions print and are enumerated in that order), SYMMETRY in one run and not
# in the next (TLCStateMut's permutations), another number of variables.
LEAK_SPECS = {
    "LeakA": """---- MODULE LeakA ----
EXTENDS Naturals, TLC
CONSTANT Procs
VARIABLES x, y
Perms == Permutations(Procs)
Init == x = 0 /\\ y = [p \\in Procs |-> "idle"]
Next == \\E p \\in Procs : /\\ y[p] = "idle"
                        /\\ y' = [y EXCEPT ![p] = "busy"]
                        /\\ x' = x + 1
Inv == x < 2
====
""",
    "LeakB": """---- MODULE LeakB ----
EXTENDS Naturals, FiniteSets
CONSTANT Procs
VARIABLE y
x == 3
Init == y = [p \\in Procs |-> {"busy"}]
Next == \\E p \\in Procs : y' = [y EXCEPT ![p] = y[p] \\cup {"done", "idle"}]
Inv == x = 3 /\\ \\A p \\in Procs : Cardinality(y[p]) < 3 \\/ p = CHOOSE q \\in Procs : TRUE
====
""",
}
LEAK_CFGS = {  # (spec, cfg name, cfg text)
    "a-sym": ("LeakA", "CONSTANT Procs = {p1, p2, p3}\nINIT Init\nNEXT Next\nINVARIANT Inv\n"
                       + "SYMMETRY Perms\n"),
    "b": ("LeakB", "CONSTANT Procs = {q3, p2, p1}\nINIT Init\nNEXT Next\nINVARIANT Inv\n"),
    "a": ("LeakA", "CONSTANT Procs = {p1, p2, p3}\nINIT Init\nNEXT Next\nINVARIANT Inv\n"),
    "a-2": ("LeakA", "CONSTANT Procs = {p3, p1}\nINIT Init\nNEXT Next\n"),
}


def run_leak(name: str, tmp_path: Path, tools: java.JavaTools) -> TlcResult:
    spec, cfg = LEAK_CFGS[name]
    d = tmp_path / "leak"
    d.mkdir(exist_ok=True)
    (d / f"{spec}.tla").write_text(LEAK_SPECS[spec])
    (d / f"{name}.cfg").write_text(cfg)
    return run_tlc(d / f"{spec}.tla", d / f"{name}.cfg", tools=tools, workers=1, timeout=60,
                   jvm_args=QUICK_JIT)


def test_runs_on_a_shared_loader_give_what_a_jvm_of_their_own_gives(  # type: ignore[no-untyped-def]
        tools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    order = ["a-sym", "b", "a", "a-2", "b", "a-sym", "a"]
    alone = {n: run_leak(n, tmp_path, tools) for n in set(order)}
    monkeypatch.setenv("MMCHECK_POOL_TRACE", str(tmp_path / "trace"))
    monkeypatch.delenv("MMCHECK_POOL_REUSE", raising=False)
    with jvmpool.session():
        shared = [(n, run_leak(n, tmp_path, tools)) for n in order]
    trace = (tmp_path / "trace").read_text()
    assert jvmpool.launcher(tools) is not None
    # every run but the first on the loader the first made (nothing retired it)
    assert [f"shared loader, run {i}" in trace for i in range(1, len(order) + 1)] == \
        [True] * len(order), trace
    assert "fresh loader" not in trace
    for n, r in shared:
        assert summary(r) == summary(alone[n]), n
    # the specs show what they are meant to: violations with traces, and the unreduced run
    # has more states than the symmetric one
    assert alone["a"].outcome is Outcome.INVARIANT and alone["a"].trace is not None
    assert alone["b"].outcome is Outcome.INVARIANT and alone["b"].trace is not None
    assert alone["a-2"].outcome is Outcome.DEADLOCK
    assert alone["a"].stats.distinct_states != alone["a-sym"].stats.distinct_states


def test_reuse_off_gives_a_fresh_loader_each_run(tools, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMCHECK_POOL_TRACE", str(tmp_path / "trace"))
    monkeypatch.setenv("MMCHECK_POOL_REUSE", "0")
    with jvmpool.session():
        rs = [run_leak(n, tmp_path, tools) for n in ("a", "b")]
    trace = (tmp_path / "trace").read_text()
    assert trace.count("fresh loader") == 2 and "shared loader" not in trace, trace
    assert pid_of(rs[0]) == pid_of(rs[1])  # one JVM still


def test_a_spec_naming_a_late_string_gets_a_fresh_loader(tools, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # "exit" is interned by the initializer of TLC's module class, which a new JVM runs
    # only after it has read the spec: on a shared loader it would come first
    d = tmp_path / "late"
    d.mkdir()
    text = (SPECS / "Live.tla").read_text()
    (d / "Live.tla").write_text(text[:text.rindex("====")] + 'Unused == "exit"\n====\n')
    shutil.copy(SPECS / "Live.cfg", d / "Live.cfg")
    alone = run_tlc(d / "Live.tla", d / "Live.cfg", tools=tools, workers=1, timeout=60,
                    jvm_args=QUICK_JIT)
    monkeypatch.setenv("MMCHECK_POOL_TRACE", str(tmp_path / "trace"))
    with jvmpool.session():
        pooled = run_tlc(d / "Live.tla", d / "Live.cfg", tools=tools, workers=1, timeout=60,
                         jvm_args=QUICK_JIT)
    trace = (tmp_path / "trace").read_text()
    assert "fresh loader" in trace and "shared loader" not in trace, trace
    assert alone.outcome is Outcome.LIVENESS
    assert summary(pooled) == summary(alone)
    # the loader made for later runs registered no MBean a fresh loader's TLC collides with
    assert "Exception" not in pooled.output


def test_a_pool_jvm_has_a_bounded_heap_and_a_run_out_of_it_runs_again(  # type: ignore[no-untyped-def]
        tools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool's JVMs get POOL_HEAP_MB (not a quarter of the memory each, kept for good);
    a run that runs out of it is run again on a JVM of its own with the default heap."""
    with jvmpool.session():
        run_case("ok", tools, tmp_path)
        assert all(f"-Xmx{jvmpool.POOL_HEAP_MB}m" in j.argv for j in jvmpool._jvms.values())
    monkeypatch.setattr(jvmpool, "POOL_HEAP_MB", 24)
    spec = tmp_path / "ok"
    with jvmpool.session():
        r = run_tlc(spec / "Oom.tla", spec / "Oom.cfg", tools=tools, workers=1, timeout=120,
                    jvm_args=QUICK_JIT)
    assert r.outcome is Outcome.OK, r.output[-2000:]
    assert "OutOfMemoryError" not in r.output


def test_a_liveness_violation_keeps_the_jvm_and_its_loader(  # type: ignore[no-untyped-def]
        tools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TLC's printing of a liveness violation leaves an executor's idle worker behind; the
    launcher shuts that executor down instead of retiring the JVM (which made a new JVM and
    waited 2 s for every violation), and the next run is as on a JVM of its own."""
    alone = run_case("liveness_lasso", tools, tmp_path)
    assert alone.outcome is Outcome.LIVENESS and alone.trace is not None
    monkeypatch.setenv("MMCHECK_POOL_TRACE", str(tmp_path / "trace"))
    monkeypatch.delenv("MMCHECK_POOL_REUSE", raising=False)
    with jvmpool.session():
        pooled = [run_case("liveness_lasso", tools, tmp_path) for _ in range(3)]
    trace = (tmp_path / "trace").read_text()
    assert "not shut down" not in trace, trace
    assert [f"shared loader, run {i}" in trace for i in (1, 2, 3)] == [True] * 3, trace
    assert len({pid_of(r) for r in pooled}) == 1
    assert all(summary(r) == summary(alone) for r in pooled)


def test_pcal_trans_on_the_pool_writes_what_its_own_jvm_writes(  # type: ignore[no-untyped-def]
        tools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The translator on a pool JVM (TOOL mode, without its exit): the same translation,
    byte for byte, the same error and line for a broken algorithm, on one shared loader
    with TLC runs between translations."""
    from runner.errors import TranslationError
    from runner.pcal import translate

    def outcome(name: str, where: Path) -> tuple[str, str | None]:
        where.mkdir(exist_ok=True)
        tla = where / f"{name}.tla"
        shutil.copy(SPECS / f"{name}.tla", tla)
        try:
            translate(tla, tools=tools, jvm_args=QUICK_JIT)
            return tla.read_text(), None
        except TranslationError as e:
            return tla.read_text(), str(e).replace(str(where), "DIR")

    alone = {n: outcome(n, tmp_path / "alone") for n in ("Mutex", "PcalErr")}
    assert "\\* BEGIN TRANSLATION" in alone["Mutex"][0] and alone["Mutex"][1] is None
    assert alone["PcalErr"][1] is not None and ":9:" in alone["PcalErr"][1]
    monkeypatch.setenv("MMCHECK_POOL_TRACE", str(tmp_path / "trace"))
    monkeypatch.delenv("MMCHECK_POOL_REUSE", raising=False)
    with jvmpool.session():
        pooled = []
        for i, n in enumerate(["Mutex", "PcalErr", "Mutex", "PcalErr"]):
            pooled.append((n, outcome(n, tmp_path / f"pool{i}")))
            run_case("ok", tools, tmp_path)
    trace = (tmp_path / "trace").read_text()
    assert trace.count("pcal.trans -nocfg") == 4 and "fresh loader" not in trace, trace
    for n, got in pooled:
        assert got == alone[n], n
