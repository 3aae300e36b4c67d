"""Fuzzing (hypothesis): mutated model files, sweep files and stored results.

Each input, mutated as bytes (bytes cut, inserted, doubled; invalid UTF-8; brackets) or as
a TOML/JSON structure (a value anywhere replaced by a random one: huge, negative, nan, inf,
long or odd strings, deep tables and lists; keys dropped or added), goes through everything
mmcheck does before TLC starts (load and validate, render every model and its configs,
expand a sweep) and through `mmcheck check` / `mmcheck sweep` / `mmcheck report`.  The only
outcomes allowed: a valid run, or a one-line error naming the file with exit 2.  Never a
traceback, an internal error, or another exit code.  The counts of inputs and outcomes are
printed at the end of the test session (conftest.py).  test_fuzz_java.py runs valid mutants
with the real TLC.
"""
from __future__ import annotations

import functools
import json
import math
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import FUZZ
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gen.load import load_models
from gen.model import INVARIANTS
from gen.render import render, tlc_cfg
from runner.cli import main
from runner.errors import ConfigError
from runner.sweep.spec import load_sweep

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
SEED_MODELS = ROOT / "specs" / "matrix.toml"
SEED_SWEEP = ROOT / "specs" / "sweeps" / "growth.toml"
EXAMPLE_RUN = ROOT / "tests" / "data" / "runs" / "example"
FUZZ_SETTINGS = settings(deadline=None, derandomize=True, database=None,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture,
                                                HealthCheck.data_too_large])

# ---------------------------------------------------------------- seeds


def model_table(m: Any) -> dict[str, Any]:
    """A committed model as the [[model]] table a user would write."""
    return {k: v for k, v in m.to_dict().items() if k not in ("source", "protocol_definition")}


def seed_model_texts() -> list[str]:
    """A few committed models, one [[model]] file each, and one file with three of them."""
    names = ("madvise_user-fault", "sections-mmap-fixed", "detach_merged-growsdown",
             "vm_dead-starve", "madvise_user-special", "detach_merged-growsup")
    models = [m for m in load_models(SEED_MODELS) if m.name in names]
    chosen = ["[[model]]\n" + to_toml(model_table(m)) for m in models]
    return chosen + ["\n".join(chosen[:3])]


TINY_SWEEP = """
[sweep]
name = "tiny"
timeout = 30
[sweep.axes]
protocol = ["vm_dead", "detach_merged"]
"threads[0].count" = [1, 2]
[sweep.derive]
"vmas[0].end" = "pages + 1"
[base]
protocol = "vm_dead"
pages = 4
ptes_per_table = 2
munmap = { start = 1, end = 3 }
vmas = [ { start = 1, end = 5, flags = ["growsdown"] } ]
threads = [ { kind = "fault", access = "write", addr = 2 } ]
threshold_pages = 2
"""


def seed_sweep_texts() -> list[str]:
    return [SEED_SWEEP.read_text(), TINY_SWEEP]


MODEL_WORDS = ["model", "name", "protocol", "pages", "ptes_per_table", "munmap", "vmas",
               "threads", "start", "end", "flags", "kind", "access", "addr", "count", "repeat",
               "section_pages", "threshold_pages", "write_hold_bound", "rwsem", "expect",
               "description", "sweep", "axes", "derive", "base", "timeout", "simulate",
               "behaviours", "depth", "threads[0].count", "munmap.end", "vmas[0].end"]
VALUE_WORDS = ["vm_dead", "baseline", "sections", "madvise_user", "madvise_kernel",
               "detach_posted", "detach_merged", "fault", "mmap_fixed", "munmap", "madvise",
               "read", "write", "locked", "hugetlb", "pfnmap", "uprobe", "growsdown", "growsup",
               "holds", "violated", "writer-preferring", "reader-preferring", "TypeOK",
               "NoThirdState", "pages + 1", "pages // 0", "__import__('os')", "max(1, pages)",
               "../../../etc/passwd", "a" * 300, "é" * 200, "x/y", ".", "-", "CON", "\x00"]

# ---------------------------------------------------------------- TOML out


def toml_key(k: str) -> str:
    return json.dumps(k, ensure_ascii=False)


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def to_toml(data: dict[str, Any]) -> str:
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in data.items())


# ---------------------------------------------------------------- mutations

SCALARS = st.one_of(
    st.integers(min_value=-3, max_value=20), st.integers(), st.sampled_from([2**63, -2**63 - 1,
                                                                             10**30, 255, 256]),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(max_size=40), st.sampled_from(VALUE_WORDS))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(MODEL_WORDS), st.text(max_size=8)), inner,
                    max_size=4)), max_leaves=10)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, prefix + (i,))
    return out


