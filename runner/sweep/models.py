"""Check a list of models on a Dask cluster as a sweep checks its points (runner.sweep.cluster:
one task per model, each in a process of its own on a worker, its files sent back): what
`mmcheck compare --exhaustive --scheduler ADDR` runs its enumeration on.

The models' directories end up as check_models leaves them, out/<model>/, and the results
come back as check_models returns them (in the order of `models`), so that the comparison
and the reports are made as for a local check.  `timeout` bounds each model (as a sweep's
point), not each TLC run.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gen.model import PROPERTIES, Model
from runner import judge
from runner.check import ModelResult
from runner.errors import OutputError

# (kind, model, text) as runner.check's Event: "run" (a worker took the model), "done",
# "failed" (text: why)
Event = Callable[[str, Model, str], None]


def error_result(model: Model, directory: Path, why: str) -> ModelResult:
    """The error row of a model the cluster could not check: every property "error"."""
    verdicts = {p: judge.Verdict(p, "error", model.expected(p), None, None, why)
                for p in PROPERTIES}
    return ModelResult(model=model, directory=directory, spec="", spec_sha256="",
                       verdicts=verdicts, runs=(), max_write_hold=None, distinct_states=None,
                       depth=None, seconds=0.0, tlc_version=None, tlc_revision=None)


def _settle(model: Model, out: Path, kind: str, rows: list[dict[str, Any]]) -> ModelResult:
    """Move the model's files from out/points/<model> to out/<model>; its result."""
    from runner.report.stored import model_result_from_dict

    staged, directory = out / "points" / model.name, out / model.name
    why = next((r.get("message") for r in rows if r.get("message")), None) or "failed"
    if staged.is_dir():
        shutil.rmtree(directory, ignore_errors=True)
        try:
            staged.rename(directory)  # a directory moved, not a file written
        except OSError as e:
            raise OutputError(f"{directory}: cannot move the model's files there "
                              f"({e.strerror})") from None
    if kind != "done":
        return error_result(model, directory, f"on the Dask cluster: {why}")
    try:
        d = json.loads((directory / "result.json").read_text(encoding="utf-8"))
        return model_result_from_dict(d, directory, str(directory / "result.json"))
    except (OSError, ValueError, KeyError, TypeError) as e:
        return error_result(model, directory, f"its result did not come back whole ({e})")


def check_on_cluster(client: Any, models: Sequence[Model], out: Path, *, jar: str | None,
                     timeout: float, cache_dir: Path | None, jobs: int | None,
                     on_event: Event | None = None,
                     on_result: Callable[[ModelResult], None] | None = None,
                     on_note: Callable[[str], None] | None = None) -> list[ModelResult]:
    """Check `models` on the Dask cluster of `client` (runner.sweep.cluster.connect; the
    caller closes it); files under out/<model>/."""
    from runner.sweep import cluster
    from runner.sweep.run import plan
    from runner.sweep.spec import Point, model_hash

    points = [Point((("model", m.name),), m, model_hash(m)) for m in models]
    results: dict[str, ModelResult] = {}
    try:
        good, bad = cluster.check_workers(client, jar)
        for worker, why in sorted(bad.items()):
            if on_note is not None:
                on_note(f"Dask worker {worker} gets no model: {why}")
        threads = cluster.worker_threads(client, good)
        settings = plan(jobs or threads, len(points), timeout, None, cores=threads,
                        mem_mb=None)

        def on_message(point: Point, kind: str, payload: Any) -> None:
            model = point.model
            if kind == "run" and on_event is not None:
                on_event("run", model, str(payload))  # "on <worker>"
            if kind in ("done", "failed"):
                result = _settle(model, out, kind, payload)
                results[model.name] = result
                if on_event is not None:
                    failed = kind != "done"
                    on_event("failed" if failed else "done", model,
                             result.verdicts[PROPERTIES[0]].message or "" if failed else "")
                if on_result is not None:
                    on_result(result)

        cluster.run_points(client, "compare", points, out, jar, settings, cache_dir,
                           good if bad else [], on_message)
    finally:
        try:
            (out / "points").rmdir()
        except OSError:
            pass
    return [results.get(m.name) or error_result(m, out / m.name, "not checked")
            for m in models]
