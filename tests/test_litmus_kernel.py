"""Litmus programs on real kernels: compiled with the system C compiler and run on this
machine's kernel, and one boot of a Debian kernel under QEMU.  No mocks: a result here is
what a kernel did.  (.ci/run installs gcc, libc6-dev and qemu-system-x86.)"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.litmus import load_tests
from runner.litmus.cprog import compile_program, program
from runner.litmus.run import observe_host

pytestmark = pytest.mark.kernel
LITMUS = Path(__file__).resolve().parents[1] / "specs" / "litmus"


def _test(name: str):  # type: ignore[no-untyped-def]
    return load_tests([LITMUS / f"{name}.toml"])[0]


def test_every_program_compiles(tmp_path: Path) -> None:
    for t in load_tests([LITMUS]):
        exe = compile_program(program(t, 16), tmp_path / t.name)
        assert exe.is_file()
    exe = compile_program(program(_test("observers"), 16), tmp_path / "static", static=True)
    assert exe.stat().st_size > 100_000  # static: libc inside


def test_observers_is_observed_on_this_kernel() -> None:
    """The model's `observers` MunmapAtomic violation shows within 50 runs (about one run in
    two at the default 64 MiB per page on 6.18)."""
    obs = observe_host(_test("observers"), 50, stop_when_observed=True)
    assert not obs.problems, obs.problems
    assert obs.observed >= 1, dict(obs.histogram)


def test_write_locked_control_is_never_observed() -> None:
    """mmap(MAP_FIXED) unmaps under the write lock: never seen half done, in 50 runs."""
    obs = observe_host(_test("observers-mmap-fixed"), 50, scale_mib=16)
    assert not obs.problems, obs.problems
    assert sum(obs.histogram.values()) == 50
    assert obs.observed == 0, dict(obs.histogram)
    assert "0:r0=new 0:r1=zero" in obs.histogram  # the poll saw the new mapping each time


def test_debian_guest_runs_a_test_end_to_end(tools) -> None:  # type: ignore[no-untyped-def]
    """Debian 12's 6.12 booted under QEMU (TCG) runs third-state-munmap with its verdict."""
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed (.ci/run installs qemu-system-x86)")
    from runner.litmus import run_guest

    [obs] = run_guest([_test("third-state-munmap")], "6.12", 2, tools, scale_mib=4, timeout=120)
    assert not obs.problems, obs.problems
    assert obs.kernel.startswith("6.12.") and obs.protocol == "detach_always"
    assert obs.verdict == "forbidden" and obs.status == "not-observed"
    assert sum(obs.histogram.values()) == 2 and obs.histogram.get("0:r0=sigsegv") == 2


def test_new_layout_elements_behave_as_the_model_says(tmp_path: Path) -> None:
    """On this kernel, with nothing racing: a shared file mapping gives its content before
    EOF and SIGBUS past it, mincore finds it resident and a hole ENOMEM, a PROT_NONE VMA is
    SIGSEGV, mlock and mremap's shrink work (the page it cut off is gone)."""
    from runner.litmus.parse import parse_test

    t = parse_test({
        "name": "elements", "pages": 7,
        "vmas": [{"start": 1, "end": 3, "file_eof": 2}, {"start": 4, "end": 5, "prot": "none"},
                 {"start": 6, "end": 8, "populated": False}],
        "threads": [["mlock 6 8", "mremap_shrink 6 8 7", "read 2", "read 1", "read 4",
                     "mincore 1", "mincore 7"]],
        "exists": "0:r0=sigbus"}, str(tmp_path / "elements.toml"))
    obs = observe_host(t, 3, scale_mib=4)
    assert not obs.problems, obs.problems
    assert dict(obs.histogram) == {
        "0:r0=sigbus 0:r1=orig 0:r2=sigsegv 0:r3=resident 0:r4=enomem": 3}
