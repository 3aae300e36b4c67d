"""Answers from a sweep's table: the smallest violating point per protocol and property,
and how distinct states and time grow along each axis.  Pure: DataFrames in, DataFrames
and text out (the caller writes the files).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

UNDECIDED = ("timeout", "error")


def points(df: pd.DataFrame) -> pd.DataFrame:
    """One row per point: the point's figures, and whether it is complete (every property
    decided: no timeout or error) and exhaustive."""
    verdicts = df.groupby("point", sort=False)["verdict"].agg(
        lambda v: not any(x in UNDECIDED for x in v))
    first = df.drop_duplicates("point").set_index("point")
    first["complete"] = verdicts
    first["exhaustive"] = first["mode"] == "exhaustive"
    return first.reset_index()


def smallest_violations(df: pd.DataFrame, axis_names: Sequence[str]) -> pd.DataFrame:
    """Per protocol and property: the violating point with the fewest distinct states (of
    the point: its largest run), ties broken by the fewest states explored to the violation."""
    import pandas as pd

    cols = ["protocol", "property", "model", *[a for a in axis_names if a != "protocol"],
            "point_distinct_states", "distinct_states", "depth", "mode", "trace", "directory"]
    v = df[df["verdict"] == "violated"]
    if v.empty:
        return pd.DataFrame(columns=cols)
    v = v.assign(_size=v["point_distinct_states"].astype(float).fillna(float("inf")),
                 _found=v["distinct_states"].astype(float).fillna(float("inf")))
    best = (v.sort_values(["protocol", "property", "_size", "_found", "point"])
            .groupby(["protocol", "property"], sort=True).head(1))
    return best[cols].reset_index(drop=True)


def numeric_axis(column: pd.Series) -> bool:
    """Whether an axis column holds numbers (growth is fitted along numeric axes only)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return is_numeric_dtype(column) and not is_bool_dtype(column)


def growth_factor(pairs: Sequence[tuple[float, float, float, float]]) -> float | None:
    """Geometric mean, per unit step of the axis, of the ratios y2/y1 over consecutive
    pairs (x1, y1, x2, y2) with x2 > x1: exp(mean(log(y2/y1) / (x2 - x1)))."""
    logs = [math.log(y2 / y1) / (x2 - x1) for x1, y1, x2, y2 in pairs
            if x2 > x1 and y1 > 0 and y2 > 0]
    if not logs:
        return None
    return math.exp(sum(logs) / len(logs))


def consecutive_pairs(frame: pd.DataFrame, axis: str, others: Sequence[str],
                      metric: str) -> list[tuple[float, float, float, float]]:
    """Pairs of neighbouring points along `axis` with every other axis equal."""
    pairs: list[tuple[float, float, float, float]] = []
    groups = frame.groupby(list(others), sort=False, dropna=False) if others else [(None, frame)]
    for _, g in groups:
        g = g.dropna(subset=[metric]).sort_values(axis)
        xs, ys = list(g[axis]), list(g[metric])
        pairs += [(float(x1), float(y1), float(x2), float(y2))
                  for x1, y1, x2, y2 in zip(xs, ys, xs[1:], ys[1:])]
    return pairs


def growth(df: pd.DataFrame, axis_names: Sequence[str]) -> pd.DataFrame:
    """Per protocol and numeric axis: the fitted growth factor per step (+1) of the axis of
    the point's distinct states and of its wall time, from complete exhaustive points."""
    import pandas as pd

    cols = ["protocol", "axis", "from", "to", "pairs", "states_factor", "seconds_factor"]
    pts = points(df)
    pts = pts[pts["complete"] & pts["exhaustive"]]
    out = []
    for protocol, g in pts.groupby("protocol", sort=True):
        for axis in axis_names:
            if axis == "protocol" or not numeric_axis(g[axis]):
                continue
            others = [a for a in axis_names if a not in (axis, "protocol")]
            s_pairs = consecutive_pairs(g, axis, others, "point_distinct_states")
            t_pairs = consecutive_pairs(g, axis, others, "point_seconds")
            if not s_pairs and not t_pairs:
                continue
            fs, ft = growth_factor(s_pairs), growth_factor(t_pairs)
            out.append({"protocol": protocol, "axis": axis, "from": g[axis].min(),
                        "to": g[axis].max(), "pairs": len(s_pairs),
                        "states_factor": None if fs is None else round(fs, 3),
                        "seconds_factor": None if ft is None else round(ft, 3)})
    return pd.DataFrame(out, columns=cols)


def largest_complete(df: pd.DataFrame, axis_names: Sequence[str]) -> pd.DataFrame:
    """Per protocol: the complete exhaustive point with the most distinct states."""
    import pandas as pd

    cols = ["protocol", "model", *[a for a in axis_names if a != "protocol"],
            "point_distinct_states", "point_seconds"]
    pts = points(df)
    pts = pts[pts["complete"] & pts["exhaustive"]].dropna(subset=["point_distinct_states"])
    if pts.empty:
        return pd.DataFrame(columns=cols)
    best = pts.sort_values("point_distinct_states").groupby("protocol").tail(1)
    return best.sort_values("protocol")[cols].reset_index(drop=True)


def verdict_counts(df: pd.DataFrame) -> dict[str, int]:
    pts = points(df)
    counts = {"points": len(pts), "complete": int(pts["complete"].sum())}
    for verdict, n in df["verdict"].value_counts().items():
        counts[f"rows {verdict}"] = int(n)
    return counts


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    try:
        import pandas as pd

        if pd.isna(v):
            return "-"
    except (TypeError, ValueError):
        pass
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def markdown_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "(none)\n"
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def answers_markdown(name: str, df: pd.DataFrame, axis_names: Sequence[str],
                     attachments: str) -> str:
    smallest = smallest_violations(df, axis_names)
    grow = growth(df, axis_names)
    largest = largest_complete(df, axis_names)
    sim = df[df["verdict"] == "no-violation"]
    lines = [f"# Sweep {name}: answers", ""]
    counts = verdict_counts(df)
    lines += [", ".join(f"{k}: {v}" for k, v in counts.items()), ""]
    lines += ["## The smallest violating point per protocol and property", "",
              ("By the distinct states of the point (its largest TLC run); `distinct_states` "
               f"is what TLC explored until it found the violation. {attachments}"), ""]
    lines += [markdown_table(smallest), ""]
    lines += ["## Growth per step of each axis", "",
              ("Geometric mean over neighbouring complete exhaustive points (every other axis "
               "equal) of the ratio of distinct states and of wall time, per +1 of the axis."),
              ""]
    lines += [markdown_table(grow), ""]
    lines += ["## The largest complete exhaustive point per protocol", ""]
    lines += [markdown_table(largest), ""]
    if not sim.empty:
        first = sim.iloc[0]
        lines += ["## Simulation", "",
                  (f"{sim['point'].nunique()} point(s) checked by random simulation: "
                   f"{first['message']}; this is not a proof that a property holds."), ""]
    return "\n".join(lines)
