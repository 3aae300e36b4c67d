#!/usr/bin/env python3
"""Deciding liveness by termination (docs/termination.md) against liveness runs: the same
verdicts and state counts on every model?  Prints every difference; not a test.

Both formulations in one run, interleaved: the models are dealt into --chunks groups and
each group is checked cold (no TLC cache) with `termination=False` (the liveness runs of
before: AllThreadsComplete under weak fairness, symmetry off) and then with
`termination=True` (what runner.check does now), before the next group.  For every model:

  * every property's verdict must be the same;
  * the distinct states of the complete safety run (ModelResult.distinct_states), and of
    the liveness runs both made (a model that fell back), must be the same;
  * the CPU of TLC (the JVMs' user+sys) of each side is summed.

With --negative, the termination config is also run on every model whose liveness run
found a violation, and on the models with a repeating thread (which runner.check never
decides by termination): it must not succeed on any of them (a success would be a
"holds" that the liveness run refutes).

    .venv/bin/python bench/check_equivalence.py [MODELS.toml ...] [--only REGEX]
                                                [--chunks 8] [--jobs N] [--negative]
"""
from __future__ import annotations

import argparse
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gen.load import load_models
from gen.model import INVARIANTS, LIVENESS, PROPERTIES, Model
from gen.render import render, tlc_cfg
from runner.check import ModelResult, check_models
from runner.java import QUICK_JIT, locate_tools
from runner.pcal import translate
from runner.tlc import run_tlc
from runner.tlc_output import Outcome


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def counts(r: ModelResult, kind: str) -> list[int | None]:
    """The distinct states of the runs of a kind that explored the whole graph (a liveness
    run stopped by a violation stops where TLC's periodic check, every so many seconds,
    found it: its count depends on timing, not on the spec)."""
    return [run.distinct_states for run in r.runs
            if run.name.startswith(kind) and run.outcome == "ok"]


def differences(old: ModelResult, new: ModelResult) -> list[str]:
    out = []
    for p in PROPERTIES:
        a, b = old.verdicts[p].verdict, new.verdicts[p].verdict
        if a != b:
            out.append(f"{p}: {a} -> {b}")
    if old.distinct_states != new.distinct_states:
        out.append(f"safety distinct states: {old.distinct_states} -> {new.distinct_states}")
    a_live, b_live = counts(old, "liveness"), counts(new, "liveness")
    if b_live and a_live != b_live:
        out.append(f"liveness distinct states: {a_live} -> {b_live}")
    return out


def negative(models: list[Model], old: dict[str, ModelResult], work: Path) -> list[str]:
    """The termination config on the models it must not decide: none may succeed."""
    tools = locate_tools()
    wrong = []
    for m in models:
        rendered = render(m)
        live = old[m.name].verdicts[LIVENESS[1]].verdict
        repeat = any(g.repeat for g in rendered.groups)
        if live != "violated" and not repeat:
            continue
        d = work / "neg" / m.name
        d.mkdir(parents=True)
        spec = d / rendered.filename
        spec.write_text(rendered.text)
        translate(spec, tools=tools, jvm_args=QUICK_JIT)
        # every invariant the model breaks left out, so that the run goes to its end
        invs = [i for i in INVARIANTS if old[m.name].verdicts[i].verdict == "holds"]
        cfg = d / "term.cfg"
        cfg.write_text(tlc_cfg(rendered, invs, report_write_hold=False, termination=True))
        r = run_tlc(spec, cfg, tools=tools, workers=1, extra_args=["-lncheck", "final"],
                    deadlock=False, jvm_args=QUICK_JIT)
        why = r.violated or r.outcome.value
        print(f"  negative {m.name}: liveness run {live}, repeating thread {repeat}: "
              f"termination run {r.outcome.value} ({why})")
        if r.outcome is Outcome.OK:
            wrong.append(m.name)
    return wrong


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", default=["specs/matrix.toml"])
    ap.add_argument("--only", default=None, help="regex on model names")
    ap.add_argument("--chunks", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--negative", action="store_true")
    args = ap.parse_args(argv)
    models = load_models(*args.models)
    if args.only:
        models = [m for m in models if re.search(args.only, m.name)]
    tools = locate_tools()
    chunks = [models[i::args.chunks] for i in range(args.chunks)]
    results: dict[bool, dict[str, ModelResult]] = {False: {}, True: {}}
    spent = {False: 0.0, True: 0.0}
    wall = {False: 0.0, True: 0.0}
    with tempfile.TemporaryDirectory(prefix="mmcheck-equiv-") as tmp:
        work = Path(tmp)
        for i, chunk in enumerate(c for c in chunks if c):
            for term in (False, True):
                c0, w0 = cpu(), time.monotonic()
                out = check_models(chunk, work / f"{term}-{i}", tools, jobs=args.jobs,
                                   cache=None, termination=term)
                spent[term] += cpu() - c0
                wall[term] += time.monotonic() - w0
                results[term].update((r.model.name, r) for r in out)
            print(f"chunk {i + 1}/{len(chunks)}: {len(chunk)} models", file=sys.stderr)
        differ = 0
        for m in models:
            old, new = results[False][m.name], results[True][m.name]
            diff = differences(old, new)
            by_term = new.verdicts[LIVENESS[1]].message.startswith("by termination")
            runs = f"{len(old.runs)} -> {len(new.runs)} TLC runs"
            if diff:
                differ += 1
                print(f"DIFFERS {m.name} ({runs}): " + "; ".join(diff))
            else:
                how = "by termination" if by_term else "liveness runs"
                print(f"same    {m.name} ({runs}, liveness {how}, "
                      f"{new.distinct_states} states)")
        decided = sum(results[True][m.name].verdicts[LIVENESS[1]].message
                      .startswith("by termination") for m in models)
        runs_old = sum(len(r.runs) for r in results[False].values())
        runs_new = sum(len(r.runs) for r in results[True].values())
        print(f"\n{len(models)} models: {differ} differ; liveness decided by termination on "
              f"{decided}, by liveness runs on {len(models) - decided}")
        print(f"TLC runs: {runs_old} -> {runs_new}")
        print(f"CPU (JVMs, user+sys): liveness runs {spent[False]:.1f} s, termination "
              f"{spent[True]:.1f} s; wall {wall[False]:.1f} s vs {wall[True]:.1f} s")
        if args.negative:
            wrong = negative(models, results[False], work)
            print(f"negative controls: {len(wrong)} wrongly decided by termination"
                  + (": " + ", ".join(wrong) if wrong else ""))
            differ += len(wrong)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
