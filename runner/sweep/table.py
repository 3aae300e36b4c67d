"""The sweep's table: one row per point and property, as a pandas DataFrame.

Written after every finished point to results/<sweep>/sweep.csv and sweep.parquet
(each through a temporary file and a rename, so a killed sweep leaves the last
complete table); read back to resume: a point whose rows are there, with the same
model hash and mode, is not checked again.  Pure apart from those two files.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from runner.sweep.spec import Point

CSV, PARQUET = "sweep.csv", "sweep.parquet"

# Columns before the axes, then the axes, then these; with their pandas dtypes.
HEAD = {"sweep": "string", "point": "string", "model": "string", "model_hash": "string",
        "mode": "string"}
TAIL = {
    "protocol": "string",
    "property": "string",
    "verdict": "string",  # holds | violated | timeout | error | no-violation | not-checked
    "message": "string",
    "run": "string",  # the TLC run that decided the property (safety-1, liveness-2, ...)
    # Of that run: a violation stops TLC, so these are what it explored until then.
    "distinct_states": "Int64",
    "states_generated": "Int64",
    "depth": "Int64",
    "seconds": "Float64",
    # Of the whole point: the largest run (a complete safety run: the state space).
    "point_distinct_states": "Int64",
    "point_states_generated": "Int64",
    "point_depth": "Int64",
    "point_seconds": "Float64",  # wall time of the point (all its runs)
    "peak_rss_mb": "Float64",  # largest JVM of the point; None when no JVM ran (cache)
    "cached": "boolean",  # every TLC run of the point came from the cache
    "workers": "Int64",
    "heap_mb": "Int64",
    "timeout": "Float64",  # the per-point timeout it ran with
    "behaviours": "Int64",  # simulation only
    "sim_depth": "Int64",
    "trace": "string",  # counterexample (JSON) of a violated property
    "directory": "string",
    "finished": "string",  # ISO time the point finished
}


def columns(axis_names: Sequence[str]) -> dict[str, str]:
    """Column -> dtype, in order; an axis named like a fixed column (protocol) stays once."""
    out = dict(HEAD)
    for a in axis_names:
        out[a] = "object"
    for k, v in TAIL.items():
        out.setdefault(k, v)
    return out


def _axis_dtype(values: Iterable[Any]) -> str:
    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, bool) for v in vals):
        return "boolean"
    if vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return "Int64"
    if vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return "Float64"
    return "string"


def to_frame(rows: Sequence[dict[str, Any]], axis_names: Sequence[str]) -> pd.DataFrame:
    """Rows (dicts) as a typed DataFrame with the sweep's columns, in order."""
    import pandas as pd

    cols = columns(axis_names)
    df = pd.DataFrame(list(rows), columns=list(cols))
    return typed(df, axis_names)


def typed(df: pd.DataFrame, axis_names: Sequence[str]) -> pd.DataFrame:
    cols = columns(axis_names)
    for name, dtype in cols.items():
        if name not in df.columns:
            df[name] = None
        if dtype == "object":
            values = [None if _missing(v) else _plain(v) for v in df[name]]
            dtype = "string" if name == "protocol" else _axis_dtype(values)
            df[name] = pd_series(values, dtype, df.index)
        else:
            df[name] = df[name].astype(dtype)
    return df[list(cols)].reset_index(drop=True)


def pd_series(values: list[Any], dtype: str, index: Any) -> Any:
    import pandas as pd

    if dtype == "string":
        values = [None if v is None else str(v) for v in values]
    return pd.Series(values, index=index, dtype=dtype)


def _missing(v: Any) -> bool:
    try:
        import pandas as pd

        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _plain(v: Any) -> Any:
    """numpy scalars to Python ones (a csv read gives numpy ints and floats)."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def write_table(df: pd.DataFrame, directory: Path) -> tuple[Path, Path]:
    """Write sweep.csv and sweep.parquet atomically (tmp + rename); return their paths."""
    from runner.files import ensure_dir, replace_atomic

    ensure_dir(directory)
    csv, parquet = directory / CSV, directory / PARQUET
    replace_atomic(csv, lambda tmp: df.to_csv(tmp, index=False))
    replace_atomic(parquet, lambda tmp: df.to_parquet(tmp, index=False))
    return csv, parquet


def read_table(directory: Path, axis_names: Sequence[str]) -> pd.DataFrame | None:
    """The table of an earlier run (parquet, else csv), typed; None if there is none or it
    cannot be read (a sweep then starts afresh; the TLC cache still saves the work)."""
    import pandas as pd

    for name, reader in ((PARQUET, pd.read_parquet), (CSV, _read_csv)):
        path = directory / name
        if not path.is_file():
            continue
        try:
            df = reader(path)
        except (OSError, ValueError):  # torn or foreign (pyarrow's and pandas' errors are
            continue  # ValueErrors): try the other file
        if not set(columns(axis_names)) <= set(df.columns):
            continue  # another sweep's table (different axes): start afresh
        return typed(df, axis_names)
    return None


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    return pd.read_csv(path, keep_default_na=False, na_values=[""])


# ---------------------------------------------------------------- resuming


def needs_check(rows: pd.DataFrame | None, point: Point, mode: str, timeout: float) -> bool:
    """Whether `point` must be checked: no rows of it with its model hash and mode, or a
    failed check (error), or a timeout under a shorter per-point timeout than now."""
    if rows is None or rows.empty:
        return True
    mine = rows[(rows["point"] == point.key) & (rows["model_hash"] == point.model_hash)
                & (rows["mode"] == mode)]
    if mine.empty:
        return True
    verdicts = set(mine["verdict"].dropna())
    if "failed" in set(mine["run"].dropna()):
        return True
    if "timeout" in verdicts:
        ran_with = mine["timeout"].dropna()
        return ran_with.empty or float(ran_with.max()) < timeout
    return False


def kept_rows(rows: pd.DataFrame | None, points: Sequence[Point], mode: str,
              timeout: float) -> tuple[list[dict[str, Any]], list[Point]]:
    """Split a sweep into the rows to keep (finished points of the current grid) and the
    points still to check, in grid order."""
    if rows is None:
        return [], list(points)
    keep: list[dict[str, Any]] = []
    todo: list[Point] = []
    by_point = {k: g for k, g in rows.groupby("point", sort=False)} if not rows.empty else {}
    for p in points:
        if needs_check(rows, p, mode, timeout):
            todo.append(p)
        else:
            g = by_point[p.key]
            g = g[(g["model_hash"] == p.model_hash) & (g["mode"] == mode)]
            keep.extend({k: (None if _missing(v) else _plain(v)) for k, v in r.items()}
                        for r in g.to_dict("records"))
    return keep, todo
