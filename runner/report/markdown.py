"""report.md: the verdict matrix with links to each model's attachment."""
from __future__ import annotations

from collections.abc import Sequence

from gen.model import PROPERTIES, PROPERTY_DESCRIPTIONS
from runner.check import ModelResult
from runner.report.attachment import ATTACHMENT
from runner.report.matrix import ABBREV, LEGEND, cell, counts, scenario, unexpected


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render(results: Sequence[ModelResult], title: str) -> str:
    c = counts(results)
    out = [f"# mmcheck report: {_md(title)}", ""]
    out.append(f"{c.models} models, {c.verdicts} verdicts: {c.unexpected} differ from their "
               f"expectation, {c.undecided} undecided (exit status {c.status}).")
    out += ["", "## Verdict matrix", ""]
    out.append("| protocol | scenario | " + " | ".join(ABBREV[p] for p in PROPERTIES)
               + " | wzap |")
    out.append("|---|---|" + "---|" * len(PROPERTIES) + "---:|")
    for r in results:
        link = f"[{_md(scenario(r))}]({r.model.name}/{ATTACHMENT})"
        cells = []
        for p in PROPERTIES:
            text = cell(r.verdicts.get(p))
            cells.append(f"**{text}**" if text.startswith("!") else text)
        wz = "?" if r.max_write_hold is None else str(r.max_write_hold)
        out.append(f"| {r.model.protocol.value} | {link} | " + " | ".join(cells) + f" | {wz} |")
    out += ["", LEGEND + "; wzap: most present pages zapped under down_write.", ""]
    out += ["Columns: " + "; ".join(f"{ABBREV[p]} = {p}" for p in PROPERTIES) + ".", ""]
    bad = unexpected(results)
    if bad:
        out += ["## Unexpected verdicts", ""]
        for r, v in bad:
            out.append(f"- [{r.model.name}]({r.model.name}/{ATTACHMENT}): {v.prop} "
                       f"{v.verdict} (expected {v.expected})"
                       + (f": {_md(v.message)}" if v.message else ""))
        out.append("")
    out += ["## Properties", ""]
    out += [f"- **{p}**: {PROPERTY_DESCRIPTIONS[p]}" for p in PROPERTIES]
    out += ["", ("Each model's attachment (`<model>/attachment.txt`) holds its map, race "
                 "diagrams of the violations and certificates of what holds; report.html shows "
                 "the same with the diagrams as tables."), ""]
    return "\n".join(out)
