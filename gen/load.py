"""Reading model files: `[[model]]` files (gen/model.py) and matrix files of protocol x
scenario pairs (gen/scenarios.py), into validated models.

The top of gen/'s validation layers: validate <- frontmatter <- actors <- protocols <-
model <- scenarios <- load (tests/test_layers.py holds them to it).  Pure.
"""
from __future__ import annotations

from pathlib import Path

from gen.model import Model, parse_models
from gen.protocols import Protocols, discover
from gen.scenarios import is_matrix, matrix_models
from gen.validate import Where, read_toml


def load_models(*paths: str | Path, protocols: Protocols | None = None) -> list[Model]:
    """Read and validate model files (`[[model]]` files, or matrix files of protocol x
    scenario pairs); names must be unique across all of them."""
    protocols = protocols if protocols is not None else discover()
    models: list[Model] = []
    seen: dict[str, str] = {}
    for p in paths:
        path = str(p)
        data = read_toml(path, "model file")
        loaded = (matrix_models(data, path, protocols) if is_matrix(data)
                  else parse_models(data, path, protocols))
        for m in loaded:
            if m.name in seen:
                raise Where(path, m.name).error("name", f"duplicate model name (also in "
                                                        f"{seen[m.name]})")
            seen[m.name] = path
            models.append(m)
    return models
