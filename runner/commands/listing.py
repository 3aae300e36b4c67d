"""mmcheck list: the protocols, thread kinds and properties, a line each."""
from __future__ import annotations

import argparse

from gen.model import PROPERTIES, PROPERTY_DESCRIPTIONS, PROTOCOL_DESCRIPTIONS, THREAD_DESCRIPTIONS

EXAMPLES = """\
examples:
  mmcheck list                      # what a model file may name
  mmcheck list | grep -A12 Properties"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the protocols, thread kinds and properties",
                       description=__doc__)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    sections = [
        ("Protocols", [(p.value, d) for p, d in PROTOCOL_DESCRIPTIONS.items()]),
        ("Thread kinds", [(k.value, d) for k, d in THREAD_DESCRIPTIONS.items()]),
        ("Properties", [(p, PROPERTY_DESCRIPTIONS[p]) for p in PROPERTIES]),
    ]
    for i, (title, rows) in enumerate(sections):
        if i:
            print()
        print(f"{title}:")
        width = max(len(n) for n, _ in rows)
        for name, desc in rows:
            print(f"  {name:<{width}}  {desc}")
    return 0
