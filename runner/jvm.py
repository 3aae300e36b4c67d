"""The JVM process primitives every Java tool of mmcheck shares: what a run is (JavaTools,
ToolRun), private directories, and starting a JVM the one safe way (its own process group,
tied to mmcheck by PR_SET_PDEATHSIG, registered so that Ctrl-C kills it).

The bottom of the runner's Java modules: runner.cds (the class-data archive), runner.java
(locating Java, run_java/run_tool) and runner.jvmpool (long-lived TLC JVMs) all import it,
and it imports none of them.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from runner.errors import ConfigError, MmcheckError, OutputError, ToolNotFound

INSTALL_JAVA = "install Java >= 11 (Debian: apt-get install default-jre-headless) or set JAVA_HOME"
KILL_GRACE_SECONDS = 2.0
# For many short runs: C1 only.  Most of a small model's run is JVM start-up, parsing and
# JIT compilation; without C2 a run of a matrix model takes about half the CPU time
# (measured: 1.0 s instead of 1.9 s), but long runs are slower, so callers opt in.
QUICK_JIT = ("-XX:TieredStopAtLevel=1",)

@dataclass(frozen=True)
class JavaTools:
    java: Path
    java_version: int
    jar: Path
    jar_sha256: str  # "" when not computed (a user's own jar)
    bundled: bool

    @property
    def identity(self) -> str:
        """The jar's sha256 (computed for a user's jar too): what cache keys name."""
        if self.jar_sha256:
            return self.jar_sha256
        st = self.jar.stat()
        return _sha256(self.jar, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class ToolRun:
    argv: list[str]
    exit_code: int | None  # None: killed (timeout) or never exited by itself
    output: str
    seconds: float
    timed_out: bool
    log_path: Path | None


# ---------------------------------------------------------------- the jar's identity


@functools.lru_cache(maxsize=8)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()



# ---------------------------------------------------------------- running

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@functools.lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    """libc's prctl (Linux), resolved once in the parent: None elsewhere."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def tie_to_parent(sig: int = signal.SIGKILL, parent: int | None = None) -> None:
    """Ask the kernel to send `sig` to this process when the thread that forked it dies (by
    any means, SIGKILL too).  If `parent` (its PID) is already gone, die now."""
    prctl = _prctl()
    if prctl is None:
        return
    prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if parent is not None and os.getppid() != parent:  # it died before prctl took effect
        os.kill(os.getpid(), sig)


def _tied_preexec() -> Callable[[], None] | None:
    """A preexec_fn for Popen that ties the child to this process (None without prctl).
    It runs in the forked child of a threaded process, so it does no more than two system
    calls through a function resolved here, in the parent (no import, no lock)."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent, sig = os.getpid(), int(signal.SIGKILL)

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)
    return preexec


# Private directories are named mmcheck-<kind>-<pid>-*, all made by private_dir: those of a
# process that died without removing them (SIGKILL: its JVMs die with it, its directories
# stay, a killed TLC's states too) are removed by the next mmcheck to run a Java tool.
PRIVATE_KINDS = ("jvm", "tlc", "pcal", "sany", "dtlc", "dtlcworker", "cds", "point", "litmus",
                 "pool")
_PRIVATE = re.compile(rf"^mmcheck-(?:{'|'.join(PRIVATE_KINDS)})-(\d+)-")


def private_dir(kind: str) -> Path:
    """A new private directory of this process, in the system's temporary directory: the one
    way the runner makes one (its name is what remove_stale_private_dirs knows)."""
    if kind not in PRIVATE_KINDS:
        raise ValueError(f"unknown private directory kind {kind!r}")
    try:
        return Path(tempfile.mkdtemp(prefix=f"mmcheck-{kind}-{os.getpid()}-"))
    except OSError as e:  # TMPDIR read-only, missing or full
        raise OutputError(f"{tempfile.gettempdir()}: cannot make a private directory "
                          f"({e.strerror or e}); set TMPDIR to a writable directory") from None


@functools.lru_cache(maxsize=1)
def remove_stale_private_dirs() -> int:
    """Remove (once per process) this user's private directories whose process is gone."""
    removed = 0
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return 0
    for entry in entries:
        m = _PRIVATE.match(entry.name)
        if m is None or int(m.group(1)) == os.getpid():
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat().st_uid != os.getuid():
                continue
            os.kill(int(m.group(1)), 0)
            continue  # its process lives
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
        except OSError:  # PermissionError: someone else's live process
            continue
    return removed


# Every JVM running now, so that Ctrl-C in a program that runs Java tools from several
# threads (KeyboardInterrupt reaches the main thread only) can kill them all.
_live: set[subprocess.Popen[bytes]] = set()
_live_lock = threading.Lock()
_cancelled = threading.Event()


class Cancelled(MmcheckError):
    """cancel_all() was called: no new Java tool is started."""

    exit_code = 130


def cancel_all() -> None:
    """Kill the process group of every running JVM and refuse to start new ones (Ctrl-C)."""
    _cancelled.set()
    with _live_lock:
        running = list(_live)
    for proc in running:
        _kill_group(proc)


def reset_cancel() -> None:
    _cancelled.clear()


def cancelled() -> bool:
    return _cancelled.is_set()


def start_tied(argv: list[str], *, cwd: Path, stdout: int | IO[bytes],
               what: str = "Java tool", stdin: int = subprocess.DEVNULL
               ) -> subprocess.Popen[bytes]:
    """Start a JVM (or any tool of ours) the one safe way: argv (no shell), no stdin (or a
    pipe, for runner.jvmpool's requests), stderr
    merged into `stdout`, its own process group, tied to this thread (PR_SET_PDEATHSIG:
    SIGKILL of mmcheck ends it) and registered, so that cancel_all() kills it.  Refused
    (Cancelled) after cancel_all(); the caller calls `forget(proc)` once it has ended."""
    with _live_lock:
        if _cancelled.is_set():
            raise Cancelled(f"interrupted: no new {what} is started")
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdin=stdin, stdout=stdout,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_tied_preexec())  # noqa: PLW1509 (see there)
        except OSError as e:
            raise ToolNotFound(f"cannot run {argv[0]} ({e.strerror}): {INSTALL_JAVA}") from None
        _live.add(proc)
    return proc


def forget(proc: subprocess.Popen[bytes]) -> None:
    """`proc` (from start_tied) has ended or been killed: cancel_all() no longer needs it."""
    with _live_lock:
        _live.discard(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after a grace period."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            # The leader is gone; make sure nothing else of the group survives.
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue



def open_log(log_path: Path | None) -> IO[str] | None:
    """The file a tool's whole output is copied to (None: no log), its directory made; the
    caller closes it.  One that cannot be written is a one-line ConfigError."""
    if log_path is None:
        return None
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        return log_path.open("w", encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{log_path}: cannot write the log ({e.strerror})") from None
