"""Writing files: the one atomic writer, and making the directories it writes into.

`write_atomic` writes a temporary file beside the destination and renames it into place, so
a reader sees the old content or the new, never half of it; on any failure (a full disk, a
read-only directory, a name too long) the temporary file is removed and the failure is one
OutputError naming the destination.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from runner.errors import cannot_write


def replace_atomic(path: Path | str, write: Callable[[Path], object]) -> None:
    """Let `write(tmp)` make a temporary file beside `path`, then rename it into place; on any
    failure the temporary file is removed, and an OSError is one OutputError naming `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(e, OSError):
            raise cannot_write(path, e) from None
        raise


def write_atomic(path: Path | str, data: str | bytes) -> None:
    """Replace `path` by `data` (text as UTF-8, or bytes as they are) atomically; no
    temporary file survives a failure."""
    if isinstance(data, bytes):
        replace_atomic(path, lambda tmp: tmp.write_bytes(data))
    else:
        replace_atomic(path, lambda tmp: tmp.write_text(data, encoding="utf-8"))


def ensure_dir(path: Path | str, what: str = "directory") -> Path:
    """Create `path` (and its parents) as a directory that can be written; an existing file,
    a read-only parent, /proc or a name too long is one OutputError."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise cannot_write(path, FileExistsError(17, "a file is in the way"),
                           f"cannot create the {what}") from None
    except OSError as e:
        raise cannot_write(path, e, f"cannot create the {what}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise cannot_write(path, PermissionError(13, "Permission denied"),
                           f"cannot write into the {what}")
    return path


def ensure_file_destination(path: Path | str, what: str = "file") -> Path:
    """Check, before a long run, that `path` can be written at its end: its directory is made
    and writable (ensure_dir) and no directory is in the way; else one OutputError."""
    path = Path(path)
    ensure_dir(path.parent if str(path.parent) else Path("."), f"{what}'s directory")
    if path.is_dir():
        raise cannot_write(path, IsADirectoryError(21, "a directory is in the way"),
                           f"cannot write the {what}")
    return path
