"""Hostile input, pure tier (no TLC run): every bad value, file, stored result and
destination is one line on stderr and exit 2, never a traceback; nothing is half-written.
One test (or parametrised group) per class of the reliability issue."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from gen.load import load_models
from gen.model import MAX_NAME_BYTES, PROPERTIES
from runner.cache import Cache, digest
from runner.cli import main
from runner.errors import ConfigError, OutputError
from runner.files import write_atomic
from runner.rundir import LOCK, keep_runs, locked, prune_runs
from runner.sweep.spec import load_sweep, point_name

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "data" / "runs" / "example"

MODEL = """\
[[model]]
name = "{name}"
protocol = "vm_dead"
pages = 4
ptes_per_table = 2
munmap = {{ start = 1, end = 3 }}
vmas = [ {{ start = 1, end = 5, flags = [] }} ]
threads = [ {{ kind = "fault", access = "read", addr = 2 }} ]
threshold_pages = 2
"""

SWEEP = """\
[sweep]
name = "s"
{sweep}
[sweep.axes]
{axes}
[sweep.derive]
{derive}
[base]
protocol = "vm_dead"
pages = 4
ptes_per_table = 2
munmap = {{ start = 1, end = 3 }}
vmas = [ {{ start = 1, end = 5, flags = [] }} ]
threads = [ {{ kind = "fault", access = "read", addr = 2 }} ]
threshold_pages = 2
"""


def sweep_file(tmp_path: Path, axes: str = "pages = [4]", derive: str = "",
               sweep: str = "") -> Path:
    path = tmp_path / "s.toml"
    path.write_text(SWEEP.format(axes=axes, derive=derive, sweep=sweep))
    return path


def one_line_error(capsys: pytest.CaptureFixture[str], rc: int, *wanted: str) -> str:
    """The command failed with exit 2 and exactly one line on stderr, containing `wanted`."""
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "internal error" not in err, err
    for w in wanted:
        assert w in err, err
    return err


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody can write into, root included (chattr +i; chmod as a non-root)."""
    d = tmp_path / "ro"
    d.mkdir()
    if os.geteuid() != 0:
        d.chmod(0o555)
    elif shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(d)], capture_output=True, check=False).returncode != 0:
        pytest.skip("root without chattr +i: no directory is read-only")
    yield d
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(d)], check=False)
    else:
        d.chmod(0o755)


# ---------------------------------------------------------------- timeouts

BAD_TIMEOUTS = ["nan", "inf", "1e300", "1e-9", "-1", "0", "-inf", "0.5", "1e7", "ten"]


@pytest.mark.parametrize("value", BAD_TIMEOUTS)
@pytest.mark.parametrize("command", ["check", "tlc", "sweep"])
def test_bad_timeouts_are_refused_in_one_line(command: str, value: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    target = {"check": str(ROOT / "specs" / "matrix.toml"),
              "tlc": str(ROOT / "tests" / "corpus" / "specs" / "Ok.tla"),
              "sweep": str(sweep_file(tmp_path))}[command]
    rc = main([command, target, "--timeout", value, "--out", str(tmp_path / "out")]
              if command != "tlc" else [command, target, "--timeout", value])
    one_line_error(capsys, rc, "--timeout")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300", "1e-9", "-1", "0", "true",
                                   '"60"'])
def test_bad_sweep_file_timeouts(tmp_path: Path, value: str) -> None:
    path = sweep_file(tmp_path, sweep=f"timeout = {value}")
    with pytest.raises(ConfigError, match=r"sweep\.timeout: ") as e:
        load_sweep(path)
    assert "\n" not in str(e.value)


