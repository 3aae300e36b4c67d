"""report.html: the verdict matrix and every model's details, the race diagrams as tables.

Its own autoescaping jinja2 environment (templates in runner/report/templates/); the page
is self-contained: inline CSS, no script, no external asset, so it works offline.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

from gen.model import PROPERTIES, PROPERTY_DESCRIPTIONS, PROTOCOL_DESCRIPTIONS
from runner.check import ModelResult
from runner.judge import Verdict
from runner.report import diagram, kernel
from runner.report.attachment import ATTACHMENT, Certificate, certificate_body, certificates
from runner.report.matrix import ABBREV, LEGEND, cell, counts, scenario, unexpected
from runner.report.modelmap import model_section

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class Violation:
    verdict: Verdict
    diagram: diagram.RaceDiagram | None
    explanation: str
    listing: str
    kernel: str  # the race as a commit message draws it ("" without a trace)


@dataclass(frozen=True)
class ModelView:
    result: ModelResult
    anchor: str
    scenario: str
    model_text: str
    violations: tuple[Violation, ...]
    certificates: tuple[tuple[Certificate, str], ...]
    undecided: tuple[Verdict, ...]


def _view(r: ModelResult) -> ModelView:
    violations = []
    for p in PROPERTIES:
        v = r.verdicts.get(p)
        if v is None or v.verdict != "violated":
            continue
        d = diagram.build(r.model, v)
        k = kernel.build_kernel(r.model, v) if d else None
        violations.append(Violation(
            v, d, diagram.render_explanation(d) if d else (v.message or "no trace"),
            diagram.render_listing(d) if d else "", kernel.render(k) if k else ""))
    undecided = tuple(v for p in PROPERTIES if (v := r.verdicts.get(p)) is not None
                      and v.verdict not in ("holds", "violated"))
    return ModelView(
        r, "model-" + r.model.name, scenario(r), "\n".join(model_section(r.model)),
        tuple(violations),
        tuple((c, "\n".join(certificate_body(c, r.model.name)))
              for c in certificates(r)),
        undecided)


def render(results: Sequence[ModelResult], title: str) -> str:
    protocols: dict[str, list[ModelResult]] = {}
    for r in results:
        protocols.setdefault(r.model.protocol.value, []).append(r)
    return environment().get_template("report.html.j2").render(
        title=title, results=results, protocols=protocols, views=[_view(r) for r in results],
        properties=PROPERTIES, abbrev=ABBREV, descriptions=PROPERTY_DESCRIPTIONS,
        protocol_descriptions={p.value: d for p, d in PROTOCOL_DESCRIPTIONS.items()},
        legend=LEGEND, cell=cell, scenario=scenario, counts=counts(results),
        unexpected=unexpected(results), attachment=ATTACHMENT, loop_start=diagram.loop_start)
