"""Re-pin the report snapshots, on purpose only (read `git diff tests/snapshots` after):

    .venv/bin/python tests/snapshots/repin.py

Every stored run under tests/data/runs/ gets its attachments, report.md, report.html and
junit.xml written to tests/snapshots/<run>/ ('/' in a file name becomes '.').
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_report import RUNS, SNAPSHOTS, snapshot_texts


def main() -> int:
    for run_dir in sorted(p for p in RUNS.iterdir() if p.is_dir()):
        target = SNAPSHOTS / run_dir.name
        target.mkdir(parents=True, exist_ok=True)
        texts = snapshot_texts(run_dir)
        for stale in target.iterdir():
            if f"{run_dir.name}/{stale.name}" not in texts:
                stale.unlink()
        for name, text in texts.items():
            (SNAPSHOTS / name).write_text(text)
        print(f"re-pinned {len(texts)} snapshots of {run_dir.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
