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
    ({"vmas": [{"start": 1, "end": 4, "flags": ["pfnmap"]}]}, "flags"),
    ({"color": 1}, "unknown key"),
    ({"expect": {"baseline": "maybe"}}, "expect"),
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
    t = parse_test({**OBSERVERS, "pages": 4, "vmas": [{"start": 1, "end": 4}, {"start": 4, "end": 5}],
                    "threads": [["poll 1 until new", "read 2"], ["mmap_fixed 1 3 new", "munmap 4 5"]],
                    "exists": "0:r0=new"}, "x.toml")
    lm = to_model(t, "baseline")
    assert lm.model.munmap == (4, 5)  # the first munmap is the model's main munmap
    assert "res[LitmusOne(Fault1)] = LitmusOne(MmapFixed3)" in litmus_definitions(lm)


def test_program_has_the_layout_and_ops() -> None:
    t = load_tests([LITMUS / "observers-next-to-stack.toml"])[0]
    src = program(t, 16)
    assert "MAP_FIXED_NOREPLACE | MAP_GROWSDOWN" in src
    assert "do v = probe_read(PAGE_ADDR(1)); while (!(v == 256 || v == 0) && v < 256)" in src
    assert "munmap(PAGE_ADDR(1), (size_t)(3 - 1) * BLK);" in src
    assert "#define SCALE 16UL" in src


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


def test_reproducer_for_a_scenario() -> None:
    found = reproducer_for("MunmapAtomic", "observers")
    assert found is not None and found[0].name == "observers"
    assert found[1] == "mmcheck litmus run specs/litmus/observers.toml --runs 30"
    found = reproducer_for("NoLostWrite", "growsdown")
    assert found is not None and found[0].name == "lost-write-stack"
    assert reproducer_for("RwsemExclusive", "observers") is None


def test_no_committed_test_tells_detach_fixed_from_detach_always() -> None:
    """specs/kernels.toml places Debian's 6.1 (StackRot backport: detach_always's fault path
    for stack expansion) at detach_fixed because no committed test tells the two apart; a
    test that does needs an [[override]] there first."""
    for t in load_tests([LITMUS]):
        assert t.expect["detach_fixed"] == t.expect["detach_always"], t.name
