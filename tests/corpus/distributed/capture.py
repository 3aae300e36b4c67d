#!/usr/bin/env python3
"""Capture the distributed TLC server's output (a server and one worker of the pinned jar,
TLC 2.15) for tests/test_distributed.py: `.venv/bin/python tests/corpus/distributed/capture.py`.
Review the diff before committing it."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent.parent))

from runner.distributed import run_distributed
from runner.java import locate_tools

SPECS = HERE.parent / "specs"
CASES = {"ok": "Ok", "invariant": "Inv", "liveness": "Live"}


def main() -> int:
    tools = locate_tools()
    for name, spec in CASES.items():
        r = run_distributed(SPECS / f"{spec}.tla", tools=tools, workers=1, threads=1,
                            timeout=120, log_path=HERE / f"{name}.out")
        print(f"{name}: {r.outcome.value}, {r.stats.distinct_states} distinct")
    return 0


if __name__ == "__main__":
    sys.exit(main())
