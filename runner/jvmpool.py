"""Long-lived JVMs for the many short TLC runs of a matrix, a compare or a sweep: each run
on a JVM that is already up (runner/MmcheckTlcPool.java, whose header has the protocol),
instead of a JVM of its own, in a class loader shared with the runs before it (TLC's classes
loaded and JIT-compiled once), whose static state the launcher puts back before each run to
what it was when the loader was new (MmcheckTlcPool.Reused lists what and why).

Measured on matrix models (bench/bench_pool.py, 40 short runs each way, interleaved): CPU
per run 0.90 s on a JVM of its own, 0.66 s on the pool with a fresh class loader per run,
0.22 s with a shared one; every run decides the same (outcome, counts, trace) all three
ways.  The cold matrix (352 models, 600 runs): 341 s CPU against 842 s with a fresh loader
per run, every verdict and state count the same (docs/figures.md).

* A shared loader serves REUSE_RUNS runs, then a new one is made; so it is after a run
  that left a string in TLC's static fields that the loader did not have (a run that threw
  or left a thread ends its JVM, as before).  Runs with -coverage (read into static finals)
  and runs whose spec or cfg names a string that a new JVM would meet at another point
  (TLC orders strings and model values by when a run first met them) get a fresh loader,
  as every run does with MMCHECK_POOL_REUSE=0 (=N: N runs a loader).
  MMCHECK_POOL_TRACE=FILE: the launcher appends which loader each run got to FILE.
* Only inside `session()` (runner.check.check_models opens one), only for tlc2.TLC runs
  expected to be short (C1 only: runner.check's choice for all but long runs) and
  pcal.trans runs with the same flags (POOLED; the launcher's pcal() says how), only
  with the bundled jar (the launcher does what its main does), only with a JDK's `javac`
  beside `java` (the launcher is compiled once per JDK into the user's cache directory,
  $MMCHECK_POOL_DIR, else $XDG_CACHE_HOME/mmcheck/pool), and not with MMCHECK_POOL=0.
  Otherwise, or when a JVM of the pool cannot start, `run` returns None and the caller
  starts a JVM of its own.
* A run keeps runner.java's contract: its own metadir and working directory (the caller's
  arguments), the pool JVM's private java.io.tmpdir, a timeout that kills the JVM (the
  next run starts another), Ctrl-C and mmcheck's death kill it (runner.jvm.start_tied),
  the whole output streamed, logged and returned, with the exit code TLC's main would have
  given.  A run whose TLC exits the JVM gets that JVM's exit code, as a JVM of its own.
* One JVM per thread and JVM flags (runner.jvm ties a JVM to the thread that started it);
  `session()` ends them all.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from runner import cds
from runner.jvm import (
    QUICK_JIT,
    Cancelled,
    JavaTools,
    ToolRun,
    _kill_group,
    cancelled,
    forget,
    open_log,
    private_dir,
    remove_stale_private_dirs,
    start_tied,
)
from runner.tlc_output import OOM_TEXT

# Only runs expected to be short (runner.check gives them C1 only, runner.java.QUICK_JIT):
# those are the many whose JVM start counts; a long run gets a JVM of its own, whose start
# is small against it and whose heap goes back to the system when it ends.
SOURCE = Path(__file__).with_name("MmcheckTlcPool.java")
CLASS = "MmcheckTlcPool"
START_TIMEOUT = 60.0
# The main classes the launcher runs (as their main would, without exiting the JVM).
POOLED = ("tlc2.TLC", "pcal.trans")
COMPILE_TIMEOUT = 120.0


def enabled() -> bool:
    return os.environ.get("MMCHECK_POOL", "").strip().lower() not in ("0", "off", "no", "false")


# Runs per shared class loader (MmcheckTlcPool.Reused): after so many a new one is made, so
# that nothing a reset might miss lives long.  A new loader costs about 1 s of CPU (its
# classes initialized, then JIT-compiled again): the cold matrix (900 runs, translations
# included) took 156.8 s CPU with 50, 139.9 s with 1000 (bench/bench_cold_matrix.py
# --env MMCHECK_POOL_REUSE=..., every verdict and state count the same).
REUSE_RUNS = 1000


def reuse_runs() -> int:
    """Runs that share one class loader (0: a fresh loader for every run);
    MMCHECK_POOL_REUSE=0 turns sharing off, =N sets N."""
    raw = os.environ.get("MMCHECK_POOL_REUSE", "").strip().lower()
    if raw in ("0", "off", "no", "false"):
        return 0
    return int(raw) if raw.isdigit() else REUSE_RUNS


def cache_dir() -> Path:
    explicit = os.environ.get("MMCHECK_POOL_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mmcheck" / "pool"


# ---------------------------------------------------------------- the launcher


_compile_lock = threading.Lock()
_compiled: dict[str, Path | None] = {}


def launcher(tools: JavaTools) -> Path | None:
    """The directory holding the compiled launcher for `tools`' JDK (compiled on first use);
    None without a javac beside java, or when it does not compile."""
    javac = Path(os.path.realpath(tools.java)).parent / "javac"
    if not os.access(javac, os.X_OK):
        return None
    h = hashlib.sha256()
    for part in (str(javac), str(tools.java_version), SOURCE.read_text()):
        h.update(part.encode() + b"\0")
    key = h.hexdigest()[:24]
    with _compile_lock:
        if key not in _compiled:
            _compiled[key] = _compile(javac, cache_dir() / key)
        return _compiled[key]


def _compile(javac: Path, target: Path) -> Path | None:
    if (target / f"{CLASS}.class").is_file():
        return target
    try:
        work = private_dir("pool")
    except Exception:  # noqa: BLE001 - no pool then; the runs go on without it
        return None
    try:
        out = work / "classes"
        out.mkdir()
        proc = start_tied([str(javac), "-d", str(out), str(SOURCE)], cwd=work,
                          stdout=subprocess.PIPE, what="javac")
        try:
            proc.communicate(timeout=COMPILE_TIMEOUT)
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            forget(proc)
        if proc.returncode != 0 or not (out / f"{CLASS}.class").is_file():
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(out, target)  # atomic; another process may have put it there first
        except OSError:
            pass
        return target if (target / f"{CLASS}.class").is_file() else None
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- one JVM of the pool


class _Jvm:
    """A started launcher: its process, private tmpdir and the mark of its protocol lines."""

    def __init__(self, tools: JavaTools, classes: Path, flags: list[str],
                 heap_mb: int | None) -> None:
        self.mark = "@!@!@mmcheck-pool-" + secrets.token_hex(8)
        self.tmp = private_dir("jvm")
        # The launcher shuts down executors a run left idle (MmcheckTlcPool.endIdleExecutor).
        argv = [str(tools.java), "-XX:+UseParallelGC", f"-Djava.io.tmpdir={self.tmp}",
                *(f"--add-opens=java.base/{p}=ALL-UNNAMED"
                  for p in ("java.lang", "java.util.concurrent"))]
        if heap_mb is not None:
            argv.append(f"-Xmx{heap_mb}m")
        # The archive's class path (the jar) is a prefix of this one: the JVM accepts it.
        self.argv = [*argv, *flags, "-cp", f"{tools.jar}{os.pathsep}{classes}", CLASS,
                     str(tools.jar), self.mark, str(reuse_runs())]
        try:
            self.proc = start_tied(self.argv, cwd=self.tmp, stdout=subprocess.PIPE,
                                   stdin=subprocess.PIPE, what="JVM")
        except BaseException:  # Cancelled (Ctrl-C in another thread), no java: no JVM, no dir
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self.runs = 0
        self.retiring = False  # the launcher said it exits after its last run

    def wait_ready(self) -> bool:
        """The launcher said it is up (False: it died first, e.g. on a bad archive)."""
        timer = threading.Timer(START_TIMEOUT, _kill_group, (self.proc,))
        timer.daemon = True
        timer.start()
        try:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                if raw.decode("utf-8", errors="replace").rstrip("\r\n") == f"{self.mark} ready":
                    return True
            return False
        finally:
            timer.cancel()

    def alive(self) -> bool:
        return not self.retiring and self.proc.poll() is None

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                assert self.proc.stdin is not None
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()  # end of stdin: the launcher exits
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    _kill_group(self.proc)
            else:
                _kill_group(self.proc)  # the rest of its process group, if any
        finally:
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                with contextlib.suppress(OSError):
                    f.close()  # type: ignore[union-attr]
            forget(self.proc)
            shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, main_class: str, cwd: Path, args: list[str], timeout: float | None,
            on_line: Callable[[str], None] | None, log: IO[str] | None
            ) -> tuple[int | None, str, bool]:
        """(exit code, output, timed out); the JVM is dead afterwards unless the launcher
        printed the run's exit line and did not retire."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.runs += 1
        lines: list[str] = []
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            _kill_group(self.proc)
        timer = threading.Timer(timeout, expire) if timeout is not None else None
        code: int | str | None = None
        try:
            self.proc.stdin.write(("\t".join([main_class, str(cwd), *args]) + "\n").encode())
            self.proc.stdin.flush()
            if timer is not None:
                timer.daemon = True
                timer.start()
            exit_line = f"{self.mark} exit "
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", errors="replace")
                at = line.find(exit_line)
                if at >= 0:
                    rest = line[:at]  # output without a final newline
                    if rest:
                        lines.append(rest)
                        if log is not None:
                            log.write(rest)
                    code, *retire = line[at + len(exit_line):].split()
                    self.retiring = bool(retire)
                    break
                lines.append(line)
                if log is not None:
                    log.write(line)
                if on_line is not None:
                    on_line(line.rstrip("\r\n"))
            if code is None:  # the JVM ended during the run: its exit code is the run's
                self.proc.wait()
                code = self.proc.returncode
        except BrokenPipeError:
            self.proc.wait()
            code = self.proc.returncode
        except BaseException:  # Ctrl-C, or an exception from on_line: no JVM may survive
            _kill_group(self.proc)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if timed_out.is_set():
            self.proc.wait()
            return None, "".join(lines), True
        return int(code), "".join(lines), False


