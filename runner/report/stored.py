"""Read a run's stored results back: results.json (or the models' result.json files).

The reports are built from what `mmcheck check` stored, never by running TLC again.  The
dictionaries are turned back into the dataclasses the check produced (ModelResult, Verdict,
Trace, RunRecord), and each raw dictionary is kept as it was for the JSON output.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from gen.model import model_from_dict
from runner.check import ModelResult, RunRecord, Simulation
from runner.errors import ConfigError
from runner.judge import Verdict
from runner.tlc_output import Trace, TraceState

RESULTS_JSON = "results.json"
RESULT_JSON = "result.json"


@dataclass(frozen=True)
class StoredRun:
    """The results of one run directory, in the order they were stored."""

    directory: Path
    results: tuple[ModelResult, ...]
    raw: tuple[dict[str, Any], ...]  # each model's dictionary exactly as stored

    def to_dict(self) -> dict[str, Any]:
        """The schema of results.json."""
        return {"models": list(self.raw)}


def trace_from_dict(d: dict[str, Any]) -> Trace:
    states = tuple(
        TraceState(number=s["number"], action=s.get("action"), location=s.get("location"),
                   values=s.get("values", {}), action_args=s.get("action_args"))
        for s in d.get("states", []))
    return Trace(states, loop_to=d.get("loop_to"), stuttering=bool(d.get("stuttering")))


def verdict_from_dict(prop: str, d: dict[str, Any]) -> Verdict:
    trace = d.get("trace")
    return Verdict(prop=prop, verdict=d["verdict"], expected=d["expected"], run=d.get("run"),
                   trace=trace_from_dict(trace) if trace else None,
                   message=d.get("message") or "")


def _run_record(d: dict[str, Any]) -> RunRecord:
    values: dict[str, Any] = {f.name: d.get(f.name) for f in fields(RunRecord)}
    return RunRecord(**values)


def model_result_from_dict(d: dict[str, Any], directory: Path, where: str) -> ModelResult:
    """A ModelResult from its to_dict() form; `directory` is where its files are now."""
    try:
        model = model_from_dict(d["model"], where)
        sim = d.get("simulate")
        return ModelResult(
            model=model, directory=directory, spec=d["spec"], spec_sha256=d["spec_sha256"],
            verdicts={p: verdict_from_dict(p, v) for p, v in d["properties"].items()},
            runs=tuple(_run_record(r) for r in d.get("runs", [])),
            max_write_hold=d.get("max_write_hold"), distinct_states=d.get("distinct_states"),
            depth=d.get("depth"), seconds=float(d.get("seconds") or 0.0),
            tlc_version=d.get("tlc_version"), tlc_revision=d.get("tlc_revision"),
            simulate=Simulation(sim["behaviours"], sim["depth"]) if sim else None,
            max_write_zap=d.get("max_write_zap"), max_write_munlock=d.get("max_write_munlock"))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ConfigError(f"{where}: not a result of mmcheck check ({type(e).__name__}: {e}); "
                          f"run mmcheck check again") from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e}); run mmcheck check again") from None


def load_run(run_dir: Path) -> StoredRun:
    """The results stored in `run_dir`: its results.json, or else every <model>/result.json."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: no such run directory")
    summary = run_dir / RESULTS_JSON
    if summary.is_file():
        data = _read_json(summary)
        raw = data.get("models") if isinstance(data, dict) else None
        if not isinstance(raw, list):
            raise ConfigError(f"{summary}: no \"models\" list; run mmcheck check again")
        where = str(summary)
    else:
        files = sorted(run_dir.glob(f"*/{RESULT_JSON}"))
        if not files:
            raise ConfigError(f"{run_dir}: neither {RESULTS_JSON} nor */{RESULT_JSON}; "
                              f"run mmcheck check --out {run_dir} first")
        raw = [_read_json(f) for f in files]
        where = str(run_dir)
    results = []
    for i, d in enumerate(raw):
        name = d.get("name") if isinstance(d, dict) else None
        if not isinstance(name, str) or not name or not all(c.isalnum() or c in "-_" for c in name):
            raise ConfigError(f"{where}: model {i} has no valid name; run mmcheck check again")
        results.append(model_result_from_dict(d, run_dir / d["name"], f"{where}: {d['name']}"))
    return StoredRun(run_dir, tuple(results), tuple(raw))
