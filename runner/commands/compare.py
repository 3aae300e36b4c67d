"""mmcheck compare BASE NEW: check both protocols on every scenario (specs/scenarios.toml)
and print what a reviewer needs: the properties NEW fixes, the ones it breaks (with the
counterexample), the ones both violate, and the write-hold figures side by side.

Exit status: 0 NEW breaks nothing BASE holds; 1 it breaks something; 2 a verdict could not
be decided (error, timeout) and nothing is broken.  A protocol is checked on a scenario
with the parameters the committed matrix (specs/matrix.toml) gives it there, if any."""
from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from gen.scenarios import DEFAULT_MATRIX, DEFAULT_SCENARIOS
from runner.limits import TIMEOUT_RANGE, parse_timeout

RESULTS = Path("results")


def _styles() -> tuple[str, ...]:
    """The race diagram styles runner.report.diagram draws ("full": every step)."""
    from runner.report import diagram

    return tuple(getattr(diagram, "STYLES", ("full",)))


EXAMPLES = """\
examples:
  mmcheck compare detach_posted detach_merged          # every scenario, both protocols
  mmcheck compare baseline vm_dead --scenarios fault mmap-fixed --style kernel
  mmcheck compare vm_dead my_proto --protocols my-templates/"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="check two protocols on every scenario and show what "
                       "NEW fixes and breaks", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", metavar="BASE", help="the protocol to compare against")
    p.add_argument("new", metavar="NEW", help="the proposed protocol")
    p.add_argument("--scenarios", nargs="+", metavar="NAME",
                   help="only these scenarios (default: every scenario of the scenario file "
                        "but the negative controls and those setting another protocol's "
                        "option)")
    p.add_argument("--scenario-file", default=DEFAULT_SCENARIOS, metavar="FILE",
                   help=f"the scenarios (default: {DEFAULT_SCENARIOS})")
    p.add_argument("--matrix", default=DEFAULT_MATRIX, metavar="FILE",
                   help=f"parameters and expectations per pair (default: {DEFAULT_MATRIX})")
    p.add_argument("--protocols", action="append", default=[], metavar="DIR",
                   help="also look for protocol templates in DIR (repeatable)")
    p.add_argument("--style", default="full", metavar="STYLE",
                   help="race diagram style: " + ", ".join(_styles()) + " (default: full)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="results directory (default: results/compare-BASE-NEW-<time>)")
    p.add_argument("--jobs", type=int, metavar="N", help="models checked at once (default: "
                   "cores + 1)")
    p.add_argument("--timeout", type=parse_timeout, default=600.0, metavar="S",
                   help=f"timeout of one TLC run in seconds ({TIMEOUT_RANGE}; default: 600)")
    p.add_argument("--jar", metavar="PATH", help="tla2tools.jar to use instead of the bundled one")
    p.add_argument("--no-cache", action="store_true", help="run TLC even for unchanged models")
    p.add_argument("--cache-dir", type=Path, default=RESULTS / ".cache", metavar="DIR",
                   help="where cached TLC runs live (default: results/.cache)")
    p.set_defaults(run=run)


def comparable(table: dict, protocols: tuple) -> bool:  # type: ignore[type-arg]
    """A scenario both protocols can be compared on by default: not a negative control (a
    deliberately broken variant, `mutation`), and no option of a protocol other than theirs
    (e.g. per_vma's `ablation`)."""
    from gen.model import MODEL_KEYS

    if table.get("mutation", "none") != "none":
        return False
    options = [{o.name for o in p.options} for p in protocols]
    return all(k in MODEL_KEYS or all(k in o for o in options) for k in table)


def models_to_compare(args: argparse.Namespace) -> list:  # type: ignore[type-arg]
    """BASE's and NEW's model of every chosen scenario, validated before anything runs."""
    from gen.protocols import discover, lookup
    from gen.scenarios import (
        check_scenario_name,
        load_scenarios,
        matrix_expectations,
        pair_model,
        protocol_parameters,
    )
    from runner.errors import ConfigError

    protocols = discover(args.protocols)
    base = lookup(protocols, args.base, "BASE")
    new = lookup(protocols, args.new, "NEW")
    if base.name == new.name:
        raise ConfigError(f"BASE and NEW are both {base.name}: compare two protocols")
    scenarios = load_scenarios(args.scenario_file)
    names = args.scenarios or [n for n, t in scenarios.items() if comparable(t, (base, new))]
    for n in names:
        check_scenario_name(n, scenarios, "--scenarios")
    matrix = Path(args.matrix)
    models = []
    for s in names:
        base_expect = matrix_expectations(matrix, base.name, s) if matrix.is_file() else None
        for proto in (base.name, new.name):
            params = protocol_parameters(matrix, proto, s) if matrix.is_file() else {}
            expect = matrix_expectations(matrix, proto, s) if matrix.is_file() else None
            if expect is None:  # a pair the matrix does not list: as BASE is expected to do
                expect = base_expect or []
            models.append(pair_model(proto, s, scenarios[s], protocols=protocols,
                                     scenarios_path=args.scenario_file, where=str(matrix),
                                     parameters=params, parameters_where=f"{matrix}: {proto}",
                                     violated=expect))
    return models


def run(args: argparse.Namespace) -> int:
    import json

    from runner.cache import Cache
    from runner.check import check_models, default_jobs, write_atomic
    from runner.errors import ConfigError
    from runner.java import locate_tools
    from runner.report import comparison, write_all

    if args.style not in _styles():
        raise ConfigError(f"--style {args.style}: one of {', '.join(_styles())}")
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError("--jobs: must be at least 1")
    if not args.timeout > 0:
        raise ConfigError("--timeout: must be positive")
    models = models_to_compare(args)
    tools = locate_tools(args.jar)
    out = args.out or RESULTS / time.strftime(f"compare-{args.base}-{args.new}-%Y%m%d-%H%M%S")
    cache = None if args.no_cache else Cache(args.cache_dir)
    jobs = args.jobs or default_jobs()
    print(f"mmcheck: comparing {args.base} with {args.new} on {len(models) // 2} scenarios "
          f"({len(models)} models, {jobs} at a time) into {out}", flush=True)
    lock = threading.Lock()
    done = [0]

    def on_event(kind: str, model, text: str) -> None:  # type: ignore[no-untyped-def]
        with lock:
            if kind == "done":
                done[0] += 1
                print(f"[{done[0]}/{len(models)}] {model.name} done", flush=True)

    results = check_models(models, out, tools, jobs=jobs, timeout=args.timeout, cache=cache,
                           on_event=on_event)
    summary = {"models": [r.to_dict() for r in results]}
    write_atomic(out / "results.json", json.dumps(summary, indent=2) + "\n")
    write_all(out)
    c = comparison.compare(args.base, args.new, results)
    for fmt, name in comparison.FILES.items():
        write_atomic(out / name, comparison.render(c, fmt, args.style))
    print()
    print(comparison.render_text(c, 100, args.style), end="")
    print(f"\nreports in {out}: compare.txt (the review attachment), compare.md, "
          f"compare.html;\nreport.html and <model>/attachment.txt for every model")
    return c.status
