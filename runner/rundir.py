"""Run directories: one run at a time per directory, results/latest, and how many are kept.

A run holds `<dir>/.mmcheck.lock` (flock) for as long as it writes there; the file names the
holder's PID.  The kernel drops the lock when its holder dies (also by SIGKILL), so a lock
file left behind by a killed run is stale and taken over without asking.  A second run into a
directory that is in use is refused with one line naming the PID that uses it.

results/ keeps the latest runs only, of each kind: `run-<time>` directories (mmcheck check)
and `compare-BASE-NEW-<time>` ones (mmcheck compare) are counted apart, so that checks never
remove the comparison a reviewer is waiting for, nor comparisons a check.  KEEP_RUNS of each
by default, `--keep-runs N` or $MMCHECK_KEEP_RUNS to change it, 0 to keep them all.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runner.errors import ConfigError, OutputError, cannot_write
from runner.files import ensure_dir

LOCK = ".mmcheck.lock"
RESULTS = Path("results")
KEEP_RUNS = 10
KEEP_RUNS_ENV = "MMCHECK_KEEP_RUNS"
# A run directory's name: its kind (run, or compare-BASE-NEW), the time it started, and a
# suffix when two runs started in the same second.
RUN_NAME = re.compile(r"^(?P<kind>run|compare-.+)-(?P<time>\d{8}-\d{6})(-(?P<n>\d+))?$")

# Directories this process has locked (realpath -> depth): a library call inside a command
# that already holds the lock (check_models inside `mmcheck check`) must not refuse itself.
_held: dict[str, list[int]] = {}
_held_lock = threading.Lock()


def lock_holder(directory: Path) -> int | None:
    """The PID named in `directory`'s lock file, when it can be read."""
    try:
        return int((Path(directory) / LOCK).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def locked(directory: Path | str, what: str = "run directory") -> Iterator[Path]:
    """Create `directory` and hold its lock while the block runs; OutputError when another
    process holds it, or when the directory cannot be created or written."""
    directory = ensure_dir(directory, what)
    key = os.path.realpath(directory)
    with _held_lock:
        if key in _held:
            _held[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield directory
        finally:
            with _held_lock:
                _held[key][1] -= 1
        return
    fd = _acquire(directory)
    with _held_lock:
        _held[key] = [fd, 1]
    try:
        yield directory
    finally:
        with _held_lock:
            _held.pop(key, None)
        try:
            os.unlink(directory / LOCK)  # still ours: nobody else can hold it while we do
        except OSError:
            pass
        os.close(fd)


def _acquire(directory: Path) -> int:
    """Lock `directory`'s lock file; its descriptor.  Taken again when the file was replaced
    or removed meanwhile (by the previous holder's exit), so two runs never hold two files."""
    path = directory / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise cannot_write(path, e, "cannot create the lock file") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = lock_holder(directory)
            who = f"PID {pid}" if pid else "another process"
            raise OutputError(f"{directory}: in use by another mmcheck run ({who}); wait for "
                              f"it or give another --out") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as e:
            os.close(fd)
            raise cannot_write(path, e) from None
        return fd


def default_out(kind: str = "run") -> Path:
    """results/<kind>-<time> (kind: run, or compare-BASE-NEW); a suffix when that name is
    taken (two runs in one second)."""
    base = RESULTS / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def under_results(out: Path) -> bool:
    """Whether `out` is a directory of results/ (only those are pruned and linked)."""
    try:
        return out.resolve().parent == RESULTS.resolve()
    except OSError:
        return False


def link_latest(out: Path) -> None:
    """Point results/latest at the newest run, when it lives under results/."""
    try:
        if out.resolve().parent != RESULTS.resolve():
            return
        tmp = RESULTS / f".latest.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(out.name)
        os.replace(tmp, RESULTS / "latest")
    except OSError:
        pass


def keep_runs(value: int | None) -> int:
    """How many runs results/ keeps: `value` (--keep-runs), else $MMCHECK_KEEP_RUNS, else
    KEEP_RUNS; 0 keeps every run."""
    if value is None:
        env = os.environ.get(KEEP_RUNS_ENV, "").strip()
        if not env:
            return KEEP_RUNS
        try:
            value = int(env)
        except ValueError:
            raise ConfigError(f"${KEEP_RUNS_ENV}={env!r}: must be a whole number of runs "
                              f"(0: keep all)") from None
        origin = f"${KEEP_RUNS_ENV}"
    else:
        origin = "--keep-runs"
    if value < 0:
        raise ConfigError(f"{origin}: must be 0 (keep all) or more, not {value}")
    return value


def prune_runs(results: Path, keep: int, current: Path | None = None) -> list[Path]:
    """Remove all but the newest `keep` run directories of each kind (run-<time>, and
    compare-BASE-NEW-<time> of every pair together) of `results`; never `current`, the target
    of results/latest, or a run another process is writing.  The removed ones."""
    if keep <= 0 or not results.is_dir():
        return []
    kinds: dict[str, list[tuple[tuple[str, int], Path]]] = {}
    for p in results.iterdir():
        m = RUN_NAME.match(p.name)
        if m and p.is_dir() and not p.is_symlink():
            kind = "run" if m["kind"] == "run" else "compare"
            kinds.setdefault(kind, []).append(((m["time"], int(m["n"] or 1)), p))
    spared = set()
    for keeper in (current, results / "latest"):
        if keeper is not None:
            try:
                spared.add(keeper.resolve())
            except OSError:
                pass
    removed = []
    for runs in kinds.values():
        runs.sort(key=lambda t: t[0], reverse=True)
        for _, old in runs[keep:]:
            if old.resolve() in spared or _in_use(old):
                continue
            shutil.rmtree(old, ignore_errors=True)
            if not old.exists():
                removed.append(old)
    return removed


def _in_use(directory: Path) -> bool:
    path = directory / LOCK
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
