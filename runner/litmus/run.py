"""Running litmus tests: TLC's verdicts per protocol (`check`), and the C programs on a kernel
next to the verdict of that kernel's protocol (`run`).  Nothing here prints: progress goes
to a callback, results are dataclasses with to_dict() (the --json contract)."""
from __future__ import annotations

import functools
import os
import platform
import re
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gen.protocols import discover
from runner import jvmpool
from runner.java import private_dir
from runner.litmus.cprog import DEFAULT_SCALE_MIB, compile_program, program
from runner.litmus.model import Decision, decide
from runner.litmus.parse import Expr, LitmusTest

Progress = Callable[[str], None]
LINE = re.compile(r"litmus (\S+)((?: \d+:r\d+=\S+)*)\s*$")


def holds(test: LitmusTest, regs: dict[tuple[int, str], str]) -> bool:
    """Whether the outcome `regs` satisfies the test's exists clause and every poll ended on
    its condition (as the model's LitmusExists)."""
    for (t, r), op in test.registers().items():
        if op.until and regs.get((t, r)) not in op.until:
            return False
    return _eval(test.exists, regs)


def _eval(e: Expr, regs: dict[tuple[int, str], str]) -> bool:
    if e[0] == "eq":
        return regs.get((e[1], e[2])) == e[3]
    if e[0] == "not":
        return not _eval(e[1], regs)
    parts = [_eval(p, regs) for p in e[1]]
    return all(parts) if e[0] == "and" else any(parts)


def parse_outcome(line: str, name: str) -> tuple[str, dict[tuple[int, str], str]] | None:
    """`litmus NAME 0:r0=sigsegv 0:r1=orig` -> (the outcome text, registers)."""
    m = LINE.match(line.strip())
    if not m or m.group(1) != name:
        return None
    regs = {}
    for word in m.group(2).split():
        head, _, value = word.partition("=")
        t, _, r = head.partition(":")
        regs[(int(t), r)] = value
    return m.group(2).strip(), regs


@dataclass
class Observation:
    name: str
    kernel: str  # the release string
    protocol: str | None
    verdict: str | None  # allowed | forbidden | None (no model: protocol not installed)
    runs: int
    observed: int = 0
    histogram: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)  # hangs, crashes, a failed boot
    note: str = ""

    @property
    def status(self) -> str | None:
        if self.verdict is None:
            return None
        if self.observed == 0:
            return "not-observed"
        return "confirmed" if self.verdict == "allowed" else "contradiction"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kernel": self.kernel, "protocol": self.protocol,
                "verdict": self.verdict, "runs": self.runs, "observed": self.observed,
                "status": self.status, "histogram": dict(self.histogram),
                "completed": sum(self.histogram.values()), "problems": self.problems,
                "note": self.note}


def check(tests: list[LitmusTest], protocols: list[str], tools: Any, *, jobs: int = 1,
          progress: Progress | None = None, keep: Path | None = None) -> list[Decision]:
    """TLC's verdict for every test x protocol (in that order)."""
    known = discover()
    pairs = [(t, p) for t in tests for p in protocols]

    def one(pair: tuple[LitmusTest, str]) -> Decision:
        d = decide(pair[0], pair[1], tools, protocols=known, keep=keep)
        if progress:
            progress(f"{d.test} / {d.protocol}: {d.verdict or 'undecided'} "
                     f"({d.states} states, {d.seconds or 0:.1f} s)")
        return d

    # the many short TLC runs go to long-lived JVMs (runner.jvmpool), as a check's do
    with jvmpool.session(), ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, pairs))


