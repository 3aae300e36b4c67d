"""mmcheck report: regenerate a run's reports from its stored results, without running TLC."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runner.limits import add_width

FORMATS = ("md", "html", "txt", "json", "junit")
EXAMPLES = """\
examples:
  mmcheck report results/latest                       # every report, rewritten
  mmcheck report results/latest --format md --stdout  # the matrix as Markdown
  mmcheck report results/latest --format txt --model vm_dead-fault --stdout"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="regenerate a run's reports (attachments, report.md/.html, "
        "results.json, junit.xml) from its stored results",
        description="Regenerate the reports of RUN_DIR (written by mmcheck check) from its "
                    "results.json, without running TLC: <model>/attachment.txt (txt), "
                    "report.md (md), report.html (html), results.json (json), junit.xml "
                    "(junit); all of them without --format. Exit status as for mmcheck "
                    "check: 0 every verdict as expected, 1 one differs, 2 one is undecided.")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--format", choices=FORMATS, action="append", metavar="FMT",
                   help="md, html, txt, json or junit (repeatable; default: all)")
    p.add_argument("--model", action="append", default=[], metavar="NAME",
                   help="txt: only this model's attachment (repeatable)")
    p.add_argument("--stdout", action="store_true",
                   help="print the report(s) instead of writing files")
    p.add_argument("--style", choices=("kernel", "full"), metavar="STYLE",
                   help="print every counterexample's race diagram instead (of the --model "
                        "models): kernel (as a commit message draws it, the steps that "
                        "matter) or full (every step); writes nothing")
    add_width(p, "race diagrams of --style (the files keep 80 columns: the attachment)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from runner import report
    from runner.errors import ConfigError
    from runner.limits import WIDTH
    from runner.report.matrix import counts
    from runner.report.stored import load_run

    stored = load_run(args.run_dir)
    known = {r.model.name for r in stored.results}
    for name in args.model:
        if name not in known:
            raise ConfigError(f"--model {name}: no such model in {args.run_dir}")
    if args.style:
        if args.format:
            raise ConfigError("--style prints race diagrams and writes nothing: "
                              "give it without --format")
        from runner.report.kernel import render_counterexamples

        chosen = [r for r in stored.results if not args.model or r.model.name in args.model]
        sys.stdout.write(render_counterexamples(chosen, args.style, args.width or WIDTH)
                         or "No counterexample to draw.\n")
        return counts(stored.results).status
    formats = args.format or list(FORMATS)
    for fmt in formats:
        if args.stdout:
            for text in report.render(stored, fmt, args.model).values():
                sys.stdout.write(text)
        else:
            for path in report.write(stored, fmt, args.model).values():
                print(f"wrote {path}")
    return counts(stored.results).status
