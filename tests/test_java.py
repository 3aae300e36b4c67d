"""runner.java: locating Java and the jar (pure, with fakes) and the wrapper (java-marked)."""

from __future__ import annotations

import os
import stat
import time
import zipfile
from pathlib import Path

import pytest
from conftest import jvms_mentioning

from runner import java as jv
from runner.errors import ToolNotFound
from runner.java import locate_tools, run_java


def fake_java(dirpath: Path, version_text: str, rc: int = 0) -> Path:
    bindir = dirpath / "bin"
    bindir.mkdir(parents=True)
    exe = bindir / "java"
    exe.write_text(f"#!/bin/sh\necho '{version_text}' >&2\nexit {rc}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    jv.java_version.cache_clear()


def test_java_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFound, match="apt-get install default-jre-headless") as e:
        locate_tools()
    assert "\n" not in str(e.value) and e.value.exit_code == 2


def test_java_too_old(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_java(tmp_path / "jdk8", 'openjdk version "1.8.0_292"')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk8"))
    with pytest.raises(ToolNotFound, match="is Java 8, TLC needs Java >= 11"):
        locate_tools()


def test_java_home_wins_and_release_file_is_read(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    exe = fake_java(tmp_path / "jdk", "garbage", rc=1)  # would fail if it were run
    (tmp_path / "jdk" / "release").write_text('JAVA_VERSION="21.0.2"\n')
    assert jv.java_version(exe) == 21
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    monkeypatch.setenv("TLA2TOOLS_JAR", str(make_jar(tmp_path / "t.jar")))
    assert locate_tools().java == exe


def test_java_that_does_not_work(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_java(tmp_path / "broken", "Error: bad", rc=1)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "broken"))
    with pytest.raises(ToolNotFound, match="-version failed"):
        locate_tools()


@pytest.mark.parametrize("text,major", [("17.0.15", 17), ("1.8.0_292", 8), ("11", 11),
                                        ("25-ea", 25), ("", 0)])
def test_major(text: str, major: int) -> None:
    assert jv._major(text) == major


def make_jar(path: Path, entry: str = "tlc2/TLC.class") -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(entry, b"\xca\xfe\xba\xbe")
    return path


def test_jar_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_jar, arg_jar = make_jar(tmp_path / "env.jar"), make_jar(tmp_path / "arg.jar")
    monkeypatch.setenv("TLA2TOOLS_JAR", str(env_jar))
    assert locate_tools().jar == env_jar and not locate_tools().bundled
    assert locate_tools(arg_jar).jar == arg_jar
    monkeypatch.delenv("TLA2TOOLS_JAR")
    t = locate_tools()
    assert t.bundled and t.jar_sha256 == jv.BUNDLED_JAR_SHA256


@pytest.mark.parametrize("kind,match", [("missing", "does not exist"),
                                        ("text", "not a readable jar"),
                                        ("zip", "has no tlc2/TLC.class")])
def test_bad_user_jar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str,
                      match: str) -> None:
    path = tmp_path / "x.jar"
    if kind == "text":
        path.write_text("not a zip")
    elif kind == "zip":
        make_jar(path, "other/Main.class")
    monkeypatch.setenv("TLA2TOOLS_JAR", str(path))
    with pytest.raises(ToolNotFound, match=match) as e:
        locate_tools()
    assert "TLA2TOOLS_JAR" in str(e.value) and "\n" not in str(e.value)


