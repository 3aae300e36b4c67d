"""mmcheck doctor: every check is real (a TLC run, a compiler run, write probes)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MMCHECK = Path(sys.executable).parent / "mmcheck"


def doctor(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MMCHECK), "doctor", "--timeout", "60"], capture_output=True,
                          text=True, check=False, env=env, cwd=cwd, timeout=180)


@pytest.mark.java
def test_doctor_on_this_machine(tmp_path: Path) -> None:
    p = doctor(dict(os.environ), tmp_path)
    lines = p.stdout.splitlines()
    assert p.returncode == 0, p.stdout + p.stderr
    assert any(line.startswith("ok   a TLC run: a two-state spec checked") for line in lines)
    assert lines[-1].startswith("ready: ")
    assert (tmp_path / "results").is_dir() and not list((tmp_path / "results").iterdir())


def test_doctor_without_java_fails_and_says_why(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "CC")}
    env["PATH"] = str(tmp_path)  # no java, no cc, no qemu
    p = doctor(env, tmp_path)
    out = p.stdout.splitlines()
    assert p.returncode == 2, p.stdout
    assert out[0].startswith("FAIL java and tla2tools.jar: java not found")
    assert any(line.startswith("warn C compiler") for line in out)
    assert out[-1].startswith("not ready: ") and "1 required failed" in out[-1]


def test_doctor_unwritable_results(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes through permission bits: use a file where the directory should be
        (tmp_path / "results").write_text("not a directory")
    else:
        (tmp_path / "results").mkdir(mode=0o500)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)
    p = doctor(env, tmp_path)
    assert p.returncode == 2
    assert any(line.startswith("FAIL results directory") for line in p.stdout.splitlines())
