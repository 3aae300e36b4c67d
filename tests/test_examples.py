"""The example protocols of specs/examples/protocols/: written with mm.j2 steps only (no
PlusCal of their own), rendered on every scenario their base protocol is checked on, and
(java) checked by the real TLC to a verdict on every property."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import tiny_model

from gen.model import PROPERTIES
from gen.protocols import discover, lookup
from gen.render import render
from gen.scenarios import load_scenarios, pair_model, protocol_parameters
from runner.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "specs" / "examples" / "protocols"
MATRIX = ROOT / "specs" / "matrix.toml"
SCENARIOS = ROOT / "specs" / "scenarios.toml"
STEP = re.compile(r'^\{\{ mm\.\w+\(P[^{}]*\) \}\}$')


def test_relock_free_is_written_with_steps_only() -> None:
    text = (EXAMPLES / "relock_free.tla.j2").read_text()
    body = text[text.index("{% block munmap_body %}\n") + 24:text.index("{% endblock %}")]
    lines = body.strip("\n").split("\n")
    assert lines and all(STEP.match(t) for t in lines), lines
    outside = re.sub(r"\{#.*?#\}", "", text.replace(body, ""), flags=re.DOTALL)
    assert ":=" not in outside and "{{" not in outside  # no PlusCal of its own


def test_relock_free_renders_on_every_scenario_of_detach_merged() -> None:
    import tomllib

    protocols = discover([EXAMPLES])
    assert lookup(protocols, "relock_free", "NEW").template.parent == EXAMPLES
    scenarios = load_scenarios(SCENARIOS)
    names = [n for n in tomllib.loads(MATRIX.read_text())["detach_merged"] if n != "parameters"]
    assert len(names) > 20
    for name in names:
        m = pair_model("relock_free", name, scenarios[name], protocols=protocols,
                       scenarios_path=str(SCENARIOS), where=str(MATRIX),
                       parameters=protocol_parameters(MATRIX, "detach_merged", name))
        labels = render(m).labels()
        assert {"munmap0_unmap_vmas", "munmap0_again_down_write_killable",
                "munmap0_free_pgtables", "munmap0_remove_vma_list"} <= set(labels), name


@pytest.mark.java
def test_relock_free_checks_to_a_verdict(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "m.toml"
    models.write_text(tiny_model("relock_free"))
    code = main(["check", str(models), "--protocols", str(EXAMPLES), "--jobs", "1",
                 "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")])
    assert code in (0, 1), capsys.readouterr().err
    [result] = json.loads((tmp_path / "out" / "results.json").read_text())["models"]
    verdicts = {p: v["verdict"] for p, v in result["properties"].items()}
    assert set(verdicts) == set(PROPERTIES), verdicts
    assert set(verdicts.values()) <= {"holds", "violated"}, verdicts
    assert result["distinct_states"] > 0
