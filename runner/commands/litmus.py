"""mmcheck litmus: litmus tests of munmap, decided by TLC on the model (`check`) and run as C
programs on a real kernel (`run`): the host's, or a Debian kernel package booted under QEMU.

Exit status: 0 fine; 1 a CONTRADICTION (run: the model forbids an outcome the kernel showed;
check: a verdict differs from the test's `expect`); 2 could not decide (bad input, an
undecided model, no model for the kernel's protocol, missing qemu, compiler or package)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from runner.errors import ConfigError
from runner.limits import WIDTH, add_width, column_blocks

KERNEL_PROTOCOLS = ("baseline", "detach_merged", "detach_fixed", "per_vma", "detach_always",
                    "mainline")
EXAMPLES = """\
examples:
  mmcheck litmus check specs/litmus/                       # verdicts per kernel protocol
  mmcheck litmus check specs/litmus/observers.toml --protocol detach_fixed
  mmcheck litmus run specs/litmus/observers.toml --runs 30  # on this machine's kernel
  mmcheck litmus run specs/litmus/ --kernel debian:6.12 --runs 10 --json out.json
  mmcheck litmus new specs/examples/my-model.toml > my-test.toml"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("litmus", help="litmus tests: model verdicts and runs on real kernels",
                       description=__doc__)
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    c = verbs.add_parser("check", help="TLC's verdict (allowed | forbidden) per test x protocol")
    c.add_argument("files", nargs="+", metavar="FILE", help="litmus tests (.toml) or directories")
    c.add_argument("--protocol", action="append", default=[], metavar="P",
                   help="a protocol (repeatable; default: the installed kernel protocols)")
    c.add_argument("--json", type=Path, metavar="FILE", help="also write the verdicts as JSON")
    c.add_argument("--jobs", type=int, default=1, metavar="N", help="TLC runs at once (default 1)")
    add_width(c, "verdict table and race diagrams")
    c.add_argument("--diagram", action="store_true",
                   help="print the race diagram of every allowed outcome, and the certificate "
                        "(the states TLC explored) of every forbidden one")
    c.set_defaults(run=run_check)
    r = verbs.add_parser("run", help="run the tests' C programs on a kernel, next to the "
                         "verdict of its protocol")
    r.add_argument("files", nargs="+", metavar="FILE", help="litmus tests (.toml) or directories")
    r.add_argument("--kernel", default="host", metavar="K",
                   help="host (the running kernel) or debian:6.1 | debian:6.12 | debian:5.10")
    r.add_argument("--runs", type=int, default=30, metavar="N", help="runs per test (default 30)")
    r.add_argument("--scale", type=int, default=None, metavar="MIB",
                   help="MiB of real memory per abstract page (default 64: a wide window)")
    r.add_argument("--timeout", type=int, default=None, metavar="S",
                   help="seconds before one run is killed (default 60; 300 in a guest)")
    r.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    r.set_defaults(run=run_run)
    n = verbs.add_parser("new", help="write a litmus test from a model file's layout and "
                         "threads, as a start")
    n.add_argument("model", metavar="MODEL", help="a model file ([[model]] tables)")
    n.add_argument("--name", metavar="NAME", help="which model of the file (default: the first)")
    n.set_defaults(run=run_new)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _write_json(path: Path | None, rows: list[dict[str, Any]]) -> None:
    if path is not None:
        from runner.files import write_atomic

        write_atomic(path, json.dumps({"tests": rows}, indent=1) + "\n")


def _check_json_dest(path: Path | None) -> None:
    if path is not None and (path.is_dir() or not path.absolute().parent.is_dir()):
        raise ConfigError(f"--json {path}: not a file in an existing directory")


