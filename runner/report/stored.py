"""Read a run's stored results back: results.json (or the models' result.json files).

The reports are built from what `mmcheck check` stored, never by running TLC again.  The
dictionaries are turned back into the dataclasses the check produced (ModelResult, Verdict,
Trace, RunRecord), and each raw dictionary is kept as it was for the JSON output.

Stored results are input too: a file that is not UTF-8 JSON, a model without every property,
a verdict or an expectation that is not one of the known values, a `matches` that does not
follow from them, a field of the wrong type, is a one-line ConfigError naming the file, the
model and the key; nothing is reported from it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from gen.model import PROPERTIES, VERDICTS, model_from_dict
from runner.check import ModelResult, RunRecord, Simulation
from runner.errors import ConfigError
from runner.judge import Verdict
from runner.tlc_output import Trace, TraceState

RESULTS_JSON = "results.json"
RESULT_JSON = "result.json"
KNOWN_VERDICTS = ("holds", "violated", "error", "timeout", "no-violation", "not-checked",
                  "not-selected")
_INT = (int, type(None))
_STR = (str, type(None))
_NUMBER = (int, float, type(None))
RUN_FIELDS: dict[str, Any] = {"name": str, "cfg": str, "log": str, "outcome": str, "violated": _STR,
              "distinct_states": _INT, "states_generated": _INT, "depth": _INT,
              "fp_collision": _NUMBER, "seconds": _NUMBER, "cached": bool,
              "deadlock_checked": bool, "continued": bool}


class _Bad(Exception):
    """A stored value that is not what mmcheck check writes: (key, problem)."""


def _expect(d: dict[str, Any], key: str, types: Any, where: str = "",
            required: bool = True) -> Any:
    if key not in d:
        if required:
            raise _Bad(f"{where}{key}: missing")
        return None
    value = d[key]
    allowed = types if isinstance(types, tuple) else (types,)
    ok = bool in allowed if isinstance(value, bool) else isinstance(value, allowed)
    if not ok:
        raise _Bad(f"{where}{key}: {str(value)[:40]!r} is not of the stored type")
    return value


def validate_result(d: dict[str, Any]) -> None:
    """Raise _Bad unless `d` has the shape ModelResult.to_dict() gives it."""
    for key, types in (("spec", str), ("spec_sha256", str), ("max_write_hold", _INT),
                       ("max_write_zap", _INT), ("max_write_munlock", _INT),
                       ("distinct_states", _INT), ("depth", _INT), ("seconds", _NUMBER),
                       ("tlc_version", _STR), ("tlc_revision", _STR), ("model", dict),
                       ("properties", dict)):
        _expect(d, key, types, required=key in ("spec", "spec_sha256", "model", "properties"))
    sim = d.get("simulate")
    if sim is not None:
        if not isinstance(sim, dict):
            raise _Bad("simulate: is not a table")
        for k in ("behaviours", "depth"):
            if _expect(sim, k, int, "simulate.") < 1:
                raise _Bad(f"simulate.{k}: must be a positive integer")
    props = d["properties"]
    missing = [p for p in PROPERTIES if p not in props]
    if missing:
        raise _Bad(f"properties.{missing[0]}: missing (a result of an older mmcheck, which "
                   f"did not check {', '.join(missing)}?)")
    unknown = sorted(set(props) - set(PROPERTIES))
    if unknown:
        raise _Bad(f"properties.{unknown[0]}: unknown property")
    for p, v in props.items():
        where = f"properties.{p}."
        if not isinstance(v, dict):
            raise _Bad(f"properties.{p}: is not a table")
        verdict = _expect(v, "verdict", str, where)
        if verdict not in KNOWN_VERDICTS:
            raise _Bad(f"{where}verdict: unknown value {verdict[:30]!r} (one of: "
                       f"{', '.join(KNOWN_VERDICTS)})")
        expected = _expect(v, "expected", str, where)
        if expected not in VERDICTS:
            raise _Bad(f"{where}expected: unknown value {expected[:30]!r} (one of: "
                       f"{', '.join(VERDICTS)})")
        matches = _expect(v, "matches", bool, where, required=False)
        if matches is not None and matches != (verdict in (expected, "not-selected")):
            raise _Bad(f"{where}matches: {matches} but the verdict is {verdict} and "
                       f"{expected} was expected")
        _expect(v, "run", _STR, where, required=False)
        _expect(v, "message", _STR, where, required=False)
        trace = _expect(v, "trace", (dict, type(None)), where, required=False)
        if trace is not None:
            _validate_trace(trace, f"{where}trace.")
    runs = _expect(d, "runs", list, required=False) or []
    for i, r in enumerate(runs):
        if not isinstance(r, dict):
            raise _Bad(f"runs[{i}]: is not a table")
        for key, kinds in RUN_FIELDS.items():
            _expect(r, key, kinds, f"runs[{i}].", required=key in ("name", "cfg", "log"))


def _validate_trace(t: dict[str, Any], where: str) -> None:
    states = _expect(t, "states", list, where)
    if not states:
        raise _Bad(f"{where}states: empty")
    for i, st in enumerate(states):
        w = f"{where}states[{i}]."
        if not isinstance(st, dict):
            raise _Bad(f"{where}states[{i}]: is not a table")
        _expect(st, "number", int, w)
        for key in ("action", "location", "action_args"):
            _expect(st, key, _STR, w, required=False)
        _expect(st, "values", dict, w, required=False)
    _expect(t, "loop_to", _INT, where, required=False)
    _expect(t, "stuttering", bool, where, required=False)


@dataclass(frozen=True)
class StoredRun:
    """The results of one run directory, in the order they were stored."""

    directory: Path
    results: tuple[ModelResult, ...]
    raw: tuple[dict[str, Any], ...]  # each model's dictionary exactly as stored
    # a `mmcheck compare` run: (BASE, NEW); its reports show NEW's fixes as fixes
    compare: tuple[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The schema of results.json."""
        out: dict[str, Any] = {"models": list(self.raw)}
        if self.compare is not None:
            out["compare"] = {"base": self.compare[0], "new": self.compare[1]}
        return out


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
    values["continued"] = bool(values["continued"])  # absent before the one run
    return RunRecord(**values)


def model_result_from_dict(d: dict[str, Any], directory: Path, where: str) -> ModelResult:
    """A ModelResult from its to_dict() form; `directory` is where its files are now."""
    try:
        validate_result(d)
    except _Bad as e:
        raise ConfigError(f"{where}: not a result of mmcheck check ({e}); run mmcheck check "
                          f"again") from None
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
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 (byte {e.start}); run mmcheck check again") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e}); run mmcheck check again") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply; run mmcheck check again") from None


def load_run(run_dir: Path) -> StoredRun:
    """The results stored in `run_dir`: its results.json, or else every <model>/result.json."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: no such run directory")
    summary = run_dir / RESULTS_JSON
    compare: tuple[str, str] | None = None
    if summary.is_file():
        data = _read_json(summary)
        raw = data.get("models") if isinstance(data, dict) else None
        if not isinstance(raw, list):
            raise ConfigError(f"{summary}: no \"models\" list; run mmcheck check again")
        where = str(summary)
        pair = data.get("compare")
        if isinstance(pair, dict) and isinstance(pair.get("base"), str) \
                and isinstance(pair.get("new"), str):
            compare = (pair["base"], pair["new"])
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
    return StoredRun(run_dir, tuple(results), tuple(raw), compare)
