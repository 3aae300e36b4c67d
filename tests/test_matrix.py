"""The committed matrix (specs/matrix.toml x specs/scenarios.toml) and matrix files."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gen.load import load_models
from gen.model import INVARIANTS, PROPERTIES
from gen.render import liveness_cfg, render, safety_cfg
from runner.check import ModelResult
from runner.errors import ConfigError
from runner.judge import Verdict
from runner.report.matrix import compact, problems, render_text

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "specs" / "matrix.toml"
ALL = ["fault", "mmap-fixed", "locked", "growsdown", "munmap2", "observers", "starve",
       "no-starve"]
# The models of the committed matrix that tools outside depend on, by name.  They were
# converted from the 60 [[model]] tables of specs/models.toml; the test that proved the
# conversion generated identical models, specs, configs and expectations passed at commit
# c081a2e ("Protocols are templates: ..."), before models.toml was removed.
NAMES = {
    "baseline": ALL, "sections": ALL, "madvise_user": ALL + ["special"],
    "madvise_kernel": ALL, "vm_dead": ALL + ["special"], "detach_posted": ALL,
    "detach_merged": ALL + ["special", "growsup"],
}


def test_the_committed_models_keep_their_names() -> None:
    models = load_models(MATRIX)
    names = [m.name for m in models]
    assert len(set(names)) == len(names)
    expected = [f"{p}-{s}" for p, scenarios in NAMES.items() for s in scenarios]
    assert [n for n in names if n in expected] == expected  # in this order; more may come
    for m in models:
        assert m.name == f"{m.protocol}-{m.name[len(m.protocol) + 1:]}"


@pytest.mark.slow
def test_every_committed_model_renders_and_has_its_configs() -> None:
    for m in load_models(MATRIX):
        r = render(m)
        assert f"MODULE {m.protocol} " in r.text
        assert "INVARIANTS" in safety_cfg(r, list(INVARIANTS))
        assert "PROPERTIES" in liveness_cfg(r)


# ---------------------------------------------------------------- matrix files

SCENARIOS = '''
[scenario.one]
description = "a read fault"
pages = 4
ptes_per_table = 2
munmap = { start = 1, end = 3 }
vmas = [ { start = 1, end = 5, flags = [] } ]
threads = [ { kind = "fault", access = "read", addr = 2 } ]

[scenario.two]
pages = 4
ptes_per_table = 2
munmap = { start = 1, end = 3 }
vmas = [ { start = 1, end = 5, flags = [] } ]
'''
GRID = '''scenarios = "s.toml"
[vm_dead]
parameters = { threshold_pages = 2 }
one = ["MunmapAtomic"]
two = { violated = [], parameters = { threshold_pages = 3 } }
[baseline]
two = []
'''


def write(tmp_path: Path, grid: str = GRID, scenarios: str = SCENARIOS) -> Path:
    (tmp_path / "s.toml").write_text(scenarios)
    path = tmp_path / "m.toml"
    path.write_text(grid)
    return path


def test_a_matrix_pairs_protocols_with_scenarios(tmp_path: Path) -> None:
    models = load_models(write(tmp_path))
    assert [m.name for m in models] == ["vm_dead-one", "vm_dead-two", "baseline-two"]
    one, two, base = models
    assert one.expect == {"MunmapAtomic": "violated"} and one.threshold_pages == 2
    assert one.description == "a read fault" and one.threads[0].addr == 2
    assert two.threshold_pages == 3 and two.expect == {} and two.threads == ()
    assert base.threshold_pages == 0 and base.protocol == "baseline"


BAD = [
    # (the grid or scenario text changed, the start of the message, a word it contains)
    (("[baseline]", "[baseline_x]"), "m.toml: baseline_x:", "unknown value 'baseline_x'"),
    (("two = []", "three = []"), "m.toml: baseline.three:", "unknown scenario"),
    (('["MunmapAtomic"]', '["Atomic"]'), "m.toml: vm_dead.one:", "unknown property 'Atomic'"),
    (('["MunmapAtomic"]', '["MunmapAtomic", "MunmapAtomic"]'), "m.toml: vm_dead.one:", "twice"),
    (('["MunmapAtomic"]', '"MunmapAtomic"'), "m.toml: vm_dead.one:", "must be a list"),
    (("threshold_pages = 2", "threshold_pages = 9"), ("m.toml: vm_dead: model 'vm_dead-one': "
                                                "threshold_pages:"), "out of range"),
    (("threshold_pages = 2", "thresh = 2"), "m.toml: vm_dead: model 'vm_dead-one': thresh:",
     "unknown field"),
    (("threshold_pages = 3 }", "threshold_pages = 3 }, colour = 1"), "m.toml: vm_dead.two.colour:",
     "unknown field"),
    (('scenarios = "s.toml"', 'scenarios = "nope.toml"'), "m.toml: scenarios:",
     "nope.toml: no such scenario file"),
]


@pytest.mark.parametrize("old,start,word", BAD, ids=[b[2] for b in BAD])
def test_a_bad_matrix_is_one_line_naming_the_file_and_key(tmp_path: Path, old: tuple[str, str],
                                                          start: str, word: str) -> None:
    assert old[0] in GRID
    path = write(tmp_path, GRID.replace(*old))
    with pytest.raises(ConfigError) as e:
        load_models(path)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(tmp_path / start)), msg
    assert word in msg, msg


def test_a_bad_scenario_names_the_scenario_file(tmp_path: Path) -> None:
    path = write(tmp_path, scenarios=SCENARIOS.replace("addr = 2", "addr = 7"))
    with pytest.raises(ConfigError) as e:
        load_models(path)
    assert str(e.value).startswith(f"{tmp_path / 's.toml'}: scenario 'one': model 'vm_dead-one':"
                                   f" threads[0].addr: 7 is out of range")
    for old, new, word in (("[scenario.two]", "[scenario.two]\nname = \"x\"", "no name key"),
                           ("[scenario.two]", "[scenario.two]\nexpect = {}", "expectations"),
                           ("[scenario.two]", "[scenario.\"t w o\"]", "letters, digits")):
        write(tmp_path, scenarios=SCENARIOS.replace(old, new))
        with pytest.raises(ConfigError, match=word):
            load_models(path)


# ---------------------------------------------------------------- the compact table


def results_as_expected(models, wzap: int = 2):  # type: ignore[no-untyped-def]
    """Results with every verdict as its model expects (the table's layout is tested, not
    TLC: the verdicts of real runs are in tests/data/runs and tests/test_check_java.py)."""
    return [ModelResult(m, Path(m.name), "x.tla", "", {p: Verdict(p, m.expected(p), m.expected(p))
                                                       for p in PROPERTIES},
                        (), wzap, 100, 10, 1.0, None, None) for m in models]


def _tables(text: str) -> list[dict[str, dict[str, list[str]]]]:
    """The tables of render_text: per table, scenario -> protocol -> the cell's lines."""
    out: list[dict[str, dict[str, list[str]]]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].startswith("scenario "):
            i += 1
            continue
        heads = [a.strip() + b.strip() for a, b in zip(lines[i].split("|"), lines[i + 1].split("|"))]
        table: dict[str, dict[str, list[str]]] = {}
        row = None
        i += 3
        while i < len(lines) and "|" in lines[i]:
            cells = [c.strip() for c in lines[i].split("|")]
            if cells[0]:
                row = cells[0]
                table[row] = {h: [] for h in heads[1:]}
            assert row is not None
            for h, c in zip(heads[1:], cells[1:]):
                if c:
                    table[row][h].append(c)
            i += 1
        out.append(table)
    return out