def test_timeout_help_says_the_range(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("check", "tlc", "sweep"):
        assert main([command, "--help"]) == 0
        assert "1 to 604800 s, a week" in " ".join(capsys.readouterr().out.split())


def test_library_timeouts_are_checked_too(tmp_path: Path) -> None:
    from runner.check import check_models
    from runner.sweep import run_sweep
    from runner.tlc import run_tlc

    for bad in (float("nan"), float("inf"), 1e300):
        with pytest.raises(ConfigError, match="timeout"):
            run_tlc(ROOT / "tests/corpus/specs/Ok.tla", tools=None, timeout=bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="timeout"):
            check_models([], tmp_path / "out", None, timeout=bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="timeout"):
            run_sweep(sweep_file(tmp_path), timeout=bad, out=tmp_path / "sw")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- model and sweep files


def test_model_name_length_is_counted_in_bytes(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    for name in ("a" * 300, "é" * 40):  # 300 bytes; 40 characters, 80 bytes
        path.write_text(MODEL.format(name=name))
        with pytest.raises(ConfigError, match=f"longer than {MAX_NAME_BYTES} bytes") as e:
            load_models(path)
        assert "\n" not in str(e.value)
    path.write_text(MODEL.format(name="a" * MAX_NAME_BYTES))
    assert load_models(path)[0].name == "a" * MAX_NAME_BYTES


def test_sweep_point_names_are_shortened_to_the_limit(tmp_path: Path) -> None:
    axes = (("protocol", "vm_dead"), ("pages", 10), ("threads[0].count", 5),
            ("ptes_per_table", 2), ("threshold_pages", 3), ("write_hold_bound", 4),
            ("munmap", {"start": 1, "end": 9}), ("section_pages", 2))
    a = point_name("a-long-sweep-name", axes)
    b = point_name("a-long-sweep-name", axes[:-1] + (("section_pages", 3),))
    assert len(a.encode()) <= MAX_NAME_BYTES and len(b.encode()) <= MAX_NAME_BYTES
    assert a != b and a.startswith("a-long-sweep-name-vm_dead-pages10")


@pytest.mark.parametrize("loader", ["model", "sweep"])
def test_a_file_that_is_not_utf8(tmp_path: Path, loader: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b'[[model]]\nname = "caf\xe9"\n')
    rc = main(["check", str(path)] if loader == "model" else ["sweep", str(path)])
    one_line_error(capsys, rc, f"{path}: not UTF-8")


@pytest.mark.parametrize("content, wanted", [
    (b"{# caf\xe9 #}\n", "not UTF-8 (byte 6)"),
    (b"{% macro x(P) %}\n", ":1: not a valid template"),
    (None, "is a directory"),
])
def test_a_bad_macro_file_is_one_line(tmp_path: Path, content: bytes | None, wanted: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mm.j2"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    one_line_error(capsys, main(["steps", "--file", str(path)]), f"--file {path}", wanted)


@pytest.mark.parametrize("depth", [40, 2000])
def test_deeply_nested_toml(tmp_path: Path, depth: int,
                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(MODEL.format(name="x") + "description = " + "[" * depth + "]" * depth + "\n")
    one_line_error(capsys, main(["check", str(path)]), "nested too deeply")
    path.write_text(SWEEP.format(axes="pages = " + "[" * depth + "4" + "]" * depth,
                                 derive="", sweep=""))
    one_line_error(capsys, main(["sweep", str(path)]), "nested too deeply")


@pytest.mark.parametrize("expr", ["+".join(["1"] * 100_000), "*".join(["pages"] * 2000),
                                  "-" * 5000 + "1", "(" * 300 + "1" + ")" * 300,
                                  "min(" * 120 + "1" + ")" * 120])
def test_long_derive_expressions(tmp_path: Path, expr: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = sweep_file(tmp_path, derive=f'"munmap.end" = "{expr}"')
    one_line_error(capsys, main(["sweep", str(path), "--out", str(tmp_path / "o")]),
                   "sweep.derive.munmap.end")


@pytest.mark.parametrize("axis, key", [("munmap = [{ start = 1, end = 3 }, { start = 1, end = 4 }]",
                                        "munmap.end"),
                                       ('"vmas[0].end" = [5]', "vmas"),
                                       ('"threads[0]" = [{ kind = "fault", access = "read", addr = 1 }]',
                                        "threads[0].addr")])
def test_a_derived_key_inside_an_axis_is_refused(tmp_path: Path, axis: str, key: str) -> None:
    path = sweep_file(tmp_path, axes=axis, derive=f'"{key}" = "2"')
    with pytest.raises(ConfigError, match=rf"sweep\.derive\.{key.replace('[', '.').replace(']', '.')}"
                                          r".*the axis .*would override") as e:
        load_sweep(path)
    assert "\n" not in str(e.value)
    sweep_file(tmp_path, axes=axis, derive='"vmas[0].start" = "1"' if "vmas" not in axis else "")
    load_sweep(tmp_path / "s.toml")  # an unrelated derived key is fine


def test_a_huge_grid_is_refused_before_it_is_expanded(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    values = ", ".join(str(i) for i in range(100))
    path = sweep_file(tmp_path, axes=f"pages = [{values}]\nptes_per_table = [{values}]\n"
                                      f"threshold_pages = [{values}]")
    sizes: list[int] = []
    with pytest.raises(ConfigError, match=r"1,000,000 points, more than 10,000 "
                                          r"\(--max-points N allows more\)"):
        load_sweep(path, on_size=sizes.append)
    assert sizes == [1_000_000]
    rc = main(["sweep", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.splitlines()
    assert rc == 2 and err[0] == f"mmcheck: {path}: 1,000,000 points; validating them"
    assert err[1].startswith("mmcheck: error:") and len(err) == 2
    # allowed, it is expanded (and here refused for its first invalid point, pages = 0)
    with pytest.raises(ConfigError, match="pages: 0 is out of range"):
        load_sweep(path, max_points=1_000_000)


# ---------------------------------------------------------------- stored results


def example_copy(tmp_path: Path) -> tuple[Path, dict]:  # type: ignore[type-arg]
    run = tmp_path / "run"
    shutil.copytree(EXAMPLE, run)
    return run, json.loads((run / "results.json").read_text())


def test_report_on_results_that_are_not_utf8(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    run, _ = example_copy(tmp_path)
    (run / "results.json").write_bytes(b'{"models": ["\xff"]}')
    one_line_error(capsys, main(["report", str(run)]), "not UTF-8")


@pytest.mark.parametrize("edit, wanted", [
    (lambda m: m["properties"].pop("NoThirdState"), "properties.NoThirdState: missing"),
    (lambda m: m["properties"]["TypeOK"].update(verdict="fine"), "unknown value 'fine'"),
    (lambda m: m["properties"]["TypeOK"].update(expected="maybe"), "unknown value 'maybe'"),
    (lambda m: m["properties"]["TypeOK"].update(matches=False), "matches: False"),
    (lambda m: m["properties"].update(Bogus=m["properties"]["TypeOK"]), "unknown property"),
    (lambda m: m.update(runs=[{"name": 1}]), "runs[0].name"),
    (lambda m: m.update(distinct_states="many"), "distinct_states"),
    (lambda m: m["properties"]["TypeOK"].update(trace={"states": [{"number": "one"}]}),
     "trace.states[0].number"),
])
def test_report_validates_stored_results(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         edit, wanted: str) -> None:  # type: ignore[no-untyped-def]
    run, data = example_copy(tmp_path)
    edit(data["models"][0])
    (run / "results.json").write_text(json.dumps(data))
    one_line_error(capsys, main(["report", str(run)]), wanted, "run mmcheck check again")
    assert not (run / "report.md").exists() or (run / "report.md").read_text() == \
        (EXAMPLE / "report.md").read_text()


def test_a_bad_stored_model_is_reported_against_the_stored_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not against the matrix the model once came from: that file is fine."""
    run, data = example_copy(tmp_path)
    data["models"][0]["model"]["protocol"] = "nosuch"
    (run / "results.json").write_text(json.dumps(data))
    err = one_line_error(capsys, main(["report", str(run)]), "protocol: unknown value 'nosuch'")
    assert str(run / "results.json") in err and "matrix.toml" not in err


# ---------------------------------------------------------------- writers and destinations


def test_a_full_disk_leaves_no_temporary_file(tmp_path: Path) -> None:
    """A real write failure (RLIMIT_FSIZE: EFBIG, as a full disk gives ENOSPC) in a child."""
    code = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        from runner.errors import OutputError
        from runner.files import write_atomic
        try:
            write_atomic({str(tmp_path / 'big.txt')!r}, "x" * 8192)
        except OutputError as e:
            print(e)
            sys.exit(3)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.startswith(f"{tmp_path / 'big.txt'}: cannot write (File too large)")
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_into_a_read_only_directory(immutable: Path) -> None:
    with pytest.raises(OutputError, match="cannot write") as e:
        write_atomic(immutable / "x.json", "{}")
    assert "\n" not in str(e.value)
    assert list(immutable.iterdir()) == []


def bad_destinations(tmp_path: Path, immutable: Path) -> dict[str, Path]:
    afile = tmp_path / "a-file"
    afile.write_text("x")
    return {"read-only": immutable / "out", "a file": afile, "under a file": afile / "out",
            "/proc": Path("/proc/mmcheck-out"), "too long": tmp_path / ("x" * 300)}


def test_unwritable_out_is_one_line_before_anything_runs(tmp_path: Path, immutable: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    models = ROOT / "specs" / "matrix.toml"
    for out in bad_destinations(tmp_path, immutable).values():
        rc = main(["check", str(models), "--model", "vm_dead-fault", "--out", str(out),
                   "--cache-dir", str(tmp_path / "cache")])
        one_line_error(capsys, rc, str(out))
        rc = main(["sweep", str(sweep_file(tmp_path)), "--out", str(out), "--no-cache"])
        one_line_error(capsys, rc, str(out))


def test_unwritable_cache_and_json_are_one_line(tmp_path: Path, immutable: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    models = ROOT / "specs" / "matrix.toml"
    for bad in bad_destinations(tmp_path, immutable).values():
        rc = main(["check", str(models), "--model", "vm_dead-fault", "--out",
                   str(tmp_path / "o"), "--cache-dir", str(bad)])
        one_line_error(capsys, rc, str(bad), "--no-cache")
        rc = main(["check", str(models), "--model", "vm_dead-fault", "--out",
                   str(tmp_path / "o"), "--json", str(bad / "r.json")])
        one_line_error(capsys, rc)
    assert not (tmp_path / "o").exists()


def test_tlc_checks_its_destinations_before_the_run(tmp_path: Path, immutable: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`mmcheck tlc --json/--log` into a place that cannot be written: refused before TLC runs
    (no "outcome:" printed: no run lost), as `mmcheck check --json` is."""
    spec = ROOT / "tests" / "corpus" / "specs" / "Ok.tla"
    for option in ("--json", "--log"):
        for bad in bad_destinations(tmp_path, immutable).values():
            rc = main(["tlc", str(spec), option, str(bad / "r.json"), "--workers", "1"])
            err = one_line_error(capsys, rc, f"{option} file")
            assert capsys.readouterr().out == "", err
        rc = main(["tlc", str(spec), option, str(tmp_path), "--workers", "1"])  # a directory
        one_line_error(capsys, rc, "a directory is in the way")
    rc = main(["check", str(ROOT / "specs" / "matrix.toml"), "--model", "vm_dead-fault",
               "--out", str(tmp_path / "o"), "--json", str(tmp_path)])
    one_line_error(capsys, rc, "a directory is in the way")
    assert not (tmp_path / "o").exists()


def test_an_unusable_temporary_directory_is_one_line(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Every JVM gets a private directory under TMPDIR: one that cannot be made there is
    the user's to fix, not an internal error."""
    import tempfile

    (tmp_path / "file").write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "file" / "tmp"))
    spec = ROOT / "tests" / "corpus" / "specs" / "Ok.tla"
    rc = main(["tlc", str(spec), "--workers", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and "internal error" not in err, err
    assert err.splitlines()[-1].startswith(f"mmcheck: error: {tmp_path / 'file' / 'tmp'}: "
                                           "cannot make a private directory"), err


def test_no_hand_written_atomic_writes_or_temporary_directories() -> None:
    """One atomic writer (runner.files) and one maker of private directories
    (runner.jvm.private_dir, whose names the stale-directory cleanup knows)."""
    offenders = []
    for path in sorted([*(ROOT / "runner").rglob("*.py"), *(ROOT / "gen").rglob("*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text()
        if "os.replace(" in text and rel not in ("runner/files.py", "runner/rundir.py"):
            offenders.append(f"{rel}: os.replace")  # rundir: a symlink, not a file written
        if "mkdtemp(" in text and rel != "runner/jvm.py":
            offenders.append(f"{rel}: mkdtemp")
    assert offenders == []


def test_stale_private_directories_of_every_kind_are_removed(private_tmp: Path) -> None:
    from runner import java

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead, mine = gone.pid, os.getpid()
    for kind in java.PRIVATE_KINDS:
        for pid in (dead, mine):
            (private_tmp / f"mmcheck-{kind}-{pid}-abc").mkdir()
    (private_tmp / f"mmcheck-other-{dead}-abc").mkdir()  # not ours: left alone
    made = java.private_dir("dtlc")
    assert made.name.startswith(f"mmcheck-dtlc-{mine}-")
    with pytest.raises(ValueError):
        java.private_dir("dtlc-worker")  # a kind the cleanup would not know
    java.remove_stale_private_dirs.cache_clear()
    assert java.remove_stale_private_dirs() == len(java.PRIVATE_KINDS)
    left = sorted(p.name for p in private_tmp.iterdir())
    assert left == sorted([made.name, f"mmcheck-other-{dead}-abc",
                           *(f"mmcheck-{k}-{mine}-abc" for k in java.PRIVATE_KINDS)])
    java.remove_stale_private_dirs.cache_clear()


def test_a_clusters_point_that_cannot_be_installed_is_a_failed_point(tmp_path: Path,
                                                                     immutable: Path) -> None:
    """The client installs a Dask point's files through runner.files: an unwritable
    directory makes that point a failed one (checked again next time), no .tmp is left, and
    the sweep goes on."""
    from runner.sweep.cluster import _deliver, _install
    from runner.sweep.run import Settings

    point = load_sweep(sweep_file(tmp_path)).points[0]
    settings = Settings(1, 1, None, 60.0, None)
    result = {"kind": "done", "files": {"m.log": b"x" * 100, "sub/a.txt": b"a"},
              "rows": [{"property": "TypeOK", "trace": None}], "workdir": "/remote/p"}
    kind, rows = _deliver(result, "s", point, settings, tmp_path / "ok")
    assert kind == "done" and rows[0]["directory"] == str(tmp_path / "ok")
    assert (tmp_path / "ok" / "sub" / "a.txt").read_bytes() == b"a"
    kind, rows = _deliver(result, "s", point, settings, immutable / "p")
    assert kind == "failed" and {r["verdict"] for r in rows} == {"error"}
    assert "cannot create the point's directory" in rows[0]["message"]
    (tmp_path / "p2").mkdir()
    (tmp_path / "p2" / "sub").write_text("a file where a directory goes")
    with pytest.raises(OutputError):
        _install(result, tmp_path / "p2")
    assert sorted(p.name for p in (tmp_path / "p2").iterdir()) == ["m.log", "sub"]


def test_new_writes_through_the_one_writer(tmp_path: Path, immutable: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["new", "my_proto", "--dir", str(immutable)])
    one_line_error(capsys, rc, str(immutable / "my_proto.tla.j2"), "cannot write")
    assert list(immutable.iterdir()) == []


def test_cache_write_failures_are_counted_not_raised(immutable: Path) -> None:
    cache = Cache(immutable)
    cache.put_run("ab" * 32, "output", 0)
    assert len(cache.write_errors) == 1 and cache.get_run("ab" * 32) is None


# ---------------------------------------------------------------- the cache


def test_every_cache_entry_carries_the_checksum_of_its_content(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key_run, key_text = digest("run"), digest("text")
    cache.put_run(key_run, "TLC output\n", 12)
    cache.put_text(key_text, "---- MODULE M ----\n====\n")
    assert cache.get_run(key_run) == ("TLC output\n", 12)
    assert cache.get_text(key_text) == "---- MODULE M ----\n====\n"
    assert cache.get_text(key_run) is None and cache.get_run(key_text) is None  # kinds differ
    entry = cache._path(key_text)
    text = entry.read_text()
    for broken in (text[:-5],  # truncated
                   text.replace("MODULE M", "MODULE N"),  # edited
                   "[]\n" + text.split("\n", 1)[1],  # a header that is valid JSON, not an object
                   "null\n" + text.split("\n", 1)[1], "", "no newline", "{\n"):
        entry.write_text(broken)
        assert cache.get_text(key_text) is None, broken
    entry.write_bytes(b'{"sha256": "x", "kind": "text"}\n\xff')
    assert cache.get_text(key_text) is None
    cache.put_text(key_text, "again")  # re-made
    assert cache.get_text(key_text) == "again"
    run_entry = cache._path(key_run)
    header, body = run_entry.read_text().split("\n", 1)
    for exit_code in ('"0"', "true", "[1]"):
        meta = json.loads(header)
        meta["exit_code"] = json.loads(exit_code)
        run_entry.write_text(json.dumps(meta) + "\n" + body)
        assert cache.get_run(key_run) is None


# ---------------------------------------------------------------- run directories


def test_a_run_directory_is_locked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = ("import sys, time\nfrom runner.rundir import locked\n"
            f"with locked({str(out)!r}):\n    print('held', flush=True)\n    time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        busy = rf"in use by another mmcheck run \(PID {holder.pid}\)"
        with pytest.raises(OutputError, match=busy), locked(out):
            pass
        rc = main(["check", str(ROOT / "specs/matrix.toml"), "--model", "vm_dead-fault",
                   "--out", str(out), "--cache-dir", str(tmp_path / "cache")])
        one_line_error(capsys, rc, f"PID {holder.pid}")
        rc = main(["sweep", str(sweep_file(tmp_path)), "--out", str(out)])
        one_line_error(capsys, rc, f"PID {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
    # The holder died by SIGKILL: its lock file stays, stale, and is taken over.
    assert (out / LOCK).read_text().strip() == str(holder.pid)
    with locked(out):
        assert (out / LOCK).read_text().strip() == str(os.getpid())
        with locked(out):  # the same process again (check_models inside mmcheck check)
            pass
    assert not (out / LOCK).exists()


def test_results_keep_the_latest_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results"
    names = [f"run-2026110{d}-12000{s}" for d in range(1, 6) for s in range(2)]
    for n in names:
        (results / n).mkdir(parents=True)
    (results / "other").mkdir()
    (results / ".cache").mkdir()
    (results / "latest").symlink_to(names[0])  # the oldest, still pointed at: kept
    with locked(results / names[1]):  # in use by a run: kept
        removed = prune_runs(results, 3, current=results / names[-1])
    assert sorted(p.name for p in removed) == names[2:7]
    assert sorted(p.name for p in results.iterdir()) == sorted(
        names[:2] + names[7:] + ["other", ".cache", "latest"])
    assert prune_runs(results, 0) == []
    monkeypatch.delenv("MMCHECK_KEEP_RUNS", raising=False)
    assert keep_runs(None) == 10 and keep_runs(4) == 4
    monkeypatch.setenv("MMCHECK_KEEP_RUNS", "2")
    assert keep_runs(None) == 2 and keep_runs(5) == 5
    for bad, origin in (("-1", "$MMCHECK_KEEP_RUNS"), ("x", "$MMCHECK_KEEP_RUNS")):
        monkeypatch.setenv("MMCHECK_KEEP_RUNS", bad)
        with pytest.raises(ConfigError, match=rf"\{origin}"):
            keep_runs(None)
    with pytest.raises(ConfigError, match="--keep-runs"):
        keep_runs(-3)


# ---------------------------------------------------------------- the command line


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mmcheck 0.1.0\nTLC 2.15 rev d5b5a7f (bundled ")
    assert ("tla2tools.jar sha256 58c6df9a1045beb341ee947bc640fe8d89988ad1d0b700e392aa8dd97502129a"
            in out)
    assert "\nJava " in out


def test_every_help_has_examples_and_fits_100_columns(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.cli import COMMANDS

    monkeypatch.setenv("COLUMNS", "100")
    for argv in [["--help"]] + [[c, "--help"] for c in COMMANDS]:
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "\nexamples:\n  mmcheck " in out, argv
        assert max(len(line) for line in out.splitlines()) <= 100, argv


def test_shell_completion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    for word in ("check", "sweep", "report", "--timeout", "--keep-runs", "--max-points"):
        assert word in script
    if shutil.which("bash"):
        subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    assert main(["completion", "zsh"]) == 0 and "#compdef mmcheck" in capsys.readouterr().out
    one_line_error(capsys, main(["completion", "fish"]), "invalid choice")


@pytest.mark.skipif(not shutil.which("bash"), reason="no bash")
def test_bash_completes_protocol_scenario_and_model_names(tmp_path: Path) -> None:
    script = tmp_path / "c.bash"
    script.write_text(subprocess.run([sys.executable, "-m", "runner.cli", "completion", "bash"],
                                     capture_output=True, text=True, check=True).stdout)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def complete(line: str) -> list[str]:
        words = line.split(" ")
        code = (f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
                f"COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; _shtab_mmcheck; "
                'printf "%s\\n" "${COMPREPLY[@]}"')
        out = subprocess.run(["bash", "-c", code], capture_output=True, text=True, env=env,
                             cwd=ROOT, check=True, timeout=60).stdout
        return sorted(out.split())

    assert complete("mmcheck compare detach_m") == ["detach_merged", "detach_merged_52"]
    assert complete("mmcheck compare detach_a") == ["detach_always"]
    assert complete("mmcheck compare a b --scenarios observers") == ["observers",
                                                                      "observers-wide"]
    assert complete("mmcheck check --model vm_dead-observers") == ["vm_dead-observers",
                                                                   "vm_dead-observers-wide"]


def test_list_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--names", "protocols"]) == 0
    names = capsys.readouterr().out.split()
    assert "detach_merged" in names and "vm_dead" in names and "base" not in names
    assert main(["list", "--names", "threads"]) == 0
    assert "fault" in capsys.readouterr().out.split()
    one_line_error(capsys, main(["list", "--names", "nosuch"]), "invalid choice")


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["check", "--jobs", "x"], ["nosuch"], ["tlc"], ["check", "--bogus"],
                 ["check", "--jobs", "1000"], ["compare", "a", "b", "--jobs", "0"],
                 ["check", "-v", "-q"], ["sweep", "x.toml", "--max-points", "0"],
                 ["check", "--keep-runs", "-1"]):
        one_line_error(capsys, main(argv))


@pytest.mark.parametrize("argv, wanted", [
    (["tlc", "S.tla", "--distributed", "abc"], "--distributed: 'abc' is not a whole number"),
    (["tlc", "S.tla", "--distributed", "-1"], "--distributed: must be 0 or more, not -1"),
    (["tlc", "S.tla", "--port", "x"], "--port: 'x' is not a whole number"),
    (["tlc", "S.tla", "--port", "70000"], "--port: not a port number (1 to 65535): 70000"),
    (["tlc", "S.tla", "--workers", "two"], "--workers: 'two' is not a whole number"),
    (["tlc", "S.tla", "--heap-mb", "0"], "--heap-mb: must be at least 1, not 0"),
    (["worker", "h", "--threads", "1.5"], "--threads: '1.5' is not a whole number"),
    (["check", "--jobs", "x"], "--jobs: 'x' is not a whole number"),
])
def test_bad_option_values_say_what_is_wrong(argv: list[str], wanted: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Every type= function of the commands gives argparse a message of its own (a bare
    ValueError would print "invalid _count value")."""
    err = one_line_error(capsys, main(argv), wanted)
    assert "invalid _" not in err


def test_an_internal_error_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from runner.commands import listing

    def broken(args: object) -> int:
        raise TypeError("a bug")

    monkeypatch.setattr(listing, "run", broken)
    monkeypatch.delenv("MMCHECK_DEBUG", raising=False)
    err = capsys.readouterr().err
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mmcheck: internal error: TypeError: a bug (a bug: please report it")
    assert err.count("\n") == 1


def test_console_colour_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from runner.progress import Console, use_colour

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(Tty()) and not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(Tty())
    out, err = io.StringIO(), io.StringIO()
    c = Console(0, out, err)  # -q
    c.info("progress")
    c.detail("a run")
    c.result("the result")
    c.warn("a problem")
    assert out.getvalue() == "the result\n" and err.getvalue() == "a problem\n"


def test_stored_error_rows_are_reported(tmp_path: Path) -> None:
    """A model that failed is stored as an error row (no spec, no runs): the reports take it,
    and every attachment line fits 80 columns, also with a model name at the length limit."""
    from runner.report import attachment
    from runner.report.stored import load_run

    run, data = example_copy(tmp_path)
    m = data["models"][0]
    m.update(spec="", spec_sha256="", runs=[], distinct_states=None, max_write_hold=None,
             depth=None, tlc_version=None, tlc_revision=None)
    for p in PROPERTIES:
        m["properties"][p] = {"verdict": "error", "expected": "holds", "matches": False,
                              "run": None, "message": "OSError: disk full", "trace": None}
    long_name = "m" * MAX_NAME_BYTES
    other = data["models"][1]
    shutil.copytree(run / other["name"], run / long_name)
    other["name"] = other["model"]["name"] = long_name
    (run / "results.json").write_text(json.dumps(data))
    stored = load_run(run)
    assert stored.results[0].status == 2
    for r in stored.results:
        text = attachment.render(r)
        assert max(len(line) for line in text.splitlines()) <= 80, r.model.name
    assert main(["report", str(run)]) == 2
