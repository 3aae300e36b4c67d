"""runner.cds: the class-data archive every JVM starts on (pure parts, then the real JVM)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

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


# ---------------------------------------------------------------- the real JVM


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