def test_corrupt_bundled_jar(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TLA2TOOLS_JAR", raising=False)
    monkeypatch.setattr(jv, "bundled_jar", lambda: make_jar(tmp_path / "tla2tools.jar"))
    with pytest.raises(ToolNotFound, match="is corrupt .*reinstall"):
        locate_tools()
    monkeypatch.setattr(jv, "bundled_jar", lambda: tmp_path / "gone.jar")
    with pytest.raises(ToolNotFound, match="unreadable"):
        locate_tools()


# ---------------------------------------------------------------- the wrapper, for real


@pytest.mark.java
def test_run_java_streams_keeps_and_logs_output(tools, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                private_tmp: Path) -> None:
    seen: list[str] = []
    log = tmp_path / "logs" / "sany.log"
    (tmp_path / "M.tla").write_text("---- MODULE M ----\nx == 1\n====\n")
    run = run_java(tools, "tla2sany.SANY", ["M.tla"], cwd=tmp_path, on_line=seen.append,
                   log_path=log, heap_mb=64)
    assert run.exit_code == 0 and not run.timed_out
    assert "Semantic processing of module M" in run.output
    assert seen == run.output.splitlines()
    assert log.read_text() == run.output and run.log_path == log
    assert "-XX:+UseParallelGC" in run.argv and "-Xmx64m" in run.argv
    assert any(a.startswith(f"-Djava.io.tmpdir={private_tmp}") for a in run.argv)
    assert list(private_tmp.iterdir()) == []  # the private tmpdir is gone


@pytest.mark.java
def test_timeout_kills_the_jvm_group_and_leaves_nothing(tools, corpus_specs: Path,  # type: ignore[no-untyped-def]
                                                        private_tmp: Path) -> None:
    from runner.tlc import run_tlc

    start = time.monotonic()
    r = run_tlc(corpus_specs / "Forever.tla", tools=tools, workers=1, timeout=1.5)
    assert r.outcome.value == "timeout" and r.exit_code is None
    assert time.monotonic() - start < 1.5 + jv.KILL_GRACE_SECONDS + 2
    assert jvms_mentioning(str(private_tmp)) == []
    assert list(private_tmp.iterdir()) == []  # no working dir, metadir or tmpdir left


@pytest.mark.java
def test_interrupt_kills_the_jvm_and_reraises(tools, corpus_specs: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                              private_tmp: Path) -> None:
    for f in ("Forever.tla", "Forever.cfg"):
        (tmp_path / f).write_text((corpus_specs / f).read_text())

    def interrupt(line: str) -> None:
        if "Computing initial states" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_java(tools, "tlc2.TLC", ["-workers", "1", "-metadir", str(private_tmp / "meta"),
                                     "Forever.tla"], cwd=tmp_path, on_line=interrupt)
    assert jvms_mentioning(str(private_tmp)) == []
    assert [p.name for p in private_tmp.iterdir()] in ([], ["meta"])
    assert not list(private_tmp.glob("mmcheck-jvm-*"))


@pytest.mark.java
def test_sigint_to_mmcheck_exits_130_without_orphans(corpus_specs: Path,
                                                     private_tmp: Path) -> None:
    import signal
    import subprocess
    import sys

    env = dict(os.environ, TMPDIR=str(private_tmp))
    proc = subprocess.Popen([sys.executable, "-m", "runner.cli", "tlc", "--workers", "1",
                             str(corpus_specs / "Forever.tla")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).parent.parent)
    deadline = time.monotonic() + 20
    while not jvms_mentioning(str(private_tmp)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert jvms_mentioning(str(private_tmp)), "TLC never started"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert err.decode().strip().splitlines()[-1] == "mmcheck: interrupted"
    assert jvms_mentioning(str(private_tmp)) == []
    assert list(private_tmp.iterdir()) == []


def test_java_that_cannot_be_started(tmp_path: Path) -> None:
    tools = jv.JavaTools(tmp_path / "no-java", 17, tmp_path / "x.jar", "", False)
    with pytest.raises(ToolNotFound, match="cannot run .*no-java"):
        run_java(tools, "tlc2.TLC", [], cwd=tmp_path)


def test_unwritable_log_is_a_one_line_error(tmp_path: Path) -> None:
    from runner.errors import ConfigError

    (tmp_path / "file").write_text("")
    tools = jv.JavaTools(tmp_path / "no-java", 17, tmp_path / "x.jar", "", False)
    with pytest.raises(ConfigError, match="cannot write the log"):
        run_java(tools, "tlc2.TLC", [], cwd=tmp_path, log_path=tmp_path / "file" / "log")
