"""Our own failures: a small hierarchy, each with a one-line message and an exit code.

A property violation is data (runner.tlc_output.TlcResult), never an exception.  Only
runner.cli turns these into "mmcheck: error: ..." and an exit code.
"""

from __future__ import annotations


class MmcheckError(Exception):
    """Base class: the run could not decide anything (exit code 2)."""

    exit_code = 2


class ToolNotFound(MmcheckError):
    """Java is missing or too old, or the TLA+ tools jar is missing or corrupt."""


class ConfigError(MmcheckError):
    """Bad user input: a missing file, a bad option value, an invalid model file."""


class TranslationError(MmcheckError):
    """pcal.trans rejected the PlusCal algorithm; .line is its line number when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class TemplateError(MmcheckError):
    """A spec template failed to render."""
