"""Litmus tests (runner/litmus): the format, the model added to a rendered spec, the C program,
the kernel map, the initramfs and vmlinux extraction.  Pure: no Java, no kernel runs (those
are test_litmus_java.py and test_litmus_kernel.py)."""
from __future__ import annotations

import lzma
import shutil
import subprocess
from pathlib import Path

import pytest

from runner.errors import ConfigError
from runner.litmus import load_tests, new_test, protocol_for, reproducer_for
from runner.litmus.cprog import program
from runner.litmus.guest import initramfs
from runner.litmus.kernels import extract_vmlinux
from runner.litmus.model import litmus_definitions, rendered_spec, to_model
from runner.litmus.parse import parse_exists, parse_test
from runner.litmus.run import holds, parse_outcome

LITMUS = Path(__file__).resolve().parents[1] / "specs" / "litmus"
KERNEL_PROTOCOLS = ("baseline", "detach_merged", "detach_fixed", "per_vma", "detach_always",
                    "mainline")
# The history's thin protocols beside the release map's (README "Kernel version -> protocol")
SPLITS = {"detach_merged_52": "detach_merged", "detach_fixed_61": "detach_fixed",
          "mainline_615": "mainline"}

OBSERVERS = {
    "name": "t", "pages": 3, "vmas": [{"start": 1, "end": 4}],
    "threads": [["poll 1 until sigsegv", "read 2"], ["munmap 1 3"]],
    "exists": "0:r0=sigsegv /\\ 0:r1=orig",
}


def test_committed_suite_covers_every_user_visible_property() -> None:
    tests = load_tests([LITMUS])
    assert len(tests) >= 10
    shown = {t.shows for t in tests}
    assert {"MunmapAtomic", "NoThirdState", "NoLostWrite"} <= shown
    for t in tests:  # every committed test states its verdict for every kernel protocol
        assert set(t.expect) >= set(KERNEL_PROTOCOLS), t.name
    # each property has a positive test (allowed somewhere) and a control forbidden somewhere
    for prop in ("MunmapAtomic", "NoLostWrite"):
        assert any(t.shows == prop and "allowed" in t.expect.values() for t in tests)
    assert any(set(t.expect.values()) == {"forbidden"} for t in tests)


def test_both_sides_of_a_history_split_agree_on_every_committed_test() -> None:
    """The release map sends 5.2-5.7, 6.1-6.3 and 6.15-6.16 to detach_merged, detach_fixed and
    mainline; that rests on their bug-era twins giving the same verdict on every test."""
    for t in load_tests([LITMUS]):
        for twin, base in SPLITS.items():
            assert t.expect[twin] == t.expect[base], (t.name, twin)


