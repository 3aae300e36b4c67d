"""Reports of a run, built from its stored results only (TLC is never run again).

Per model: <model>/attachment.txt, plain text for a patch review (at most 80 columns).
Per run: report.md, report.html (self-contained), results.json and junit.xml.
"""
from __future__ import annotations

from pathlib import Path

from runner.errors import ConfigError, OutputError
from runner.files import ensure_dir, write_atomic
from runner.report import attachment, html, junit, markdown
from runner.report.stored import StoredRun, load_run

FORMATS = ("md", "html", "txt", "json", "junit")
FILES = {"md": "report.md", "html": "report.html", "json": "results.json",
         "junit": "junit.xml"}


def render(run: StoredRun, fmt: str, models: list[str] | None = None) -> dict[str, str]:
    """The files of one format: relative path -> text.  `models` limits the attachments.
    Stored results are input: what stored.py's validation lets through but a report cannot
    draw (a trace state whose variables are not of the model's shapes) is a ConfigError."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}")
    try:
        return _render(run, fmt, models)
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as e:
        raise ConfigError(f"{run.directory}: its stored results cannot be made into the {fmt} "
                          f"report ({type(e).__name__}: {e}): a stored trace is not as mmcheck "
                          f"check writes it; run mmcheck check again") from None


def _render(run: StoredRun, fmt: str, models: list[str] | None) -> dict[str, str]:
    title = run.directory.name or str(run.directory)
    results = run.results
    if fmt == "txt":
        return {f"{r.model.name}/{attachment.ATTACHMENT}": attachment.render(r)
                for r in results if not models or r.model.name in models}
    if fmt == "md":
        return {FILES[fmt]: markdown.render(results, title, run.compare)}
    if fmt == "html":
        return {FILES[fmt]: html.render(results, title, run.compare)}
    if fmt == "junit":
        return {FILES[fmt]: junit.render(results, title)}
    if fmt == "json":
        import json

        return {FILES[fmt]: json.dumps(run.to_dict(), indent=2) + "\n"}
    raise ValueError(f"unknown report format {fmt!r}")


def write(run: StoredRun, fmt: str, models: list[str] | None = None) -> dict[str, Path]:
    """Write one format's files into the run directory; name -> path written.  A file that
    cannot be written (a model's directory that is not one) does not stop the others: the
    first such failure is raised, as an OutputError, once all the others are written."""
    out = {}
    failed: OutputError | None = None
    for rel, text in render(run, fmt, models).items():
        path = run.directory / rel
        try:
            ensure_dir(path.parent)
            write_atomic(path, text)
        except OutputError as e:
            failed = failed or e
            continue
        out[rel] = path
    if failed is not None:
        raise failed
    return out


def write_all(run_dir: Path, *, but: tuple[str, ...] = ()) -> dict[str, Path]:
    """Every report of the run stored in `run_dir` (but the formats in `but`, e.g. "json"
    when the caller has just written results.json, which that format would write again):
    file name (relative to it) -> path.  As write(): every file that can be written is,
    then the first failure is raised."""
    run = load_run(Path(run_dir))
    out: dict[str, Path] = {}
    failed: OutputError | None = None
    for fmt in (f for f in FORMATS if f not in but):
        try:
            out.update(write(run, fmt))
        except OutputError as e:
            failed = failed or e
    if failed is not None:
        raise failed
    return out