def run_check(args: argparse.Namespace) -> int:
    from gen.protocols import discover
    from runner.java import locate_tools
    from runner.litmus import check, load_tests

    _check_json_dest(args.json)
    tests = load_tests(args.files)
    known = discover()
    protocols = args.protocol or [p for p in KERNEL_PROTOCOLS if p in known]
    for p in protocols:
        if p not in known:
            raise ConfigError(f"--protocol {p}: not installed (mmcheck list shows the protocols)")
    tools = locate_tools()
    _say(f"litmus check: {len(tests)} test(s) x {len(protocols)} protocol(s)")
    decisions = check(tests, protocols, tools, jobs=args.jobs, progress=_say)
    by = {(d.test, d.protocol): d for d in decisions}
    width = max(len(t.name) for t in tests) + 2
    cols = [max(15, len(p) + 2) for p in protocols]
    wrong, undecided, rows = [], [], []
    cells: dict[tuple[str, str], str] = {}
    for t in tests:
        for p, c in zip(protocols, cols):
            d = by[(t.name, p)]
            want = t.expect.get(p)
            mark = "" if want is None or want == d.verdict else " (!)"
            if d.verdict is None:
                undecided.append(d)
            elif mark:
                wrong.append((t, d, want))
            cells[(t.name, p)] = f"{(d.verdict or 'undecided') + mark:>{c}}"
            rows.append({**d.to_dict(), "expected": want, "kernel": None, "runs": 0,
                         "observed": 0, "status": None})
    # the table in --width columns: protocols that do not fit go into a further table
    for n, block in enumerate(column_blocks(width, cols, args.width or WIDTH)):
        print(("\n" if n else "") + f"{'test':<{width}}"
              + "".join(f"{protocols[i]:>{cols[i]}}" for i in block))
        for t in tests:
            print(f"{t.name:<{width}}" + "".join(cells[(t.name, protocols[i])] for i in block))
    if args.diagram:
        for d in decisions:
            if d.diagram:
                print(f"\n{d.test} on {d.protocol}: allowed\n{d.drawn(args.width or WIDTH)}")
            elif d.verdict == "forbidden":
                print(f"\n{d.test} on {d.protocol}: forbidden: {d.message}")
    for t, d, want in wrong:
        print(f"VERDICT DIFFERS: {t.name} on {d.protocol}: {d.verdict}, the test expects {want}")
    for d in undecided:
        print(f"UNDECIDED: {d.test} on {d.protocol}: {d.message}")
    _write_json(args.json, rows)
    return 1 if wrong else 2 if undecided else 0


def run_run(args: argparse.Namespace) -> int:
    from runner.java import locate_tools
    from runner.litmus import load_tests, run_guest, run_host

    _check_json_dest(args.json)
    if args.runs < 1:
        raise ConfigError(f"--runs {args.runs}: at least 1")
    if args.scale is not None and not 1 <= args.scale <= 1024:
        raise ConfigError(f"--scale {args.scale}: 1..1024 MiB per abstract page")
    tests = load_tests(args.files)
    tools = locate_tools()
    extra: dict[str, Any] = {"progress": _say}
    if args.scale is not None:
        extra["scale_mib"] = args.scale
    if args.kernel == "host":
        if args.timeout:
            extra["timeout"] = args.timeout
        results = run_host(tests, args.runs, tools, **extra)
    elif args.kernel.startswith("debian:"):
        extra["timeout"] = args.timeout or 300
        results = run_guest(tests, args.kernel.removeprefix("debian:"), args.runs, tools, **extra)
    else:
        raise ConfigError(f"--kernel {args.kernel}: host or debian:VERSION")
    contradictions, undecided = [], []
    for o in results:
        print(f"{o.name} on {o.kernel} ({o.protocol or '?'}):")
        for outcome, k in sorted(o.histogram.items(), key=lambda kv: -kv[1]):
            print(f"  {k:5d}  {outcome}")
        done = sum(o.histogram.values())
        seen = f"observed {o.observed}/{o.runs}" + (f" ({done} completed)" if done != o.runs else "")
        if o.verdict is None:
            undecided.append(o)
            print(f"  {seen}; model: none: {o.note}")
        elif o.status == "contradiction":
            contradictions.append(o)
            print(f"  {seen}; model ({o.protocol}): forbidden -> CONTRADICTION")
        elif o.status == "confirmed":
            print(f"  {seen}; model ({o.protocol}): allowed -> confirmed")
        else:
            print(f"  {seen}; model ({o.protocol}): {o.verdict} -> not observed in {o.runs}")
        for problem in o.problems:
            print(f"  PROBLEM: {problem}")
    for o in contradictions:
        print(f"CONTRADICTION: {o.name} on {o.kernel}: the model ({o.protocol}) forbids the "
              f"exists outcome, observed {o.observed}/{o.runs}: the model, the kernel map "
              f"(specs/kernels.toml) or the litmus program is wrong")
    _write_json(args.json, [o.to_dict() for o in results])
    failed = any(o.problems for o in results)
    return 1 if contradictions else 2 if (undecided or failed) else 0


def run_new(args: argparse.Namespace) -> int:
    from runner.litmus import new_test

    print(new_test(args.model, args.name), end="")
    return 0
