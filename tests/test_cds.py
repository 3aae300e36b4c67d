"""runner.cds: the class-data archive every JVM starts on (pure parts, then the real JVM)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import jvms_mentioning

from runner import cds
from runner.java import JavaTools, ToolRun, run_tool

OK_TLA = "---- MODULE M ----\nEXTENDS Naturals\nx == 1\n====\n"


@pytest.fixture
def cds_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cds"
    monkeypatch.setenv("MMCHECK_CDS_DIR", str(d))
    monkeypatch.delenv("MMCHECK_CDS", raising=False)
    return d


def fake_tools(tmp_path: Path, version: int = 17, java: str = "/bin/false") -> JavaTools:
    jar = tmp_path / "x.jar"
    jar.write_bytes(b"not really a jar")
    return JavaTools(Path(java), version, jar, "0" * 64, False)


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MMCHECK_CDS", raising=False)
    monkeypatch.setenv("MMCHECK_CDS_DIR", "/x/y")
    assert cds.cache_dir() == Path("/x/y")
    monkeypatch.delenv("MMCHECK_CDS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/c")
    assert cds.cache_dir() == Path("/c/mmcheck/cds")
    monkeypatch.setenv("MMCHECK_CDS", "0")
    assert cds.cache_dir() is None


def test_no_archive_for_old_java_huge_heaps_or_when_off(tmp_path: Path, cds_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert cds.archive_args(fake_tools(tmp_path, version=11)) == []
    assert cds.archive_args(fake_tools(tmp_path), heap_mb=40 * 1024) == []
    monkeypatch.setenv("MMCHECK_CDS", "off")
    assert cds.archive_args(fake_tools(tmp_path)) == []
    assert not cds_dir.exists()  # nothing was even tried


def test_a_failed_build_is_remembered_and_the_tool_runs_without(tmp_path: Path,
                                                                cds_dir: Path) -> None:
    tools = fake_tools(tmp_path)  # java = /bin/false: every step of the build fails
    assert cds.archive_args(tools) == []
    failed = list(cds_dir.glob("*.failed"))
    assert len(failed) == 1 and "exit 1" in failed[0].read_text()
    before = failed[0].stat().st_mtime_ns
    assert cds.archive_args(tools) == []  # not tried again for a day
    assert failed[0].stat().st_mtime_ns == before
    assert not list(cds_dir.glob("*.jsa"))


def test_keys_differ_by_jar_and_java(tmp_path: Path) -> None:
    a = fake_tools(tmp_path)
    b = JavaTools(a.java, 17, a.jar, "1" * 64, False)
    c = JavaTools(Path("/bin/true"), 17, a.jar, a.jar_sha256, False)
    assert len({cds.archive_key(a), cds.archive_key(b), cds.archive_key(c)}) == 3


def run_of(argv: list[str], output: str, exit_code: int | None = 1) -> ToolRun:
    return ToolRun(argv, exit_code, output, 0.1, False, None)


def test_failed_on_archive_only_before_the_tool_started() -> None:
    share = ["java", "-XX:SharedArchiveFile=/c/a.jsa", "-cp", "j", "tlc2.TLC"]
    crash = "#\n# A fatal error has been detected by the Java Runtime Environment:\n#  SIGBUS\n"
    assert cds.failed_on_archive(run_of(share, crash, None))
    assert cds.archive_in(share) == Path("/c/a.jsa")
    assert not cds.failed_on_archive(run_of(share[:1] + share[2:], crash))  # no archive used
    late = "@!@!@STARTMSG 2262:0 @!@!@\nTLC2 Version 2.15\n" + crash  # TLC itself crashed
    assert not cds.failed_on_archive(run_of(share, late))
    assert not cds.failed_on_archive(run_of(share, "Error: no spec", 1))


def fake_step(argv: list[str], cwd: Path) -> str | None:
    """A build step without a JVM: writes the class list or the archive it is asked for."""
    for arg in argv:
        if arg.startswith("-XX:DumpLoadedClassList="):
            Path(arg.split("=", 1)[1]).write_text("java/lang/Object\n")
        if arg.startswith("-XX:SharedArchiveFile=") and "-Xshare:dump" in argv:
            Path(arg.split("=", 1)[1]).write_bytes(b"archive" * 1000)
    return None


def test_an_archive_is_never_in_place_without_its_record(tmp_path: Path, cds_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process looking at the archive (`_intact`) the moment it is renamed into
    place finds it with its record, and a look never deletes an archive."""
    tools = fake_tools(tmp_path)
    monkeypatch.setattr(cds, "_step", fake_step)
    path = cds_dir / f"{cds.archive_key(tools)}.jsa"
    looks: list[bool] = []
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        real_replace(src, dst)
        if Path(dst) == path:
            looks.append(cds._intact(path))

    monkeypatch.setattr(os, "replace", replace)
    assert cds.archive_args(tools) == [f"-XX:SharedArchiveFile={path}", "-Xshare:auto"]
    assert looks == [True] and cds._intact(path)
    assert sorted(p.name for p in cds_dir.iterdir()) == sorted(
        [path.name, path.with_suffix(".json").name, path.with_suffix(".lock").name])
    path.with_suffix(".json").unlink()  # an archive without its record: not used, not deleted
    assert not cds._intact(path) and path.exists()
    assert cds.archive_args(tools) == [f"-XX:SharedArchiveFile={path}", "-Xshare:auto"]
    assert cds._intact(path)  # made again under the lock


