"""The sha256 of every rendered spec and config of a fixed set of models: the committed
matrix's models, and every 5th of the exhaustive scenarios (2 pages, 1 thread of every kind of the
matrix's scenarios) of four protocols of different eras.  A refactoring of the templates
or of the model (gen/) must render them byte for byte as before:
tests/test_rendered_identical.py compares them with the pinned
tests/golden/rendered.sha256.json.

    .venv/bin/python tests/rendered_digests.py           # print the differences (none: exit 0)
    .venv/bin/python tests/rendered_digests.py --repin   # pin the digests of today's renders
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PINNED = ROOT / "tests" / "golden" / "rendered.sha256.json"
EXHAUSTIVE_PROTOCOLS = ("baseline", "detach_merged", "per_vma", "mainline")
EVERY = 5  # every 5th exhaustive scenario: 3,245 renders in all, about 7 s of CPU
EXHAUSTIVE_KINDS = ("fault", "mmap_fixed", "munmap", "madvise", "follow_pte", "binder")


def _models() -> list[Any]:
    from gen.exhaustive import Bound, scenarios
    from gen.load import load_models
    from gen.protocols import discover
    from gen.scenarios import SPECS, pair_model

    protocols = discover(env="")
    models = list(load_models(SPECS / "matrix.toml", protocols=protocols))
    bound = Bound(pages=2, threads=1, ptes_per_table=1, kinds=EXHAUSTIVE_KINDS)
    for i, s in enumerate(scenarios(bound, ("growsdown", "locked", "pfnmap"))):
        if i % EVERY:
            continue
        for p in EXHAUSTIVE_PROTOCOLS:
            models.append(pair_model(p, f"x{i:04d}", s, protocols=protocols,
                                     scenarios_path="exhaustive", where="exhaustive"))
    return models


def digests() -> dict[str, str]:
    from gen.model import INVARIANTS
    from gen.render import liveness_cfg, render, safety_cfg

    out = {}
    for m in _models():
        r = render(m)
        text = "\n".join([r.text, safety_cfg(r, list(INVARIANTS)), liveness_cfg(r)])
        out[m.name] = hashlib.sha256(text.encode()).hexdigest()
    return out


def main(argv: list[str]) -> int:
    now = digests()
    if argv[1:] == ["--repin"]:
        PINNED.write_text(json.dumps(now, indent=0, sort_keys=True) + "\n")
        print(f"pinned {len(now)} renders in {PINNED.relative_to(ROOT)}")
        return 0
    pinned = json.loads(PINNED.read_text())
    differ = sorted(k for k in now.keys() & pinned.keys() if now[k] != pinned[k])
    missing, new = sorted(pinned.keys() - now.keys()), sorted(now.keys() - pinned.keys())
    for k in differ:
        print(f"differs: {k}")
    for k in missing:
        print(f"missing: {k}")
    print(f"{len(now)} renders: {len(differ)} differ, {len(missing)} missing, {len(new)} new")
    return 1 if differ or missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
