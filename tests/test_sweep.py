"""Sweeps, pure: grid expansion and validation, derived values, growth fitting, resuming
from fake rows, the csv/parquet round trip, answers and the CLI's option errors."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from gen.model import PROPERTIES
from runner.cli import main
from runner.errors import ConfigError
from runner.sweep.answers import growth, growth_factor, largest_complete, smallest_violations
from runner.sweep.run import Settings, plan
from runner.sweep.spec import evaluate, load_sweep, parse_sweep, set_path
from runner.sweep.table import kept_rows, needs_check, read_table, to_frame, write_table

BASE = """
[base]
protocol = "vm_dead"
pages = 4
ptes_per_table = 2
munmap = { start = 1, end = 3 }
vmas = [ { start = 1, end = 5, flags = [] } ]
threads = [ { kind = "fault", access = "read", addr = 2 } ]
threshold_pages = 2
"""


def write(tmp_path: Path, sweep: str, base: str = BASE) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(sweep + base)
    return path


def one_line_error(path: Path) -> str:
    with pytest.raises(ConfigError) as e:
        load_sweep(path)
    text = str(e.value)
    assert "\n" not in text and text.startswith(str(path))
    return text


# ---------------------------------------------------------------- the grid


def test_grid_is_the_product_of_the_axes_with_derived_keys(tmp_path: Path) -> None:
    path = write(tmp_path, """
[sweep]
name = "g"
[sweep.axes]
protocol = ["vm_dead", "detach_merged"]
pages = [4, 6]
"threads[0].count" = [1, 2, 3]
[sweep.derive]
"vmas[0].end" = "pages + 1"
"munmap.end" = "max(2, pages - 1)"
""")
    s = load_sweep(path)
    assert s.name == "g" and s.timeout == 60.0 and s.simulate is None
    assert len(s.points) == 2 * 2 * 3
    assert len({p.key for p in s.points}) == 12 and len({p.model_hash for p in s.points}) == 12
    last = s.points[-1]  # the last axis varies fastest
    assert dict(last.axes) == {"protocol": "detach_merged", "pages": 6, "threads[0].count": 3}
    m = last.model
    assert (m.pages, m.vmas[0].end, m.munmap, m.threads[0].count) == (6, 7, (1, 5), 3)
    assert m.name == "g-detach_merged-pages6-threads0count3"
    assert s.points[0].model.threads[0].count == 1 and s.points[0].model.vmas[0].end == 5


def test_a_whole_table_as_axis_value(tmp_path: Path) -> None:
    s = load_sweep(write(tmp_path, """
