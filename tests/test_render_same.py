"""tests/render_same.py, the check that a template refactor leaves every spec
byte-identical, finds a difference when there is one.  Pure."""
from __future__ import annotations

import shutil
from pathlib import Path

from conftest import tiny_model
from render_same import differences, renders

from gen.protocols import BUILTIN


def models(tmp_path: Path) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(tiny_model("detach_merged") + tiny_model("vm_dead").replace('"m"', '"v"'))
    return path


def test_the_same_templates_render_the_same(tmp_path: Path) -> None:
    copy = shutil.copytree(BUILTIN, tmp_path / "templates")
    files = [models(tmp_path)]
    assert differences(renders(copy, files), renders(None, files)) == []


def test_a_changed_macro_is_a_difference_naming_the_model(tmp_path: Path) -> None:
    copy = shutil.copytree(BUILTIN, tmp_path / "templates")
    mm = copy / "mm.j2"
    text = mm.read_text()
    assert text.count("frees the page tables of the detached VMAs") == 1
    mm.write_text(text.replace("frees the page tables of the detached VMAs", "frees them"))
    files = [models(tmp_path)]
    diffs = differences(renders(copy, files), renders(None, files))
    assert [d.split(":")[0] for d in diffs] == ["m", "v"]  # both reach unmap_region
    assert "-munmap0_free_pgd_range:  \\* frees them" in diffs[0]
