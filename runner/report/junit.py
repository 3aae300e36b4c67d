"""junit.xml: one test case per model and property, so CI shows the matrix natively.

A verdict that matches its expectation passes (an expected violation too: the matrix
records it); one that differs fails, with the race diagram as its text; an error or a
timeout is an error; a property not decided for certain (simulation, not checked) is
skipped.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from gen.model import PROPERTIES
from runner.check import ModelResult
from runner.report import diagram
from runner.report.attachment import record


def _case(r: ModelResult, prop: str) -> tuple[ET.Element, str]:
    v = r.verdicts[prop]
    rec = record(r, v.run)
    case = ET.Element("testcase", classname=f"mmcheck.{r.model.protocol}.{r.model.name}",
                      name=prop, time=f"{(rec.seconds or 0.0) if rec else 0.0:.3f}")
    kind = "pass"
    if v.verdict in ("error", "timeout"):
        kind = "error"
        ET.SubElement(case, "error", message=f"{v.verdict}: {v.message}", type=v.verdict)
    elif v.verdict in ("no-violation", "not-checked", "not-selected"):
        kind = "skipped"
        ET.SubElement(case, "skipped", message=f"{v.verdict}: {v.message}".rstrip(": "))
    elif not v.matches:
        kind = "failure"
        fail = ET.SubElement(case, "failure", type="unexpected-verdict",
                             message=f"{prop} {v.verdict}, expected {v.expected}")
        d = diagram.build(r.model, v)
        if d is not None:
            fail.text = (diagram.render_text(d) + "\n\n" + diagram.render_explanation(d) + "\n")
    out = ET.SubElement(case, "system-out")
    out.text = (f"{prop}: {v.verdict} (expected {v.expected}), TLC run {v.run or '-'}; "
                f"details: {r.model.name}/attachment.txt\n")
    return case, kind


def render(results: Sequence[ModelResult], title: str) -> str:
    root = ET.Element("testsuites", name=f"mmcheck {title}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in results:
        suite = ET.SubElement(root, "testsuite", name=r.model.name)
        n = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for prop in PROPERTIES:
            if prop not in r.verdicts:
                continue
            case, kind = _case(r, prop)
            suite.append(case)
            n["tests"] += 1
            if kind != "pass":
                n[{"failure": "failures", "error": "errors", "skipped": "skipped"}[kind]] += 1
        for k, x in n.items():
            suite.set(k, str(x))
            totals[k] += x
        suite.set("time", f"{r.seconds:.3f}")
    for k, x in totals.items():
        root.set(k, str(x))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
