"""Re-make the stored runs of this directory with the real TLC, on purpose only:

    .venv/bin/python tests/data/runs/store.py            # every run directory below
    .venv/bin/python tests/data/runs/store.py shapes     # one of them

Each run directory holds what `mmcheck check --no-cache` stored for the models of RUNS
below, kept small: results.json (re-serialized without indentation, the directories named
/tmp/<run>/<model>) and, of each model's directory, only the translated spec, the cfg files (the
certificates hash them) and sources.json (the diagrams' links to the templates). Then re-pin the snapshots (tests/snapshots/repin.py) and read
both diffs.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
RUNS = {
    "example": ["madvise_user-fault", "detach_merged-growsdown", "detach_merged-starve",
                "detach_merged-fault"],
    "shapes": ["vm_dead-mmap-fixed-observed", "sections-observers", "detach_merged-growsup",
               "detach_merged-observers", "vm_dead-special-pfnmap", "baseline-munmap2",
               "detach_merged-locked", "baseline-neg-skip-unlock", "detach_merged-binder",
               "detach_merged-follow-pte", "per_vma-neg-no-detached-check", "detach_fixed-growsdown"],
    "per_vma_era": ["detach_merged-neg-read-ignores-writer", "per_vma-neg-no-call-rcu"],
    "user_protocol": ["detach_relock-growsdown"],
}
# Runs of models that are not in the matrix: the model file and protocol directory to check.
USER = HERE.parent / "protocols"
SOURCES = {"user_protocol": [str(USER / "models.toml"), "--protocols", str(USER)]}


def store(name: str, models: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / name
        argv = [sys.executable, "-m", "runner.cli", "check", *SOURCES.get(name, []),
                "--no-cache", "--out", str(out)]
        for m in models:
            argv += ["--model", m]
        subprocess.run(argv, cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
        results = json.loads((out / "results.json").read_text())
        target = HERE / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for m in results["models"]:
            src = out / m["name"]
            (target / m["name"]).mkdir()
            for f in src.iterdir():
                if f.suffix == ".cfg" or f.name in (m["spec"], "sources.json"):
                    shutil.copy2(f, target / m["name"] / f.name)
            m["directory"] = f"/tmp/{name}/{m['name']}"  # where it was made, not a temp name
        (target / "results.json").write_text(json.dumps(results, separators=(",", ":")) + "\n")
        print(f"stored {len(results['models'])} models in {target}")


def main(argv: list[str]) -> int:
    for name in argv or list(RUNS):
        store(name, RUNS[name])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
