"""mmcheck compare BASE NEW: check both protocols on every scenario (specs/scenarios.toml)
and print what a reviewer needs: the properties NEW fixes, the ones it breaks (with the
counterexample), the ones both violate, and the write-hold figures side by side.

The properties are in categories (memory safety, semantics, latency, liveness); latency
(WriteHoldBound) is a number per scenario, never a break.  Every "holds" is shown with its
bound; a model that failed says why; where both violate a property by different races,
NEW's counterexample is drawn; kernel-era differences of the two templates are warned of.
cover-letter.txt says it all for mail (--cover-letter prints it).

Exit status: 0 NEW breaks nothing BASE holds (latency aside); 1 it breaks something; 2 a
verdict could not be decided (error, timeout) and nothing is broken, or a report could not
be written.  A
protocol is checked on a scenario with the parameters the committed matrix
(specs/matrix.toml) gives it there, if any.  The comparison goes to stdout; progress and
diagnostics to stderr."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from gen.actors import builtin as builtin_actors
from gen.exhaustive import DEFAULT_KINDS, DEFAULT_PAGES, DEFAULT_THREADS, PTES_PER_TABLE
from gen.properties import CATEGORIES
from gen.scenarios import DEFAULT_MATRIX, DEFAULT_SCENARIOS
from runner.errors import ConfigError, MmcheckError, OutputError
from runner.limits import MAIL_WIDTH, TIMEOUT_RANGE, WIDTH, add_width, parse_jobs, parse_timeout
from runner.progress import (
    Console,
    Tally,
    add_verbosity,
    count,
    model_callbacks,
    progress_callback,
)
from runner.rundir import (
    KEEP_RUNS,
    KEEP_RUNS_ENV,
    RESULTS,
    default_out,
    link_latest,
    under_results,
)

if TYPE_CHECKING:
    from runner.check import ModelResult

DECIDED = ("holds", "violated")
# The race diagram styles (runner.report.kernel.STYLES, for the help) written out so that
# `mmcheck compare --help` need not import the report code; tests/test_compare.py checks
# that they are the same.
STYLES = {"kernel": "as a commit message draws it, the steps that matter, then every step",
          "full": "every step"}


EXAMPLES = """\
examples:
  mmcheck compare detach_posted detach_merged          # every scenario, both protocols
  mmcheck compare detach_merged detach_fixed --exhaustive   # every layout of <= 2 pages
  mmcheck compare detach_merged detach_fixed --exhaustive --max-pages 3 --kinds fault mmap_fixed
  mmcheck compare detach_merged detach_fixed --exhaustive --scheduler tcp://10.0.0.5:8786
  mmcheck compare baseline vm_dead --scenarios fault mmap-fixed --style kernel
  mmcheck compare vm_dead my_proto --protocols my-templates/"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="check two protocols on every scenario and show what "
                       "NEW fixes and breaks", description=__doc__,
                       usage="mmcheck compare BASE NEW [--scenarios NAME ... | --exhaustive] "
                             "[options]",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    # nargs="?": `--scenarios a b BASE NEW` (the list first) is read as the user meant it;
    # see positionals()
    p.add_argument("base", metavar="BASE", nargs="?", help="the protocol to compare against")
    p.add_argument("new", metavar="NEW", nargs="?", help="the proposed protocol")
    p.add_argument("--scenarios", nargs="+", metavar="NAME",
                   help="only these scenarios (default: every scenario of the scenario file "
                        "but the negative controls and those setting another protocol's "
                        "option); before or after BASE NEW")
    p.add_argument("--properties", nargs="+", metavar="NAME",
                   help="check and compare only these properties or categories ("
                        + ", ".join(CATEGORIES) + "; default: all)")
    p.add_argument("--exhaustive", action="store_true",
                   help="instead of the scenario file: every scenario up to a bound (every "
                        "layout of VMAs over the pages, with no flag or one the protocols "
                        "care about, populated or not; every munmap range; up to K other "
                        "threads), equivalent ones removed, smallest first")
    p.add_argument("--max-pages", type=int, default=DEFAULT_PAGES, metavar="N",
                   help=f"--exhaustive: pages (default: {DEFAULT_PAGES})")
    p.add_argument("--max-threads", type=int, default=DEFAULT_THREADS, metavar="K",
                   help=f"--exhaustive: other threads at most (default: {DEFAULT_THREADS})")
    p.add_argument("--ptes-per-table", type=int, default=PTES_PER_TABLE, metavar="P",
                   help=f"--exhaustive: ptes per page-table page (default: {PTES_PER_TABLE}: "
                        "every page its own table, so a page table is freed by a munmap of "
                        "one page)")
    p.add_argument("--kinds", nargs="+", default=list(DEFAULT_KINDS), metavar="KIND",
                   help="--exhaustive: the kinds of the other threads (default: "
                        f"{' '.join(DEFAULT_KINDS)}; any actor: "
                        f"{', '.join(builtin_actors())} or one of --protocols DIR; "
                        "all: every one of them)")
    p.add_argument("--scenario-file", default=DEFAULT_SCENARIOS, metavar="FILE",
                   help=f"the scenarios (default: {DEFAULT_SCENARIOS})")
    p.add_argument("--matrix", default=DEFAULT_MATRIX, metavar="FILE",
                   help=f"parameters and expectations per pair (default: {DEFAULT_MATRIX})")
    p.add_argument("--protocols", action="append", default=[], metavar="DIR",
                   help="also look for protocol templates in DIR (repeatable)")
    p.add_argument("--style", choices=tuple(STYLES), default="kernel", metavar="STYLE",
                   help="the race diagram of each counterexample: "
                        + "; ".join(f"{k} ({v})" for k, v in STYLES.items())
                        + " (default: kernel, as the attachments draw them)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="results directory (default: results/compare-BASE-NEW-<time>); one "
                        "run at a time per directory")
    p.add_argument("--jobs", type=parse_jobs, metavar="N", help="models checked at once (default: "
                   "cores + 1)")
    p.add_argument("--timeout", type=parse_timeout, default=600.0, metavar="S",
                   help=f"per TLC run: seconds before one TLC run (a model has 1 to 3) is "
                        f"stopped ({TIMEOUT_RANGE}; default: 600)")
    add_width(p, "comparison (stdout and compare.txt; the cover letter: 72)")
    p.add_argument("--cover-letter", action="store_true",
                   help="print the cover letter (what was checked, the bounds, what holds, "
                        "what breaks, one diagram; 72 columns) instead of the whole "
                        "comparison; it is always written to cover-letter.txt")
    p.add_argument("--jar", metavar="PATH", help="tla2tools.jar to use instead of the bundled one")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="check the models on the Dask cluster whose scheduler is at ADDR "
                        "(e.g. tcp://host:8786), one task per model as a sweep's points "
                        "(--jobs: models at once, default: the workers' threads; --timeout "
                        "then bounds each model)")
    p.add_argument("--no-cache", action="store_true", help="run TLC even for unchanged models")
    p.add_argument("--cache-dir", type=Path, default=RESULTS / ".cache", metavar="DIR",
                   help="where cached TLC runs live (default: results/.cache)")
    p.add_argument("--keep-runs", type=int, metavar="N",
                   help=f"results/ keeps the latest N compare-BASE-NEW-<time> directories "
                        f"(and N run-<time> ones), removing older ones (default: "
                        f"${KEEP_RUNS_ENV}, else {KEEP_RUNS}; 0 keeps all)")
    add_verbosity(p)
    p.set_defaults(run=run)


