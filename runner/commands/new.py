"""mmcheck new: write a starting template for a protocol of your own, a copy of an existing
protocol with its front matter renamed; `mmcheck list --protocols DIR` then shows it."""
from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """\
examples:
  mmcheck new my_proto --from detach_merged --dir my-templates/
  mmcheck list --protocols my-templates/
  mmcheck compare detach_merged my_proto --protocols my-templates/"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="write a starting template for a new protocol",
                       description=__doc__ + " Then edit its description, kernel reference and "
                       "steps (mmcheck steps lists them), and try it with mmcheck compare.")
    p.add_argument("name", metavar="NAME", help="the new protocol's name (letters, digits, '_')")
    p.add_argument("--from", dest="source", default="baseline", metavar="PROTOCOL",
                   help="the protocol to start from (default: baseline)")
    p.add_argument("--dir", type=Path, default=Path("."), metavar="DIR",
                   help="where to write NAME.tla.j2 (default: the current directory)")
    p.add_argument("--protocols", action="append", default=[], metavar="DIR",
                   help="also look for the --from protocol in DIR (repeatable)")
    p.add_argument("--force", action="store_true", help="overwrite an existing NAME.tla.j2")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from gen.protocols import (
        NAME,
        SUFFIX,
        _show,
        discover,
        lookup,
        parse_protocol,
        starting_template,
    )
    from runner.errors import ConfigError
    from runner.files import write_atomic

    if not NAME.match(args.name):
        raise ConfigError(f"{args.name!r}: a protocol name is letters, digits and '_', starting "
                          f"with a letter (it becomes a TLA+ module name)")
    if not args.dir.is_dir():
        raise ConfigError(f"--dir {args.dir}: no such directory")
    protocols = discover([*args.protocols, args.dir])
    source = lookup(protocols, args.source, "--from")
    target = args.dir / f"{args.name}{SUFFIX}"
    if target.exists() and not args.force:
        raise ConfigError(f"{_show(target)}: exists already (--force overwrites it)")
    text = starting_template(source, args.name)
    parse_protocol(target, text, builtin=False)  # what we write must be a valid protocol
    write_atomic(target, text)  # an unwritable --dir is one OutputError, no .tmp left
    d = _show(args.dir)
    print(f"wrote {_show(target)} (a copy of {source.name}); next:")
    print("  edit its front matter (description, kernel) and its munmap_body block "
          "(mmcheck steps)")
    print(f"  mmcheck list --protocols {d}")
    print(f"  mmcheck compare {source.name} {args.name} --protocols {d}")
    return 0
