"""Scenarios, and the matrix pairing them with protocols.

A scenario file (specs/scenarios.toml) holds each scenario once: a `[scenario.NAME]`
table with the keys of a `[[model]]` table but `name`, `protocol` and `expect`
(layout, threads, parameters, a description).

A matrix file (specs/matrix.toml) says which protocol is checked on which scenario and
what is expected there: one table per protocol, one key per scenario, the properties
expected to be violated (every other property is expected to hold):

    scenarios = "scenarios.toml"          # relative to the matrix file
    [vm_dead]
    parameters = { threshold_pages = 2 }  # set on every scenario of vm_dead
    fault = []
    mmap-fixed = ["MunmapAtomic", "WriteHoldBound"]
    special = { violated = [], parameters = { threshold_pages = 3 } }   # one pair only

Each pair is the model `<protocol>-<scenario>`, validated as a `[[model]]` table is
(gen.model.parse_model), its errors naming the file the key came from.  Pure.  Reading a
model file, of either kind, is gen/load.py's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from gen.frontmatter import BUILTIN
from gen.frontmatter import show as _show
from gen.model import PROPERTIES, Model, parse_model
from gen.protocols import Protocols, unknown_protocol
from gen.validate import Where as _Where
from gen.validate import read_toml
from runner.errors import ConfigError

SPECS = BUILTIN.parent
DEFAULT_SCENARIOS = _show(SPECS / "scenarios.toml")  # shown relative to the working directory
DEFAULT_MATRIX = _show(SPECS / "matrix.toml")
PARAMETERS = "parameters"
CELL_KEYS = {"violated", PARAMETERS}


def is_matrix(data: dict[str, Any]) -> bool:
    """A matrix file names its scenario file; a model file has [[model]] tables."""
    return "scenarios" in data and "model" not in data


def _name_ok(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "-_" for c in name)


def parse_scenarios(data: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    """The scenarios of a scenario file, by name, in file order (checked for shape here;
    each pair with a protocol is validated as a model)."""
    where = _Where(path)
    extra = sorted(set(data) - {"scenario"})
    if extra:
        raise where.error(extra[0], "unknown table (a scenario file holds [scenario.NAME] "
                                    "tables)")
    tables = data.get("scenario")
    if not isinstance(tables, dict) or not tables:
        raise where.error("scenario", "no [scenario.NAME] tables in the file")
    for name, table in tables.items():
        key = f"scenario.{name}"
        if not _name_ok(name) or name == PARAMETERS:
            raise where.error(key, f"{name!r}: use letters, digits, '-' and '_' only"
                              if name != PARAMETERS else "'parameters' is reserved")
        if not isinstance(table, dict):
            raise where.error(key, "must be a table")
        for k in ("name", "protocol", "expect"):
            if k in table:
                raise where.error(f"{key}.{k}", "a scenario has no " + (
                    "name key (its table's name is its name)" if k == "name" else
                    "protocol (the matrix pairs it with protocols)" if k == "protocol" else
                    "expectations (they are in the matrix file)"))
    return dict(tables)


def load_scenarios(path: str | Path = DEFAULT_SCENARIOS) -> dict[str, dict[str, Any]]:
    return parse_scenarios(read_toml(str(path), "scenario file"), str(path))


def pair_model(protocol: str, scenario: str, table: dict[str, Any], *,
               protocols: Protocols, scenarios_path: str, where: str,
               parameters: dict[str, Any] | None = None, parameters_where: str = "",
               violated: list[str] | tuple[str, ...] = ()) -> Model:
    """The model `<protocol>-<scenario>`: the scenario, then the parameters over it."""
    params = parameters or {}
    merged = {"name": f"{protocol}-{scenario}", "protocol": protocol, **table, **params,
              "expect": {p: "violated" for p in violated}}
    key_paths = {k: f"{scenarios_path}: scenario {scenario!r}" for k in table}
    key_paths.update({k: parameters_where or where for k in params})
    return parse_model(merged, where, 0, protocols, key_paths)


def _properties(where: _Where, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise where.error(key, "must be a list of the properties expected to be violated "
                               "([] when every property holds)")
    for p in value:
        if p not in PROPERTIES:
            raise where.error(key, f"unknown property {p!r} (one of: {', '.join(PROPERTIES)})")
    if len(set(value)) != len(value):
        raise where.error(key, "lists a property twice")
    return value


def _parameters(where: _Where, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error(key, "must be a table of model keys, e.g. { threshold_pages = 2 }")
    for k in ("name", "protocol", "expect"):
        if k in value:
            raise where.error(f"{key}.{k}", "cannot be set here")
    return value


def matrix_pairs(data: dict[str, Any], path: str, protocols: Protocols,
                 scenarios: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any],
                                                                      list[str]]]:
    """(protocol, scenario, parameters, violated) for every cell of a matrix file."""
    where = _Where(path)
    out = []
    for proto, table in data.items():
        if proto == "scenarios":
            continue
        if proto not in protocols:
            raise where.error(proto, unknown_protocol(proto, protocols))
        if not isinstance(table, dict):
            raise where.error(proto, "must be a table: scenario = [violated properties]")
        common = _parameters(where, f"{proto}.{PARAMETERS}", table.get(PARAMETERS, {}))
        for scenario, cell in table.items():
            if scenario == PARAMETERS:
                continue
            key = f"{proto}.{scenario}"
            if scenario not in scenarios:
                raise where.error(key, f"unknown scenario (one of: {', '.join(scenarios)})")
            params = dict(common)
            if isinstance(cell, dict):
                extra = sorted(set(cell) - CELL_KEYS)
                if extra:
                    raise where.error(f"{key}.{extra[0]}", "unknown field (allowed: "
                                                           "violated, parameters)")
                params.update(_parameters(where, f"{key}.{PARAMETERS}",
                                          cell.get(PARAMETERS, {})))
                cell = cell.get("violated", [])
            out.append((proto, scenario, params, _properties(where, key, cell)))
    if not out:
        raise ConfigError(f"{path}: no protocol x scenario pairs in the matrix")
    return out


def scenario_file(data: dict[str, Any], path: str) -> str:
    ref = data.get("scenarios")
    if not isinstance(ref, str) or not ref:
        raise _Where(path).error("scenarios", "must name the scenario file, e.g. "
                                              "\"scenarios.toml\"")
    return str(Path(path).parent / ref)


def matrix_models(data: dict[str, Any], path: str, protocols: Protocols) -> list[Model]:
    """The models of a matrix file, protocol by protocol, in the order of the file."""
    spath = scenario_file(data, path)
    if not Path(spath).is_file():  # named by the matrix, which holds the key
        raise _Where(path).error("scenarios", f"{_show(Path(spath))}: no such scenario file")
    scenarios = load_scenarios(spath)
    models = []
    for proto, scenario, params, violated in matrix_pairs(data, path, protocols, scenarios):
        models.append(pair_model(proto, scenario, scenarios[scenario], protocols=protocols,
                                 scenarios_path=spath, where=path, parameters=params,
                                 parameters_where=f"{path}: {proto}", violated=violated))
    return models


def protocol_parameters(path: str | Path, protocol: str, scenario: str) -> dict[str, Any]:
    """The parameters a matrix file sets for one protocol x scenario pair ({} when the
    protocol is not in it): `mmcheck compare` checks a protocol as the matrix does."""
    data = read_toml(str(path), "matrix file")
    table = data.get(protocol)
    if not isinstance(table, dict):
        return {}
    params = dict(table.get(PARAMETERS, {})) if isinstance(table.get(PARAMETERS), dict) else {}
    cell = table.get(scenario)
    if isinstance(cell, dict) and isinstance(cell.get(PARAMETERS), dict):
        params.update(cell[PARAMETERS])
    return params


def matrix_expectations(path: str | Path, protocol: str, scenario: str) -> list[str] | None:
    """The violated properties a matrix file expects of a pair (None: not in the matrix)."""
    data = read_toml(str(path), "matrix file")
    table = data.get(protocol)
    cell = table.get(scenario) if isinstance(table, dict) else None
    if isinstance(cell, dict):
        cell = cell.get("violated", [])
    if isinstance(cell, list) and all(isinstance(p, str) for p in cell):
        return list(cell)
    return None


def check_scenario_name(name: str, scenarios: dict[str, Any], where: str) -> None:
    if name not in scenarios:
        raise ConfigError(f"{where}: unknown scenario {name!r} (one of: "
                          f"{', '.join(scenarios)})")
