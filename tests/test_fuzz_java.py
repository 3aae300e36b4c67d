"""Fuzzing with the real TLC: committed models with a few values changed (hypothesis), each
that validates run through `mmcheck check` as a program user would run it.  Every run is
valid: exit 0, 1 or 2 with the summary as the last line of stdout, results.json that
`mmcheck report` reads back; never a traceback.  (test_fuzz.py fuzzes every input mmcheck
reads without running TLC; the counts of both are printed at the end of the session.)"""
from __future__ import annotations

import json
import tomllib

import pytest
from conftest import FUZZ
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_fuzz import FUZZ_SETTINGS, VALUE_WORDS, paths, seed_model_texts, to_toml

from gen.load import load_models
from runner.cli import main
from runner.errors import ConfigError
from runner.report.stored import load_run

pytestmark = pytest.mark.java


def tweaked(data: st.DataObject) -> str:
    """One committed model with one to three scalars changed a little."""
    seed = data.draw(st.sampled_from(seed_model_texts()[:-1]), label="seed")
    tree = tomllib.loads(seed)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        scalars = [p for p in paths(tree) if p and not isinstance(
            _get(tree, p), (dict, list))]
        where = data.draw(st.sampled_from(scalars), label="where")
        parent = _get(tree, where[:-1])
        old = parent[where[-1]]
        if isinstance(old, bool):
            parent[where[-1]] = not old
        elif isinstance(old, int):
            parent[where[-1]] = old + data.draw(st.integers(-1, 1), label="delta")
        elif where[-1] != "name":
            parent[where[-1]] = data.draw(st.sampled_from(VALUE_WORDS[:20]), label="word")
    return to_toml(tree)


def _get(node, path):  # type: ignore[no-untyped-def]
    for step in path:
        node = node[step]
    return node


@settings(FUZZ_SETTINGS, max_examples=5)
@given(st.data())
def test_fuzz_valid_mutants_run_with_tlc(tmp_path_factory: pytest.TempPathFactory,
                                         capsys: pytest.CaptureFixture[str],
                                         data: st.DataObject) -> None:
    work = tmp_path_factory.mktemp("fuzz")
    path = work / "models.toml"
    path.write_text(tweaked(data))
    try:
        load_models(path)
    except ConfigError:
        FUZZ["mutants run with TLC"]["refused (not run)"] += 1
        assume(False)
    out = work / "out"
    rc = main(["check", str(path), "--out", str(out), "--timeout", "3", "--jobs", "2",
               "--no-cache", "-q"])
    captured = capsys.readouterr()
    assert rc in (0, 1, 2), captured.err
    assert "Traceback" not in captured.err and "internal error" not in captured.err, captured.err
    assert captured.out.strip().splitlines()[-1].startswith("1 model: ")
    stored = load_run(out)
    assert stored.results[0].status == rc
    assert json.loads((out / "results.json").read_text())["models"][0]["name"]
    assert main(["report", str(out)]) == rc
    capsys.readouterr()
    FUZZ["mutants run with TLC"][f"valid run, exit {rc}"] += 1