def get(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def mutate_structure(data: st.DataObject, tree: dict[str, Any]) -> dict[str, Any]:
    for _ in range(data.draw(st.integers(1, 3), label="structure edits")):
        where = data.draw(st.sampled_from(paths(tree)), label="where")
        op = data.draw(st.sampled_from(["tweak"] * 5 + ["replace", "delete", "add", "nest",
                                                         "double"]), label="op")
        if not where:
            if op in ("delete", "replace", "nest"):
                op = "add"
            parent: Any = tree
        else:
            parent = get(tree, where[:-1])
        if op == "tweak" and where:  # a small change of a scalar: mostly still valid
            old = parent[where[-1]]
            if isinstance(old, bool):
                parent[where[-1]] = not old
            elif isinstance(old, int):
                parent[where[-1]] = old + data.draw(st.integers(-2, 2), label="delta")
            elif isinstance(old, str):
                parent[where[-1]] = data.draw(st.sampled_from(VALUE_WORDS), label="word")
            else:
                parent[where[-1]] = data.draw(VALUES, label="value")
        elif op == "replace" and where:
            parent[where[-1]] = data.draw(VALUES, label="value")
        elif op == "delete" and where:
            del parent[where[-1]]
        elif op == "nest" and where:
            depth = data.draw(st.integers(1, 60), label="depth")
            v = parent[where[-1]]
            for _ in range(depth):
                v = [v] if data.draw(st.booleans(), label="list?") else {"x": v}
            parent[where[-1]] = v
        elif op == "double" and where and isinstance(parent, list):
            parent.append(json.loads(json.dumps(parent[where[-1]])))
        else:  # add a key to the innermost table
            target = get(tree, where)
            if not isinstance(target, dict):
                target = parent if isinstance(parent, dict) else tree
            key = data.draw(st.one_of(st.sampled_from(MODEL_WORDS), st.text(max_size=8)),
                            label="new key")
            target[key] = data.draw(VALUES, label="value")
    return tree


TOKENS = [b"[", b"]", b"{", b"}", b"=", b'"', b"'", b",", b"\n", b"[[model]]\n", b"\xff",
          b"\xc3", b"\x00", b"#", b"nan", b"inf", b"-", b"9" * 30, b"\\u0000", b'"""']


def mutate_bytes(data: st.DataObject, raw: bytes) -> bytes:
    for _ in range(data.draw(st.integers(1, 4), label="byte edits")):
        n = len(raw)
        at = data.draw(st.integers(0, n), label="at")
        op = data.draw(st.sampled_from(["cut", "insert", "token", "double", "truncate"]),
                       label="op")
        if op == "cut":
            raw = raw[:at] + raw[at + data.draw(st.integers(1, 40), label="len"):]
        elif op == "insert":
            raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=8), label="b") + raw[at:]
        elif op == "token":
            raw = raw[:at] + data.draw(st.sampled_from(TOKENS), label="t") + raw[at:]
        elif op == "double":
            lines = raw.split(b"\n")
            i = data.draw(st.integers(0, len(lines) - 1), label="line")
            lines.insert(i, lines[i])
            raw = b"\n".join(lines)
        else:
            raw = raw[:at]
    return raw


def mutant(data: st.DataObject, seeds: list[str]) -> tuple[str, bytes]:
    seed = data.draw(st.sampled_from(seeds), label="seed")
    if data.draw(st.booleans(), label="structure?"):
        tree = mutate_structure(data, tomllib.loads(seed))
        return "structure", to_toml(tree).encode("utf-8", errors="surrogatepass")
    return "bytes", mutate_bytes(data, seed.encode())


# ---------------------------------------------------------------- outcomes


def refusal_kind(message: str) -> str:
    for pattern, kind in (("not UTF-8", "not UTF-8"), ("not valid TOML", "not TOML"),
                          ("not valid JSON", "not JSON"),
                          ("nested too deeply", "nested too deeply"),
                          ("out of range", "out of range"), ("unknown", "unknown name"),
                          ("missing", "missing key"), ("no [[model]]", "missing key"),
                          ('no "models"', "missing key"), ("needs both", "missing key"),
                          ("must be", "wrong type"), ("not of the stored type", "wrong type"),
                          ("is not a table", "wrong type"), ("inside something", "wrong type"),
                          ("overlap", "overlap"), ("duplicate", "duplicate"),
                          ("twice", "duplicate"), ("empty range", "empty range"),
                          ("longer than", "too long"), ("points, more than", "grid too big"),
                          ("is not an expression", "bad expression or path"),
                          ("divides by zero", "bad expression or path"),
                          ("is not NAME", "bad expression or path"),
                          ("is not allowed", "bad expression or path"),
                          ("index", "bad expression or path"),
                          ("not a list", "bad expression or path"),
                          ("not an integer", "bad expression or path")):
        if pattern in message:
            return f"refused: {kind}"
    return "refused: other"


def assert_one_line(capsys: pytest.CaptureFixture[str], rc: int, path: Path) -> None:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("mmcheck: "), err
    assert "Traceback" not in err and "internal error" not in err, err
    assert str(path.parent) in lines[0] or "--" in lines[0], err


