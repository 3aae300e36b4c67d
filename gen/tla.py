"""The one deterministic writer of TLA+ values: templates never hand-format values."""
from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any


class ModelValue(str):
    """A TLC model value (e.g. a thread id): written bare, without quotes."""


def _key(v: Any) -> tuple[int, Any]:
    # Sort sets deterministically: numbers first, then text.
    return (0, v) if isinstance(v, int) and not isinstance(v, bool) else (1, str(v))


def tla(value: Any) -> str:
    """Write a Python value as TLA+: ints, strings, booleans, model values, sets
    (sorted), sequences (lists and tuples) and records (dicts with str keys)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, ModelValue):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, (set, frozenset, AbstractSet)):
        return "{" + ", ".join(tla(v) for v in sorted(value, key=_key)) + "}"
    if isinstance(value, (list, tuple)):
        return "<<" + ", ".join(tla(v) for v in value) + ">>"
    if isinstance(value, Mapping):
        if not value:
            raise ValueError("an empty record has no TLA+ form")
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"record keys must be strings: {value!r}")
        return "[" + ", ".join(f"{k} |-> {tla(v)}" for k, v in sorted(value.items())) + "]"
    if hasattr(value, "value") and isinstance(value.value, str):  # str Enums
        return tla(value.value)
    raise ValueError(f"no TLA+ form for {value!r}")
