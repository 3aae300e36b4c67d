"""Sweep files: a base model plus axes; the product of the axes is the grid.

A sweep file (TOML) holds a `[sweep]` table (name, description, per-point timeout,
optional simulation, the `axes` and `derive` tables) and a `[base]` table: one model
in the schema of a `[[model]]` table (docs/models.md), without `name` and `expect`.
Each point of the grid is the base with the axes' values set, then the derived keys
computed; it is validated by gen.model.parse_model, so a bad point is the usual
one-line ConfigError naming the sweep file, the point and the key, before anything
runs.  Pure: renders (to hash what a point checks) but runs nothing.

Axis and derived keys are paths into the model table: `pages`, `munmap.end`,
`threads[0].count`, `vmas[0].end`; a whole table is a value too (`munmap = [{ start =
1, end = 3 }, { start = 1, end = 5 }]`).  A derived value is an integer expression of
the point's top-level keys (`pages + 1`, `max(1, pages // 2)`): + - * // % min max.
"""
from __future__ import annotations

import ast
import copy
import itertools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gen.model import MAX_NAME_BYTES, Model, parse_model, read_toml
from gen.protocols import Protocols
from gen.render import liveness_cfg, render, safety_cfg
from runner.cache import digest
from runner.check import Simulation
from runner.errors import ConfigError
from runner.limits import MAX_POINTS, timeout_problem

DEFAULT_TIMEOUT = 60.0  # seconds per point
MAX_EXPRESSION = 500  # characters of a derived value's expression
SWEEP_KEYS = {"name", "description", "timeout", "simulate", "axes", "derive"}
_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$")


@dataclass(frozen=True)
class Point:
    """One point of the grid: the axes' values and the validated model."""

    axes: tuple[tuple[str, Any], ...]  # (key, value) in the order of the sweep's axes
    model: Model
    model_hash: str  # of the rendered spec and its configs: what TLC would check

    @property
    def key(self) -> str:
        """The point's identity within its sweep (with model_hash: see Sweep.done)."""
        return point_key(dict(self.axes))

    @property
    def label(self) -> str:
        return " ".join(f"{k}={column_value(v)}" for k, v in self.axes)


@dataclass(frozen=True)
class Sweep:
    name: str
    path: str
    description: str
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    derive: tuple[tuple[str, str], ...]
    base: dict[str, Any]
    timeout: float
    simulate: Simulation | None
    points: tuple[Point, ...]

    @property
    def axis_names(self) -> list[str]:
        return [k for k, _ in self.axes]


# ---------------------------------------------------------------- values


def column_value(value: Any) -> Any:
    """An axis value as a table cell: scalars as they are, a range as "[1, 3)"."""
    if isinstance(value, dict) and set(value) == {"start", "end"}:
        return f"[{value['start']}, {value['end']})"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def point_key(axes: dict[str, Any]) -> str:
    return json.dumps({k: column_value(v) for k, v in axes.items()}, sort_keys=True,
                      separators=(",", ":"))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "", text.replace("-", "_"))


def point_name(prefix: str, axes: tuple[tuple[str, Any], ...]) -> str:
    parts = [prefix]
    for key, value in axes:
        v = value
        if isinstance(v, dict) and set(v) == {"start", "end"}:
            v = f"{v['start']}to{v['end']}"
        elif isinstance(v, (dict, list)):
            v = digest(json.dumps(v, sort_keys=True))[:8]
        parts.append(_slug(str(v)) if key == "protocol" else _slug(key) + _slug(str(v)))
    name = "-".join(parts)
    if len(name.encode()) > MAX_NAME_BYTES:  # many axes: a prefix and a hash of the whole
        name = name[:MAX_NAME_BYTES - 9] + "-" + digest(name)[:8]
    return name


# ---------------------------------------------------------------- paths


