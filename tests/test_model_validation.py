"""Model files: every kind of bad input is a one-line ConfigError naming file, model and key."""
from __future__ import annotations

from pathlib import Path

import pytest

from gen.load import load_models
from gen.model import Flag, Rwsem
from gen.protocols import discover
from runner.errors import ConfigError

GOOD = """
[[model]]
name = "third-state-madvise"
protocol = "madvise_user"
pages = 5
ptes_per_table = 2
munmap = { start = 1, end = 5 }
vmas = [ { start = 1, end = 5, flags = [] } ]
threads = [
  { kind = "fault", access = "read", addr = 2 },
  { kind = "mmap_fixed", start = 1, end = 3 },
  { kind = "munmap", start = 2, end = 4 },
  { kind = "madvise", start = 1, end = 3 },
]
section_pages = 1
threshold_pages = 0
write_hold_bound = 0
rwsem = "writer-preferring"
[model.expect]
NoThirdState = "violated"
"""


def write(tmp_path: Path, text: str, name: str = "m.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_schema_of_the_issue_loads(tmp_path: Path) -> None:
    [m] = load_models(write(tmp_path, GOOD))
    assert m.name == "third-state-madvise"
    assert m.protocol == "madvise_user"
    assert m.definition.description.startswith("userspace MADV_DONTNEED")
    assert m.munmap == (1, 5)
    assert [t.kind for t in m.threads] == ["fault", "mmap_fixed", "munmap", "madvise"]
    assert m.threads[0].addr == 2 and m.threads[0].access == "read"
    assert m.rwsem is Rwsem.WRITER_PREFERRING
    assert m.expected("NoThirdState") == "violated"
    assert m.expected("TypeOK") == "holds"


def test_flags_and_defaults(tmp_path: Path) -> None:
    text = GOOD.replace('flags = []', 'flags = ["growsdown", "locked"]').replace(
        'section_pages = 1\nthreshold_pages = 0\nwrite_hold_bound = 0\nrwsem = "writer-preferring"\n', "")
    [m] = load_models(write(tmp_path, text))
    assert m.vmas[0].flags == (Flag.GROWSDOWN, Flag.LOCKED)
    assert (m.section_pages, m.threshold_pages, m.write_hold_bound) == (1, 0, 0)
    assert m.rwsem is Rwsem.WRITER_PREFERRING


BAD = [
    # (what to replace, with what, the key the message must name, a word it must contain)
    ('protocol = "madvise_user"', 'protocol = "madvise"', "protocol", "unknown value"),
    ('flags = []', 'flags = ["mlocked"]', "vmas[0].flags", "unknown value"),
    ('flags = []', 'flags = ["locked", "locked"]', "vmas[0].flags", "twice"),
    ('flags = []', 'flags = ["growsdown", "growsup"]', "vmas[0].flags", "both"),
    ('kind = "madvise"', 'kind = "swapoff"', "threads[3].kind", "unknown value"),
    ('NoThirdState = "violated"', 'NoZeroPage = "violated"', "expect.NoZeroPage", "unknown property"),
    ('NoThirdState = "violated"', 'NoThirdState = "fails"', "expect.NoThirdState", "holds"),
    ('vmas = [ { start = 1, end = 5, flags = [] } ]',
     'vmas = [ { start = 1, end = 4, flags = [] }, { start = 3, end = 5, flags = [] } ]',
     "vmas", "overlap"),
    ('vmas = [ { start = 1, end = 5, flags = [] } ]', 'vmas = [ { start = 3, end = 3, flags = [] } ]',
     "vmas[0]", "empty range"),
    ('vmas = [ { start = 1, end = 5, flags = [] } ]', 'vmas = [ { start = 1, end = 7, flags = [] } ]',
     "vmas[0].end", "out of range"),
    ('munmap = { start = 1, end = 5 }', 'munmap = { start = 0, end = 5 }', "munmap.start", "out of range"),
    ('munmap = { start = 1, end = 5 }', 'munmap = { start = 4, end = 2 }', "munmap", "empty range"),
    ('addr = 2', 'addr = 9', "threads[0].addr", "out of range"),
    ('{ kind = "mmap_fixed", start = 1, end = 3 }', '{ kind = "mmap_fixed", start = 1, end = 8 }',
     "threads[1].end", "out of range"),
    ('access = "read"', 'access = "exec"', "threads[0].access", "read"),
    ('addr = 2 }', 'addr = 2, repeat = "yes" }', "threads[0].repeat", "true or false"),
    ('addr = 2 }', 'addr = 2, count = 0 }', "threads[0].count", "out of range"),
    ('addr = 2 }', 'addr = 2, count = 20 }', "threads[0].count", "out of range"),
    ('{ kind = "munmap", start = 2, end = 4 }', '{ kind = "munmap", start = 2, end = 4, addr = 3 }',
     "threads[2].addr", "unknown field"),
    ('pages = 5', 'pages = 0', "pages", "out of range"),
    ('pages = 5', 'pages = 500', "pages", "out of range"),
    ('pages = 5', 'pages = "five"', "pages", "integer"),
    ('ptes_per_table = 2', 'ptes_per_table = 0', "ptes_per_table", "out of range"),
    ('section_pages = 1', 'section_pages = 0', "section_pages", "out of range"),
    ('threshold_pages = 0', 'threshold_pages = -1', "threshold_pages", "out of range"),
    ('write_hold_bound = 0', 'write_hold_bound = 1.5', "write_hold_bound", "integer"),
    ('write_hold_bound = 0', 'write_hold_bound = 11', "write_hold_bound", "out of range"),
    ('rwsem = "writer-preferring"', 'rwsem = "fair"', "rwsem", "unknown value"),
    ('rwsem = "writer-preferring"', 'rwsem = "reader-preferring"', "rwsem",
     "hypothetical-reader-preferring"),
    ('rwsem = "writer-preferring"', 'rwsem = "writer-preferring"\nmutation = "forgot_zap"',
     "mutation", "unknown value"),
    ('rwsem = "writer-preferring"', 'rwsem = "writer-preferring"\nstack_guard_gap = -1',
     "stack_guard_gap", "out of range"),
    ('flags = [] } ]\nthreads = [\n  { kind = "fault", access = "read", addr = 2 },',
     'flags = ["uprobe"] } ]\nthreads = [\n  { kind = "fault", access = "write", addr = 2 },',
     "threads[0].addr", "uprobe"),
    ('section_pages = 1', 'section_pages = 1\nsecton_pages = 2', "secton_pages", "unknown field"),
    ('munmap = { start = 1, end = 5 }\n', '', "munmap", "missing"),
    ('flags = []', 'flags = ["prot_none"]', "vmas[0].populated", "prot_none"),
    ('flags = []', 'flags = [], eof = 3', "vmas[0].eof", "shared_file"),
    ('flags = []', 'flags = ["shared_file"], eof = 3', "vmas[0].populated", "past the end"),
    ('flags = []', 'flags = ["shared_file", "pfnmap"]', "vmas[0].flags", "at most one"),
    ('flags = [] } ]\nthreads = [\n  { kind = "fault", access = "read", addr = 2 },',
     'flags = ["shared_file"] } ]\nthreads = [\n  { kind = "fault", access = "write", addr = 2 },',
     "threads[0].addr", "shared_file"),
    ('{ kind = "mmap_fixed", start = 1, end = 3 }',
     '{ kind = "mmap_fixed", start = 1, end = 3, prot = "ro" }', "threads[1].prot", "none"),
    ('{ kind = "mmap_fixed", start = 1, end = 3 }', '{ kind = "mincore", start = 1, end = 3 }',
     "threads[1].end", "unknown field"),
]


@pytest.mark.parametrize("old,new,key,word", BAD, ids=[b[2] + ":" + b[3] for b in BAD])
def test_bad_input_is_one_line_naming_file_model_and_key(tmp_path: Path, old: str, new: str,
                                                         key: str, word: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as e:
        load_models(path)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: model 'third-state-madvise': {key}:"), msg
    assert word in msg


def test_duplicate_names_in_one_file_and_across_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="duplicate model name"):
        load_models(write(tmp_path, GOOD + GOOD))
    a, b = write(tmp_path, GOOD, "a.toml"), write(tmp_path, GOOD, "b.toml")
    with pytest.raises(ConfigError, match=r"duplicate model name \(also in .*a.toml\)"):
        load_models(a, b)


def test_not_toml_missing_file_and_no_models(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_models(write(tmp_path, "[[model]\nname ="))
    with pytest.raises(ConfigError, match="no such model file"):
        load_models(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="no \\[\\[model\\]\\] tables"):
        load_models(write(tmp_path, "# nothing\n"))
    with pytest.raises(ConfigError, match="unknown field"):
        load_models(write(tmp_path, "[settings]\nx = 1\n"))


def test_bad_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model\[0\]\.name"):
        load_models(write(tmp_path, GOOD.replace('name = "third-state-madvise"', 'name = "a b"')))


def test_too_many_threads(tmp_path: Path) -> None:
    text = GOOD.replace('addr = 2 }', 'addr = 2, count = 6 }')
    with pytest.raises(ConfigError, match="threads: more than 8 threads"):
        load_models(write(tmp_path, text))


def test_the_committed_matrix_is_valid() -> None:
    models = load_models(Path(__file__).parent.parent / "specs" / "matrix.toml")
    assert len({m.name for m in models}) == len(models)
    assert {m.protocol for m in models} == set(discover())



def test_every_property_has_a_committed_negative_control() -> None:
    """A property no committed model is expected to violate is not tested: each one has
    a model (a real race, or a deliberately broken variant, `mutation`) that must break it."""
    from gen.model import PROPERTIES, Mutation

    models = load_models(Path(__file__).parent.parent / "specs" / "matrix.toml")
    for prop in PROPERTIES:
        assert any(m.expected(prop) == "violated" for m in models), prop
    mutated = {m.mutation for m in models}
    assert mutated == set(Mutation), "every broken variant has a committed model"


def test_mutation_and_guard_gap_load(tmp_path: Path) -> None:
    text = GOOD.replace('rwsem = "writer-preferring"',
                        'rwsem = "hypothetical-reader-preferring"\nmutation = "forget_zap"\n'
                        'stack_guard_gap = 2')
    [m] = load_models(write(tmp_path, text))
    assert m.mutation.value == "forget_zap" and m.stack_guard_gap == 2
    assert m.rwsem is Rwsem.HYPOTHETICAL_READER_PREFERRING
    assert m.to_dict()["mutation"] == "forget_zap"


def test_read_lock_user_threads_and_populated_pages(tmp_path: Path) -> None:
    text = GOOD.replace('  { kind = "madvise", start = 1, end = 3 },\n',
                        '  { kind = "follow_pte", addr = 2 },\n'
                        '  { kind = "binder", addr = 1, lock = "write" },\n'
                        ).replace('flags = [] } ]\nthreads', 'flags = [], populated = [1, 3] } ]\nthreads')
    [m] = load_models(write(tmp_path, text))
    follow, binder = m.threads[3], m.threads[4]
    assert (follow.kind, follow.addr, follow.lookup) == ("follow_pte", 2, "find_vma")
    assert (binder.kind, binder.addr, binder.lock) == ("binder", 1, "write")
    assert m.vmas[0].pages_populated() == {1, 3}
    assert m.to_dict()["vmas"][0]["populated"] == [1, 3]
    for old, new, key, word in [
            ('addr = 2 },\n  { kind = "binder"',
             ('addr = 2, lookup = "find_vmas" },\n  { kind = "binder"'), "threads[3].lookup",
             "vma_lookup"),
            ('lock = "write"', 'lock = "exclusive"', "threads[4].lock", "read"),
            ('{ kind = "follow_pte", addr = 2 }', '{ kind = "follow_pte" }', "threads[3].addr",
             "missing"),
            ('populated = [1, 3]', 'populated = [7]', "vmas[0].populated", "outside"),
            ('populated = [1, 3]', 'populated = "some"', "vmas[0].populated", "list")]:
        path = write(tmp_path, text.replace(old, new, 1), "bad.toml")
        with pytest.raises(ConfigError) as e:
            load_models(path)
        assert f"{key}:" in str(e.value) and word in str(e.value), str(e.value)


def test_write_hold_bound_counts_zaps_and_munlocks(tmp_path: Path) -> None:
    """A munmap of every page of a VM_LOCKED VMA does 2 units of work a page (munlock and
    zap): a bound of up to twice the pages can be written."""
    path = tmp_path / "m.toml"
    path.write_text(GOOD.replace("write_hold_bound = 0", "write_hold_bound = 10"))
    assert load_models(path)[0].write_hold_bound == 10
