"""mmcheck completion: print a shell completion script (bash, zsh or tcsh), made by shtab
from mmcheck's own argument parser, so it completes every command, option and choice.  In
bash and zsh, protocol, actor (`compare --kinds`), scenario and model names complete too (asked of `mmcheck list
--names` as you type, so protocols of $MMCHECK_PROTOCOLS are among them)."""
from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh", "tcsh")
KINDS = ("protocols", "actors", "scenarios", "models")
PREAMBLE = {
    "bash": "\n".join(f'_mmcheck_{k}() {{ compgen -W "$(mmcheck list --names {k} 2>/dev/null)"'
                      f' -- "$1"; }}' for k in KINDS),
    "zsh": "\n".join(f"_mmcheck_{k}() {{ local -a names; names=(${{(f)\"$(mmcheck list "
                     f"--names {k} 2>/dev/null)\"}}); _describe {k} names }}" for k in KINDS),
}
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

    print(shtab.complete(build_parser(None), shell=args.shell,
                         preamble=PREAMBLE))  # type: ignore[arg-type]  # a dict is documented
    return 0