# ---------------------------------------------------------------- the pool


_session_lock = threading.Lock()
_sessions = 0
_jvms: dict[tuple[int, tuple[str, ...], int | None], _Jvm] = {}
_broken: set[tuple[str, ...]] = set()  # flags whose JVM could not start: not again


@contextlib.contextmanager
def session() -> Iterator[None]:
    """Pooled TLC runs inside; every JVM of the pool ends when the last session does."""
    global _sessions
    with _session_lock:
        _sessions += 1
    try:
        yield
    finally:
        with _session_lock:
            _sessions -= 1
            ending = list(_jvms.values()) if _sessions == 0 else []
            if _sessions == 0:
                _jvms.clear()
        for jvm in ending:
            jvm.close()


def active() -> bool:
    return _sessions > 0


# A long-lived JVM keeps the heap it grew to (the parallel collector gives little back), and
# TLC sizes its fingerprint set as a share of the heap's maximum: with the JVM's default
# maximum (a quarter of the memory) each JVM of the pool grew to 6-7 GB, and the matrix's
# three ran a 24 GB machine out of memory under load.  The pool's runs are the short ones;
# without --heap-mb they get this maximum, and a run that runs out of heap here is run
# again on a JVM of its own with the default one (runner.java.run_tool).
POOL_HEAP_MB = 2048


