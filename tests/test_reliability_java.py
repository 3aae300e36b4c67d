"""Reliability with the real TLC: signals (SIGINT, SIGTERM, SIGKILL) leave no JVM and no
temporary directory, a failed model is an error row, the cache holds the runs' own output and
makes broken translations again, timed-out sweeps say so, and the command line's streams."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import jvms_mentioning

from gen.load import load_models
from gen.model import PROPERTIES
from runner.cache import Cache
from runner.check import check_model
from runner.cli import main

pytestmark = pytest.mark.java
ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "specs" / "matrix.toml"
SLOW = ROOT / "tests" / "data" / "slow.toml"  # grows for minutes
SPECS = ROOT / "tests" / "corpus" / "specs"


def start(argv: list[str], tmp_path: Path, **kw) -> tuple[subprocess.Popen[bytes], Path]:  # type: ignore[no-untyped-def]
    """`mmcheck ARGV` as a program, with a private TMPDIR (in every JVM's command line)."""
    private = tmp_path / "tmp"
    private.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(private), **kw.pop("env", {})}
    kw = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kw}
    proc = subprocess.Popen([sys.executable, "-m", "runner.cli", *argv], cwd=ROOT, env=env, **kw)
    return proc, private


def wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def models_file(tmp_path: Path, names: list[str], extra: Path | None = None) -> Path:
    """A [[model]] file of committed models (by name), and the models of `extra`."""
    from test_fuzz import to_toml

    wanted = [m for m in load_models(MATRIX) if m.name in names]
    assert len(wanted) == len(names)
    tables = [{k: v for k, v in m.to_dict().items() if k not in ("source", "protocol_definition")}
              for m in wanted]
    text = "".join("[[model]]\n" + to_toml(t) for t in tables)
    if extra is not None:
        text += "\n" + extra.read_text()
    path = tmp_path / "models.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                       (signal.SIGHUP, 129)])
def test_sigint_sigterm_and_sighup_stop_a_check_alike(tmp_path: Path, sig: int, code: int) -> None:
    models = models_file(tmp_path, ["vm_dead-fault"], extra=SLOW)
    proc, private = start(["check", str(models), "--jobs", "2", "--no-cache",
                           "--out", str(tmp_path / "out")], tmp_path)
    try:
        assert wait_for(lambda: len(jvms_mentioning(str(private))) > 0, 60)
        time.sleep(1.0)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    text = err.decode()
    assert proc.returncode == code, text
    assert "Traceback" not in text and "Exception ignored" not in text, text
    assert "of 2 models finished; their results are in" in text
    assert jvms_mentioning(str(private)) == []
    assert list(private.iterdir()) == []


def test_sigkill_of_mmcheck_ends_its_jvms(tmp_path: Path) -> None:
    proc, private = start(["check", str(SLOW), "--no-cache", "--out", str(tmp_path / "out")],
                          tmp_path)
    try:
        assert wait_for(lambda: len(jvms_mentioning(str(private))) > 0, 60)
        time.sleep(0.5)
        proc.kill()
        proc.wait(timeout=10)
        assert wait_for(lambda: jvms_mentioning(str(private)) == [], 5), \
            "a JVM survived SIGKILL of mmcheck"
    finally:
        for pid in jvms_mentioning(str(private)):
            os.kill(pid, signal.SIGKILL)
    # Its private directories stay (nobody is left to remove them): the next run does.
    left = sorted(p.name for p in private.iterdir())
    assert left and all(f"-{proc.pid}-" in name for name in left), left
    again, _ = start(["tlc", str(SPECS / "Ok.tla"), "--workers", "1"], tmp_path)
    assert again.wait(timeout=60) == 0
    assert list(private.iterdir()) == []


SLOW_SWEEP = """
[sweep]
name = "slow"
timeout = {timeout}
[sweep.axes]
protocol = {protocols}
[base]
""" + SLOW.read_text().split("[[model]]", 1)[1].split('name = "slow"\n', 1)[1].replace(
    'description = "grows for minutes: for tests of timeouts, signals and locks"\n', "")


def slow_sweep(tmp_path: Path, timeout: int = 120,
               protocols: str = '["sections", "vm_dead"]') -> Path:
    path = tmp_path / "slow.toml"
    path.write_text(SLOW_SWEEP.replace("{timeout}", str(timeout)).replace("{protocols}",
                                                                          protocols))
    return path


def test_sigterm_of_a_sweep_is_clean(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc, private = start(["sweep", str(slow_sweep(tmp_path)), "--no-cache", "--out", str(out),
                           "--no-plots"], tmp_path, start_new_session=True)
    try:
        assert wait_for(lambda: len(jvms_mentioning(str(private))) >= 2, 60)
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGTERM)  # the whole group: the points get it twice
        time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    text = err.decode()
    assert proc.returncode == 143, text
    assert "Traceback" not in text and "Exception ignored" not in text, text
    assert jvms_mentioning(str(private)) == [] and jvms_mentioning(str(out)) == []
    assert list(private.iterdir()) == []


