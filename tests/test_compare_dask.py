"""`mmcheck compare --exhaustive --scheduler ADDR`: the enumeration checked on a real Dask
cluster on 127.0.0.1 (the sweeps' cluster fixture) gives the comparison of a local run, with
every model's files in out/<model>/ as a local run leaves them."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_sweep_dask import Cluster, cluster  # noqa: F401 - the fixture

pytest.importorskip("distributed")  # installed by `make test` ([dask] extra)
pytestmark = pytest.mark.java

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["compare", "detach_merged", "detach_fixed", "--exhaustive", "--max-pages", "1",
        "--max-threads", "1", "--no-cache", "-q"]


def compare(out: Path, *extra: str) -> tuple[int, dict[str, object]]:
    proc = subprocess.run([sys.executable, "-m", "runner.cli", *ARGS, "--out", str(out),
                           *extra], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    models = json.loads((out / "results.json").read_text())["models"]
    return proc.returncode, {
        m["name"]: ({p: v["verdict"] for p, v in m["properties"].items()},
                    [(r["name"], r["outcome"], r["distinct_states"]) for r in m["runs"]],
                    m["directory"])
        for m in models}


def test_exhaustive_compare_on_the_cluster_is_the_local_one(cluster: Cluster,  # noqa: F811
                                                             tmp_path: Path) -> None:
    code, local = compare(tmp_path / "local")
    remote_code, remote = compare(tmp_path / "dask", "--scheduler", cluster.address)
    assert remote_code == code
    assert len(remote) == len(local) >= 4
    for name, (verdicts, runs, directory) in remote.items():
        assert (verdicts, runs) == local[name][:2], name
        assert Path(directory) == tmp_path / "dask" / name
        assert (Path(directory) / "result.json").is_file()
        assert list(Path(directory).glob("*.log")), name  # the TLC logs came back
    assert not (tmp_path / "dask" / "points").exists()
    text = (tmp_path / "local" / "compare.txt").read_text()
    assert text == (tmp_path / "dask" / "compare.txt").read_text().replace(
        str(tmp_path / "dask"), str(tmp_path / "local"))


def test_an_unreachable_scheduler_is_a_one_line_error(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from runner.cli import main
    from runner.sweep import cluster as dask_backend

    monkeypatch.setattr(dask_backend, "CONNECT_TIMEOUT", 2.0)  # not the user's 30 s
    monkeypatch.chdir(ROOT)
    rc = main([*ARGS, "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip().count("\n") == 0 and "--scheduler" in err, err
    assert not (tmp_path / "out").exists()
