"""An AppCDS archive of the classes the TLA+ tools load: every JVM mmcheck starts (TLC,
pcal.trans, SANY) maps them instead of loading and verifying them from the jar.

Measured on a trivial spec (bench/bench_runner.py): about 15% off a TLC run's wall time and
25% off its CPU.  The archive is made once per key and kept in the user's cache directory
($MMCHECK_CDS_DIR, else $XDG_CACHE_HOME/mmcheck/cds, else ~/.cache/mmcheck/cds), about 20 MB:

* key: the java binary (its real path and its `release` file), the jar (its sha256, path,
  size and mtime: the archive records the class path) and the JVM flags that shape an archive
  (ARCHIVE_FLAGS); a heap of 32 GB or more (no compressed oops) gets no archive.
* making it: a class list from three short training runs (pcal.trans, TLC with an invariant
  and a temporal property, SANY) on a tiny PlusCal spec, then `java -Xshare:dump`, then a
  check that the JVM maps it (`-Xshare:on -XX:+VerifySharedSpaces`), then a record of its
  size and mtime (`<key>.json`) and only then the atomic rename into place, so that an
  archive is never in place without its record (runner.files writes both).  One process
  builds it (a file lock); JVMs started meanwhile run without it.  The build's JVMs are
  started as runner.jvm starts every JVM (tied to mmcheck, cancelled by Ctrl-C).  About
  4 s, once.
* use: `-XX:SharedArchiveFile=F -Xshare:auto`, only while the file still has the recorded
  size and mtime.  A truncated archive crashes the JVM (SIGBUS) and an edited one may do
  worse, so anything else counts as damaged: it is not used, and made again (replaced) by
  the process that holds the lock.  A JVM that still fails to start on it
  (runner.java.run_java asks `failed_on_archive`) is run again without it and the archive
  is discarded.  A failed build is remembered for a day (`<key>.failed`, with the reason)
  and the tools run without an archive.
* Java < 13, MMCHECK_CDS=0, or an unwritable cache directory: no archive, silently.

Nothing here judges a tool's output; it only decides which flags a JVM gets.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from runner.errors import OutputError, ToolNotFound
from runner.files import replace_atomic, write_atomic
from runner.jvm import Cancelled, _kill_group, cancelled, forget, private_dir, start_tied

if TYPE_CHECKING:
    from runner.jvm import JavaTools, ToolRun

MIN_JAVA = 13  # -XX:SharedArchiveFile with application classes, as measured here (17, 25)
ARCHIVE_FLAGS = ("-XX:+UseParallelGC",)  # runner.java's fixed flags, at dump and at use
MAX_HEAP_MB = 30 * 1024  # at 32 GB the JVM drops compressed oops and refuses the archive
BUILD_TIMEOUT = 120.0  # seconds for each step of a build
FAILED_RETRY_SECONDS = 24 * 3600

TRAIN_TLA = r"""---- MODULE Train ----
EXTENDS Integers, Sequences, FiniteSets, TLC
CONSTANT N
(* --algorithm Train
variables x = 0, q = <<>>;
fair process p \in 1..N
begin
  inc:
    x := x + 1;
  push:
    q := Append(q, self);
end process;
end algorithm; *)
TypeOK == x \in 0..N /\ Len(q) <= N /\ Cardinality({q[i] : i \in 1..Len(q)}) <= N
Done == <>(x = N)
====
"""
TRAIN_CFG = "CONSTANT N = 2\nSPECIFICATION Spec\nINVARIANT TypeOK\nPROPERTY Done\n"

# What a JVM prints when it could not start on its archive (a crash while mapping it, or a
# refused archive) -- before the tool itself printed anything.
_JVM_FAILED = ("A fatal error has been detected by the Java Runtime Environment",
               "An error has occurred while processing the shared archive file")
_TOOL_STARTED = ("@!@!@STARTMSG", "TLC2 Version", "pcal.trans Version", "SANY2 Version")


def cache_dir() -> Path | None:
    """Where archives live; None when turned off (MMCHECK_CDS=0)."""
    if os.environ.get("MMCHECK_CDS", "").strip().lower() in ("0", "off", "no", "false"):
        return None
    explicit = os.environ.get("MMCHECK_CDS_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mmcheck" / "cds"


def archive_key(tools: JavaTools) -> str:
    java = os.path.realpath(tools.java)
    try:
        release = (Path(java).parent.parent / "release").read_text(errors="replace")
    except OSError:
        st = os.stat(java)
        release = f"{st.st_size}:{st.st_mtime_ns}"
    jar = tools.jar.resolve()
    try:  # the JVM refuses an archive whose jar changed (a reinstalled one: a new mtime)
        st = jar.stat()
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = ""
    h = hashlib.sha256()
    for part in (java, release, tools.identity, str(jar), stamp, *ARCHIVE_FLAGS):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def _path(tools: JavaTools, heap_mb: int | None) -> Path | None:
    directory = cache_dir()
    if (directory is None or tools.java_version < MIN_JAVA
            or (heap_mb is not None and heap_mb >= MAX_HEAP_MB)):
        return None
    return directory / f"{archive_key(tools)}.jsa"


def archive_args(tools: JavaTools, heap_mb: int | None = None) -> list[str]:
    """The JVM flags that use the archive for `tools` (building it first if there is none
    and nobody else is building it); [] when no archive can be used."""
    path = _path(tools, heap_mb)
    if path is None:
        return []
    if not _intact(path) and not _build(tools, path):
        return []
    return [f"-XX:SharedArchiveFile={path}", "-Xshare:auto"]


def will_build(tools: JavaTools, heap_mb: int | None = None) -> Path | None:
    """The archive the next JVM would have to make first (to say so before a slow step)."""
    path = _path(tools, heap_mb)
    return None if path is None or _intact(path) or _recently_failed(path) else path


def archive_in(argv: list[str]) -> Path | None:
    for arg in argv:
        if arg.startswith("-XX:SharedArchiveFile="):
            return Path(arg.split("=", 1)[1])
    return None


def failed_on_archive(run: ToolRun) -> bool:
    """The JVM of `run` used an archive and died before the tool started."""
    if archive_in(run.argv) is None or run.timed_out:
        return False
    head = run.output[:20000]
    return (any(m in head for m in _JVM_FAILED)
            and not any(m in head for m in _TOOL_STARTED))


def discard(path: Path) -> None:
    """Delete an archive (and its record): the next JVM makes it again."""
    for p in (path, _meta(path)):
        try:
            p.unlink()
        except OSError:
            pass


# ---------------------------------------------------------------- state on disk


def _meta(path: Path) -> Path:
    return path.with_suffix(".json")


def _failed(path: Path) -> Path:
    return path.with_suffix(".failed")


def _intact(path: Path) -> bool:
    """The archive exists with the size and mtime recorded when it was made and checked.
    Only a look: a damaged archive is replaced by the next build (under the lock), never
    deleted here, where it could be another process's archive being put in place."""
    try:
        st = path.stat()
        meta = json.loads(_meta(path).read_text())
    except (OSError, ValueError):
        return False
    return (isinstance(meta, dict) and meta.get("size") == st.st_size
            and meta.get("mtime_ns") == st.st_mtime_ns)


