"""A content-addressed cache of TLC runs and translations.

The key of an entry is a hash of everything that determines its result (the translated spec,
the cfg, the jar's sha256, the flags).  One integrity rule for every entry: an entry is one
file, a JSON header line naming the sha256 of the content that follows it, written
atomically; an entry whose header is not such an object, or whose content does not match
its hash (torn, truncated, edited, not UTF-8), is a miss, and is made again.  A TLC entry is
TLC's complete output and exit code as the run returned them (never a log file read back
from disk, which another process could have written), parsed again on use, so a cached
verdict is exactly what the real TLC printed.

The cache is an optimisation: an entry that cannot be written (a full disk) is skipped and
counted in `write_errors`; only a cache directory that cannot be used at all is an error,
before anything runs (`Cache.open`).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from runner.errors import MmcheckError, OutputError, os_reason
from runner.files import ensure_dir, write_atomic

SUFFIX = ".entry"


def digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode()
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


class Cache:
    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.write_errors: list[str] = []

    @classmethod
    def open(cls, directory: Path | str) -> Cache:
        """A cache in `directory`, checked to be usable: created, written and read back."""
        cache = cls(Path(directory))
        fix = "pass --no-cache, or another --cache-dir"
        try:
            ensure_dir(cache.dir, "cache directory")
            probe = cache.dir / f".probe.{os.getpid()}"
            write_atomic(probe, "ok")
            probe.unlink()
        except MmcheckError as e:
            raise OutputError(f"{e}: {fix}") from None
        except OSError as e:
            raise OutputError(f"{cache.dir}: cannot use the cache directory "
                              f"({os_reason(e)}): {fix}") from None
        return cache

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}{SUFFIX}"

    def _read(self, key: str) -> tuple[dict[str, Any], str] | None:
        try:
            data = self._path(key).read_bytes()
        except OSError:
            return None
        head, sep, body = data.partition(b"\n")
        if not sep:
            return None
        try:
            meta = json.loads(head)
            content = body.decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(meta, dict) or meta.get("sha256") != digest(content):
            return None
        return meta, content

    def _write(self, key: str, content: str, **meta: Any) -> None:
        path = self._path(key)
        header = json.dumps({**meta, "sha256": digest(content)}, sort_keys=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, header + "\n" + content)
        except (OSError, MmcheckError) as e:
            self.write_errors.append(str(e))

    def discard(self, key: str) -> None:
        """Forget an entry that proved broken (its content made the run fail)."""
        try:
            self._path(key).unlink()
        except OSError:
            pass

    def get_text(self, key: str) -> str | None:
        entry = self._read(key)
        return entry[1] if entry is not None and entry[0].get("kind") == "text" else None

    def put_text(self, key: str, text: str) -> None:
        self._write(key, text, kind="text")

    def get_run(self, key: str) -> tuple[str, int | None] | None:
        entry = self._read(key)
        if entry is None or entry[0].get("kind") != "run":
            return None
        meta, output = entry
        exit_code = meta.get("exit_code")
        if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
            return None
        return output, exit_code

    def put_run(self, key: str, output: str, exit_code: int | None) -> None:
        self._write(key, output, kind="run", exit_code=exit_code)
