"""The one deterministic writer of TLA+ values, for the specs we render and for the
values TLC printed (parsed by runner.tla_values).  Templates never hand-format values."""
from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any


class ModelValue(str):
    """A TLC model value (a thread id, M1): an unquoted name, still a str but told apart
    from the string "M1"."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"ModelValue({str.__repr__(self)})"


def sort_key(v: Any) -> tuple[int, int, str]:
    """Deterministic order across types: booleans, integers (numerically), model values,
    strings, then everything else by its text."""
    if isinstance(v, bool):
        return 0, int(v), ""
    if isinstance(v, int):
        return 1, v, ""
    rank = 2 if isinstance(v, ModelValue) else 3 if isinstance(v, str) else 4
    return rank, 0, tla(v)


def tla(value: Any) -> str:
    """Write a Python value as TLA+: ints, strings, booleans, model values, sets (sorted),
    sequences (lists and tuples), records (mappings with str keys, fields sorted) and
    functions (other mappings: `(k1 :> v1 @@ k2 :> v2)`; the empty one is `<<>>`)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, ModelValue):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, (set, frozenset, AbstractSet)):
        return "{" + ", ".join(tla(v) for v in sorted(value, key=sort_key)) + "}"
    if isinstance(value, (list, tuple)):
        return "<<" + ", ".join(tla(v) for v in value) + ">>"
    if isinstance(value, Mapping):
        if not value:
            return "<<>>"
        if all(isinstance(k, str) and not isinstance(k, ModelValue) for k in value):
            return "[" + ", ".join(f"{k} |-> {tla(v)}" for k, v in sorted(value.items())) + "]"
        return "(" + " @@ ".join(f"{tla(k)} :> {tla(value[k])}"
                                 for k in sorted(value, key=sort_key)) + ")"
    raise ValueError(f"no TLA+ form for {value!r}")