def _recently_failed(path: Path) -> bool:
    try:
        return time.time() - _failed(path).stat().st_mtime < FAILED_RETRY_SECONDS
    except OSError:
        return False


# ---------------------------------------------------------------- making one


def _build(tools: JavaTools, path: Path) -> bool:
    """Make the archive at `path`; False (and no archive) when it cannot be made or another
    process is making it right now."""
    if _recently_failed(path):
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_suffix(".lock"), "w")  # noqa: SIM115 - held across the build
    except OSError:
        return False
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # being built by another process or thread: run without it
        if _intact(path):  # built while we were looking
            return True
        try:
            work = private_dir("cds")
        except OSError:
            return False
        try:
            why = _dump(tools, work, path)
        except OSError as e:  # the private directory: a full disk, say
            why = f"cannot write the training files ({e.strerror})"
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if why is not None:
            try:
                write_atomic(_failed(path), why + "\n")
            except OutputError:
                pass
            return False
        try:
            _failed(path).unlink()
        except OSError:
            pass
        return True
    finally:
        lock.close()


def _dump(tools: JavaTools, work: Path, path: Path) -> str | None:
    """Train, dump, check, install; None on success, else why it failed."""
    java, jar = str(tools.java), str(tools.jar)
    base = [java, *ARCHIVE_FLAGS, f"-Djava.io.tmpdir={work}"]
    (work / "Train.tla").write_text(TRAIN_TLA)
    (work / "Train.cfg").write_text(TRAIN_CFG)
    lists = [work / f"{n}.classlist" for n in ("pcal", "tlc", "sany")]
    steps = [
        [f"-XX:DumpLoadedClassList={lists[0]}", "-cp", jar, "pcal.trans", "-nocfg", "Train.tla"],
        [f"-XX:DumpLoadedClassList={lists[1]}", "-cp", jar, "tlc2.TLC", "-tool", "-workers",
         "1", "-metadir", str(work / "metadir"), "-config", "Train.cfg", "Train.tla"],
        [f"-XX:DumpLoadedClassList={lists[2]}", "-cp", jar, "tla2sany.SANY", "Train.tla"],
    ]
    for step in steps:
        why = _step([*base, *step], work)
        if why is not None:
            return why
    seen: dict[str, None] = {}  # the union, in first-loaded order (a class after its super)
    for lst in lists:
        try:
            for line in lst.read_text(errors="replace").splitlines():
                if line and not line.startswith("#"):
                    seen.setdefault(line)
        except OSError as e:
            return f"no class list {lst.name} ({e.strerror})"
    (work / "all.classlist").write_text("\n".join(seen) + "\n")

    def make(tmp: Path) -> None:
        """Dump and check the archive at `tmp`; record it (size and mtime, which the
        rename keeps) before it is renamed into place."""
        why = (_step([*base, "-Xshare:dump", f"-XX:SharedClassListFile={work / 'all.classlist'}",
                      f"-XX:SharedArchiveFile={tmp}", "-cp", jar], work)
               or _step([*base, "-Xshare:on", "-XX:+VerifySharedSpaces",
                         f"-XX:SharedArchiveFile={tmp}", "-cp", jar, "-version"], work))
        if why is not None:
            raise _BuildFailed(why)
        st = tmp.stat()
        meta = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "java": str(tools.java),
                "java_version": tools.java_version, "jar": jar, "jar_sha256": tools.identity,
                "flags": list(ARCHIVE_FLAGS), "made": time.strftime("%Y-%m-%dT%H:%M:%S")}
        write_atomic(_meta(path), json.dumps(meta, indent=1) + "\n")

    try:
        replace_atomic(path, make)
    except _BuildFailed as e:
        return str(e)
    except OutputError as e:
        discard(path)
        return str(e)
    return None


class _BuildFailed(Exception):
    """A step of a build failed (the reason is the message)."""


def _step(argv: list[str], cwd: Path) -> str | None:
    """Run one JVM of a build as runner.jvm starts every JVM: its own process group (killed
    whole on timeout), tied to this process, killed by cancel_all.  A step cancelled
    (Ctrl-C) raises Cancelled: that is no failure to remember."""
    try:
        proc = start_tied(argv, cwd=cwd, stdout=subprocess.PIPE, what="JVM")
    except ToolNotFound as e:
        return str(e)
    try:
        out, _ = proc.communicate(timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return f"{' '.join(argv[-3:])}: no result within {BUILD_TIMEOUT:g} s"
    except BaseException:  # Ctrl-C: no JVM of ours survives
        _kill_group(proc)
        raise
    finally:
        forget(proc)
    if cancelled():
        raise Cancelled("interrupted: the class-data archive was not made")
    if proc.returncode != 0:
        tail = out.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return f"{' '.join(argv[-3:])}: exit {proc.returncode}: {tail[0][:200]}"
    return None