@pytest.mark.parametrize("change, problem", [
    ({"threads": [["peek 1"], ["munmap 1 3"]]}, "unknown operation 'peek'"),
    ({"threads": [["read 9"], ["munmap 1 3"]]}, "not a page number"),
    ({"threads": [["read 1"]]}, "no thread munmaps"),
    ({"exists": "0:r5=orig"}, "no such register"),
    ({"exists": "0:r0=purple"}, "not a value"),
    ({"exists": "0:r0=orig /\\"}, "ends too early"),
    ({"vmas": [{"start": 1, "end": 3}, {"start": 2, "end": 4}]}, "overlap"),
    ({"vmas": [{"start": 1, "end": 3}, {"start": 3, "end": 4}]}, "merges"),
    ({"vmas": [{"start": 1, "end": 4, "flags": ["pfnmap"]}]}, "flags"),
    ({"color": 1}, "unknown key"),
    ({"expect": {"baseline": "maybe"}}, "expect"),
    ({"exists": "0:r0=enomem"}, "not a value of 0:r0"),
    ({"threads": [["mincore 1", "read 2"], ["munmap 1 3"]], "exists": "0:r0=orig"},
     "mincore: one of resident"),
    ({"threads": [["mincore 1 until orig"], ["munmap 1 3"]]}, "mincore P until"),
    ({"threads": [["read 1"], ["mremap_shrink 1 3 3"]]}, "not a page number"),
    ({"threads": [["read 1"], ["mremap_shrink 1 2 2"]]}, "needs S < N < E"),
    ({"vmas": [{"start": 1, "end": 4, "prot": "none", "populated": True}]}, "cannot be populated"),
    ({"vmas": [{"start": 1, "end": 4, "prot": "ro"}]}, "PROT_NONE"),
    ({"vmas": [{"start": 1, "end": 4, "file_eof": 5}]}, "file_eof"),
    ({"vmas": [{"start": 1, "end": 4, "file_eof": 2}],
      "threads": [["write 1 v"], ["munmap 1 3"]]}, "write into the shared file"),
    ({"threads": [["read 1"], ["mlock 1 3", "munmap 1 3"]]}, "whole anonymous"),
    ({"vmas": [{"start": 1, "end": 2}], "threads": [["read 1"], ["mremap_shrink 2 4 3"]]},
     "must be in a VMA"),
    ({"threads": [["read 1"], ["mmap_fixed 1 3 ok", "munmap 1 3"]]}, "value name 'ok'"),
])
def test_bad_tests_are_one_line_errors(change: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as e:
        parse_test({**OBSERVERS, **change}, "x.toml")
    assert "\n" not in str(e.value) and str(e.value).startswith("x.toml: ")


def test_exists_precedence_and_negation() -> None:
    e = parse_exists("f", "0:r0=zero \\/ 0:r0=orig /\\ ~(0:r1=orig)")
    assert e[0] == "or" and e[1][1][0] == "and" and e[1][1][1][1][0] == "not"
    t = parse_test(OBSERVERS, "x.toml")
    assert holds(t, {(0, "r0"): "sigsegv", (0, "r1"): "orig"})
    assert not holds(t, {(0, "r0"): "sigsegv", (0, "r1"): "sigsegv"})
    # a poll that ended on something else (a signal it did not wait for) is not the outcome
    t2 = parse_test({**OBSERVERS, "threads": [["poll 1 until zero", "read 2"], ["munmap 1 3"]],
                     "exists": "0:r1=orig"}, "y.toml")
    assert not holds(t2, {(0, "r0"): "sigsegv", (0, "r1"): "orig"})
    assert holds(t2, {(0, "r0"): "zero", (0, "r1"): "orig"})


def test_outcome_lines() -> None:
    assert parse_outcome("litmus t 0:r0=sigsegv 0:r1=orig", "t") == (
        "0:r0=sigsegv 0:r1=orig", {(0, "r0"): "sigsegv", (0, "r1"): "orig"})
    assert parse_outcome("litmus other 0:r0=orig", "t") is None
    assert parse_outcome("[  1.0] random kernel line", "t") is None


def test_model_threads_gate_and_exists() -> None:
    t = parse_test(OBSERVERS, "x.toml")
    lm = to_model(t, "detach_fixed")
    assert lm.model.munmap == (1, 3)
    assert [(th.kind, th.addr) for th in lm.model.threads] == [("fault", 1), ("fault", 2)]
    text = litmus_definitions(lm)
    assert 'pc[LitmusOne(Fault1)] # "Done" => pc\'[LitmusOne(Fault2)] = pc[LitmusOne(Fault2)]' \
        in text
    assert 'res[LitmusOne(Fault1)] \\in {"segv"}' in text  # the poll's end condition
    assert 'res[LitmusOne(Fault2)] = "orig"' in text
    _, spec, cfg = rendered_spec(lm)
    assert spec.rstrip().endswith("=" * 80) and "LitmusNotExists ==" in spec
    assert "INVARIANTS\n  LitmusNotExists" in cfg and "ACTION_CONSTRAINT LitmusGate" in cfg


def test_written_values_name_the_writer() -> None:
    t = parse_test({**OBSERVERS, "pages": 5, "vmas": [{"start": 1, "end": 4}, {"start": 5, "end": 6}],
                    "threads": [["poll 1 until new", "read 2"], ["mmap_fixed 1 3 new", "munmap 5 6"]],
                    "exists": "0:r0=new"}, "x.toml")
    lm = to_model(t, "baseline")
    assert lm.model.munmap == (5, 6)  # the first munmap is the model's main munmap
    assert "res[LitmusOne(Fault1)] = LitmusOne(MmapFixed3)" in litmus_definitions(lm)


def test_program_has_the_layout_and_ops() -> None:
    t = load_tests([LITMUS / "observers-next-to-stack.toml"])[0]
    src = program(t, 16)
    assert "MAP_FIXED_NOREPLACE | MAP_GROWSDOWN" in src
    assert "do v = probe_read(PAGE_ADDR(1)); while (!(v == 256 || v == 0) && v < 256)" in src
    assert "munmap(PAGE_ADDR(1), (size_t)(3 - 1) * BLK);" in src
    assert "#define SCALE 16UL" in src


def test_new_operations_and_vmas_in_the_model() -> None:
    """mincore and mlock are model threads, mremap_shrink the munmap of the cut-off tail,
    PROT_NONE and a shared file past EOF are VMA flags (and the file's end a page set)."""
    t = parse_test({
        "name": "t", "pages": 7,
        "vmas": [{"start": 1, "end": 3}, {"start": 3, "end": 4, "prot": "none"},
                 {"start": 5, "end": 8, "file_eof": 6}],
        "threads": [["mincore 1 until enomem|notresident", "read 6"],
                    ["mlock 1 3", "mremap_shrink 1 3 2", "mmap_fixed 3 4 none"]],
        "exists": "0:r0=enomem /\\ 0:r1=sigbus"}, "x.toml")
    lm = to_model(t, "mainline")
    assert lm.model.munmap == (2, 3)  # mremap [1, 3) -> [1, 2): the tail's munmap
    assert [(th.kind, th.addr, th.start, th.end, th.get("prot")) for th in lm.model.threads] == [
        ("mincore", 1, None, None, None), ("fault", 6, None, None, None),
        ("mlock", None, 1, 3, None), ("mmap_fixed", None, 3, 4, "none")]
    flags = {v.start: ({f.value for f in v.flags}, v.eof, v.pages_populated())
             for v in lm.model.vmas}
    assert flags == {1: (set(), None, {1, 2}), 3: ({"prot_none"}, None, set()),
                     5: ({"shared_file"}, 6, {5})}
    text = litmus_definitions(lm)
    assert 'res[LitmusOne(Mincore1)] \\in {"enomem", "notresident"}' in text
    assert 'res[LitmusOne(Fault2)] = "sigbus"' in text
    _, spec, _ = rendered_spec(lm)
    assert "PastEof == {6, 7}" in spec and 'flags |-> {"prot_none"}' in spec
    src = program(t, 16)
    assert "place_file(5, 8, 6, 1);" in src and "place(3, 4, MAP_PRIVATE" in src
    assert "mremap(PAGE_ADDR(1), (size_t)(3 - 1) * BLK, (size_t)(2 - 1) * BLK, 0)" in src
    assert "mlock(PAGE_ADDR(1), (size_t)(3 - 1) * BLK)" in src
    assert "PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)" in src
    assert "do v = probe_mincore(PAGE_ADDR(1)); while (!(v == 261 || v == 260)" in src


@pytest.mark.parametrize("release, protocol", [
    ("4.19.0-27-amd64", "baseline"), ("5.7.19", "detach_merged"), ("5.10.0-46-cloud-amd64",
     "detach_fixed"), ("6.1.0-57-cloud-amd64", "detach_fixed"), ("6.4.16", "per_vma"),
    ("6.12.118+deb12-cloud-amd64", "detach_always"), ("6.14.11", "detach_always"),
    ("6.15.0", "mainline"), ("6.18.44-fc-v1300", "mainline"),
])
def test_kernel_map(release: str, protocol: str) -> None:
    assert protocol_for(release)[0] == protocol


def test_kernel_map_override_and_gaps(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text('[[range]]\nfrom = "5.8"\nuntil = "6.4"\nprotocol = "detach_fixed"\n'
                 '[[override]]\nrelease = "6.1.0-"\nprotocol = "detach_always"\nwhy = "backport"\n')
    assert protocol_for("6.1.0-9-amd64", f) == ("detach_always", "backport")
    assert protocol_for("6.1.99", f)[0] == "detach_fixed"
    with pytest.raises(ConfigError, match="no protocol"):
        protocol_for("4.9.0", f)


def test_initramfs_is_a_cpio_cpio_reads(tmp_path: Path) -> None:
    if shutil.which("cpio") is None:  # pragma: no cover
        pytest.skip("cpio is not installed (.ci/run installs it)")
    data = initramfs(b"#!init\n")
    run = subprocess.run(["cpio", "-it"], check=False, input=data, capture_output=True)
    assert run.stdout.decode().split() == ["dev", "dev/console", "init"]


def test_extract_vmlinux_finds_the_payload() -> None:
    elf = b"\x7fELF" + bytes(range(256)) * 40
    image = b"MZ" + b"\0" * 500 + b"\xfd7zXZ\x00junk" + lzma.compress(elf, format=lzma.FORMAT_XZ) + b"tail"
    assert extract_vmlinux(image) == elf
    with pytest.raises(ConfigError, match="no xz, lz4 or zstd payload"):
        extract_vmlinux(b"MZ" + b"\0" * 100)


def test_new_test_from_a_model_file(tmp_path: Path) -> None:
    f = tmp_path / "m.toml"
    f.write_text('[[model]]\nname = "m"\nprotocol = "detach_fixed"\npages = 4\nptes_per_table = 2\n'
                 'munmap = { start = 1, end = 3 }\nvmas = [ { start = 1, end = 5, flags = [] } ]\n'
                 'threads = [ { kind = "fault", access = "read", addr = 2 } ]\n')
    text = new_test(str(f))
    out = tmp_path / "t.toml"
    out.write_text(text)
    t = load_tests([out])[0]  # what it writes is a valid litmus test
    assert [[op.text() for op in ops] for ops in t.threads] == [["munmap 1 3"], ["read 2"]]
    assert t.exists_text == "1:r0=sigsegv"


def test_new_test_with_the_new_kinds_and_vmas(tmp_path: Path) -> None:
    f = tmp_path / "m.toml"
    f.write_text('[[model]]\nname = "m"\nprotocol = "mainline"\npages = 7\nptes_per_table = 1\n'
                 'munmap = { start = 1, end = 3 }\nvmas = [ { start = 1, end = 3, flags = [] }, '
                 '{ start = 4, end = 5, flags = ["prot_none"], populated = false }, '
                 '{ start = 6, end = 8, flags = ["shared_file"], eof = 7, populated = [6] } ]\n'
                 'threads = [ { kind = "mincore", addr = 6 }, { kind = "mlock", start = 1, end = 3 },'
                 ' { kind = "mmap_fixed", start = 4, end = 5, prot = "none" } ]\n')
    out = tmp_path / "t.toml"
    out.write_text(new_test(str(f)))
    t = load_tests([out])[0]
    assert [[op.text() for op in ops] for ops in t.threads] == [
        ["munmap 1 3"], ["mincore 6"], ["mlock 1 3"], ["mmap_fixed 4 5 none"]]
    assert [(v.prot, v.file_eof, v.populated) for v in t.vmas] == [
        ("rw", None, True), ("none", None, False), ("rw", 7, True)]
    assert t.exists_text == "1:r0=enomem"


def test_reproducer_for_a_scenario() -> None:
    found = reproducer_for("MunmapAtomic", "observers")
    assert found is not None and found[0].name == "observers"
    assert found[1] == "mmcheck litmus run specs/litmus/observers.toml --runs 30"
    found = reproducer_for("NoLostWrite", "growsdown")
    assert found is not None and found[0].name == "lost-write-stack"
    assert reproducer_for("RwsemExclusive", "observers") is None


# Tests whose detach_fixed and detach_always verdicts differ by munmap's downgrade next to a
# stack (5.8-6.4 keep the write lock; e4bd84c069f2, 6.5, downgrades always), with no fault
# that expands a stack in the outcome: Debian's 6.1 has detach_fixed's munmap, so they do not
# depend on its StackRot backport (a stack grows under the write lock in 6.1.37+).
DOWNGRADE_ONLY = {"mincore-next-to-stack"}


def test_no_committed_test_tells_detach_fixed_from_detach_always_by_the_fault_path() -> None:
    """specs/kernels.toml places Debian's 6.1 (StackRot backport: detach_always's fault path
    for stack expansion) at detach_fixed because no committed test's verdict depends on that
    fault path; a test whose verdicts differ must be one of DOWNGRADE_ONLY (the difference is
    munmap's, and mincore has no fault path) or needs an [[override]] there first."""
    for t in load_tests([LITMUS]):
        if t.name in DOWNGRADE_ONLY:
            assert t.expect["detach_fixed"] != t.expect["detach_always"], t.name
            assert not any(op.kind == "poll" for ops in t.threads for op in ops), t.name
        else:
            assert t.expect["detach_fixed"] == t.expect["detach_always"], t.name


def test_mlock_of_part_of_a_vma_is_a_one_line_error_at_render(tmp_path: Path) -> None:
    """mlock's split and merge are not modelled: the actor refuses a range that is not whole
    plain VMAs when the model is rendered."""
    from gen.load import load_models
    from gen.render import render
    from runner.errors import TemplateError

    f = tmp_path / "m.toml"
    f.write_text('[[model]]\nname = "m"\nprotocol = "baseline"\npages = 4\nptes_per_table = 1\n'
                 'munmap = { start = 1, end = 3 }\nvmas = [ { start = 1, end = 4, flags = [] } ]\n'
                 'threads = [ { kind = "mlock", start = 1, end = 3 } ]\n')
    with pytest.raises(TemplateError, match="mlock of \\[1, 3\\) must cover whole VMAs") as e:
        render(load_models(f)[0])
    assert "\n" not in str(e.value)
    f.write_text(f.read_text().replace("end = 3 } ]\n", "end = 4 } ]\n"))
    assert "mlock1_apply_vma_lock_flags" in render(load_models(f)[0]).text


def test_a_later_mremap_shrink_is_the_mremap_actor() -> None:
    t = parse_test({**OBSERVERS, "pages": 5, "vmas": [{"start": 1, "end": 4}, {"start": 5, "end": 6}],
                    "threads": [["poll 2 until sigsegv", "read 3"],
                                ["munmap 5 6", "mremap_shrink 1 4 2"]]}, "x.toml")
    lm = to_model(t, "detach_merged")
    assert lm.model.munmap == (5, 6)
    assert [(th.kind, th.start, th.end, th.get("new_end")) for th in lm.model.threads][-1] == (
        "mremap", 1, 4, 2)
