"""A tiny sweep for real (TLC 2.15 from the bundled jar): the table, peak memory, the
answers and plots, resuming (nothing new on a second run; a lost point is checked
again, from the cache) and simulation ("no-violation", never "holds")."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from gen.model import LIVENESS, PROPERTIES
from runner.check import Simulation
from runner.sweep import run_sweep
from runner.sweep.table import read_table, to_frame, write_table

pytestmark = pytest.mark.java

SWEEP = """
[sweep]
name = "tiny"
timeout = 60
[sweep.axes]
protocol = ["vm_dead", "detach_merged"]
[base]
protocol = "vm_dead"
pages = 4
ptes_per_table = 2
munmap = { start = 1, end = 3 }
vmas = [ { start = 1, end = 3, flags = [] }, { start = 3, end = 5, flags = ["growsdown"] } ]
threads = [ { kind = "fault", access = "write", addr = 2 } ]
threshold_pages = 2
"""


def test_tiny_sweep_runs_resumes_and_simulates(tmp_path: Path, tools) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tiny.toml"
    path.write_text(SWEEP)
    out, cache = tmp_path / "out", tmp_path / "cache"
    seen = []
    df = run_sweep(path, jobs=2, out=out, cache_dir=cache, tools=tools,
                   on_progress=lambda s: seen.append((s.done, len(s.running))))
    assert df.attrs["checked"] == 2 and df.attrs["failed"] == 0
    assert len(df) == 2 * len(PROPERTIES)
    assert (2, 0) in seen and max(r for _, r in seen) == 2  # both points ran at once
    by = df.set_index(["protocol", "property"])["verdict"]
    # the committed matrix's expectations for the growsdown scenario
    assert by[("detach_merged", "NoLostWrite")] == "violated"
    assert by[("detach_merged", "PageTableSafety")] == "violated"
    assert by[("vm_dead", "NoLostWrite")] == "holds"
    assert (df["peak_rss_mb"] > 30).all() and not df["cached"].any()
    assert (df["point_distinct_states"] > 0).all()
    trace = df[df["verdict"] == "violated"]["trace"].iloc[0]
    assert Path(trace).is_file()
    violating = df[(df["verdict"] == "violated") & (df["property"] == "PageTableSafety")]
    attachment = Path(violating["directory"].iloc[0]) / "attachment.txt"
    assert "Counterexample: PageTableSafety is violated" in attachment.read_text()
    paths = df.attrs["paths"]
    for key in ("csv", "parquet", "answers", "answers_json"):
        assert Path(paths[key]).is_file()
    assert {Path(p).name for p in paths["plots"]} == {"verdicts.png", "verdicts.svg"}
    assert "NoLostWrite" in Path(paths["answers"]).read_text()

    started = time.monotonic()
    again = run_sweep(path, out=out, cache_dir=cache, tools=tools)
    assert again.attrs["checked"] == 0
    assert time.monotonic() - started < 5
    assert again.astype(str).equals(df.astype(str))

    # a point lost (as by a kill before its rows were written) is checked again: the cache
    # makes it instant, and says so
    kept = read_table(out, ["protocol"])
    assert kept is not None
    write_table(to_frame(kept[kept["protocol"] == "vm_dead"].to_dict("records"), ["protocol"]),
                out)
    third = run_sweep(path, out=out, cache_dir=cache, tools=tools)
    assert third.attrs["checked"] == 1
    assert third[third["protocol"] == "detach_merged"]["cached"].all()
    assert third[third["protocol"] == "detach_merged"]["peak_rss_mb"].isna().all()
    assert list(third["verdict"]) == list(df["verdict"])

    sim = run_sweep(path, out=tmp_path / "sim", cache_dir=cache, tools=tools,
                    simulate=Simulation(20, 20), plots=False)
    verdicts = set(sim[~sim["property"].isin(LIVENESS)]["verdict"])
    assert "holds" not in set(sim["verdict"]) and "no-violation" in verdicts
    assert set(sim[sim["property"].isin(LIVENESS)]["verdict"]) == {"not-checked"}
    msg = sim[sim["verdict"] == "no-violation"]["message"].iloc[0]
    assert msg == "no violation in 20 behaviours (depth <= 20)"
    assert (sim["mode"] == "simulate:20:20").all()
