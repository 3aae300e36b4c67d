"""Plots of a sweep (matplotlib, Agg; PNG and SVG): distinct states and wall time against
each axis on a log scale, one colour per protocol; and a verdict grid (points x
properties).  Only reads the table; writes the image files it returns.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gen.model import PROPERTIES
from runner.files import replace_atomic
from runner.sweep.answers import numeric_axis, points

if TYPE_CHECKING:
    import pandas as pd

VERDICT_COLOURS = {
    "holds": "#2e7d32", "violated": "#c62828", "timeout": "#ef6c00", "error": "#616161",
    "no-violation": "#a5d6a7", "not-checked": "#eeeeee",
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, base: Path) -> list[Path]:
    paths = []
    for ext in ("png", "svg"):
        path = base.with_suffix(f".{ext}")
        def save(tmp: Path, ext: str = ext) -> None:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format=ext)

        replace_atomic(path, save)
        paths.append(path)
    return paths


def _slug(axis: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in axis).strip("_")


def growth_plots(df: pd.DataFrame, axis_names: Sequence[str], out: Path) -> list[Path]:
    """One figure per axis: distinct states and wall time of every point against the axis.
    A colour per protocol; a line per combination of the other axes; a cross marks a point
    that timed out (its states are a lower bound, its time the timeout)."""
    plt = _pyplot()
    pts = points(df)
    protocols = sorted(pts["protocol"].dropna().unique())
    colours = {p: plt.get_cmap("tab10")(i % 10) for i, p in enumerate(protocols)}
    paths: list[Path] = []
    for axis in axis_names:
        if axis == "protocol":
            continue
        others = [a for a in axis_names if a not in (axis, "protocol")]
        numeric = numeric_axis(pts[axis])
        order = sorted(pts[axis].dropna().unique(), key=lambda x: (str(type(x)), x))
        xpos = {v: (v if numeric else i) for i, v in enumerate(order)}
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        for ax, metric, title in ((axes[0], "point_distinct_states", "distinct states"),
                                  (axes[1], "point_seconds", "wall time (s)")):
            labelled: set[str] = set()
            for protocol in protocols:
                mine = pts[pts["protocol"] == protocol]
                groups = mine.groupby(others, sort=True, dropna=False) if others else [("", mine)]
                groups = list(groups)
                for i, (key, g) in enumerate(groups):
                    g = g.dropna(subset=[metric])
                    g = g.assign(_x=[xpos[v] for v in g[axis]]).sort_values("_x")
                    ok, bad = g[g["complete"]], g[~g["complete"]]
                    alpha = 0.35 + 0.65 * (i + 1) / len(groups)
                    label = protocol if protocol not in labelled else None
                    labelled.add(protocol)
                    ax.plot(ok["_x"], ok[metric], marker="o", ms=3, lw=1.2, alpha=alpha,
                            color=colours[protocol], label=label)
                    if not bad.empty:
                        ax.plot(bad["_x"], bad[metric], ls="none", marker="x", ms=7,
                                color=colours[protocol], alpha=alpha)
            ax.set_yscale("log")
            ax.set_xlabel(axis)
            ax.set_ylabel(title)
            if numeric:
                from matplotlib.ticker import MaxNLocator

                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            else:
                ax.set_xticks(range(len(order)), [str(v) for v in order])
            ax.grid(True, which="both", alpha=0.3)
        axes[0].legend(title="protocol" + (f" (shade: {', '.join(others)})" if others else ""),
                       fontsize=8)
        fig.suptitle(f"{df['sweep'].iloc[0]}: cost against {axis} (x: timed out)")
        paths += _save(fig, out / f"growth-{_slug(axis)}")
        plt.close(fig)
    return paths


def verdict_grid(df: pd.DataFrame, axis_names: Sequence[str], out: Path) -> list[Path]:
    """Points (rows, in table order) x properties (columns), coloured by verdict."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    names = list(VERDICT_COLOURS)
    pts = points(df)
    index = {v: i for i, v in enumerate(names)}
    cell = {(r.point, r.property): index.get(r.verdict, index["error"])
            for r in df[["point", "property", "verdict"]].itertuples(index=False)}
    grid = [[cell.get((p, prop), index["not-checked"]) for prop in PROPERTIES]
            for p in pts["point"]]
    labels = [" ".join(f"{a}={r[a]}" for a in axis_names) for _, r in pts.iterrows()]
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.22 * len(grid)))
    ax.imshow(grid, cmap=ListedColormap([VERDICT_COLOURS[n] for n in names]), vmin=0,
              vmax=len(names) - 1, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(PROPERTIES)), PROPERTIES, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.legend(handles=[Patch(color=VERDICT_COLOURS[n], label=n) for n in names],
              bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
    ax.set_title(f"{df['sweep'].iloc[0]}: verdicts")
    paths = _save(fig, out / "verdicts")
    plt.close(fig)
    return paths


def plot_all(df: pd.DataFrame, axis_names: Sequence[str], out: Path) -> list[Path]:
    if df.empty:
        return []
    return growth_plots(df, axis_names, out) + verdict_grid(df, axis_names, out)
