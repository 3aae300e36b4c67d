"""The committed matrix (specs/matrix.toml x specs/scenarios.toml) and matrix files."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from gen.model import INVARIANTS, load_models
from gen.render import liveness_cfg, render, safety_cfg

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "specs" / "matrix.toml"
OLD = ROOT / "specs" / "models.toml"


def test_the_matrix_generates_exactly_the_models_of_models_toml() -> None:
    """The conversion of the 60 copied models into scenarios x protocols changed nothing:
    the same names in the same order, the same models (parameters, expectations,
    descriptions), the same rendered specs and configs."""
    new, old = load_models(MATRIX), load_models(OLD)
    assert [m.name for m in new] == [m.name for m in old]
    assert len(new) == 60
    for a, b in zip(new, old):
        assert dataclasses.replace(a, source="") == dataclasses.replace(b, source=""), a.name
        ra, rb = render(a), render(b)
        assert ra.text == rb.text, a.name
        assert safety_cfg(ra, list(INVARIANTS)) == safety_cfg(rb, list(INVARIANTS))
        assert liveness_cfg(ra) == liveness_cfg(rb)
