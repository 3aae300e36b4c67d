"""mremap's move (MREMAP_MAYMOVE | MREMAP_FIXED) beside munmap: the scenario `mremap-move`
can break a scheme that frees page tables with a ceiling read before it dropped mmap_sem
(the negative control: relock_free with free_pgtables(P, "taken")), and holds for the same
scheme that looks the ceiling up again."""
from __future__ import annotations

from pathlib import Path

import pytest

from gen.load import load_models
from gen.protocols import discover

ROOT = Path(__file__).resolve().parent.parent
RELOCK = ROOT / "specs" / "examples" / "protocols" / "relock_free.tla.j2"


def stale_ceiling_variant(d: Path) -> None:
    """relock_taken: the floor and ceiling noted under the first write lock (take_floor_ceiling,
    as 6.12's vms->unmap_start/unmap_end) and used after the lock was dropped and re-taken."""
    text = RELOCK.read_text()
    for old, new in (('name = "relock_free"', 'name = "relock_taken"'),
                     ("{{ mm.downgrade_write(P) }}",
                      "{{ mm.take_floor_ceiling(P) }}\n{{ mm.downgrade_write(P) }}"),
                     ('P ~ "_free_pgtables", munmap=true', 'P ~ "_free_pgd_range", munmap=true'),
                     ('mm.free_pgtables(P, "lookup", gather=true)',
                      'mm.free_pgtables(P, "taken", gather=true)')):
        assert old in text
        text = text.replace(old, new)
    (d / "relock_taken.tla.j2").write_text(text)
    (d / "relock_free.tla.j2").write_text(RELOCK.read_text())
    (d / "m.toml").write_text(f'scenarios = "{ROOT / "specs" / "scenarios.toml"}"\n'
                              "[relock_free]\nmremap-move = []\n"
                              '[relock_taken]\nmremap-move = ["NoLostWrite", "PageTableSafety"]\n')


@pytest.mark.java
def test_a_stale_ceiling_frees_the_table_the_move_filled(tools, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from runner.check import check_models

    stale_ceiling_variant(tmp_path)
    models = load_models(tmp_path / "m.toml", protocols=discover([tmp_path]))
    results = {r.model.name: r for r in check_models(models, tmp_path / "out", tools, jobs=1)}
    bad = results["relock_taken-mremap-move"]
    for prop in ("NoLostWrite", "PageTableSafety"):
        v = bad.verdicts[prop]
        assert v.verdict == "violated" and v.trace is not None
        # the move had happened: the new VMA at [2, 3) keeps the source's mapping
        vmas = v.trace.states[-1].values["vmas"]
        assert any(w["start"] == 2 and w["end"] == 3 and w["origin"] == 2 for w in vmas)
    good = results["relock_free-mremap-move"]
    assert all(v.verdict == "holds" for v in good.verdicts.values())
