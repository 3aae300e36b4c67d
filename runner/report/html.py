"""report.html: what differs from its expectation and the compact verdict matrix first,
then every model's details, the race diagrams as tables whose rows link to the template
line (and the spec line) of their step.

Its own autoescaping jinja2 environment (templates in runner/report/templates/); the page
is self-contained: inline CSS, no script, no external asset, so it works offline.  The
templates a diagram links to are shown at the end of the page, as the run used them
(<model>/sources.json, written by mmcheck check, keeps them).
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from gen.model import PROPERTIES, PROPERTY_DESCRIPTIONS
from gen.properties import CATEGORIES, CATEGORY_TITLES, category
from runner.check import ModelResult
from runner.judge import Verdict
from runner.report import diagram, kernel
from runner.report.attachment import ATTACHMENT, Certificate, certificate_body, certificates
from runner.report.matrix import compact, counts, fixes, legend, problems, scenario
from runner.report.modelmap import model_section

SOURCES = "sources.json"  # written by mmcheck check next to the rendered spec

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
class Link:
    text: str
    href: str | None  # None: shown, not linked (no text of the template was kept)
    title: str


@dataclass(frozen=True)
class Violation:
    verdict: Verdict
    diagram: diagram.RaceDiagram | None
    explanation: str
    listing: str
    kernel: str  # the race as a commit message draws it ("" without a trace)
    row_links: tuple[tuple[Link, ...], ...] = ()  # per diagram row: its steps' sources


@dataclass
class Templates:
    """The template files the diagrams of a report link to, shown once at its end (as
    the run used them: <model>/sources.json keeps their text)."""

    shown: dict[str, tuple[str, str]]  # anchor key -> (template name, text)

    def key(self, name: str, text: str | None) -> str | None:
        if not text:
            return None
        digest = hashlib.sha256(text.encode()).hexdigest()
        key = re.sub(r"[^A-Za-z0-9]+", "-", name) + "-" + digest[:8]
        self.shown.setdefault(key, (name, text))
        return key


def _sources(r: ModelResult) -> dict[str, Any]:
    try:
        data = json.loads((r.directory / SOURCES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _row_links(r: ModelResult, d: diagram.RaceDiagram, sources: dict[str, Any],
               templates: Templates) -> tuple[tuple[Link, ...], ...]:
    labels = sources.get("labels") or {}
    files = sources.get("templates") or {}
    by_number = {s.number: s.label for s in d.steps}
    out = []
    for row in d.rows:
        links: list[Link] = []
        seen: set[str] = set()
        for n in row.numbers:
            label = by_number.get(n)
            place = labels.get(label) if label else None
            if label is None or label in seen or not isinstance(place, dict):
                continue
            seen.add(label)
            src = place.get("source") or {}
            name, line = src.get("template"), src.get("line")
            if name and line:
                calls = [tuple(c) for c in src.get("via", [])]
                via = "".join(f" (from {t}:{n})" for t, n in reversed(calls))
                places = [(name, line, f"{label}: written at {name}:{line}{via}")]
                if calls and calls[0][0] != name:  # the protocol's line that called the step
                    t, n = calls[0]
                    places.append((t, n, f"{label}: {name}:{line} is called from {t}:{n}"))
                for t, n, title in places:
                    f = files.get(t) or {}
                    key = templates.key(t, f.get("text") if isinstance(f, dict) else None)
                    links.append(Link(f"{t}:{n}", f"#tpl-{key}-L{n}" if key else None, title))
            if place.get("spec_line"):
                links.append(Link(f"spec:{place['spec_line']}", f"{r.model.name}/{r.spec}",
                                  f"{label}: line {place['spec_line']} of {r.spec}"))
        out.append(tuple(links))
    return tuple(out)


@dataclass(frozen=True)
class ModelView:
    result: ModelResult
    anchor: str
    scenario: str
    model_text: str
    violations: tuple[Violation, ...]
    certificates: tuple[tuple[Certificate, str], ...]
    undecided: tuple[Verdict, ...]


def _view(r: ModelResult, templates: Templates) -> ModelView:
    violations = []
    sources = _sources(r)
    for p in PROPERTIES:
        v = r.verdicts.get(p)
        if v is None or v.verdict != "violated":
            continue
        d = diagram.build(r.model, v)
        k = kernel.build_kernel(r.model, v) if d else None
        violations.append(Violation(
            v, d, diagram.render_explanation(d) if d else (v.message or "no trace"),
            diagram.render_listing(d) if d else "", kernel.render(k) if k else "",
            _row_links(r, d, sources, templates) if d else ()))
    undecided = tuple(v for p in PROPERTIES if (v := r.verdicts.get(p)) is not None
                      and v.verdict not in ("holds", "violated"))
    return ModelView(
        r, "model-" + r.model.name, scenario(r), "\n".join(model_section(r.model)),
        tuple(violations),
        tuple((c, "\n".join(certificate_body(c, r.model.name)))
              for c in certificates(r)),
        undecided)


def render(results: Sequence[ModelResult], title: str,
           compare: tuple[str, str] | None = None) -> str:
    """report.html; `compare`: (BASE, NEW) of a compare run, whose fixes are not shown as
    unexpected."""
    templates = Templates({})
    views = [_view(r, templates) for r in results]
    fixed = fixes(results, compare)
    table = compact(results, fixed)
    return environment().get_template("report.html.j2").render(
        title=title, results=results, views=views, table=table,
        properties=PROPERTIES, descriptions=PROPERTY_DESCRIPTIONS,
        protocol_descriptions={r.model.protocol: r.model.definition.description
                               for r in results},
        legend=legend(table, short=False), scenario=scenario, counts=counts(results),
        problems=problems(results, fixed), attachment=ATTACHMENT, fixed=fixed,
        category=category, category_titles=CATEGORY_TITLES, categories=CATEGORIES,
        templates=[(key, name, text.split("\n")) for key, (name, text)
                   in sorted(templates.shown.items())],
        loop_start=diagram.loop_start)
