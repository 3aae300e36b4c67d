#!/usr/bin/env python3
"""Does a template refactor leave every spec as it was?  Renders every model of the
committed matrix (specs/history.toml's pairs are among them) twice, with the templates of a git revision
and with those of the working tree, and prints each model whose spec differs (a unified
diff of its first difference).  Exit 0: every spec byte-identical; 1: some differ.

    .venv/bin/python tests/render_same.py [REV]        # REV: default main

A refactor of mm.j2 (a macro rewritten in terms of smaller ones) must pass this against
the revision before it: it then cannot move any verdict.  tests/test_render_same.py
checks that the comparison finds a difference when there is one.
"""
from __future__ import annotations

import difflib
import io
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gen.load import load_models
from gen.protocols import BUILTIN, discover
from gen.render import render

MODEL_FILES = (ROOT / "specs" / "matrix.toml",)


def renders(templates: Path | None, model_files: Iterable[Path] = MODEL_FILES) -> dict[str, str]:
    """Model name -> its rendered spec, with the protocols and shared templates of the
    directory `templates` (None: the working tree's specs/templates/)."""
    protocols = discover([templates] if templates is not None else [])
    return {m.name: render(m).text
            for m in load_models(*model_files, protocols=protocols)}


def differences(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """One entry per model that is not byte-identical (or exists on one side only)."""
    out = []
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        if a is None or b is None:
            out.append(f"{name}: only {'after' if a is None else 'before'}")
            continue
        diff = list(difflib.unified_diff(a.split("\n"), b.split("\n"), "before", "after",
                                         n=1, lineterm=""))
        out.append(f"{name}:\n" + "\n".join(diff[:12]))
    return out


def templates_at(rev: str, into: Path) -> Path:
    """specs/templates/ of git revision `rev`, extracted under `into`."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "specs/templates"],
                          check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "specs" / "templates"


def main(argv: list[str]) -> int:
    rev = argv[0] if argv else "main"
    with tempfile.TemporaryDirectory(prefix="mmcheck-render-same-") as tmp:
        old = renders(templates_at(rev, Path(tmp)))
    new = renders(None)
    diffs = differences(old, new)
    for d in diffs:
        print(d)
    print(f"{len(new)} models rendered with the templates of {rev} and of the working tree "
          f"({BUILTIN.relative_to(ROOT)}): {len(diffs)} differ")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
