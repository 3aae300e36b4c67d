"""Our own failures: a small hierarchy, each with a one-line message and an exit code.

A property violation is data (runner.tlc_output.TlcResult), never an exception.  Only
runner.cli turns these into "mmcheck: error: ..." and an exit code.
"""

from __future__ import annotations

import os


class MmcheckError(Exception):
    """Base class: the run could not decide anything (exit code 2)."""

    exit_code = 2


class ToolNotFound(MmcheckError):
    """Java is missing or too old, or the TLA+ tools jar is missing or corrupt."""


class ConfigError(MmcheckError):
    """Bad user input: a missing file, a bad option value, an invalid model file."""


class OutputError(MmcheckError):
    """A destination cannot be written: read-only, not a directory, a full disk, a name too
    long, or a run directory another mmcheck is using."""


class TranslationError(MmcheckError):
    """pcal.trans rejected the PlusCal algorithm; .line is its line number when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class TemplateError(MmcheckError):
    """A spec template failed to render."""


def os_reason(e: OSError) -> str:
    """The one-line reason of an OSError: its strerror ("No space left on device")."""
    if e.strerror:
        return e.strerror
    return os.strerror(e.errno) if e.errno else str(e)


def cannot_write(path: object, e: OSError, what: str = "cannot write") -> OutputError:
    """The one error for a destination that cannot be written."""
    return OutputError(f"{path}: {what} ({os_reason(e)})")