def positionals(args: argparse.Namespace) -> None:
    """BASE and NEW given after `--scenarios a b` were taken as scenarios: take them back
    (the last names of the list, as many as are missing), leaving at least one scenario."""
    missing = [k for k in ("base", "new") if getattr(args, k) is None]
    if missing and args.scenarios and len(args.scenarios) > len(missing):
        taken = args.scenarios[-len(missing):]
        args.scenarios = args.scenarios[:-len(missing)]
        for k, v in zip(missing, taken):
            setattr(args, k, v)
    if args.base is None or args.new is None:
        raise ConfigError("compare: give BASE and NEW, the two protocols (mmcheck compare "
                          "BASE NEW [--scenarios NAME ...]; see mmcheck compare --help)")


def eras(protocols: tuple) -> list[tuple[str, str, str, tuple[str, ...]]]:  # type: ignore[type-arg]
    """The kernel-era features in which BASE's and NEW's templates differ (gen.eras), with
    what they touch (gen.eras.FEATURES), for comparison.compare."""
    from gen import eras as era_of

    base, new = (era_of.era(p) for p in protocols)
    return [(era_of.FEATURES[k][0], b, n, era_of.FEATURES[k][1])
            for k, b, n in era_of.differences(base, new)]


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


def exhaustive_models(args: argparse.Namespace) -> tuple[list, str]:  # type: ignore[type-arg]
    """BASE's and NEW's model of every scenario up to the bound (gen.exhaustive), smallest
    first, and the scope line of the comparison."""
    from gen import exhaustive
    from gen.protocols import BUILTIN, discover, lookup
    from gen.scenarios import pair_model, protocol_parameters

    for name, value, lo, hi in (("--max-pages", args.max_pages, 1, exhaustive.MAX_PAGES),
                                ("--max-threads", args.max_threads, 0, exhaustive.MAX_THREADS),
                                ("--ptes-per-table", args.ptes_per_table, 1, 512)):
        if not lo <= value <= hi:
            raise ConfigError(f"{name}: must be from {lo} to {hi}, not {value}")
    if args.scenarios:
        raise ConfigError("--scenarios: not with --exhaustive (it checks every scenario up "
                          "to the bound)")
    protocols = discover(args.protocols)
    base = lookup(protocols, args.base, "BASE")
    new = lookup(protocols, args.new, "NEW")
    if base.name == new.name:
        raise ConfigError(f"BASE and NEW are both {base.name}: compare two protocols")
    library = BUILTIN / "mm.j2"
    flags = exhaustive.cared_flags(base.template.read_text(encoding="utf-8"),
                                   new.template.read_text(encoding="utf-8"),
                                   library.read_text(encoding="utf-8"))
    if args.kinds == ["all"]:
        args.kinds = list(protocols.actors.found)
    for k in args.kinds:
        if k not in protocols.actors:
            raise ConfigError(f"--kinds {k}: unknown actor (one of: {protocols.actors.names()})")
    bound = exhaustive.Bound(args.max_pages, args.max_threads, args.ptes_per_table,
                             tuple(args.kinds))
    try:
        tables = exhaustive.scenarios(bound, flags, limit=exhaustive.MAX_SCENARIOS,
                                      actors=protocols.actors)
    except exhaustive.TooMany as e:
        raise ConfigError(f"--exhaustive: {e} (at most {exhaustive.MAX_SCENARIOS}): lower "
                          f"--max-pages or --max-threads, or give fewer --kinds") from None
    matrix = Path(args.matrix)
    models = []
    for i, table in enumerate(tables, start=1):
        s = exhaustive.scenario_name(i, len(tables))
        for proto in (base.name, new.name):
            params = protocol_parameters(matrix, proto, s) if matrix.is_file() else {}
            models.append(pair_model(proto, s, table, protocols=protocols,
                                     scenarios_path="--exhaustive", where="--exhaustive",
                                     parameters=params, parameters_where=f"{matrix}: {proto}"))
    shown = ", ".join(flags) or "no flag"
    scope = (f"exhaustive over {bound.describe()} ({len(tables)} scenarios; VMA flags: "
             f"{shown}; thread kinds: {', '.join(args.kinds)}; {args.ptes_per_table} "
             f"pte{'s' if args.ptes_per_table > 1 else ''} per page table)")
    return models, scope