def test_the_committed_matrix_prints_in_the_readme_shape_within_100_columns() -> None:
    models = load_models(MATRIX)
    text = render_text(compact(results_as_expected(models)))
    lines = text.split("\n")
    assert max(len(line) for line in lines) <= 100
    tables = _tables(text)
    heads = [p for t in tables for p in next(iter(t.values()))]
    assert heads == list(dict.fromkeys(m.protocol for m in models))  # each once, file order
    cell = {(s, p): c for t in tables for s, row in t.items() for p, c in row.items()}
    assert cell[("growsup", "detach_merged")] == ["LostWrite", "PgTable"]
    assert cell[("growsup", "sections")] == []  # sections x growsup: not checked
    assert [cell[("fault", p)] for p in ("baseline", "sections", "madvise_user",
                                         "madvise_kernel", "vm_dead", "detach_posted",
                                         "detach_merged")] == [
        ["WHB (2)"], ["WHB (2)"], ["3rdState", "WHB (2)"], ["3rdState", "WHB (2)"], ["-"],
        ["-"], ["-"]]
    assert cell[("binder", "per_vma")] == ["PgTable", "VmaUAF"]
    assert "WHB (n) = WriteHoldBound, n the most per-page work" in " ".join(lines)


def test_more_protocols_than_fit_go_into_another_table() -> None:
    models = load_models(MATRIX)
    more = [dataclasses.replace(m, protocol=f"{m.protocol}_{k}", name=f"{m.protocol}_{k}-"
                                f"{m.name.split('-', 1)[1]}")
            for k in ("again",) for m in models if m.protocol.startswith("detach")]
    before = len(_tables(render_text(compact(results_as_expected(models)))))
    text = render_text(compact(results_as_expected(models + more)))
    assert max(len(line) for line in text.split("\n")) <= 100
    assert len(_tables(text)) > before


def test_unexpected_and_undecided_verdicts_are_marked() -> None:
    [m] = [m for m in load_models(MATRIX) if m.name == "detach_merged-growsdown"]
    [r] = results_as_expected([m])
    verdicts = dict(r.verdicts)
    verdicts["NoLostWrite"] = Verdict("NoLostWrite", "holds", "violated")
    verdicts["TypeOK"] = Verdict("TypeOK", "violated", "holds")
    for p in ("MunmapCompletes", "AllThreadsComplete"):
        verdicts[p] = Verdict(p, "error", "holds", message="TLC: parse_error: Unknown operator")
    bad = ModelResult(**{**r.__dict__, "verdicts": verdicts})
    cell = render_text(compact([bad])).split("\n")
    body = " ".join(cell)
    assert "!TypeOK" in body and "!LostWrite=ok" in body and "PgTable" in body
    assert "ERR(2)" in body and "! marks a verdict that differs" in body
    lines = [p.line() for p in problems([bad])]
    assert lines == ["detach_merged-growsdown: TypeOK violated (expected holds)",
                     "detach_merged-growsdown: NoLostWrite holds (expected violated)",
                     ("detach_merged-growsdown: 2 properties error (MunmapCompletes, "
                      "AllThreadsComplete): TLC: parse_error: Unknown operator")]


def test_the_history_group_agrees_with_the_matrix() -> None:
    """specs/history.toml only chooses rows and columns of the matrix (the releases and the
    known bugs); every pair it lists is a pair of the matrix with the same expectation."""
    matrix = {m.name: m for m in load_models(MATRIX)}
    history = load_models(ROOT / "specs" / "history.toml")
    assert {m.protocol for m in history} == {
        "baseline", "detach_merged", "detach_merged_52", "detach_fixed", "detach_fixed_61",
        "per_vma", "detach_always", "mainline_615", "mainline"}
    for m in history:
        assert m.name in matrix, m.name
        assert m.expect == matrix[m.name].expect, m.name
        assert m.to_dict()["threads"] == matrix[m.name].to_dict()["threads"]
