"""mmcheck completion: print a shell completion script (bash, zsh or tcsh), made by shtab
from mmcheck's own argument parser, so it completes every command, option and choice."""
from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh", "tcsh")
EXAMPLES = """\
examples:
  mmcheck completion bash > ~/.local/share/bash-completion/completions/mmcheck
  mmcheck completion zsh > "${fpath[1]}/_mmcheck"
  eval "$(mmcheck completion bash)"     # this shell only"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh, tcsh)",
                       description=__doc__)
    p.add_argument("shell", choices=SHELLS, help="the shell: bash, zsh or tcsh")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import shtab

    from runner.cli import build_parser

    print(shtab.complete(build_parser(None), shell=args.shell))
    return 0