def run(args: argparse.Namespace) -> int:
    from gen.properties import select as select_properties
    from runner.cache import Cache
    from runner.check import check_models, default_jobs
    from runner.files import write_atomic
    from runner.java import locate_tools
    from runner.report import comparison, write_all
    from runner.report.stored import load_run
    from runner.rundir import keep_runs, locked, prune_runs

    console = Console(args.verbosity)
    positionals(args)
    properties = select_properties(args.properties) if args.properties else None
    if not args.timeout > 0:
        raise ConfigError("--timeout: must be positive")
    keep = keep_runs(args.keep_runs)
    scope = ""
    if args.exhaustive:
        models, scope = exhaustive_models(args)
    else:
        models = models_to_compare(args)
    tools = locate_tools(args.jar)
    cache = None if args.no_cache else Cache.open(args.cache_dir)
    jobs = args.jobs or default_jobs()
    # a template error: nothing written yet.  Without --scenarios, a scenario one of the
    # two cannot model (e.g. madvise lock = "vma", 6.17's, with a 4.x protocol) is left out.
    models, rendered, left_out = render_pairs(models, optional=not args.scenarios)
    for scenario_name, why in left_out:
        console.info(f"mmcheck: left out scenario {scenario_name}: {why}")
    client = None
    if args.scheduler:
        if properties is not None:
            raise ConfigError("--scheduler: not with --properties (a model on the cluster is "
                              "checked for every property)")
        from runner.sweep.cluster import connect

        client = connect(args.scheduler)  # an unreachable cluster: nothing written yet
    with locked(args.out or default_out(f"compare-{args.base}-{args.new}")) as out:
        console.info(f"mmcheck: comparing {args.base} with {args.new} on {len(models) // 2} "
                     f"scenarios ({count(len(models), 'model')}, {min(jobs, len(models) or 1)} at a "
                     f"time) into {out}" + (f"; {scope}" if scope else ""))
        tally = Tally(total=len(models), jobs=min(jobs, len(models) or 1), noun="models")
        on_event, on_result = model_callbacks(console, tally, outcome)
        try:
            if client is not None:
                from runner.sweep.models import check_on_cluster

                results = check_on_cluster(client, models, out, jar=args.jar,
                                           timeout=args.timeout,
                                           cache_dir=cache.dir if cache else None,
                                           jobs=args.jobs, on_event=on_event,
                                           on_result=on_result, on_note=console.warn)
            else:
                results = check_models(models, out, tools, jobs=jobs, timeout=args.timeout,
                                       cache=cache, on_event=on_event, on_result=on_result,
                                       rendered=rendered, properties=properties,
                                       on_progress=progress_callback(console, tally))
        except KeyboardInterrupt:
            console.status.close()
            console.warn(f"mmcheck: stopped: {tally.done} of {count(len(models), 'model')} finished; "
                         f"their results are in {out}/<model>/result.json")
            raise
        finally:
            console.status.close()
            if client is not None:
                client.close()
        summary = {"models": [r.to_dict() for r in results],
                   "compare": {"base": args.base, "new": args.new}}
        write_atomic(out / "results.json", json.dumps(summary, indent=2) + "\n")
        # The comparison is drawn from the results as stored (TLA+ sets and sequences as
        # JSON lists), the input of every attachment: the same trace, the same diagram and
        # root cause, on stdout as in <model>/attachment.txt.
        results = list(load_run(out).results)
        c = comparison.compare(args.base, args.new, results, scope,
                               eras((models[0].definition, models[1].definition))
                               if len(models) > 1 else (), left_out)
        width = args.width or WIDTH
        for fmt, name in comparison.FILES.items():  # the comparison first: what was asked
            write_atomic(out / name, comparison.render(
                c, fmt, args.style, width if fmt != "letter" else args.width or MAIL_WIDTH))
        report_error = None
        try:
            write_all(out, but=("json",))  # results.json: just written
        except OutputError as e:  # e.g. a model's directory: the rest is written
            report_error = e
    link_latest(out)  # `mmcheck report results/latest` rebuilds a compare run too
    removed = prune_runs(RESULTS, keep, current=out) if under_results(out) else []
    status = c.status
    if args.cover_letter:
        console.result(comparison.render_letter(c, args.width or MAIL_WIDTH).rstrip("\n"))
    else:
        console.result(comparison.render_text(c, width, args.style).rstrip("\n"))
    if report_error is not None:
        console.warn(f"mmcheck: error: a report could not be written: {report_error}")
        status = 2
    console.info(f"reports in {out}/: compare.txt (the review attachment), cover-letter.txt, "
                 f"compare.md, compare.html; report.html and <model>/attachment.txt for every model")
    if removed:
        console.info(f"results/ keeps the latest {keep} runs of each kind (--keep-runs N or "
                     f"${KEEP_RUNS_ENV}; 0 keeps all): removed {len(removed)} older one"
                     + ("s" if len(removed) > 1 else "") + f" ({removed[-1].name} ...)")
    if cache is not None and cache.write_errors:
        console.warn(f"mmcheck: warning: {len(cache.write_errors)} cache entries could not be "
                     f"written ({cache.write_errors[0]})")
    return status