def _parse_path(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for segment in path.split("."):
        m = _SEGMENT.match(segment)
        if not m:
            raise ValueError(f"{segment!r} is not NAME or NAME[i]")
        steps.append(m.group(1))
        steps.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return steps


def set_path(table: dict[str, Any], path: str, value: Any) -> None:
    """Set `path` (e.g. "threads[0].count") in `table`; a missing last key is created."""
    steps = _parse_path(path)
    node: Any = table
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(step, int):
            if not isinstance(node, list):
                raise TypeError(f"{path}: not a list before [{step}]")
            if step >= len(node):
                raise ValueError(f"{path}: index {step} but the base has {len(node)} entries")
        elif not isinstance(node, dict):
            raise TypeError(f"{path}: {step!r} is inside something that is not a table")
        if last:
            node[step] = copy.deepcopy(value)
            return
        if isinstance(step, str) and step not in node:
            raise ValueError(f"{path}: the base has no {step!r}")
        node = node[step]


# ---------------------------------------------------------------- derived values

_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.FloorDiv: lambda a, b: a // b,
           ast.Mod: lambda a, b: a % b}


def evaluate(expr: str, names: dict[str, Any]) -> int:
    """An integer expression over `names`: literals, names, + - * // %, unary -, min, max."""

    def ev(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise ValueError(f"unknown name {node.id!r} (known: {', '.join(sorted(names))})")
            value = names[node.id]
            if type(value) is not int:
                raise ValueError(f"{node.id} is not an integer")
            return value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return int(_BINOPS[type(node.op)](ev(node.left), ev(node.right)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("min", "max") and node.args and not node.keywords):
            fn = min if node.func.id == "min" else max
            return fn(ev(a) for a in node.args)
        raise ValueError(f"{ast.unparse(node)!r} is not allowed (integers, names, "
                         "+ - * // %, min, max)")

    if len(expr) > MAX_EXPRESSION:
        raise ValueError(f"the expression is {len(expr):,} characters long (at most "
                         f"{MAX_EXPRESSION})")
    try:
        return ev(ast.parse(expr, mode="eval"))
    except SyntaxError:
        raise ValueError(f"{expr!r} is not an expression") from None
    except ZeroDivisionError:
        raise ValueError(f"{expr!r} divides by zero") from None
    except (RecursionError, MemoryError):
        raise ValueError("the expression is nested too deeply") from None


# ---------------------------------------------------------------- loading


def _error(path: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{path}: {key}: {problem}")


def model_hash(model: Model) -> str:
    """A hash of what TLC checks for `model`: the rendered module and both configs."""
    rendered = render(model)
    from gen.model import INVARIANTS

    return digest(rendered.text, safety_cfg(rendered, list(INVARIANTS)),
                  liveness_cfg(rendered))[:16]


def parse_sweep(data: dict[str, Any], path: str, default_name: str,
                max_points: int = MAX_POINTS,
                on_size: Callable[[int], None] | None = None,
                protocols: Protocols | None = None) -> Sweep:
    """Validate a sweep file's content and expand its grid.  `on_size(n)` hears the number of
    points before they are expanded; a grid of more than `max_points` is refused.  Points may
    name the `protocols` given (default: those gen.protocols.discover() finds)."""
    extra = sorted(set(data) - {"sweep", "base"})
    if extra:
        raise _error(path, extra[0], "unknown table (allowed: sweep, base)")
    sweep = data.get("sweep")
    if not isinstance(sweep, dict):
        raise _error(path, "sweep", "missing: a [sweep] table with axes")
    extra = sorted(set(sweep) - SWEEP_KEYS)
    if extra:
        raise _error(path, f"sweep.{extra[0]}",
                     f"unknown field (allowed: {', '.join(sorted(SWEEP_KEYS))})")
    name = sweep.get("name", default_name)
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "-_" for c in name):
        raise _error(path, "sweep.name", f"{name!r}: use letters, digits, '-' and '_' only")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise _error(path, "sweep.name", f"longer than {MAX_NAME_BYTES} bytes")
    description = sweep.get("description", "")
    if not isinstance(description, str):
        raise _error(path, "sweep.description", "must be a string")
    timeout = sweep.get("timeout", DEFAULT_TIMEOUT)
    problem = timeout_problem(timeout)
    if problem is not None:
        raise _error(path, "sweep.timeout", problem)
    simulate = parse_simulate(sweep.get("simulate"), f"{path}: sweep.simulate")

    axes_raw = sweep.get("axes")
    if not isinstance(axes_raw, dict) or not axes_raw:
        raise _error(path, "sweep.axes", "missing or empty: a table of key = [values]")
    axes: list[tuple[str, tuple[Any, ...]]] = []
    for key, values in axes_raw.items():
        where = f"sweep.axes.{key}"
        if key in ("name", "expect", "description"):
            raise _error(path, where, "cannot be an axis")
        try:
            _parse_path(key)
        except ValueError as e:
            raise _error(path, where, str(e)) from None
        if not isinstance(values, list) or not values:
            raise _error(path, where, "must be a non-empty list of values")
        keys = [point_key({key: v}) for v in values]
        if len(set(keys)) != len(keys):
            raise _error(path, where, "lists a value twice")
        axes.append((key, tuple(values)))

    derive_raw = sweep.get("derive", {})
    if not isinstance(derive_raw, dict):
        raise _error(path, "sweep.derive", "must be a table of key = \"expression\"")
    derive: list[tuple[str, str]] = []
    for key, expr in derive_raw.items():
        if not isinstance(expr, str):
            raise _error(path, f"sweep.derive.{key}", "must be an expression in a string")
        if key in axes_raw:
            raise _error(path, f"sweep.derive.{key}", "is also an axis")
        try:
            steps = _parse_path(key)
        except ValueError as e:
            raise _error(path, f"sweep.derive.{key}", str(e)) from None
        for axis in axes_raw:
            a = _parse_path(axis)
            if steps[:len(a)] == a or a[:len(steps)] == steps:
                how = "is inside" if len(steps) > len(a) else "contains"
                raise _error(path, f"sweep.derive.{key}",
                             f"{how} the axis {axis!r}: it would override the axis' values, "
                             f"so that points labelled differently check the same model")
        derive.append((key, expr))

    base = data.get("base")
    if not isinstance(base, dict):
        raise _error(path, "base", "missing: a [base] table (one [[model]] table, without name and expect)")
    for forbidden, why in (("expect", "a sweep has no expectations: it reports what TLC found"),
                           ("name", "points are named after their axes' values")):
        if forbidden in base:
            raise _error(path, f"base.{forbidden}", why)

    size = math.prod(len(v) for _, v in axes)
    if on_size is not None:
        on_size(size)
    if size > max_points:
        raise _error(path, "sweep.axes", f"the grid has {size:,} points, more than "
                                         f"{max_points:,} (--max-points N allows more)")
    points = expand(path, name, base, axes, derive, protocols)
    return Sweep(name=name, path=path, description=description, axes=tuple(axes),
                 derive=tuple(derive), base=base, timeout=float(timeout), simulate=simulate,
                 points=tuple(points))


def parse_simulate(value: Any, where: str) -> Simulation | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"behaviours", "depth"}:
        raise ConfigError(f"{where}: must be {{ behaviours = N, depth = D }}")
    for k in ("behaviours", "depth"):
        v = value[k]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{where}.{k}: must be a positive integer, not {v!r}")
    return Simulation(value["behaviours"], value["depth"])


def expand(path: str, name: str, base: dict[str, Any],
           axes: list[tuple[str, tuple[Any, ...]]],
           derive: list[tuple[str, str]], protocols: Protocols | None = None) -> list[Point]:
    """Every point of the product of the axes, validated; in the axes' order (last fastest)."""
    points = []
    for i, values in enumerate(itertools.product(*(v for _, v in axes))):
        assignment = tuple((k, v) for (k, _), v in zip(axes, values))
        table = copy.deepcopy(base)
        table["name"] = point_name(name, assignment)
        for key, value in assignment:
            try:
                set_path(table, key, value)
            except (ValueError, TypeError) as e:
                raise _error(path, f"sweep.axes.{key}", str(e)) from None
        for key, expr in derive:
            names = {k: v for k, v in table.items() if not isinstance(v, (dict, list))}
            try:
                set_path(table, key, evaluate(expr, names))
            except (ValueError, TypeError) as e:
                raise _error(path, f"sweep.derive.{key}", str(e)) from None
        model = parse_model(table, path, i, protocols)
        points.append(Point(assignment, model, model_hash(model)))
    return points


def load_sweep(path: str | Path, max_points: int = MAX_POINTS,
               on_size: Callable[[int], None] | None = None,
               protocols: Protocols | None = None) -> Sweep:
    p = str(path)
    return parse_sweep(read_toml(p, "sweep file"), p, Path(p).stem, max_points, on_size,
                       protocols)