@settings(FUZZ_SETTINGS, max_examples=400)
@given(st.data())
def test_fuzz_model_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                          data: st.DataObject) -> None:
    _, raw = mutant(data, seed_model_texts())
    path = tmp_path / "models.toml"
    path.write_bytes(raw)
    try:
        models = load_models(path)
    except ConfigError as e:
        text = str(e)
        assert "\n" not in text and text.startswith(str(path)), text
        assert_one_line(capsys, main(["check", str(path), "--out", str(tmp_path / "o")]), path)
        assert not (tmp_path / "o").exists()
        FUZZ["model files"][refusal_kind(text)] += 1
        return
    for m in models:
        rendered = render(m)
        assert "{{" not in rendered.text and "{%" not in rendered.text
        tlc_cfg(rendered, INVARIANTS, (), report_write_hold=True)
    FUZZ["model files"]["valid: validated and rendered"] += 1


@settings(FUZZ_SETTINGS, max_examples=250)
@given(st.data())
def test_fuzz_sweep_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                          data: st.DataObject) -> None:
    _, raw = mutant(data, seed_sweep_texts())
    path = tmp_path / "sweep.toml"
    path.write_bytes(raw)
    try:
        sweep = load_sweep(path, max_points=200)
    except ConfigError as e:
        text = str(e)
        assert "\n" not in text and text.startswith(str(path)), text
        rc = main(["sweep", str(path), "--out", str(tmp_path / "o"), "--max-points", "200"])
        assert_one_line(capsys, rc, path)
        assert not (tmp_path / "o").exists()
        FUZZ["sweep files"][refusal_kind(text)] += 1
        return
    assert 1 <= len(sweep.points) <= 200
    assert len({p.model.name for p in sweep.points}) == len(sweep.points)
    assert len({p.key for p in sweep.points}) == len(sweep.points)
    FUZZ["sweep files"]["valid: validated and expanded"] += 1


@settings(FUZZ_SETTINGS, max_examples=150)
@given(st.data())
def test_fuzz_stored_results(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             data: st.DataObject) -> None:
    run = tmp_path / "run"
    if run.exists():
        shutil.rmtree(run)
    shutil.copytree(EXAMPLE_RUN, run)
    text = (run / "results.json").read_text()
    if data.draw(st.booleans(), label="structure?"):
        tree = mutate_structure(data, json.loads(text))
        raw = json.dumps(tree, allow_nan=True).encode()
    else:
        raw = mutate_bytes(data, text.encode())
    (run / "results.json").write_bytes(raw)
    rc = main(["report", str(run)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "internal error" not in captured.err, captured.err
    if rc == 2 and captured.err.startswith("mmcheck: error:"):
        assert captured.err.count("\n") == 1, captured.err
        FUZZ["stored results"][refusal_kind(captured.err)] += 1
    else:
        assert rc in (0, 1, 2), captured.err
        assert (run / "report.md").is_file() and (run / "junit.xml").is_file()
        FUZZ["stored results"][f"valid: reported (exit {rc})"] += 1


@functools.lru_cache(maxsize=1)
def seed_matrix_models() -> tuple[Any, ...]:
    return tuple(load_models(SEED_MODELS))


@settings(FUZZ_SETTINGS, max_examples=80)
@given(st.data())
def test_fuzz_matrix_files(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           data: st.DataObject) -> None:
    """The committed matrix and its scenarios file, one of the two mutated."""
    matrix, scenarios = tmp_path / "matrix.toml", tmp_path / "scenarios.toml"
    matrix.write_text(SEED_MODELS.read_text())
    scenarios.write_text((SEED_MODELS.parent / "scenarios.toml").read_text())
    victim = data.draw(st.sampled_from([matrix, scenarios]), label="file")
    _, raw = mutant(data, [victim.read_text()])
    victim.write_bytes(raw)
    try:
        models = load_models(matrix)
    except ConfigError as e:
        text = str(e)
        assert "\n" not in text and text.startswith((str(matrix), str(scenarios))), text
        assert_one_line(capsys, main(["check", str(matrix), "--out", str(tmp_path / "o")]),
                        victim)
        assert not (tmp_path / "o").exists()
        FUZZ["matrix files"][refusal_kind(text)] += 1
        return
    # The models the mutation changed (or made): the others are the committed ones, which
    # test_render renders; rendering all 352 for each mutant was most of this test's time.
    committed = {m.name: m.to_dict() for m in seed_matrix_models()}
    changed = [m for m in models if committed.get(m.name) != m.to_dict()]
    for m in changed:
        render(m)
    FUZZ["matrix files"]["valid: validated and rendered"] += 1


def test_the_toml_writer_round_trips() -> None:
    for text in seed_model_texts() + seed_sweep_texts():
        tree = tomllib.loads(text)
        assert tomllib.loads(to_toml(tree)) == tree
    weird = {"a": [float("inf"), -1, True, "x\"\n\\"], "b": {"": {"c": []}}}
    back = tomllib.loads(to_toml(weird))
    assert back["b"] == weird["b"] and back["a"][1:] == weird["a"][1:]
    assert re.fullmatch(r"inf", toml_value(float("inf")))
