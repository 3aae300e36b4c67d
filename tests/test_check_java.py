"""The check pipeline with the real TLC: one small model per protocol, the cache,
and the exit-code contract of `mmcheck check`."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from gen.load import load_models
from gen.model import PROPERTIES
from gen.protocols import discover
from runner.cache import Cache
from runner.check import check_models
from runner.cli import main

pytestmark = pytest.mark.java
ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "specs" / "matrix.toml"
SLOW = ROOT / "tests" / "data" / "slow.toml"  # grows for minutes


@pytest.fixture(scope="module")
def one_per_protocol(tmp_path_factory: pytest.TempPathFactory, tools):  # type: ignore[no-untyped-def]
    models = [m for m in load_models(MATRIX) if m.name.endswith("-fault")]
    assert {m.protocol for m in models} == set(discover())
    out = tmp_path_factory.mktemp("run")
    cache = Cache(out / ".cache")
    results = check_models(models, out, tools, jobs=2, cache=cache)
    return models, out, cache, results


def test_one_model_per_protocol_meets_its_committed_expectations(one_per_protocol) -> None:  # type: ignore[no-untyped-def]
    models, out, _, results = one_per_protocol
    for model, result in zip(models, results):
        assert result.model is model
        for prop in PROPERTIES:
            v = result.verdicts[prop]
            assert v.verdict == model.expected(prop), (model.name, prop, v.message)
            if v.verdict == "violated":
                assert v.trace is not None and len(v.trace.states) > 1
        assert result.distinct_states and result.distinct_states > 10
        assert result.max_write_hold is not None
        assert result.tlc_version and result.tlc_revision
        saved = json.loads((out / model.name / "result.json").read_text())
        assert saved["name"] == model.name and saved["protocol"] == model.protocol
        assert set(saved["properties"]) == set(PROPERTIES)
        for name in ("rendered.pcal.tla", f"{model.protocol}.tla"):
            assert (out / model.name / name).is_file(), name
        for run in result.runs:
            assert (out / model.name / run.cfg).is_file() and (out / model.name / run.log).is_file()
        # No thread repeats: liveness is decided by termination in the run that checks
        # the invariants (docs/termination.md).
        first = (out / model.name / result.runs[0].cfg).read_text()
        assert result.runs[0].name == "safety-1"
        assert "SPECIFICATION SafetySpec" in first and "MmcheckInvariants" in first
        spec = (out / model.name / f"{model.protocol}.tla").read_text()
        assert '"ProgressE", ProgressE)' in spec.split("MmcheckInvariants ==")[1]
        assert "PROPERTIES\n  NoCycle" in first
        assert result.verdicts["AllThreadsComplete"].message.startswith("by termination")
        assert "\\* BEGIN TRANSLATION" in (out / model.name / f"{model.protocol}.tla").read_text()


def test_symmetric_models_check_liveness_in_runs_of_their_own(tools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    [model] = [m for m in load_models(MATRIX) if m.name == "detach_merged-starve"]
    [result] = check_models([model], tmp_path, tools, jobs=1)
    names = [r.name for r in result.runs]
    assert names == ["safety-1", "liveness-2", "liveness-3"], names
    safety = (tmp_path / model.name / "safety-1.cfg").read_text()
    assert "SYMMETRY Symmetry" in safety and "PROPERTIES" not in safety
    liveness = (tmp_path / model.name / "liveness-2.cfg").read_text()
    assert "SYMMETRY" not in liveness and "INVARIANTS" not in liveness
    assert result.verdicts["MunmapCompletes"].verdict == "violated"
    assert result.verdicts["MunmapCompletes"].trace.loop_to is not None
    assert all(v.matches for v in result.verdicts.values())


def test_liveness_by_termination_on_the_symmetric_safety_run(tools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Identical threads that do not repeat: one run, under SYMMETRY, decides everything;
    without termination the same verdicts need a liveness run without symmetry."""
    path = write_models(tmp_path, lambda t: t.replace('addr = 2 }', 'addr = 2, count = 2 }'))
    [model] = load_models(path)
    [fast] = check_models([model], tmp_path / "fast", tools, jobs=1)
    [slow] = check_models([model], tmp_path / "slow", tools, jobs=1, termination=False)
    assert [r.name for r in fast.runs] == ["safety-1"]
    assert [r.name for r in slow.runs] == ["safety-1", "liveness-2"]
    cfg = (tmp_path / "fast" / model.name / "safety-1.cfg").read_text()
    assert "SYMMETRY Symmetry" in cfg and "NoCycle" in cfg and "SafetySpec" in cfg
    assert {p: v.verdict for p, v in fast.verdicts.items()} == \
        {p: v.verdict for p, v in slow.verdicts.items()}
    assert fast.distinct_states == slow.distinct_states
    assert fast.verdicts["MunmapCompletes"].verdict == "holds"
    assert fast.runs[0].distinct_states < slow.runs[1].distinct_states  # the reduced graph


