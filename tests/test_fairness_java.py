"""Cheap fairness with the real TLC (docs/termination.md, "Cheap fairness"): where a thread
repeats, a large liveness run goes under FairSpec once a run has shown BlockedExact and
MovedExact, with the verdicts and liveness states of Spec; a wrong Blocked (its guards
dropped: a broken variant of the generator) fails BlockedExact and the liveness runs go
under Spec, with the same verdicts."""
from __future__ import annotations

from pathlib import Path

import pytest

import gen.fairness
import runner.check
from gen.load import load_models
from runner.check import check_models

pytestmark = pytest.mark.java
MATRIX = Path(__file__).resolve().parent.parent / "specs" / "matrix.toml"
# a liveness violation (two identical repeating faults: symmetric safety runs), and a
# model whose liveness holds with the RCU callbacks' own WF kept beside FairSpec
NAMES = ["detach_merged-starve", "per_vma-no-starve"]


def _check(tmp_path: Path, name: str, tools, fairness_states: int,  # type: ignore[no-untyped-def]
           names: list[str] = NAMES):
    models = [m for m in load_models(MATRIX) if m.name in names]
    assert len(models) == len(names)
    out = tmp_path / name
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner.check, "FAIRNESS_STATES", fairness_states)
        results = check_models(models, out, tools, jobs=2)
    return models, out, results


def _liveness(result):  # type: ignore[no-untyped-def]
    return [(r.outcome, r.distinct_states if r.outcome == "ok" else None)
            for r in result.runs if r.name.startswith("liveness")]


def test_fair_spec_gives_specs_verdicts_and_states(tmp_path: Path, tools) -> None:  # type: ignore[no-untyped-def]
    models, out, fair = _check(tmp_path, "fair", tools, 0)
    _, _, plain = _check(tmp_path, "plain", tools, 10**12)
    for model, f, p in zip(models, fair, plain):
        runs = [r.name.split("-")[0] for r in f.runs]
        assert "fairness" in runs and "fairness" not in [r.name.split("-")[0] for r in p.runs]
        side = next(r for r in f.runs if r.name.startswith("fairness"))
        assert side.outcome == "ok", model.name
        for r in f.runs:
            if r.name.startswith("liveness"):
                assert "SPECIFICATION FairSpec" in (out / model.name / r.cfg).read_text()
        assert {k: v.verdict for k, v in f.verdicts.items()} == \
               {k: v.verdict for k, v in p.verdicts.items()}
        assert all(v.verdict == model.expected(k) for k, v in f.verdicts.items()), model.name
        assert _liveness(f) == _liveness(p), model.name


def test_a_wrong_blocked_falls_back_to_spec(tmp_path: Path, tools, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(gen.fairness, "_guards", lambda action, label: [])
    models, out, results = _check(tmp_path, "broken", tools, 0, NAMES[:1])
    for model, result in zip(models, results):
        side = next(r for r in result.runs if r.name.startswith("fairness"))
        assert (side.outcome, side.violated) == ("invariant", "BlockedExact"), model.name
        for r in result.runs:
            if r.name.startswith("liveness"):
                assert "SPECIFICATION Spec\n" in (out / model.name / r.cfg).read_text()
        assert all(v.verdict == model.expected(k) for k, v in result.verdicts.items()), model.name
