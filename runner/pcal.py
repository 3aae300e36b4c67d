"""PlusCal translation (pcal.trans -nocfg) and a parser-only check (SANY) as pipeline steps."""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from runner.errors import TranslationError
from runner.files import replace_atomic
from runner.java import JavaTools, ToolRun, private_dir, run_tool

_ALGORITHM = re.compile(r"--(?:fair\s+)?algorithm\b")
_LINE = re.compile(r"line (\d+), column (\d+)")


def has_pluscal(text: str) -> bool:
    """True if the module holds a PlusCal algorithm (`--algorithm` / `--fair algorithm`)."""
    return _ALGORITHM.search(text) is not None


def translation_error(output: str) -> tuple[str, int | None]:
    """The one-line reason and the line number from pcal.trans' "Unrecoverable error:" text."""
    after = output.split("Unrecoverable error:", 1)[-1]
    reason = " ".join(ln.strip(" -") for ln in after.strip().splitlines() if ln.strip())
    m = _LINE.search(after)
    return (reason or output.strip()[-200:] or "no output"), (int(m.group(1)) if m else None)


def translate(tla: Path, *, tools: JavaTools, timeout: float | None = 60,
              source: Path | None = None, jvm_args: Sequence[str] = ()) -> ToolRun:
    """Translate the PlusCal algorithm in `tla` in place (atomically: the file is replaced only
    by a complete translation).  Raises TranslationError with the line number on failure;
    its message names `source` (the user's file, when `tla` is a private copy) or `tla`."""
    tla = Path(tla)
    shown = source if source is not None else tla
    work = private_dir("pcal")
    try:
        shutil.copy2(tla, work / tla.name)
        run = run_tool(tools, "pcal.trans", ["-nocfg", tla.name], cwd=work, timeout=timeout,
                       jvm_args=list(jvm_args))
        if run.timed_out:
            raise TranslationError(f"{shown}: pcal.trans did not finish within {timeout} s")
        if run.exit_code != 0 or "Translation completed" not in run.output:
            reason, line = translation_error(run.output)
            where = f"{shown}:{line}" if line is not None else str(shown)
            raise TranslationError(f"{where}: PlusCal translation failed: {reason}", line)
        replace_atomic(tla, lambda tmp: shutil.copyfile(work / tla.name, tmp))
        return run
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sany(tla: Path, *, tools: JavaTools, timeout: float | None = 60) -> ToolRun:
    """Parse and check `tla` with SANY only (no model checking); the caller judges the run:
    exit code 0 and no "***Parse Error***" / "Semantic errors" in the output means it parsed."""
    tla = Path(tla)
    work = private_dir("sany")
    try:
        for module in tla.resolve().parent.glob("*.tla"):
            if module.is_file():  # a directory named *.tla is not a module
                shutil.copy2(module, work / module.name)
        return run_tool(tools, "tla2sany.SANY", [tla.name], cwd=work, timeout=timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sany_ok(run: ToolRun) -> bool:
    """SANY 2.1 exits 0 even on semantic errors: judge by its output too."""
    return (run.exit_code == 0 and not run.timed_out
            and not re.search(r"\*\*\*Parse Error\*\*\*|Semantic errors:|Fatal errors",
                              run.output))
