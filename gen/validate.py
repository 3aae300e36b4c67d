"""The shared parts of validating a model file: one-line errors and the checks of values.

The lowest layer of gen/: every module that validates input (gen/actors.py, gen/protocols.py,
gen/model.py, gen/scenarios.py) builds its errors here, so that every problem is one line
naming the file, the model and the key: `FILE: model NAME: KEY: problem`.  Also the keys of
a `[[model]]` table (a protocol's option may not take one of their names) and the TOML
reader.  Imports nothing of gen/.
"""
from __future__ import annotations

import tomllib
from enum import Enum
from typing import Any

from runner.errors import ConfigError

MODEL_KEYS = {
    "name", "protocol", "pages", "ptes_per_table", "munmap", "vmas", "threads",
    "section_pages", "threshold_pages", "write_hold_bound", "rwsem", "stack_guard_gap",
    "mutation", "expect", "description", "maple_nodes", "tlb",
}
MAX_PAGES = 16
MAX_THREADS = 8
MAX_NAME_BYTES = 64  # a model name is a directory name and a column of every report
MAX_NESTING = 32  # tables and arrays in a TOML file (no model needs more than 4)


class Where:
    """Builds one-line errors: `FILE: model NAME: KEY: problem`.  `key_paths` names another
    file (or place) for some top-level keys: a model built from a scenario and a matrix."""

    def __init__(self, path: str, model: str | None = None,
                 key_paths: dict[str, str] | None = None):
        self.path, self.model, self.key_paths = path, model, key_paths or {}

    def error(self, key: str, problem: str) -> ConfigError:
        top = key.split(".")[0].split("[")[0]
        path = self.key_paths.get(top, self.path)
        where = f"{path}: " + (f"model {self.model!r}: " if self.model else "")
        return ConfigError(f"{where}{key}: {problem}")


def choice(where: Where, key: str, value: Any, enum: type[Enum]) -> Any:
    try:
        return enum(value)
    except ValueError:
        names = ", ".join(e.value for e in enum)  # type: ignore[attr-defined]
        raise where.error(key, f"unknown value {value!r} (one of: {names})") from None


def integer(where: Where, key: str, value: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(key, f"must be an integer, not {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise where.error(key, f"{value} is out of range ({bound})")
    return value


def unknown(where: Where, key: str, table: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise where.error(key + extra[0] if key else extra[0],
                          f"unknown field (allowed: {', '.join(sorted(allowed))})")


def page_range(where: Where, key: str, table: Any, pages: int) -> tuple[int, int]:
    if not isinstance(table, dict):
        raise where.error(key, "must be a table { start = S, end = E }")
    unknown(where, key + ".", table, {"start", "end"})
    if "start" not in table or "end" not in table:
        raise where.error(key, "needs both start and end")
    start = integer(where, key + ".start", table["start"], 1, pages)
    end = integer(where, key + ".end", table["end"], 1, pages + 1)
    if end <= start:
        raise where.error(key, f"empty range [{start}, {end})")
    return start, end


def read_toml(path: str, what: str) -> dict[str, Any]:
    """A TOML file's tables; a missing, unreadable, malformed or deeply nested file is a
    one-line ConfigError."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a {what}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the {what} ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 (byte {e.start}): TOML files are UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply (at most {MAX_NESTING} levels)") from None
    if _depth(data) > MAX_NESTING:
        raise ConfigError(f"{path}: nested too deeply (at most {MAX_NESTING} levels)")
    return data


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest in `value` (iteratively: no recursion to exhaust)."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        v, d = todo.pop()
        deepest = max(deepest, d)
        if d <= MAX_NESTING:
            if isinstance(v, dict):
                todo.extend((x, d + 1) for x in v.values())
            elif isinstance(v, list):
                todo.extend((x, d + 1) for x in v)
    return deepest