def test_sigkill_of_a_sweep_ends_its_points_and_jvms(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc, private = start(["sweep", str(slow_sweep(tmp_path)), "--no-cache", "--out", str(out),
                           "--no-plots"], tmp_path)
    try:
        assert wait_for(lambda: len(jvms_mentioning(str(private))) >= 2, 60)
        proc.kill()
        proc.wait(timeout=10)
        # the point processes (forked: their command line names `out`) and their JVMs
        assert wait_for(lambda: jvms_mentioning(str(private)) == [] == jvms_mentioning(str(out)),
                        15), "a point or a JVM survived SIGKILL of the sweep"
    finally:
        for pid in jvms_mentioning(str(private)) + jvms_mentioning(str(out)):
            os.kill(pid, signal.SIGKILL)


def test_a_sweep_whose_points_timed_out_says_so(tmp_path: Path) -> None:
    proc, _ = start(["sweep", str(slow_sweep(tmp_path, timeout=1, protocols='["vm_dead"]')),
                     "--no-cache", "--out", str(tmp_path / "out"), "--no-plots"], tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err.decode()
    last = out.decode().strip().splitlines()[-1]
    assert last.startswith("1 points (1 checked now, 0 from before): 0 failed, 1 timed out"), last


def test_a_model_that_fails_is_an_error_row(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    models = models_file(tmp_path, ["vm_dead-fault", "detach_merged-fault"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "detach_merged-fault").write_text("a file where the model's directory goes")
    assert main(["check", str(models), "--out", str(out), "--no-cache"]) == 2
    printed = capsys.readouterr()
    data = json.loads((out / "results.json").read_text())
    by = {m["name"]: m for m in data["models"]}
    assert set(by) == {"vm_dead-fault", "detach_merged-fault"}
    assert all(v["matches"] for v in by["vm_dead-fault"]["properties"].values())
    failed = by["detach_merged-fault"]["properties"]
    assert {v["verdict"] for v in failed.values()} == {"error"} and set(failed) == set(PROPERTIES)
    assert "detach_merged-fault" in failed["TypeOK"]["message"]
    assert (out / "report.md").is_file() and (out / "vm_dead-fault" / "attachment.txt").is_file()
    assert "2 models: 1 as expected, 0 unexpected, 1 undecided" in printed.out
    assert "UNEXPECTED: detach_merged-fault: every property error" in printed.err
    assert "Traceback" not in printed.err


def test_the_cache_holds_the_runs_own_output(tmp_path: Path, tools) -> None:  # type: ignore[no-untyped-def]
    """The log files on disk are not the run's to trust (two runs into one --out wrote the same
    ones): here every log is a link to /dev/null, so that reading it back gives nothing.  The
    cache entries, and the write-hold figure, come from what TLC printed to the run."""
    [model] = [m for m in load_models(MATRIX) if m.name == "vm_dead-fault"]
    cache = Cache(tmp_path / "cache")
    directory = tmp_path / "m"
    directory.mkdir()
    for name in ("check-1", "check-2", "safety-1", "liveness-2"):
        (directory / f"{name}.log").symlink_to(os.devnull)
    result = check_model(model, directory, tools, cache=cache)
    assert all(v.matches for v in result.verdicts.values())
    assert (directory / result.runs[0].log).read_text() == ""
    entries = [p.read_text() for p in (tmp_path / "cache").glob("*/*.entry")]
    runs = [e for e in entries if '"kind": "run"' in e.split("\n", 1)[0]]
    assert len(runs) == len(result.runs) >= 1
    assert all("@!@!@STARTMSG 2262" in e for e in runs)  # TLC's version message: its output
    again = check_model(model, tmp_path / "m2", tools, cache=cache)
    assert all(r.cached for r in again.runs)
    assert {p: v.verdict for p, v in again.verdicts.items()} == \
        {p: v.verdict for p, v in result.verdicts.items()}
    assert again.max_write_hold == result.max_write_hold == 0  # vm_dead zaps under the read lock


def test_broken_cached_translations_are_made_again(tmp_path: Path, tools) -> None:  # type: ignore[no-untyped-def]
    [model] = [m for m in load_models(MATRIX) if m.name == "vm_dead-fault"]
    cache = Cache(tmp_path / "cache")
    good = check_model(model, tmp_path / "a", tools, cache=cache)
    assert all(v.matches for v in good.verdicts.values())
    texts = [p for p in (tmp_path / "cache").glob("*/*.entry")
             if '"kind": "text"' in p.read_text().split("\n", 1)[0]]
    assert len(texts) == 1
    entry = texts[0]
    key = entry.name.removesuffix(".entry")
    translated = cache.get_text(key)
    assert translated is not None

    # Truncated (its checksum no longer matches): a miss, translated again at once.
    entry.write_text(entry.read_text()[: len(entry.read_text()) // 2])
    again = check_model(model, tmp_path / "b", tools, cache=cache)
    assert all(v.matches for v in again.verdicts.values())
    assert cache.get_text(key) == translated

    # Broken but with a matching checksum (as an older mmcheck wrote it): TLC cannot parse it;
    # that run is not cached and the translation is dropped, so the next check is right.
    broken = translated.replace("\\* END TRANSLATION", "this is not TLA+\n\\* END TRANSLATION")
    cache.put_text(key, broken)
    bad = check_model(model, tmp_path / "c", tools, cache=cache)
    assert {v.verdict for v in bad.verdicts.values()} == {"error"}
    assert cache.get_text(key) is None
    fixed = check_model(model, tmp_path / "d", tools, cache=cache)
    assert all(v.matches for v in fixed.verdicts.values())
    assert not any(r.cached and r.outcome == "parse_error" for r in fixed.runs)


def test_a_directory_named_tla_next_to_the_spec(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("Ok.tla", "Ok.cfg"):
        (tmp_path / name).write_text((SPECS / name).read_text())
    (tmp_path / "Backup.tla").mkdir()
    assert main(["tlc", str(tmp_path / "Ok.tla"), "--workers", "1"]) == 0
    assert capsys.readouterr().out.startswith("outcome: ok")


def test_quiet_verbose_and_the_two_streams(tmp_path: Path) -> None:
    models = models_file(tmp_path, ["vm_dead-fault"])
    common = ["check", str(models), "--cache-dir", str(tmp_path / "cache")]

    def run(*extra: str, n: int) -> tuple[str, str]:
        proc, _ = start([*common, "--out", str(tmp_path / f"o{n}"), *extra], tmp_path)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        return out.decode(), err.decode()

    out, err = run("-v", n=1)
    assert "vm_dead-fault: safety-1 ..." in err and "mmcheck: checking 1 model from" in err
    assert "scenario | vm_dead" in out and out.strip().splitlines()[-1].startswith(
        "1 model: 1 as expected, 0 unexpected, 0 undecided")
    out, err = run(n=2)  # from the cache now
    assert "safety-1" not in err and "[1/1] vm_dead-fault: as expected" in err
    assert f"results in {tmp_path / 'o2'}/: report.md" in err and "results in" not in out
    assert "scenario | vm_dead" in out
    # progress, diagnostics and the summary fit 100 columns (the matrix is laid out apart),
    # paths aside: here they are pytest's long ones, "results/run-<time>" for a user
    short = err.replace(str(tmp_path / "models.toml"), "specs/models.toml").replace(
        str(tmp_path / "o2"), "results/run-20261202-054803")
    assert max(len(line) for line in short.splitlines()) <= 100, short
    assert len(out.strip().splitlines()[-1]) <= 100
    out, err = run("-q", n=3)
    assert err == "" and out.count("\n") == 1 and out.startswith("1 model: 1 as expected")


def test_a_terminal_gets_the_status_line_and_colour(tmp_path: Path) -> None:
    import pty

    models = models_file(tmp_path, ["vm_dead-fault"])

    def on_a_terminal(n: int, env: dict[str, str]) -> str:
        main_fd, sub_fd = pty.openpty()
        proc, _ = start(["check", str(models), "--cache-dir", str(tmp_path / "cache"),
                         "--out", str(tmp_path / f"o{n}")], tmp_path, stdout=sub_fd,
                        stderr=sub_fd, env={"TERM": "xterm", **env})
        os.close(sub_fd)
        chunks = []
        while True:
            try:
                data = os.read(main_fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=120)
        os.close(main_fd)
        assert proc.returncode == 0
        return b"".join(chunks).decode(errors="replace")

    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    text = on_a_terminal(1, {**env, "NO_COLOR": ""})
    assert "\r[####################] 1/1 models done, 0 running, 0 failed" in text
    assert "\x1b[32m1 model: 1 as expected" in text
    text = on_a_terminal(2, {"NO_COLOR": "1"})
    assert "\x1b[" not in text and "1/1 models done" in text


def test_results_keep_the_latest_runs_and_say_so(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    models = models_file(tmp_path, ["vm_dead-fault"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MMCHECK_KEEP_RUNS", raising=False)
    runs = tmp_path / "results"
    for i in range(3):  # older runs, as earlier `make check-protocols` left them
        (runs / f"run-2026010{i + 1}-120000").mkdir(parents=True)
    argv = ["check", str(models), "--cache-dir", str(tmp_path / "cache")]
    assert main([*argv, "--keep-runs", "2"]) == 0
    err = capsys.readouterr().err
    assert "results/ keeps the latest 2 runs (--keep-runs N or $MMCHECK_KEEP_RUNS; 0 keeps " \
           "all): removed 2 older runs" in err
    kept = sorted(p.name for p in runs.iterdir() if p.name.startswith("run-"))
    assert len(kept) == 2 and kept[0] == "run-20260103-120000"
    # results/latest follows matrix and compare runs only, not a one-model check
    assert not (runs / "latest").exists()
    monkeypatch.setenv("MMCHECK_KEEP_RUNS", "0")
    assert main(argv) == 0
    assert "removed" not in capsys.readouterr().err
    assert len([p for p in runs.iterdir() if p.name.startswith("run-")]) == 3
