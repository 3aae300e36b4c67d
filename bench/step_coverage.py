#!/usr/bin/env python3
"""How often each step (PlusCal label) of a matrix model fires: TLC's `-coverage 1` over the
whole graph (the safety invariants, no symmetry, `-continue` past violations), one TLC
worker.  Prints figures; not a test.  docs/reduction.md used it to find the hot
thread-local steps.

    .venv/bin/python bench/step_coverage.py MODEL... [--top 15] [--labels REGEX]

Per model: the transitions of all steps, then the steps by transitions ("distinct:transitions"
as TLC's coverage gives them: the new states a step found, and the transitions it made).
"""
from __future__ import annotations

import argparse
import collections
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gen.load import load_models
from gen.model import INVARIANTS
from gen.render import render, tlc_cfg
from gen.scenarios import SPECS
from runner.java import locate_tools
from runner.pcal import translate
from runner.tlc import run_tlc

ACTION = re.compile(r"<(\w+) line \d+, col \d+ to line \d+, col \d+ of module \w+>: (\d+):(\d+)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--labels", help="print only the labels matching this regex")
    args = ap.parse_args(argv)
    models = {m.name: m for m in load_models(SPECS / "matrix.toml")}
    unknown = [n for n in args.models if n not in models]
    if unknown:
        print(f"not a model of specs/matrix.toml: {unknown[0]}", file=sys.stderr)
        return 2
    tools = locate_tools()
    for name in args.models:
        r = render(models[name])
        with tempfile.TemporaryDirectory(prefix="mmcheck-coverage-") as d:
            spec = Path(d) / r.filename
            spec.write_text(r.text)
            translate(spec, tools=tools)
            cfg = Path(d) / "safety.cfg"
            cfg.write_text(tlc_cfg(r, INVARIANTS, symmetry=False))
            log = Path(d) / "tlc.log"
            res = run_tlc(spec, cfg, tools=tools, workers=1, log_path=log,
                          extra_args=["-coverage", "1", "-continue"])
            text = log.read_text(errors="replace")
        found: collections.Counter[str] = collections.Counter()
        fired: collections.Counter[str] = collections.Counter()
        for m in ACTION.finditer(text):
            found[m.group(1)] += int(m.group(2))
            fired[m.group(1)] += int(m.group(3))
        total = sum(v for k, v in fired.items() if k not in ("Init", "Terminating"))
        print(f"{name}: {total} transitions ({res.outcome.value})")
        shown = [(k, v) for k, v in fired.most_common()
                 if not args.labels or re.search(args.labels, k)]
        for k, v in shown[:args.top] if not args.labels else shown:
            print(f"  {found[k]:>8}:{v:<8} {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