def scale_pages(mib: int) -> int:
    return max(1, mib * 1024 * 1024 // 4096)


def _tally(obs: Observation, test: LitmusTest, lines: list[str]) -> None:
    for line in lines:
        parsed = parse_outcome(line, test.name)
        if parsed is not None:
            text, regs = parsed
            obs.histogram[text] += 1
            obs.observed += holds(test, regs)
        elif line.startswith(("litmus-hang", "litmus-crash", "litmus-error")):
            obs.problems.append(line.strip())


def _verdict(test: LitmusTest, protocol: str, tools: Any, cache: dict[tuple[str, str], Decision],
             ) -> tuple[str | None, str]:
    if protocol not in discover():
        return None, (f"protocol {protocol} is not installed (mmcheck list): no model verdict "
                      "for this kernel")
    key = (test.name, protocol)
    if key not in cache:
        cache[key] = decide(test, protocol, tools)
    d = cache[key]
    return d.verdict, ("" if d.verdict else f"the model could not decide: {d.message}")


def run_host(tests: list[LitmusTest], runs: int, tools: Any, *, scale_mib: int = DEFAULT_SCALE_MIB,
             timeout: int = 60, progress: Progress | None = None) -> list[Observation]:
    """Each test's program run `runs` times on the running kernel."""
    from runner.litmus.kernels import protocol_for

    release = platform.release()
    protocol, _ = protocol_for(release)
    cache: dict[tuple[str, str], Decision] = {}
    out = []
    for test in tests:
        verdict, note = _verdict(test, protocol, tools, cache)
        obs = observe_host(test, runs, scale_mib=scale_mib, timeout=timeout, progress=progress)
        obs.protocol, obs.verdict, obs.note = protocol, verdict, note
        out.append(obs)
    return out


def observe_host(test: LitmusTest, runs: int, *, scale_mib: int = DEFAULT_SCALE_MIB,
                 timeout: int = 60, stop_when_observed: bool = False,
                 progress: Progress | None = None) -> Observation:
    """Run the test's program up to `runs` times on the running kernel (no model verdict)."""
    release = platform.release()
    obs = Observation(test.name, release, None, None, runs)
    work = private_dir("litmus")
    try:
        exe = compile_program(program(test, scale_pages(scale_mib)), work / test.name)
        for i in range(runs):
            lines, problem = _run_once(exe, timeout)
            _tally(obs, test, lines)
            if problem:
                obs.problems.append(f"run {i + 1}: {problem}")
            if progress:
                progress(f"{test.name} on {release}: run {i + 1}/{runs}, observed {obs.observed}")
            if stop_when_observed and obs.observed:
                obs.runs = i + 1
                break
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return obs


def _run_once(exe: Path, timeout: int) -> tuple[list[str], str | None]:
    proc = subprocess.Popen([str(exe)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        data, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return [], f"hung: killed after {timeout} s"
    lines = data.decode(errors="replace").splitlines()
    if proc.returncode < 0:
        return lines, f"crashed: {signal.Signals(-proc.returncode).name}"
    if proc.returncode != 0:
        return lines, f"failed: exit {proc.returncode}: " + (lines[-1] if lines else "")
    return lines, None


def run_guest(tests: list[LitmusTest], version: str, runs: int, tools: Any, *,
              scale_mib: int = DEFAULT_SCALE_MIB, timeout: int = 120,
              progress: Progress | None = None) -> list[Observation]:
    """Each test's static program as /init of Debian's kernel `version` under QEMU."""
    from runner.litmus.guest import boot, qemu
    from runner.litmus.kernels import fetch_debian, protocol_for

    qemu()  # missing qemu: one line before anything is downloaded
    if progress:
        progress(f"debian:{version}: looking up the newest package (apt, private state)")
    kernel = fetch_debian(version)
    protocol, _ = protocol_for(kernel.release)
    cache: dict[tuple[str, str], Decision] = {}
    out = []
    work = private_dir("litmus")
    try:
        for test in tests:
            verdict, note = _verdict(test, protocol, tools, cache)
            obs = Observation(test.name, kernel.release, protocol, verdict, runs, note=note)
            exe = compile_program(program(test, scale_pages(scale_mib)), work / test.name,
                                  static=True)
            memory = max(512, 3 * test.pages * scale_mib + 256)
            if progress:
                progress(f"{test.name}: booting {kernel.release} under QEMU (TCG) for {runs} runs")
            seen = Counter[str]()

            def on_line(line: str, test: LitmusTest = test, seen: Counter[str] = seen) -> None:
                if progress and line.startswith(("litmus ", "litmus-hang", "litmus-crash")):
                    seen["runs"] += 1
                    progress(f"{test.name} on {kernel.release}: {line.strip()} "
                             f"({seen['runs']}/{runs})")

            boot_once = functools.partial(
                boot, kernel.vmlinux, exe, work, runs=runs, run_timeout=timeout,
                timeout=60 + runs * (timeout + 5), memory_mib=memory, on_line=on_line)

            lines, problem = boot_once()
            if problem and "stopped before the test finished" in problem:
                # A guest that died early (seen once in four CI runs under TCG, never in 16
                # local boots) is booted once more; the first death stays in the note.
                obs.note = "; ".join(filter(None, [obs.note,
                                                   f"first boot: {problem}; booted again"]))
                seen.clear()
                lines, problem = boot_once()
            _tally(obs, test, lines)
            if problem:
                obs.problems.append(problem)
            out.append(obs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out
