"""Run TLC on a spec and return the parsed result: the one place joining the wrapper
(runner.java) and the parser (runner.tlc_output).

TLC 2.15 wants relative file names and a metadir of its own, so each run happens in a private
working directory holding copies of the spec directory's *.tla files and the cfg; it is
removed afterwards, also on timeout and on Ctrl-C.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from runner.errors import ConfigError
from runner.java import JavaTools, ToolRun, private_dir, run_tool
from runner.limits import MAX_TIMEOUT

if TYPE_CHECKING:
    from runner.tlc_output import Progress, TlcResult


def default_workers() -> int:
    return os.cpu_count() or 1


def stage_spec(spec: Path, cfg: Path | None, work: Path) -> tuple[str, str]:
    """Copy the spec's directory's modules and the cfg into `work`; return their names there."""
    spec = Path(spec)
    if not spec.is_file():
        raise ConfigError(f"{spec}: no such spec file")
    cfg = Path(cfg) if cfg is not None else spec.with_suffix(".cfg")
    if not cfg.is_file():
        raise ConfigError(f"{cfg}: no such config file (give one with --config)")
    for module in spec.resolve().parent.glob("*.tla"):
        if module.is_file():  # a directory named *.tla is not a module
            shutil.copy2(module, work / module.name)
    shutil.copy2(cfg, work / cfg.name)
    return spec.name, cfg.name


def tlc_args(spec_name: str, cfg_name: str, metadir: Path, *, workers: int | None,
             deadlock: bool, extra_args: Sequence[str]) -> list[str]:
    args = ["-tool", "-metadir", str(metadir), "-workers", str(workers or default_workers()),
            "-config", cfg_name]
    if not deadlock:
        args.append("-deadlock")  # sic: in TLC this flag turns deadlock checking OFF
    return [*args, *extra_args, spec_name]


def run_tlc(spec: Path, cfg: Path | None = None, *, tools: JavaTools, workers: int | None = None,
            timeout: float | None = None, deadlock: bool = True,
            extra_args: Sequence[str] = (),
            on_progress: Callable[[Progress], None] | None = None,
            log_path: Path | None = None, heap_mb: int | None = None,
            prepare: Callable[[Path, str], None] | None = None,
            jvm_args: Sequence[str] = ()) -> TlcResult:
    """Model-check `spec` with `cfg` (default: SPEC.cfg beside it).

    `prepare(workdir, spec_name)` runs after staging, before TLC (e.g. PlusCal translation
    of the private copy).  The result carries the log path, wall time and argv.
    `timeout` must be a positive, finite number of seconds (at most limits.MAX_TIMEOUT).
    """
    if timeout is not None and not (isinstance(timeout, (int, float)) and 0 < timeout <= MAX_TIMEOUT):
        raise ConfigError(f"timeout: {timeout!r} is not a number of seconds in (0, {MAX_TIMEOUT:g}]")
    work = private_dir("tlc")
    try:
        spec_name, cfg_name = stage_spec(spec, cfg, work)
        if prepare is not None:
            prepare(work, spec_name)
        args = tlc_args(spec_name, cfg_name, work / "metadir", workers=workers,
                        deadlock=deadlock, extra_args=extra_args)
        run = run_tool(tools, "tlc2.TLC", args, cwd=work, timeout=timeout, heap_mb=heap_mb,
                       on_line=_line_handler(on_progress), log_path=log_path,
                       jvm_args=list(jvm_args))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result_of(run)


def _line_handler(on_progress: Callable[[Progress], None] | None) -> Callable[[str], None]:
    """Forwards 2200 progress reports to `on_progress`.  The parser module is imported at TLC's
    first line rather than before TLC starts: the import (~15 ms, 1-2% of a small run) then
    overlaps the JVM's work instead of delaying its start (see bench/bench_runner.py)."""
    parse: Callable[[str], Progress | None] | None = None

    def on_line(line: str) -> None:
        nonlocal parse
        if parse is None:
            from runner.tlc_output import parse_progress_line

            parse = parse_progress_line
        if on_progress is not None and "Progress(" in line:
            p = parse(line)
            if p is not None:
                on_progress(p)
    return on_line


def result_of(run: ToolRun) -> TlcResult:
    from runner.tlc_output import parse_tlc_output

    result = parse_tlc_output(run.output, run.exit_code, timed_out=run.timed_out)
    return dataclasses.replace(result, log_path=str(run.log_path) if run.log_path else None,
                               wall_seconds=run.seconds, argv=tuple(run.argv))