def test_a_stuck_state_falls_back_to_liveness_runs(tools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The negative control whose munmap never unlocks: ProgressE fails (reported by the
    first run, which decides the invariants too: gen/first_violations.py), the runs after
    it go without it, and the liveness runs give the violation and its trace."""
    [model] = [m for m in load_models(MATRIX) if m.name == "baseline-neg-skip-unlock"]
    [result] = check_models([model], tmp_path, tools, jobs=1)
    stuck = [i for i, r in enumerate(result.runs)
             if "ProgressE" in (r.violated or "").split(", ")]
    assert len(stuck) == 1, [r.violated for r in result.runs]
    after = result.runs[stuck[0] + 1]
    assert "ProgressE" not in (tmp_path / model.name / after.cfg).read_text()
    v = result.verdicts["AllThreadsComplete"]
    assert v.verdict == "violated" and v.trace is not None
    assert not v.message.startswith("by termination")
    assert all(x.matches for x in result.verdicts.values())


def test_models_with_the_same_threads_share_one_translation(tools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Another layout and munmap range, the same algorithm: the translation comes from the
    cache, spliced into the new module, byte for byte what pcal.trans writes for it."""
    from runner.check import without_checksums
    from runner.pcal import translate

    (tmp_path / "a").mkdir()
    [a] = load_models(write_models(tmp_path / "a"))
    other = VM_DEAD_FAULT.replace("{ start = 1, end = 3 }", "{ start = 2, end = 4 }").replace(
        "vmas = [ { start = 1, end = 5, flags = [] } ]",
        'vmas = [ { start = 1, end = 3, flags = [] }, '
        '{ start = 3, end = 5, flags = ["locked"], populated = false } ]')
    (tmp_path / "b").mkdir()
    [b] = load_models(write_models(tmp_path / "b", lambda t: other))
    cache = Cache(tmp_path / "cache")
    check_models([a], tmp_path / "ra", tools, jobs=1, cache=cache)
    texts = list((tmp_path / "cache").glob("*/*.entry"))
    [rb] = check_models([b], tmp_path / "rb", tools, jobs=1, cache=cache)
    assert len([p for p in (tmp_path / "cache").glob("*/*.entry")
                if '"kind": "text"' in p.read_text().split("\n", 1)[0]]) == 1, texts
    spliced = (tmp_path / "rb" / b.name / "vm_dead.tla").read_text()
    fresh = tmp_path / "fresh" / "vm_dead.tla"
    fresh.parent.mkdir()
    fresh.write_text((tmp_path / "rb" / b.name / "rendered.pcal.tla").read_text())
    translate(fresh, tools=tools)
    # as pcal.trans wrote it but for its checksums (runner.check.without_checksums: SANY
    # would translate the algorithm again in every run to compare them)
    # (the model's module also has gen/first_violations.py's definitions after it)
    own = without_checksums(fresh.read_text())
    assert own != fresh.read_text()
    assert spliced.startswith(own[:own.rindex("\n====")])
    assert re.search(r"^\\\* BEGIN TRANSLATION$", spliced, re.MULTILINE)
    assert all(v.verdict in ("holds", "violated") for v in rb.verdicts.values())


def test_write_hold_measurements(one_per_protocol) -> None:  # type: ignore[no-untyped-def]
    """baseline zaps both pages under down_write; madvise_user zaps at most the refaulted one;
    vm_dead and the detach protocols zap nothing under it."""
    models, _, _, results = one_per_protocol
    wz = {m.protocol: r.max_write_hold for m, r in zip(models, results)}
    assert wz["baseline"] == 2
    assert wz["madvise_user"] == 1
    assert wz["vm_dead"] == wz["detach_merged"] == wz["detach_posted"] == 0


def test_an_unchanged_model_is_not_checked_again(one_per_protocol, tools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    models, _, cache, first = one_per_protocol
    again = check_models(models[:3], tmp_path, tools, jobs=1, cache=cache)
    for a, b in zip(first, again):
        assert all(r.cached for r in b.runs)
        assert {p: v.verdict for p, v in a.verdicts.items()} == \
               {p: v.verdict for p, v in b.verdicts.items()}
        assert a.max_write_hold == b.max_write_hold and a.distinct_states == b.distinct_states


VM_DEAD_FAULT = """[[model]]
name = "vm_dead-fault"
description = "a read fault inside the range"
protocol = "vm_dead"
pages = 4
ptes_per_table = 2
munmap = { start = 1, end = 3 }
vmas = [ { start = 1, end = 5, flags = [] } ]
threads = [ { kind = "fault", access = "read", addr = 2 } ]
threshold_pages = 2
"""


def write_models(tmp_path: Path, edit=lambda text: text) -> Path:  # type: ignore[no-untyped-def]
    """A one-off [[model]] file: vm_dead-fault, edited."""
    path = tmp_path / "models.toml"
    path.write_text(edit(VM_DEAD_FAULT))
    return path


def test_the_one_off_model_is_the_committed_one(tmp_path: Path) -> None:
    [committed] = [m for m in load_models(MATRIX) if m.name == "vm_dead-fault"]
    [m] = load_models(write_models(tmp_path))
    assert dataclasses.replace(m, source="") == dataclasses.replace(committed, source="")


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # As expected: 0, with the matrix printed and the JSON written.
    models = write_models(tmp_path)
    out_json = tmp_path / "r.json"
    assert main(["check", str(models), "--out", str(tmp_path / "a"), "--json", str(out_json),
                 "--no-cache"]) == 0
    printed = capsys.readouterr().out
    assert "scenario | vm_dead" in printed  # the compact matrix: a row per scenario
    [row] = [line for line in printed.splitlines() if line.startswith("fault ")]
    assert row.split() == ["fault", "|", "-"]  # nothing violated
    matrix = printed[printed.index("scenario | "):printed.index("1 model: ")]
    assert max(len(line) for line in matrix.splitlines()) <= 100
    data = json.loads(out_json.read_text())
    [m] = data["models"]
    assert {"name", "protocol", "max_write_hold", "distinct_states", "seconds", "properties"} <= set(m)
    assert m["properties"]["NoThirdState"] == {**m["properties"]["NoThirdState"],
                                               "verdict": "holds", "expected": "holds", "matches": True}

    # A wrong expectation: 1, and the mismatch is named.
    wrong = write_models(tmp_path, lambda t: t + '[model.expect]\nNoThirdState = "violated"\n')
    assert main(["check", str(wrong), "--out", str(tmp_path / "b"),
                 "--cache-dir", str(tmp_path / "cache")]) == 1
    assert "UNEXPECTED: vm_dead-fault: NoThirdState holds (expected violated)" in capsys.readouterr().err

    # Undecidable (every TLC run times out): 2.
    assert main(["check", str(SLOW), "--out", str(tmp_path / "c"), "--timeout", "1",
                 "--no-cache"]) == 2
    assert "T/O" in capsys.readouterr().out


def test_cli_rejects_bad_input_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_models(tmp_path, lambda t: t.replace('"vm_dead"', '"vm-dead"'))
    assert main(["check", str(bad), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mmcheck: error: {bad}: model 'vm_dead-fault': protocol: unknown value")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
    assert main(["check", str(MATRIX), "--model", "no-such-model", "--out", str(tmp_path / "y")]) == 2
    assert "--model no-such-model" in capsys.readouterr().err


def test_ctrl_c_kills_every_jvm_of_a_parallel_check(tmp_path: Path) -> None:
    """KeyboardInterrupt reaches only the main thread; the JVMs of the other model threads
    must die too, and no private directory may be left behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    private = tmp_path / "tmp"
    private.mkdir()
    env = {**os.environ, "TMPDIR": str(private)}
    proc = subprocess.Popen([sys.executable, "-m", "runner.cli", "check", str(MATRIX), "--jobs", "2",
                             "--no-cache", "--out", str(tmp_path / "out"), "-v"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until TLC runs are under way
        if b" ..." in line:
            break
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out.decode()[-2000:]
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert str(private) not in ps
    assert list(private.iterdir()) == []