[sweep.axes]
munmap = [ { start = 1, end = 3 }, { start = 2, end = 5 } ]
rwsem = ["writer-preferring", "hypothetical-reader-preferring"]
"""))
    assert [p.model.munmap for p in s.points[::2]] == [(1, 3), (2, 5)]
    assert s.points[0].label == "munmap=[1, 3) rwsem=writer-preferring"
    assert s.name == "s"  # the file's stem


def test_identity_is_stable_and_follows_the_rendered_model(tmp_path: Path) -> None:
    sweep = '[sweep.axes]\npages = [4, 5]\n'
    a = load_sweep(write(tmp_path, sweep))
    b = load_sweep(write(tmp_path, sweep))
    assert [(p.key, p.model_hash) for p in a.points] == [(p.key, p.model_hash) for p in b.points]
    c = load_sweep(write(tmp_path, sweep, BASE.replace('addr = 2', 'addr = 1')))
    assert [p.key for p in a.points] == [p.key for p in c.points]
    assert all(x.model_hash != y.model_hash for x, y in zip(a.points, c.points))


@pytest.mark.parametrize("sweep, base, wanted", [
    ('[sweep.axes]\npages = [4, 17]\n', BASE, "pages: 17 is out of range"),
    ('[sweep.axes]\n"threads[3].count" = [1]\n', BASE, "sweep.axes.threads[3].count: "),
    ('[sweep.axes]\n"threads[0].count" = [1, 9]\n', BASE, "threads[0].count: 9 is out of range"),
    ('[sweep.axes]\n"pages..x" = [1]\n', BASE, "sweep.axes.pages..x"),
    ('[sweep.axes]\npages = []\n', BASE, "sweep.axes.pages: must be a non-empty list"),
    ('[sweep.axes]\npages = [4, 4]\n', BASE, "lists a value twice"),
    ('[sweep]\ntimeout = 0\n[sweep.axes]\npages = [4]\n', BASE, "sweep.timeout"),
    ('[sweep]\nworkers = 2\n[sweep.axes]\npages = [4]\n', BASE, "sweep.workers: unknown field"),
    ('[sweep]\n', BASE, "sweep.axes: missing"),
    ('[sweep.axes]\npages = [4]\n[sweep.derive]\n"munmap.end" = "size + 1"\n', BASE,
     "sweep.derive.munmap.end: unknown name 'size'"),
    ('[sweep.axes]\npages = [4]\n[sweep.derive]\n"munmap.end" = "__import__(1)"\n', BASE,
     "is not allowed"),
    ('[sweep.axes]\npages = [4]\n', BASE + '[base.expect]\nTypeOK = "holds"\n',
     "base.expect: a sweep has no expectations"),
    ('[sweep.axes]\npages = [4]\n', "", "base: missing"),
    ('[sweep.axes]\npages = [4]\n[sweep.simulate]\nbehaviours = 0\ndepth = 3\n', BASE,
     "sweep.simulate.behaviours"),
])
def test_invalid_sweeps_are_one_line_errors(tmp_path: Path, sweep: str, base: str,
                                            wanted: str) -> None:
    assert wanted in one_line_error(write(tmp_path, sweep, base))


def test_missing_and_broken_files(tmp_path: Path) -> None:
    assert "no such sweep file" in one_line_error(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sweep\n")
    assert "not valid TOML" in one_line_error(bad)


def test_evaluate_and_set_path() -> None:
    names = {"pages": 8, "ptes_per_table": 2}
    assert evaluate("pages // ptes_per_table + 1", names) == 5
    assert evaluate("min(pages, 3) * -2 % 7", names) == 1
    for bad in ("pages / 2", "pages ** 2", "open('x')", "pages if 1 else 2", "'a'", "1 //0"):
        with pytest.raises(ValueError):
            evaluate(bad, names)
    table: dict[str, Any] = {"munmap": {"start": 1, "end": 3}, "threads": [{"count": 1}]}
    set_path(table, "threads[0].count", 4)
    set_path(table, "munmap.end", 5)
    set_path(table, "section_pages", 2)  # a missing last key is created
    assert table == {"munmap": {"start": 1, "end": 5}, "threads": [{"count": 4}],
                     "section_pages": 2}
    with pytest.raises(ValueError, match="index 1"):
        set_path(table, "threads[1].count", 1)
    with pytest.raises(ValueError, match="no 'vmas'"):
        set_path(table, "vmas[0].end", 1)


# ---------------------------------------------------------------- planning


def test_plan_splits_cores_and_memory() -> None:
    assert plan(None, 40, 60.0, None, cores=2, mem_mb=24000) == Settings(2, 1, 6000, 60.0, None)
    assert plan(1, 40, 60.0, None, cores=2, mem_mb=24000).workers == 2
    assert plan(4, 1, 60.0, None, cores=8, mem_mb=None) == Settings(4, 8, None, 60.0, None)
    assert plan(8, 40, 60.0, None, cores=2, mem_mb=4000).heap_mb == 256


# ---------------------------------------------------------------- growth and answers


def test_growth_factor_is_the_geometric_mean_per_unit_step() -> None:
    assert growth_factor([(1, 10, 2, 40), (2, 40, 3, 160)]) == pytest.approx(4.0)
    assert growth_factor([(1, 10, 2, 20), (1, 10, 2, 80)]) == pytest.approx(4.0)
    assert growth_factor([(4, 10, 6, 90)]) == pytest.approx(3.0)  # a step of 2: 9 = 3^2
    assert growth_factor([(1, 0, 2, 5)]) is None and growth_factor([]) is None


SWEEP_AXES = ["protocol", "pages", "threads[0].count"]


def fake_rows(protocol: str, pages: int, count: int, states: int | None, *,
              violated: tuple[str, ...] = (), timeout: bool = False, seconds: float = 1.0,
              mode: str = "exhaustive", model_hash: str = "h", run: str = "safety-1",
              timeout_s: float = 60.0) -> list[dict[str, Any]]:
    key = f'{{"pages":{pages},"protocol":"{protocol}","threads[0].count":{count}}}'
    rows = []
    for prop in PROPERTIES:
        verdict = "violated" if prop in violated else ("timeout" if timeout else "holds")
        rows.append({
            "sweep": "t", "point": key, "model": f"t-{protocol}-{pages}-{count}",
            "model_hash": model_hash, "mode": mode, "protocol": protocol, "pages": pages,
            "threads[0].count": count, "property": prop, "verdict": verdict, "run": run,
            "distinct_states": None if states is None else states // 2,
            "point_distinct_states": states, "point_seconds": seconds, "timeout": timeout_s,
            "cached": False, "peak_rss_mb": None,
            "trace": f"/x/{prop}.json" if prop in violated else None})
    return rows


def grid_rows() -> list[dict[str, Any]]:
    rows = []
    for pages in (4, 5, 6):
        for count in (1, 2):
            rows += fake_rows("vm_dead", pages, count, 10 * 2 ** (pages - 4) * 3 ** (count - 1),
                              seconds=2.0 * 1.5 ** (pages - 4))
            rows += fake_rows("detach_merged", pages, count, 100 * pages * count,
                              violated=("NoLostWrite",) if pages >= 5 else (),
                              timeout=pages == 6 and count == 2)
    return rows


def test_growth_per_protocol_and_axis_from_complete_points() -> None:
    df = to_frame(grid_rows(), SWEEP_AXES)
    g = growth(df, SWEEP_AXES).set_index(["protocol", "axis"])
    assert g.loc[("vm_dead", "pages"), "states_factor"] == pytest.approx(2.0)
    assert g.loc[("vm_dead", "pages"), "seconds_factor"] == pytest.approx(1.5)
    assert g.loc[("vm_dead", "threads[0].count"), "states_factor"] == pytest.approx(3.0)
    assert g.loc[("vm_dead", "pages"), "pairs"] == 4
    # detach_merged (6, 2) timed out: it is in no pair
    assert g.loc[("detach_merged", "pages"), "pairs"] == 3
    expected = math.exp((math.log(5 / 4) * 2 + math.log(6 / 5)) / 3)
    assert g.loc[("detach_merged", "pages"), "states_factor"] == pytest.approx(expected, abs=1e-3)


def test_smallest_violation_and_largest_complete_point() -> None:
    df = to_frame(grid_rows(), SWEEP_AXES)
    s = smallest_violations(df, SWEEP_AXES)
    assert len(s) == 1
    r = s.iloc[0]
    assert (r["protocol"], r["property"], r["pages"], r["threads[0].count"]) == \
        ("detach_merged", "NoLostWrite", 5, 1)
    assert r["trace"] == "/x/NoLostWrite.json"
    big = largest_complete(df, SWEEP_AXES).set_index("protocol")
    assert big.loc["vm_dead", "point_distinct_states"] == 120
    assert big.loc["detach_merged", "point_distinct_states"] == 1000  # (5, 2): (6, 2) timed out


# ---------------------------------------------------------------- table and resuming


def test_csv_and_parquet_round_trip(tmp_path: Path) -> None:
    df = to_frame(grid_rows(), SWEEP_AXES)
    csv, parquet = write_table(df, tmp_path)
    assert not list(tmp_path.glob(".*tmp"))
    from_parquet = read_table(tmp_path, SWEEP_AXES)
    parquet.unlink()
    from_csv = read_table(tmp_path, SWEEP_AXES)
    for back in (from_parquet, from_csv):
        assert back is not None
        assert list(back.columns) == list(df.columns)
        assert back.dtypes.to_dict() == df.dtypes.to_dict()
        assert back.astype(str).equals(df.astype(str))
    assert str(df["pages"].dtype) == "Int64" and str(df["point_distinct_states"].dtype) == "Int64"
    csv.write_text("garbage\n")
    assert read_table(tmp_path, SWEEP_AXES) is None  # unreadable: start afresh
    assert read_table(tmp_path / "none", SWEEP_AXES) is None


class FakePoint:
    def __init__(self, key: str, model_hash: str = "h") -> None:
        self.key, self.model_hash = key, model_hash


def test_resume_checks_only_what_is_missing_or_stale() -> None:
    rows = (fake_rows("vm_dead", 4, 1, 10)  # finished
            + fake_rows("vm_dead", 5, 1, None, timeout=True, timeout_s=30.0)  # timed out at 30 s
            + fake_rows("vm_dead", 6, 1, None, run="failed")  # the check failed
            + fake_rows("vm_dead", 7, 1, 10, model_hash="old")  # its template changed
            + fake_rows("vm_dead", 8, 1, 10, mode="simulate:10:5"))  # another mode
    df = to_frame(rows, SWEEP_AXES)
    keys = [r["point"] for r in rows[:: len(PROPERTIES)]]
    points = [FakePoint(k) for k in keys] + [FakePoint("new")]
    kept, todo = kept_rows(df, points, "exhaustive", 60.0)  # type: ignore[arg-type]
    assert [p.key for p in todo] == keys[1:] + ["new"]
    assert len(kept) == len(PROPERTIES) and {r["point"] for r in kept} == {keys[0]}
    assert all(not isinstance(v, float) or not math.isnan(v) for r in kept for v in r.values())
    # the same timeout as before: the timed-out point counts as finished
    _, todo = kept_rows(df, points, "exhaustive", 30.0)  # type: ignore[arg-type]
    assert keys[1] not in [p.key for p in todo]
    assert needs_check(None, points[0], "exhaustive", 60.0)  # type: ignore[arg-type]
    assert kept_rows(None, points, "exhaustive", 60.0) == ([], points)  # type: ignore[arg-type]


# ---------------------------------------------------------------- CLI errors


@pytest.mark.parametrize("argv, wanted", [
    (["--simulate", "10"], "--simulate BEHAVIOURS and --depth D go together"),
    (["--jobs", "0"], "--jobs"),
    (["--timeout", "-1"], "--timeout"),
])
def test_cli_option_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           argv: list[str], wanted: str) -> None:
    path = write(tmp_path, '[sweep.axes]\npages = [4]\n')
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert wanted in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_cli_invalid_point_writes_nothing(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[sweep.axes]\npages = [4, 40]\n')
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mmcheck: error: {path}: model 's-pages40': pages: 40 is out of range")
    assert not (tmp_path / "out").exists()


def test_parse_sweep_rejects_unknown_tables() -> None:
    with pytest.raises(ConfigError, match="x.toml: models: unknown table"):
        parse_sweep({"models": {}}, "x.toml", "x")


def test_smallest_violation_with_unknown_sizes_prefers_known_ones() -> None:
    rows = (fake_rows("vm_dead", 4, 1, None, violated=("TypeOK",))  # e.g. by simulation
            + fake_rows("vm_dead", 5, 1, 500, violated=("TypeOK",)))
    s = smallest_violations(to_frame(rows, SWEEP_AXES), SWEEP_AXES)
    assert list(s["pages"]) == [5]


def test_sweep_points_may_name_a_protocol_of_a_protocols_dir(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    from gen.protocols import discover

    mine = tmp_path / "mine"
    mine.mkdir()
    assert main(["new", "vm_dead_mine", "--from", "vm_dead", "--dir", str(mine)]) == 0
    path = write(tmp_path, '[sweep]\naxes = { pages = [4] }\n',
                 BASE.replace('"vm_dead"', '"vm_dead_mine"'))
    assert "vm_dead_mine" in one_line_error(path)  # unknown without the directory
    [point] = load_sweep(path, protocols=discover([mine])).points
    assert point.model.protocol == "vm_dead_mine"
    capsys.readouterr()
    # the command takes --protocols (its unknown-protocol error recommends it)
    assert main(["sweep", str(path), "--protocols", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "out")]) == 2
    assert "--protocols" in capsys.readouterr().err and not (tmp_path / "out").exists()
