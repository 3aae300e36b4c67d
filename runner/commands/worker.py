"""`mmcheck worker HOST[:PORT]`: a TLC worker (tlc2.tool.distributed.TLCWorker) for a TLC
server on another host, started there with `mmcheck tlc SPEC --distributed N --host NAME`.
It runs until the server is done (or --timeout), printing the worker's output."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from runner.commands.tlc import _positive_int
from runner.limits import TIMEOUT_RANGE, parse_timeout

EXAMPLES = """\
examples:
  mmcheck tlc Big.tla --distributed 0 --host server.example   # on the server: no local workers
  mmcheck worker server.example                              # on each other machine
  mmcheck worker server.example:10997 --threads 8 --timeout 3600"""


def add_parser(sub: Any) -> None:
    from runner.cli import HelpFormatter

    p = sub.add_parser("worker", help="a TLC worker for a distributed TLC server elsewhere",
                       description=__doc__, epilog=EXAMPLES, formatter_class=HelpFormatter)
    p.add_argument("server", metavar="HOST[:PORT]",
                   help="the server's address as `mmcheck tlc --distributed` printed it "
                        "(port default: TLC's 10997)")
    p.add_argument("--threads", type=_positive_int, metavar="N",
                   help="worker threads (default: the number of cores)")
    p.add_argument("--host", metavar="NAME",
                   help="the name the server reaches this machine by (default: 127.0.0.1 "
                        "for a server on 127.0.0.1, else Java's own choice)")
    p.add_argument("--timeout", type=parse_timeout, metavar="S",
                   help=f"stop after S seconds ({TIMEOUT_RANGE})")
    p.add_argument("--jar", metavar="PATH",
                   help="use this tla2tools.jar (default: $TLA2TOOLS_JAR, else the bundled one)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from runner.distributed import LOCALHOST, parse_address, run_worker
    from runner.java import locate_tools

    host, port = parse_address(args.server)
    tools = locate_tools(args.jar)
    me = args.host or (LOCALHOST if host in (LOCALHOST, "localhost") else None)
    print(f"mmcheck: TLC worker for the server at {host}:{port}"
          + (f", {args.threads} threads" if args.threads else ""), file=sys.stderr, flush=True)
    run = run_worker(tools, host, port, threads=args.threads, rmi_host=me,
                     timeout=args.timeout, on_line=lambda line: print(line, flush=True))
    if run.timed_out:
        print(f"mmcheck: worker stopped after {args.timeout:g} s", file=sys.stderr)
        return 2
    if "work completed" in run.output:
        return 0
    last = next((ln for ln in reversed(run.output.splitlines()) if ln.strip()), "no output")
    print(f"mmcheck: error: the worker did not complete (exit {run.exit_code}): {last[:200]}",
          file=sys.stderr)
    return 2
