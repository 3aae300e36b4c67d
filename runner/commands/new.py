"""mmcheck new: write a starting template for a protocol (or, with --actor, a thread kind)
of your own, a copy of an existing one with its front matter renamed; `mmcheck list
--protocols DIR` then shows it."""
from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """\
examples:
  mmcheck new my_proto --from detach_merged --dir my-templates/
  mmcheck list --protocols my-templates/
  mmcheck compare detach_merged my_proto --protocols my-templates/
  mmcheck new --actor my_walker --from follow_pte --dir my-templates/"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="write a starting template for a new protocol or actor",
                       description=__doc__ + " Then edit its description, kernel reference and "
                       "steps (mmcheck steps lists them), and try it with mmcheck compare.")
    p.add_argument("name", metavar="NAME", nargs="?",
                   help="the new protocol's name (letters, digits, '_')")
    p.add_argument("--actor", metavar="NAME",
                   help="write a new actor (thread kind) NAME.actor.j2 instead of a protocol")
    p.add_argument("--from", dest="source", default=None, metavar="PROTOCOL|KIND",
                   help="the protocol to start from (default: baseline), or with --actor the "
                        "actor (default: fault)")
    p.add_argument("--dir", type=Path, default=Path("."), metavar="DIR",
                   help="where to write NAME.tla.j2 or NAME.actor.j2 (default: the current "
                        "directory)")
    p.add_argument("--protocols", action="append", default=[], metavar="DIR",
                   help="also look for the --from protocol or actor in DIR (repeatable)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
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

    if (args.name is None) == (args.actor is None):
        raise ConfigError("new: give a protocol NAME or --actor NAME (one of the two)")
    if args.actor is not None:
        return _actor(args)
    args.source = args.source or "baseline"
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


def _actor(args: argparse.Namespace) -> int:
    from gen.actors import SUFFIX, parse_actor, starting_template
    from gen.frontmatter import NAME
    from gen.frontmatter import show as _show
    from gen.protocols import discover
    from runner.errors import ConfigError
    from runner.files import write_atomic

    name, source_name = args.actor, args.source or "fault"
    if not NAME.match(name):
        raise ConfigError(f"--actor {name!r}: an actor name is letters, digits and '_', "
                          f"starting with a letter (it names its threads and labels)")
    if not args.dir.is_dir():
        raise ConfigError(f"--dir {args.dir}: no such directory")
    actors = discover([*args.protocols, args.dir]).actors
    if source_name not in actors:
        raise ConfigError(f"--from: unknown actor {source_name!r} (one of: {actors.names()}; "
                          f"for one of your own: --protocols DIR)")
    if name in actors and actors[name].builtin:
        raise ConfigError(f"--actor {name}: a built-in actor has that name (a file of yours "
                          f"would hide it: choose another name)")
    source = actors[source_name]
    if source.name == "munmap":
        raise ConfigError("--from munmap: the munmap actor runs the protocol's own munmap_body "
                          "(a new munmap is a protocol: mmcheck new NAME --from PROTOCOL); "
                          "start an actor from another kind")
    target = args.dir / f"{name}{SUFFIX}"
    if target.exists() and not args.force:
        raise ConfigError(f"{_show(target)}: exists already (--force overwrites it)")
    text = starting_template(source, name)
    parse_actor(target, text, builtin=False)  # what we write must be a valid actor
    write_atomic(target, text)
    d = _show(args.dir)
    print(f"wrote {_show(target)} (a copy of {source.name}); next:")
    print("  edit its front matter (description, kernel, keys) and its process macro "
          "(mmcheck steps); rename any operator its definitions() macro defines")
    print(f"  mmcheck list --protocols {d}")
    print(f"  a scenario with threads = [ {{ kind = \"{name}\", ... }} ], then "
          f"mmcheck compare BASE NEW --protocols {d}")
    return 0
