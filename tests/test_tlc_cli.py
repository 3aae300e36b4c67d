"""`mmcheck tlc` and run_tlc on the real TLC: every outcome, exit codes, JSON, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from runner.cli import main

SPECS = Path(__file__).parent / "corpus" / "specs"
ROOT = Path(__file__).parent.parent

# (spec, extra CLI args, exit code, outcome, violated)
CASES = {
    "ok": ("Ok", [], 0, "ok", None),
    "invariant": ("Inv", [], 1, "invariant", "Small"),
    "liveness_lasso": ("Live", [], 1, "liveness", None),
    "liveness_stuttering": ("Stut", ["--no-deadlock"], 1, "liveness", None),
    "deadlock": ("Stut", ["--config", str(SPECS / "StutDeadlock.cfg")], 1, "deadlock", None),
    "assert": ("Asrt", [], 1, "assert", None),
    "assumption": ("Asm", [], 1, "assumption", None),
    "pluscal": ("Mutex", [], 1, "invariant", "MutualExclusion"),
    "parse_error": ("ParseErr", [], 2, "parse_error", None),
    "config_error": ("Inv", ["--config", str(SPECS / "InvUndefined.cfg")], 2, "config_error",
                     None),
    "config_syntax": ("Inv", ["--config", str(SPECS / "InvBadSyntax.cfg")], 2, "config_error",
                      None),
    "eval_error": ("Ev", [], 2, "eval_error", None),
    "out_of_memory": ("Oom", ["--heap-mb", "24"], 2, "out_of_memory", None),
    "timeout": ("Forever", ["--timeout", "1"], 2, "timeout", None),
}


@pytest.mark.java
@pytest.mark.parametrize("name", list(CASES))
def test_every_outcome(name: str, tools, tmp_path: Path,  # type: ignore[no-untyped-def]
                       capsys: pytest.CaptureFixture[str]) -> None:
    spec, extra, code, outcome, violated = CASES[name]
    out = tmp_path / "r.json"
    rc = main(["tlc", str(SPECS / f"{spec}.tla"), "--workers", "1", "--json", str(out), *extra])
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert (rc, data["outcome"], data["violated"]) == (code, outcome, violated), printed
    assert printed.startswith(f"outcome: {outcome}")
    assert set(data) >= {"outcome", "violated", "distinct_states", "states_generated", "depth",
                         "exit_code", "tlc_version", "tlc_revision", "seconds", "trace"}
    if outcome != "timeout":
        assert (data["tlc_version"], data["tlc_revision"]) == ("2.15", "d5b5a7f")
    if outcome in ("invariant", "liveness", "deadlock"):
        assert data["trace"] and "trace (" in printed
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # atomic: no temp file left


@pytest.mark.java
def test_trace_details_and_lasso(tools, tmp_path: Path,  # type: ignore[no-untyped-def]
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    assert main(["tlc", str(SPECS / "Live.tla"), "--workers", "1", "--json", str(out)]) == 1
    data = json.loads(out.read_text())
    assert [s["values"]["x"] for s in data["trace"]] == [0, 1, 2]
    assert data["loop_to"] == 1 and data["trace"][1]["action"] == "Next"
    assert "-> back to state 1" in capsys.readouterr().out


@pytest.mark.java
def test_pluscal_is_translated_in_a_private_copy(tools, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for f in ("Mutex.tla", "Mutex.cfg"):
        (tmp_path / f).write_bytes((SPECS / f).read_bytes())
    before = (tmp_path / "Mutex.tla").read_bytes()
    assert main(["tlc", str(tmp_path / "Mutex.tla"), "--workers", "1"]) == 1
    assert (tmp_path / "Mutex.tla").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Mutex.cfg", "Mutex.tla"]
    assert "translating PlusCal" in capsys.readouterr().err


@pytest.mark.java
def test_translation_error_names_the_users_file_and_line(tools, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["tlc", str(SPECS / "PcalErr.tla"), "--config", str(SPECS / "Ok.cfg")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err[-1].startswith(f"mmcheck: error: {SPECS / 'PcalErr.tla'}:9: PlusCal translation")


@pytest.mark.java
def test_translate_in_place_and_sany(tools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from runner.errors import TranslationError
    from runner.pcal import sany, sany_ok, translate

    tla = tmp_path / "Mutex.tla"
    tla.write_bytes((SPECS / "Mutex.tla").read_bytes())
    run = translate(tla, tools=tools)
    assert run.exit_code == 0 and "\\* BEGIN TRANSLATION" in tla.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Mutex.tla"]  # no Mutex.old, no tmp
    assert sany_ok(sany(tla, tools=tools))
    assert not sany_ok(sany(SPECS / "SemErr.tla", tools=tools))
    bad = tmp_path / "PcalErr.tla"
    bad.write_bytes((SPECS / "PcalErr.tla").read_bytes())
    with pytest.raises(TranslationError) as e:
        translate(bad, tools=tools)
    assert e.value.line == 9 and 'Expected "then"' in str(e.value)
    assert bad.read_bytes() == (SPECS / "PcalErr.tla").read_bytes()


@pytest.mark.java
def test_run_tlc_result_carries_progress_log_and_argv(tools, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     private_tmp: Path) -> None:
    from runner.tlc import run_tlc

    got: list = []
    log = tmp_path / "tlc.log"
    r = run_tlc(SPECS / "Ok.tla", tools=tools, workers=1, on_progress=got.append, log_path=log)
    assert r.outcome.value == "ok" and r.stats.distinct_states == 20
    assert got and got[-1].distinct_states == 20
    assert r.log_path == str(log) and "@!@!@STARTMSG 2193" in log.read_text()
    argv = list(r.argv)
    assert argv[argv.index("-workers") + 1] == "1" and "-tool" in argv
    assert argv[argv.index("-config") + 1] == "Ok.cfg" and argv[-1] == "Ok.tla"  # relative
    assert "-deadlock" not in argv
    assert list(private_tmp.iterdir()) == []


@pytest.mark.java
def test_user_jar_that_is_not_tlc_is_a_tool_error(tools, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    jar = tmp_path / "fake.jar"
    with zipfile.ZipFile(jar, "w") as z:
        z.writestr("tlc2/TLC.class", b"not a class file")
    rc = main(["tlc", str(SPECS / "Ok.tla"), "--jar", str(jar), "--workers", "1"])
    assert rc == 2
    assert capsys.readouterr().out.startswith("outcome: tool_error")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    mmcheck = Path(sys.executable).parent / "mmcheck"
    return subprocess.run([str(mmcheck), *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})}, cwd=ROOT, timeout=60)


def test_missing_jar_is_one_line_exit_2(tmp_path: Path) -> None:
    p = run_cli("tlc", str(SPECS / "Ok.tla"), env={"TLA2TOOLS_JAR": str(tmp_path / "no.jar")})
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("mmcheck: error: TLA2TOOLS_JAR:")
    assert "Traceback" not in p.stderr


def test_missing_java_is_one_line_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    mmcheck = Path(sys.executable).parent / "mmcheck"
    p = subprocess.run([str(mmcheck), "tlc", str(SPECS / "Ok.tla")], capture_output=True,
                       text=True, check=False, env={**env, "PATH": str(tmp_path)}, cwd=ROOT,
                       timeout=60)
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert "java not found" in p.stderr and "apt-get install default-jre-headless" in p.stderr


def test_bad_java_home_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    """A JAVA_HOME without bin/java is refused even though java is on PATH."""
    p = run_cli("tlc", str(SPECS / "Ok.tla"), env={"JAVA_HOME": str(tmp_path)})
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert f"JAVA_HOME={tmp_path} has no executable bin/java" in p.stderr


def test_bare_mmcheck_prints_help() -> None:
    p = run_cli()
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout.startswith("usage: mmcheck") and "check" in p.stdout and "doctor" in p.stdout


def test_jobs_out_of_range_is_a_usage_error() -> None:
    for bad in ("0", "1000", "two"):
        p = run_cli("check", "--jobs", bad)
        assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
        assert "--jobs" in p.stderr


def test_missing_spec_and_cfg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tlc", str(tmp_path / "X.tla")]) == 2
    (tmp_path / "X.tla").write_text("---- MODULE X ----\n====\n")
    assert main(["tlc", str(tmp_path / "X.tla")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"mmcheck: error: {tmp_path / 'X.tla'}: no such .tla file",
                   (f"mmcheck: error: {tmp_path / 'X.cfg'}: no such config file "
                    "(give one with --config CFG)")]


def test_bad_option_values_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tlc", "X.tla", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "must be at least 1" in err and err.count("\n") == 1


@pytest.mark.java
def test_simulation_through_run_tlc(tools) -> None:  # type: ignore[no-untyped-def]
    from runner.tlc import run_tlc

    got: list = []
    r = run_tlc(SPECS / "Ok.tla", tools=tools, workers=1, on_progress=got.append,
                extra_args=["-simulate", "num=3", "-depth", "5"])
    assert r.outcome.value == "ok" and r.stats.distinct_states is None
    assert got and got[-1].distinct_states is None
