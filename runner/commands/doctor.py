"""mmcheck doctor: is this machine ready?  Checks, each with one line, what the commands need:
Java and TLC's jar (found, a version TLC runs on, and a real TLC run of a two-state spec), the
places mmcheck writes (results/, the run cache, the JVM archive cache, the temporary
directory), and, for litmus tests, a C compiler that builds a pthread program and QEMU.

Exit 0 when everything `check`, `compare` and `sweep` need is there (a missing compiler or
QEMU is a warning: only `litmus run` needs them), 2 otherwise."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.jvm import JavaTools

EXAMPLES = """\
examples:
  mmcheck doctor              # one line per check; exit 0 when checking can work"""

# A two-state spec: enough for a real TLC run (SANY, the state graph, an invariant).
SPEC = """---- MODULE Doctor ----
VARIABLE x
Init == x = 0
Next == x' = IF x = 0 THEN 1 ELSE 0
Inv == x \\in {0, 1}
====
"""
CFG = "INIT Init\nNEXT Next\nINVARIANT Inv\n"
C_PROGRAM = """#include <pthread.h>
static void *run(void *arg) { return arg; }
int main(void) { pthread_t t; void *r;
  if (pthread_create(&t, 0, run, (void *)0)) return 1;
  return pthread_join(t, &r) != 0; }
"""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True

    def line(self) -> str:
        mark = "ok  " if self.ok else ("FAIL" if self.required else "warn")
        return f"{mark} {self.name}: {self.detail}"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check that Java, TLC, a C compiler, QEMU and the "
                                      "places mmcheck writes to are usable",
                       description=__doc__)
    p.add_argument("--timeout", type=float, default=120.0, metavar="S",
                   help="bound on the TLC run and the compiler run, each (default: 120)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    checks = [*_java_checks(args.timeout), *_write_checks(), _compiler_check(args.timeout),
              _qemu_check()]
    for c in checks:
        print(c.line(), flush=True)
    failed = [c for c in checks if c.required and not c.ok]
    print(f"{'not ready' if failed else 'ready'}: {len(checks) - len(failed)} of "
          f"{len(checks)} checks passed" + (f", {len(failed)} required failed" if failed else ""))
    return 2 if failed else 0


def _java_checks(timeout: float) -> list[Check]:
    from runner.errors import MmcheckError
    from runner.java import locate_tools
    from runner.tlc import run_tlc

    try:
        tools = locate_tools()
    except MmcheckError as e:
        return [Check("java and tla2tools.jar", False, str(e))]
    found = [Check("java", True, f"{tools.java} (Java {tools.java_version})"),
             Check("tla2tools.jar", True, f"{tools.jar}"
                   + (" (bundled, sha256 verified)" if tools.bundled else ""))]
    with tempfile.TemporaryDirectory(prefix="mmcheck-doctor-") as tmp:
        spec = Path(tmp) / "Doctor.tla"
        spec.write_text(SPEC)
        spec.with_suffix(".cfg").write_text(CFG)
        try:
            result = run_tlc(spec, tools=tools, workers=1, timeout=timeout)
        except MmcheckError as e:
            return [*found, Check("a TLC run", False, str(e))]
    distinct = result.stats.distinct_states
    ok = result.outcome.value == "ok" and distinct == 2
    first = (result.message.splitlines() or ["-"])[0]
    detail = (f"a two-state spec checked in {result.wall_seconds or 0:.1f} s ({distinct} "
              f"distinct states)" if ok else
              f"a two-state spec gave {result.outcome.value} ({distinct} distinct states): "
              f"{first}")
    return [*found, Check("a TLC run", ok, detail), _pool_check(tools)]


def _pool_check(tools: JavaTools) -> Check:
    """Long-lived TLC JVMs (runner.jvmpool): a javac to compile the launcher with."""
    from runner import jvmpool

    name = "long-lived TLC JVMs"
    if not jvmpool.enabled():
        return Check(name, True, "off (MMCHECK_POOL=0)", required=False)
    if not tools.bundled:
        return Check(name, True, "off with a jar of your own (each run its own JVM)",
                     required=False)
    where = jvmpool.launcher(tools)
    if where is None:
        return Check(name, False, "no javac beside java, or it failed: each TLC run starts "
                     "a JVM of its own (Debian: apt-get install default-jdk-headless)",
                     required=False)
    return Check(name, True, f"launcher compiled in {where}", required=False)


def _writable(directory: Path) -> str | None:
    """Why `directory` cannot take a new file (made if missing), or None when it can."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".mmcheck-doctor-", dir=directory)
        os.close(fd)
        os.unlink(name)
    except OSError as e:
        return e.strerror or str(e)
    return None


def _write_checks() -> list[Check]:
    from runner.cds import cache_dir

    places = [("results directory", Path("results")),
              ("temporary directory", Path(tempfile.gettempdir()))]
    cds = cache_dir()
    checks = []
    for name, where in places:
        problem = _writable(where)
        checks.append(Check(name, problem is None, f"{where.resolve()}"
                            + (f": {problem}" if problem else " is writable")))
    if cds is None:
        checks.append(Check("JVM archive cache", True, "off (MMCHECK_CDS=0)", required=False))
    else:
        problem = _writable(cds)
        checks.append(Check("JVM archive cache", problem is None,
                            f"{cds}" + (f": {problem} (runs work, ~25% slower to start)"
                                        if problem else " is writable"), required=False))
    return checks


def _compiler_check(timeout: float) -> Check:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    name = "C compiler (litmus run)"
    if not cc:
        return Check(name, False, "no cc or gcc on PATH (Debian: apt-get install gcc libc6-dev)",
                     required=False)
    with tempfile.TemporaryDirectory(prefix="mmcheck-doctor-") as tmp:
        src, exe = Path(tmp) / "t.c", Path(tmp) / "t"
        src.write_text(C_PROGRAM)
        try:
            built = subprocess.run([cc, "-static", "-pthread", "-o", str(exe), str(src)],
                                   capture_output=True, text=True, timeout=timeout,
                                   stdin=subprocess.DEVNULL, check=False)
            ran = built.returncode == 0 and subprocess.run(
                [str(exe)], timeout=timeout, stdin=subprocess.DEVNULL, check=False
            ).returncode == 0
        except (OSError, subprocess.TimeoutExpired) as e:
            return Check(name, False, f"{cc}: {e}", required=False)
    if not ran:
        why = built.stderr.strip().splitlines()[-1:] if built.returncode else ["it did not run"]
        return Check(name, False, f"{cc} cannot build and run a static pthread program: "
                                  f"{' '.join(why)} (Debian: apt-get install gcc libc6-dev)",
                     required=False)
    return Check(name, True, f"{cc} builds and runs a static pthread program", required=False)


def _qemu_check() -> Check:
    qemu = shutil.which("qemu-system-x86_64")
    name = "QEMU (litmus run --kernel debian:VERSION)"
    if not qemu:
        return Check(name, False, "qemu-system-x86_64 not on PATH (Debian: apt-get install "
                                  "qemu-system-x86)", required=False)
    return Check(name, True, qemu, required=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(argparse.Namespace(timeout=120.0)))