def out_of_heap(run: ToolRun) -> bool:
    """The run ran out of the pool JVM's heap (run it again on a JVM of its own)."""
    return OOM_TEXT.search(run.output) is not None


def _jvm(tools: JavaTools, flags: list[str], heap_mb: int | None) -> _Jvm | None:
    heap_mb = POOL_HEAP_MB if heap_mb is None else heap_mb
    key = (threading.get_ident(), tuple(flags), heap_mb)
    with _session_lock:
        jvm = _jvms.get(key)
    if jvm is not None and jvm.alive():
        return jvm
    if jvm is not None:
        _drop(jvm)
    classes = launcher(tools)
    if classes is None or tuple(flags) in _broken:
        return None
    share = cds.archive_args(tools, heap_mb)
    for archive in ([share, []] if share else [[]]):
        jvm = _Jvm(tools, classes, [*archive, *flags], heap_mb)
        if jvm.wait_ready():
            with _session_lock:
                _jvms[key] = jvm
            return jvm
        jvm.close()
        if cancelled():
            raise Cancelled("interrupted: no new JVM is started")
        if archive:  # as run_tool: an archive the JVM cannot start on is made again
            path = cds.archive_in(jvm.argv)
            if path is not None:
                cds.discard(path)
    _broken.add(tuple(flags))
    return None


def _drop(jvm: _Jvm) -> None:
    with _session_lock:
        for key, known in list(_jvms.items()):
            if known is jvm:
                del _jvms[key]
    jvm.close()


def run(tools: JavaTools, main_class: str, args: list[str], *, cwd: Path,
        timeout: float | None, heap_mb: int | None,
        on_line: Callable[[str], None] | None, log_path: Path | None,
        flags: list[str]) -> ToolRun | None:
    """Run `main_class` on a JVM of the pool; None when this run cannot be pooled (the
    caller runs it on a JVM of its own).  The log is written as the output comes."""
    if (not active() or main_class not in POOLED or not tools.bundled or not enabled()
            or not set(QUICK_JIT) <= set(flags)
            or any("\t" in a or "\n" in a for a in [str(cwd), *args])):
        return None
    if cancelled():
        raise Cancelled("interrupted: no new Java tool is started")
    remove_stale_private_dirs()
    jvm = _jvm(tools, flags, heap_mb)
    if jvm is None:
        return None
    start = time.monotonic()
    log = None
    try:
        log = open_log(log_path)
        code, output, timed_out = jvm.run(main_class, cwd, args, timeout, on_line, log)
    finally:
        if log is not None:
            log.close()
        if not jvm.alive():
            _drop(jvm)
    return ToolRun(argv=[*jvm.argv, main_class, *args], exit_code=code, output=output,
                   seconds=round(time.monotonic() - start, 3), timed_out=timed_out,
                   log_path=log_path)
