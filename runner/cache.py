"""A content-addressed cache of TLC runs and translations.

The key of an entry is a hash of everything that determines its result (the
translated spec, the cfg, the jar's sha256, the flags); the entry is TLC's
complete output and exit code, parsed again on use, so a cached verdict is
exactly what the real TLC printed.  Entries are written atomically.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path


def digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode()
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


class Cache:
    def __init__(self, directory: Path):
        self.dir = directory

    def _path(self, key: str, suffix: str) -> Path:
        return self.dir / key[:2] / f"{key}{suffix}"

    def _write(self, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    def get_text(self, key: str) -> str | None:
        try:
            return self._path(key, ".txt").read_text()
        except (FileNotFoundError, UnicodeDecodeError):
            return None

    def put_text(self, key: str, text: str) -> None:
        self._write(self._path(key, ".txt"), text)

    def get_run(self, key: str) -> tuple[str, int | None] | None:
        try:
            meta = json.loads(self._path(key, ".json").read_text())
            output = self._path(key, ".out").read_text()
        except (FileNotFoundError, ValueError, UnicodeDecodeError):
            return None
        if meta.get("sha256") != digest(output):  # a torn or edited entry is a miss
            return None
        return output, meta.get("exit_code")

    def put_run(self, key: str, output: str, exit_code: int | None) -> None:
        # The output first: an entry counts only once its metadata names the output's hash.
        self._write(self._path(key, ".out"), output)
        self._write(self._path(key, ".json"),
                    json.dumps({"exit_code": exit_code, "sha256": digest(output)}))