def render_pairs(models: list, optional: bool  # type: ignore[type-arg]
                 ) -> tuple[list, dict, list[tuple[str, str]]]:  # type: ignore[type-arg]
    """Render BASE's and NEW's model of each scenario (they come in pairs); `optional`: a
    pair whose template refuses the scenario (a ConfigError) is left out, and said why,
    instead of stopping the run."""
    from gen.render import render
    from runner.errors import TemplateError

    kept, rendered, left_out = [], {}, []
    first: MmcheckError | None = None
    for base, new in zip(models[0::2], models[1::2]):
        try:
            pair = {m.name: render(m) for m in (base, new)}
        except (ConfigError, TemplateError) as e:
            if not optional:
                raise
            first = first or e
            left_out.append((base.name[len(base.protocol) + 1:], str(e)))
            continue
        kept += [base, new]
        rendered.update(pair)
    if first is not None and not kept:  # every scenario: a broken template, not a refusal
        raise first
    return kept, rendered, left_out


def outcome(r: ModelResult) -> str:
    """A model's result in a few words, for the progress line: what it violates."""
    undecided = [v for v in r.verdicts.values() if v.verdict not in DECIDED]
    if undecided:
        return f"{len(undecided)} {'/'.join(sorted({v.verdict for v in undecided}))}"
    violated = [p for p, v in r.verdicts.items() if v.verdict == "violated"]
    return f"violates {', '.join(violated)}" if violated else "everything holds"
