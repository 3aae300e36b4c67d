"""mmcheck steps: the step vocabulary of protocol templates, the macros of the shared mm.j2,
each with the kernel function it models, the lock it expects and what it changes (from
the macros' own doc comments, so it cannot drift from them).  With --state: the state
they work on, every variable and operator of base.tla.j2 with what it means and the
kernel object it stands for (from base.tla.j2's doc comments)."""
from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from gen.protocols import BUILTIN
from runner.limits import WIDTH, add_width

EXAMPLES = """\
examples:
  mmcheck steps                     # every step macro of the shared mm model
  mmcheck steps zap_loop detach     # two of them
  mmcheck steps --file my-mm.j2     # the macros of a shared model of your own
  mmcheck steps --state             # the variables and operators steps read and write
  mmcheck steps --state vmas pte    # two of them"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "steps", help="list the steps (mm.j2 macros) a protocol template is written with",
        description=__doc__ + " Exit 1 if a macro lacks a complete doc comment.")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="only these macros (with --state: variables or operators)")
    p.add_argument("--state", action="store_true",
                   help="the state vocabulary instead: every variable and operator of "
                        "base.tla.j2 and of the built-in actors' own state (NAME.actor.j2), "
                        "what it means and the kernel object it stands for")
    p.add_argument("--file", type=Path, default=None, metavar="FILE",
                   help="the macro file (default: the built-in specs/templates/mm.j2; with "
                        "--state, specs/templates/base.tla.j2)")
    add_width(p, "listing")
    p.set_defaults(run=run)


def _field(key: str, text: str, width: int) -> list[str]:
    head = f"    {key:<8} "
    return textwrap.wrap(text, width, initial_indent=head, subsequent_indent=" " * len(head),
                         break_on_hyphens=False) or [head.rstrip()]


def _head(name: str, where: str, width: int) -> str:
    """`name`, then `where` flush right; on lines of their own when they do not fit."""
    if len(name) + 1 + len(where) <= width:
        return name + " " * (width - len(name) - len(where)) + where
    lines = textwrap.wrap(name, width, subsequent_indent="  ", break_on_hyphens=False)
    return "\n".join(lines + [where.rjust(width)])


def run(args: argparse.Namespace) -> int:
    from gen.macros import load
    from gen.protocols import _show
    from runner.errors import ConfigError

    width = args.width or WIDTH
    if args.state:
        return run_state(args)
    args.file = args.file or BUILTIN / "mm.j2"
    try:
        docs = load(args.file)
    except ConfigError as e:
        raise ConfigError(f"--file {e}") from None
    known = [d.name for d in docs]
    for n in args.names:
        if n not in known:
            raise ConfigError(f"{n}: no such macro in {_show(args.file)} (its macros: "
                              f"{', '.join(known)})")
    shown = [d for d in docs if not args.names or d.name in args.names]
    intro = (f"The steps of {_show(args.file)}: a protocol template calls each as "
             f"{{{{ mm.NAME(P, ...) }}}}, P being the thread's label prefix (the labels below "
             f"start with it). lock: what the thread holds of mmap_sem when the step starts -> "
             f"when it ends.")
    print("\n".join(textwrap.wrap(intro, width, break_on_hyphens=False)))
    incomplete = []
    for d in shown:
        print()
        head = f"{d.name}({d.args})"
        where = f"{args.file.name}:{d.line}"
        print(_head(head, where, width))
        for line in textwrap.wrap(d.summary or "(no summary)", width - 4, initial_indent="    ",
                                  subsequent_indent="    "):
            print(line)
        for key in ("kernel", "lock", "changes", "args"):
            if d.fields.get(key):
                for line in _field(key, d.fields[key], width):
                    print(line)
        if d.labels:
            for line in _field("labels", ", ".join(d.labels), width):
                print(line)
        if d.calls:
            for line in _field("uses", ", ".join(d.calls), width):
                print(line)
        if d.missing():
            incomplete.append(d)
            print(f"    MISSING  {', '.join(d.missing())}")
    for d in incomplete:
        what = ("has no doc comment" if d.doc_name is None
                else f"its doc comment lacks {', '.join(d.missing())}")
        print(f"mmcheck: {_show(args.file)}:{d.line}: macro {d.name} {what} (see "
              f"docs/writing-protocols.md)", file=sys.stderr)
    return 1 if incomplete else 0


def run_state(args: argparse.Namespace) -> int:
    """The variables and operators of base.tla.j2 (or --file), from their doc comments."""
    width = args.width or WIDTH
    from gen.protocols import _show
    from gen.vocabulary import entries, vocabulary
    from runner.errors import ConfigError

    path = args.file or BUILTIN / "base.tla.j2"
    try:
        found = entries(path.read_text(encoding="utf-8"), path.name) if args.file else \
            vocabulary(BUILTIN)
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or err
        raise ConfigError(f"--file {_show(path)}: cannot read ({reason})") from None
    known = [e.name for e in found]
    for n in args.names:
        if n not in known:
            raise ConfigError(f"{n}: no such variable or operator in {_show(path)} (see "
                              f"`mmcheck steps --state`)")
    shown = [e for e in found if not args.names or e.name in args.names]
    intro = (f"The state of {_show(path)}: the variables the steps (mmcheck steps) read and "
             f"write, indexed by thread where it says 'per thread' (x[self] in a step), and "
             f"the operators a template may use in a condition or an assignment. kernel: the "
             f"kernel object it stands for ('none': the model's own bookkeeping). only: it "
             f"exists when that template setting holds.")
    print("\n".join(textwrap.wrap(intro, width, break_on_hyphens=False)))
    for kind, title in (("variable", "Variables"), ("operator", "Operators")):
        group = [e for e in shown if e.kind == kind]
        if not group:
            continue
        print(f"\n{title}")
        for e in group:
            where = f"{e.file}:{e.line}"
            print("\n" + _head(e.signature, where, width))
            for line in textwrap.wrap(e.summary or "(no doc comment)", width - 4,
                                      initial_indent="    ", subsequent_indent="    ",
                                      break_on_hyphens=False):
                print(line)
            for key, text in (("kernel", e.kernel), ("only", e.only)):
                if text:
                    for line in _field(key, text, width):
                        print(line)
            if e.missing():
                print(f"    MISSING  {', '.join(e.missing())}")
    incomplete = [e for e in found if e.missing()]
    for e in incomplete:
        print(f"mmcheck: {_show(path.parent / e.file)}:{e.line}: {e.kind} {e.name} lacks {', '.join(e.missing())} "
              f"(see docs/vocabulary.md)", file=sys.stderr)
    return 1 if incomplete else 0
