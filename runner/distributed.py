"""TLC's distributed mode: a TLCServer holding the state queue and fingerprint set, and
TLCWorkers (threads of their own, on this machine or others) computing successor states,
over Java RMI.  `run_distributed` runs a server and N local workers for one spec, like
runner.tlc.run_tlc; `run_worker` runs one worker for a server elsewhere.

What distributed TLC 2.15 cannot do, as measured here (so callers leave it out and say so):

* temporal properties: the server checks none and still reports "No error has been
  found" (`temporal_properties(cfg)` lists what a config asks for in vain);
* TLCGet/TLCSet: evaluating either fails ("TLCGlobals.simulator is null"), so the mm
  models' WriteHoldReport register (and the spec's `ASSUME TLCSet(1, 0)`) cannot be used;
  `no_registers=True` runs the spec through a wrapper module that replaces TLCSet by TRUE;
* naming a violation: an invariant violation and a deadlock both come as a bare trace
  header ("The behavior up to this point is") without the message that names it, the
  trace lacks its initial state, and the server exits 0.  `judge` turns such a run into a
  violation of the invariants (or deadlock freedom) it checked, without a name or trace.

Both server and workers get private tmpdirs (the server unpacks the standard modules
there, as TLC does) and their own process groups, and are started as runner.java starts
every JVM: tied to this process (SIGKILL of mmcheck ends them) and registered for
runner.java.cancel_all (Ctrl-C, SIGTERM).  The workers are killed when the server is done,
times out, or on Ctrl-C: no JVM outlives the run.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from runner.errors import ConfigError
from runner.java import JavaTools, ToolRun, _kill_group, forget, private_dir, run_tool, start_tied
from runner.tlc import _line_handler, result_of, stage_spec

if TYPE_CHECKING:
    from runner.tlc_output import Progress, TlcResult

SERVER = "tlc2.tool.distributed.TLCServer"
WORKER = "tlc2.tool.distributed.TLCWorker"
PORT_PROPERTY = "tlc2.tool.distributed.TLCServer.port"
THREADS_PROPERTY = "tlc2.tool.distributed.TLCWorker.threadCount"
DEFAULT_PORT = 10997  # TLC's own default
LOCALHOST = "127.0.0.1"
WORKER_GRACE_SECONDS = 3.0  # a worker leaves by itself once its server is done
READY = re.compile(r"TLC server at .* is ready")
NO_REGISTER = "MmcheckNoRegister"
NOT_SUPPORTED = ("distributed TLC 2.15 names no violation and prints no usable trace "
                 "(re-run without --distributed for both)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCALHOST, 0))
        return int(s.getsockname()[1])


def parse_address(text: str) -> tuple[str, int]:
    """HOST or HOST:PORT (TLC's default port 10997)."""
    host, sep, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not sep:
        host, port = text, str(DEFAULT_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{text}: not a server address (HOST or HOST:PORT)")
    return host, int(port)


_KEYWORDS = {"CONSTANT", "CONSTANTS", "INIT", "NEXT", "SPECIFICATION", "INVARIANT",
             "INVARIANTS", "PROPERTY", "PROPERTIES", "SYMMETRY", "VIEW", "CONSTRAINT",
             "CONSTRAINTS", "ACTION_CONSTRAINT", "ACTION_CONSTRAINTS", "ALIAS",
             "POSTCONDITION", "CHECK_DEADLOCK"}


def _section(cfg_text: str, wanted: set[str]) -> list[str]:
    """The names listed under the cfg keywords `wanted` (comments ignored)."""
    text = re.sub(r"\\\*.*", "", cfg_text)
    text = re.sub(r"\(\*.*?\*\)", "", text, flags=re.DOTALL)
    names, inside = [], False
    for tok in text.split():
        if tok in _KEYWORDS:
            inside = tok in wanted
        elif inside:
            names.append(tok)
    return names


def temporal_properties(cfg_text: str) -> list[str]:
    """The names after PROPERTY/PROPERTIES in a TLC config (what distributed TLC skips)."""
    return _section(cfg_text, {"PROPERTY", "PROPERTIES"})


def _jvm_flags(port: int, rmi_host: str | None) -> list[str]:
    flags = [f"-D{PORT_PROPERTY}={port}"]
    if rmi_host:
        flags.append(f"-Djava.rmi.server.hostname={rmi_host}")
    return flags


def worker_argv(tools: JavaTools, host: str, port: int, *, threads: int, tmpdir: Path,
                rmi_host: str | None, jvm_args: Sequence[str] = ()) -> list[str]:
    from runner import cds
    from runner.java import START_FLAGS

    return [str(tools.java), "-XX:+UseParallelGC", f"-Djava.io.tmpdir={tmpdir}",
            *cds.archive_args(tools), *START_FLAGS, *jvm_args, *_jvm_flags(port, rmi_host),
            f"-D{THREADS_PROPERTY}={threads}", "-cp", str(tools.jar), WORKER, host]


def _wrap(work: Path, spec_name: str, cfg_name: str) -> str:
    """A root module extending the spec with TLCSet replaced by TRUE; its file name."""
    stem = Path(spec_name).stem
    name = f"{stem}_distributed"
    (work / f"{name}.tla").write_text(
        f"---- MODULE {name} ----\n\\* mmcheck: {stem} for distributed TLC, which has no "
        f"TLCGet/TLCSet\nEXTENDS {stem}\n{NO_REGISTER}(i, v) == TRUE\n====\n")
    with (work / cfg_name).open("a") as f:
        f.write(f"\n\\* mmcheck: distributed TLC has no TLCSet\nCONSTANT TLCSet <- {NO_REGISTER}\n")
    return f"{name}.tla"


def run_distributed(spec: Path, cfg: Path | None = None, *, tools: JavaTools, workers: int,
                    timeout: float | None = None, deadlock: bool = True,
                    extra_args: Sequence[str] = (),
                    on_progress: Callable[[Progress], None] | None = None,
                    log_path: Path | None = None, heap_mb: int | None = None,
                    prepare: Callable[[Path, str], None] | None = None,
                    jvm_args: Sequence[str] = (), port: int | None = None,
                    rmi_host: str | None = LOCALHOST, threads: int | None = None,
                    no_registers: bool = False,
                    on_ready: Callable[[int], None] | None = None) -> TlcResult:
    """Model-check `spec` on a TLC server with `workers` local workers (0: only workers that
    join from elsewhere, `mmcheck worker HOST:PORT`), each of `threads` threads (default:
    cores / workers).  `on_ready(port)` is called when the server takes workers.  The
    result is judged for distributed TLC's gaps (see `judge`)."""
    work = private_dir("dtlc")
    procs: list[subprocess.Popen[bytes]] = []
    port = port or free_port()
    threads = threads or max(1, (os.cpu_count() or 1) // max(1, workers))
    try:
        spec_name, cfg_name = stage_spec(spec, cfg, work)
        if prepare is not None:
            prepare(work, spec_name)
        cfg_text = (work / cfg_name).read_text(errors="replace")
        root = _wrap(work, spec_name, cfg_name) if no_registers else spec_name
        args = ["-tool", "-metadir", str(work / "metadir"), "-config", cfg_name]
        if not deadlock:
            args.append("-deadlock")  # sic: turns deadlock checking OFF
        args += [*extra_args, root]
        progress = _line_handler(on_progress)

        def on_line(line: str) -> None:
            progress(line)
            if not procs and READY.search(line):
                for i in range(workers):
                    procs.append(_start_worker(tools, work, i, port, threads, rmi_host,
                                               jvm_args))
                if on_ready is not None:
                    on_ready(port)

        run = run_tool(tools, SERVER, args, cwd=work, timeout=timeout, heap_mb=heap_mb,
                       on_line=on_line, log_path=log_path,
                       jvm_args=[*jvm_args, *_jvm_flags(port, rmi_host)])
    finally:
        _stop_workers(procs)
        shutil.rmtree(work, ignore_errors=True)
    return judge(result_of(run), cfg_text, deadlock, workers_started=bool(procs) or workers == 0)


def _start_worker(tools: JavaTools, work: Path, i: int, port: int, threads: int,
                  rmi_host: str | None, jvm_args: Sequence[str]) -> subprocess.Popen[bytes]:
    tmp = work / f"worker-{i}"
    tmp.mkdir()
    argv = worker_argv(tools, rmi_host or LOCALHOST, port, threads=threads, tmpdir=tmp,
                       rmi_host=rmi_host, jvm_args=jvm_args)
    with (work / f"worker-{i}.log").open("wb") as log:
        return start_tied(argv, cwd=tmp, stdout=log, what="TLC worker")


def _stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    """Workers leave by themselves when their server is done; kill what is left."""
    deadline = time.monotonic() + WORKER_GRACE_SECONDS
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        _kill_group(p)
        forget(p)


def judge(result: TlcResult, cfg_text: str, deadlock: bool, *,
          workers_started: bool = True) -> TlcResult:
    """The result of a distributed run, with what 2.15's server leaves out made explicit."""
    from runner.tlc_output import Outcome

    changes: dict[str, object] = {"disagreement": None}  # its exit codes mean nothing here
    bare_trace = ("The behavior up to this point is" in result.output
                  and not re.search(r"is violated|Deadlock reached", result.output))
    if result.outcome is Outcome.TOOL_ERROR and bare_trace:
        invariants = _invariants(cfg_text)
        if invariants and deadlock:
            what, outcome = "an invariant or deadlock freedom", Outcome.INVARIANT
        elif invariants:
            what, outcome = "an invariant", Outcome.INVARIANT
        else:
            what, outcome = "deadlock freedom", Outcome.DEADLOCK
        changes.update(outcome=outcome, violated=None, trace=None,
                       message=f"{what} is violated ({', '.join(invariants) or 'deadlock'} "
                               f"checked); {NOT_SUPPORTED}")
    elif result.outcome is Outcome.EVAL_ERROR and "TLCGlobals.simulator is null" in result.message:
        changes["message"] = (result.message + " (distributed TLC 2.15 cannot evaluate "
                              "TLCGet/TLCSet)")
    elif result.outcome is Outcome.TIMEOUT and not workers_started:
        changes["message"] = "the TLC server never became ready for workers"
    return dataclasses.replace(result, **changes)  # type: ignore[arg-type]


def _invariants(cfg_text: str) -> list[str]:
    return _section(cfg_text, {"INVARIANT", "INVARIANTS"})


def run_worker(tools: JavaTools, host: str, port: int, *, threads: int | None = None,
               rmi_host: str | None = None, timeout: float | None = None,
               on_line: Callable[[str], None] | None = None) -> ToolRun:
    """One worker for the server at host:port, until the server is done (or `timeout`)."""
    work = private_dir("dtlcworker")
    try:
        return run_tool(tools, WORKER, [host], cwd=work, timeout=timeout, on_line=on_line,
                        jvm_args=[*_jvm_flags(port, rmi_host),
                                  f"-D{THREADS_PROPERTY}={threads or os.cpu_count() or 1}"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
