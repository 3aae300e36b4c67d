"""mmcheck list: the protocols (with their options), scenarios, actors (thread kinds, with
their keys) and properties."""
from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from gen.actors import Actor, Key
from gen.model import MUTATION_DESCRIPTIONS, PROPERTIES, PROPERTY_DESCRIPTIONS, read_toml
from gen.properties import CATEGORIES, category
from gen.protocols import BUILTIN, DEFAULT_FAULT_PATH, ENV_VAR, Protocol, _show, discover
from gen.scenarios import DEFAULT_MATRIX, DEFAULT_SCENARIOS, parse_scenarios
from runner.limits import WIDTH, add_width

EXAMPLES = """\
examples:
  mmcheck list                      # what a model file may name
  mmcheck list | grep -A12 Properties
  mmcheck list --names protocols    # one name a line (what shell completion reads)"""

NAMES = ("protocols", "actors", "scenarios", "models", "threads", "properties")  # threads: actors


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "list", help="list the protocols (and their options), actors (thread kinds), "
        "scenarios and properties", description=__doc__ + " Protocols and actors are found in "
        "every --protocols DIR, "
        f"then in ${ENV_VAR} (':'-separated), then in the built-in specs/templates/.")
    p.add_argument("--protocols", action="append", default=[], metavar="DIR",
                   help="also look for protocol and actor templates in DIR (repeatable)")
    p.add_argument("--scenario-file", "--scenarios", dest="scenario_file",
                   default=DEFAULT_SCENARIOS, metavar="FILE",  # --scenarios: the old name
                   help=f"the scenario file to list (default: {DEFAULT_SCENARIOS}), as "
                        "compare's --scenario-file")
    p.add_argument("--names", choices=NAMES, metavar="KIND",
                   help=f"print only the names of one kind, one a line ({', '.join(NAMES)}; "
                        f"models: those of {DEFAULT_MATRIX})")
    add_width(p, "lists")
    p.set_defaults(run=run)


def _rows(rows: list[tuple[str, str]], indent: int = 2, columns: int = WIDTH) -> list[str]:
    width = max(len(n) for n, _ in rows)
    out = []
    for name, desc in rows:
        head = " " * indent + f"{name:<{width}}  "
        out += textwrap.wrap(desc, max(columns, len(head) + 20), initial_indent=head,
                             subsequent_indent=" " * len(head), break_on_hyphens=False) or [head]
    return out


def _protocol_lines(protocols: list[Protocol], width: int, columns: int = WIDTH) -> list[str]:
    out = []
    for p in protocols:
        head = f"  {p.name:<{width}}  "
        pad = " " * len(head)
        out += textwrap.wrap(p.description, columns, initial_indent=head, subsequent_indent=pad)
        notes = [f"kernel: {p.kernel}"]
        if not p.builtin:
            notes.append(f"template: {_show(p.template)}")
        if p.fault_path != DEFAULT_FAULT_PATH:
            notes.append(f"fault path: mm.j2's {p.fault_path}")
        for o in p.options:
            values = " | ".join(str(v) for v in o.values)
            notes.append(f"option {o.name} = {values} (default {o.default}): {o.description}")
        for n in notes:
            out += textwrap.wrap(n, columns, initial_indent=pad, subsequent_indent=pad + "  ",
                                 break_on_hyphens=False)
    return out


def _key_text(k: Key) -> str:
    if k.type == "range":
        what = "start, end: a range of pages"
    elif k.type == "enum":
        what = f"{k.name} = " + " | ".join(f'"{v}"' for v in k.values)
    elif k.type == "int":
        what = f"{k.name}: an integer {k.lo}..{k.hi}"
    else:
        what = f"{k.name}: a {k.type}"
    if k.default is not None:
        shown = str(k.default).lower() if isinstance(k.default, bool) else k.default
        what += f" (default {shown})"
    if k.optional:
        what += " (optional)"
    return what + (f": {k.description}" if k.description else "")


def _actor_lines(actors: list[Actor], width: int, columns: int = WIDTH) -> list[str]:
    out = []
    for a in actors:
        head = f"  {a.name:<{width}}  "
        pad = " " * len(head)
        out += textwrap.wrap(a.description, columns, initial_indent=head, subsequent_indent=pad,
                             break_on_hyphens=False)
        notes = [f"kernel: {a.kernel}"]
        if not a.builtin:
            notes.append(f"template: {_show(a.template)}")
        notes += [f"key {_key_text(k)}" for k in a.keys]
        for n in notes:
            out += textwrap.wrap(n, columns, initial_indent=pad, subsequent_indent=pad + "  ",
                                 break_on_hyphens=False)
    return out


def _names(kind: str, args: argparse.Namespace) -> list[str]:
    if kind == "protocols":
        return list(discover(args.protocols))
    if kind == "scenarios":
        return list(parse_scenarios(read_toml(args.scenario_file, "scenario file"),
                                    args.scenario_file))
    if kind == "models":
        from gen.load import load_models

        return [m.name for m in load_models(DEFAULT_MATRIX, protocols=discover(args.protocols))]
    if kind in ("actors", "threads"):
        return list(discover(args.protocols).actors)
    return list(PROPERTIES)


def run(args: argparse.Namespace) -> int:
    if args.names:
        print("\n".join(_names(args.names, args)))
        return 0
    protocols = discover(args.protocols)
    dirs = ", ".join(_show(d) + ("/" if not str(d).endswith("/") else "") for d in protocols.dirs
                     if Path(d).resolve() != BUILTIN.resolve())
    width = max(len(n) for n in protocols)
    print("Protocols" + (f" (from {dirs}, then the built-in ones)" if dirs else "") + ":")
    columns = args.width or WIDTH
    for line in _protocol_lines(list(protocols.values()), width, columns):
        print(line)
    for p in protocols.hidden:
        print(f"  (hidden: {p.name} of {_show(p.template)}, by the one above)")
    print()
    print(textwrap.fill("Actors (a model's thread kinds; every thread also takes count):", columns))
    actors = protocols.actors
    for line in _actor_lines(list(actors.values()), max(len(n) for n in actors), columns):
        print(line)
    for a in actors.hidden:
        print(f"  (hidden: {a.name} of {_show(a.template)}, by the one above)")
    scenarios = parse_scenarios(read_toml(args.scenario_file, "scenario file"), args.scenario_file)
    sections = [
        (f"Scenarios ({args.scenario_file})",
         [(n, str(t.get("description", ""))) for n, t in scenarios.items()]),
        ("Properties (by category; --properties takes a name or a category)",
         [(p, f"[{category(p)}] {PROPERTY_DESCRIPTIONS[p]}")
          for c in CATEGORIES for p in PROPERTIES if category(p) == c]),
        ("Mutations (mutation = ..., broken variants for negative controls)",
         [(m.value, d) for m, d in MUTATION_DESCRIPTIONS.items()]),
    ]
    for title, rows in sections:
        print()
        print("\n".join(textwrap.wrap(f"{title}:", columns, subsequent_indent="  ")))
        for line in _rows(rows, columns=columns):
            print(line)
    return 0
