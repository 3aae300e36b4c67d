"""mmcheck compare with the real TLC (--jobs 1): the kernel-era warning, a failed model's
reason, --scenarios before BASE NEW, the cover letter."""
from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main

pytestmark = pytest.mark.java
TEMPLATES = Path(__file__).resolve().parent.parent / "specs" / "templates"


def test_eras_warning_and_scenarios_before_base_new(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["compare", "--scenarios", "fault", "detach_merged", "per_vma", "--jobs", "1",
                 "--out", str(out), "--cache-dir", str(tmp_path / "cache")])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.startswith("mmcheck compare: detach_merged -> per_vma, 1 scenario")
    flat = " ".join(printed.split())
    assert "Warning: detach_merged and per_vma model different kernel eras" in flat
    for title in ("page fault:", "munlock:", "per-VMA locks:", "__split_vma order:"):
        assert title in flat
    assert (out / "cover-letter.txt").is_file() and "Note: the two differ in page fault" in \
        " ".join((out / "cover-letter.txt").read_text().split())


def test_a_model_that_fails_says_why_once(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A user's template whose PlusCal does not translate (a missing `;`, which only
    pcal.trans finds): the comparison says the translation error of the model, once, and
    its twelve undecided properties as one group."""
    protocols = tmp_path / "protocols"
    protocols.mkdir()
    text = (TEMPLATES / "detach_merged.tla.j2").read_text()
    text = text.replace('name = "detach_merged"', 'name = "twice"')
    text = text.replace("{{ mm.up_read(P) }}", "{{ P }}_bogus:\n  skip skip;\n{{ mm.up_read(P) }}")
    (protocols / "twice.tla.j2").write_text(text)
    code = main(["compare", "detach_merged", "twice", "--protocols", str(protocols),
                 "--scenarios", "fault", "--jobs", "1", "--out", str(tmp_path / "out"),
                 "--cache-dir", str(tmp_path / "cache")])
    printed = capsys.readouterr().out
    assert code == 2, printed
    why = printed.split("Why (the error of each model that failed):\n", 1)[1]
    assert why.startswith("  twice-fault: ") and "twice.tla.j2:" in why.split("\n\n")[0]
    assert "PlusCal translation failed" in " ".join(why.split("\n\n")[0].split())
    assert printed.count("twice-fault: ") == 1
    assert "  fault     every property (holds -> error)\n" in printed