def test_an_unwritable_record_is_a_failed_build_not_a_traceback(tmp_path: Path, cds_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    tools = fake_tools(tmp_path)
    monkeypatch.setattr(cds, "_step", fake_step)
    cds_dir.mkdir()
    meta = cds_dir / f"{cds.archive_key(tools)}.json"
    meta.mkdir()  # a directory where the record goes
    assert cds.archive_args(tools) == []
    (failed,) = cds_dir.glob("*.failed")
    assert "cannot write" in failed.read_text()
    assert not list(cds_dir.glob("*.jsa")) and not list(cds_dir.glob(".*tmp"))


def test_a_build_step_is_tied_to_mmcheck(tmp_path: Path) -> None:
    """SIGKILL of the process that runs a build step ends the step's process too."""
    marker = str(tmp_path / "step-marker")
    code = ("import sys; from pathlib import Path; from runner import cds; "
            "cds._step([sys.executable, '-c', 'import time; time.sleep(120)', sys.argv[1]], "
            "Path('.'))")
    proc = subprocess.Popen([sys.executable, "-c", code, marker],
                            cwd=Path(__file__).parent.parent)
    try:
        deadline = time.monotonic() + 30
        while len(jvms_mentioning(marker)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(jvms_mentioning(marker)) == 2, "the step never started"
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while jvms_mentioning(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert jvms_mentioning(marker) == [], "the step survived SIGKILL of its parent"
    finally:
        for pid in jvms_mentioning(marker):
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- the real JVM


@pytest.mark.java
def test_cancel_all_stops_an_archive_build(tools, cds_dir: Path, private_tmp: Path) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C in `mmcheck check` (cancel_all) reaches a build running in a pool thread; a
    cancelled build is not remembered as failed."""
    from runner import java

    outcome: list[object] = []

    def build() -> None:
        try:
            outcome.append(cds.archive_args(tools))
        except java.Cancelled as e:
            outcome.append(e)

    thread = threading.Thread(target=build)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not jvms_mentioning(str(private_tmp)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert jvms_mentioning(str(private_tmp)), "the build never started a JVM"
        java.cancel_all()
        thread.join(15)
    finally:
        java.reset_cancel()
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], java.Cancelled), outcome
    assert not list(cds_dir.glob("*.failed")) and not list(cds_dir.glob("*.jsa"))
    assert jvms_mentioning(str(private_tmp)) == []
    assert list(private_tmp.iterdir()) == []


def sany(tools: JavaTools, tmp_path: Path) -> ToolRun:
    (tmp_path / "M.tla").write_text(OK_TLA)
    return run_tool(tools, "tla2sany.SANY", ["M.tla"], cwd=tmp_path)


def archive_of(cds_dir: Path) -> Path:
    (jsa,) = cds_dir.glob("*.jsa")
    return jsa


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, tools) -> Path:  # type: ignore[no-untyped-def]
    """One archive made for real (a few seconds), copied by the tests that damage it."""
    d = tmp_path_factory.mktemp("cds-made")
    old = os.environ.get("MMCHECK_CDS_DIR")
    os.environ["MMCHECK_CDS_DIR"] = str(d / "cds")
    try:
        run = sany(tools, d)
    finally:
        if old is None:
            del os.environ["MMCHECK_CDS_DIR"]
        else:
            os.environ["MMCHECK_CDS_DIR"] = old
    assert run.exit_code == 0 and "Semantic processing of module M" in run.output
    assert f"-XX:SharedArchiveFile={archive_of(d / 'cds')}" in run.argv
    return d / "cds"


def copy_of(made: Path, cds_dir: Path) -> Path:
    cds_dir.mkdir()
    for f in made.iterdir():
        shutil.copy2(f, cds_dir / f.name)  # the same mtime: the record still matches
    return archive_of(cds_dir)


@pytest.mark.java
def test_archive_made_once_used_and_rebuilt_when_damaged(tools, made: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         cds_dir: Path) -> None:
    jsa = copy_of(made, cds_dir)
    meta = json.loads(jsa.with_suffix(".json").read_text())
    assert meta["size"] == jsa.stat().st_size > 1_000_000
    assert meta["jar_sha256"] == tools.identity
    made_at = jsa.stat().st_mtime_ns
    assert f"-XX:SharedArchiveFile={jsa}" in sany(tools, tmp_path).argv
    assert jsa.stat().st_mtime_ns == made_at  # used as it is, not made again

    # Truncated (a JVM mapping it would die of SIGBUS): detected, made again, run fine.
    jsa.chmod(0o644)
    os.truncate(jsa, 1_000_000)
    run = sany(tools, tmp_path)
    assert run.exit_code == 0 and "Semantic processing of module M" in run.output
    assert f"-XX:SharedArchiveFile={jsa}" in run.argv
    assert jsa.stat().st_size == meta["size"] and jsa.stat().st_mtime_ns != made_at


@pytest.mark.java
def test_a_jvm_dying_on_its_archive_is_run_again_without_it(tools, made: Path,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path,
                                                            cds_dir: Path) -> None:
    jsa = copy_of(made, cds_dir)
    # Damage that the size and mtime record cannot see: truncate, then forge the record.
    jsa.chmod(0o644)
    os.truncate(jsa, 1_000_000)
    st = jsa.stat()
    meta = jsa.with_suffix(".json")
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "size": st.st_size,
                                "mtime_ns": st.st_mtime_ns}))
    run = sany(tools, tmp_path)
    assert run.exit_code == 0 and "Semantic processing of module M" in run.output
    assert not any(a.startswith("-XX:SharedArchiveFile") for a in run.argv)  # the rerun's
    assert not jsa.exists() and not meta.exists()  # discarded: the next run makes it again
