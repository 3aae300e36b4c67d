"""report.md: what differs from its expectation, then the compact verdict matrix (violated
properties per scenario and protocol) linking to each model's attachment."""
from __future__ import annotations

from collections.abc import Sequence

from gen.model import PROPERTIES, PROPERTY_DESCRIPTIONS
from runner.check import ModelResult
from runner.progress import count
from runner.report.attachment import ATTACHMENT
from runner.report.matrix import CompactTable, compact, counts, fixes, legend, problems


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def table_lines(table: CompactTable, link: str = "{model}/" + ATTACHMENT) -> list[str]:
    """The compact matrix as a markdown table; each entry links to its model (`link` is
    formatted with model=<model name>)."""
    out = ["| scenario | " + " | ".join(table.protocols) + " |",
           "|---|" + "---|" * len(table.protocols)]
    for s in table.scenarios:
        cells = []
        for p in table.protocols:
            c = table.cell(s, p)
            if c is None:
                cells.append("")
                continue
            href = link.format(model=c.result.model.name)
            entries = [(f"[{_md(i.label(short=False))}]({href})", i.differs) for i in c.items]
            cells.append(", ".join(f"**{t}**" if bold else t for t, bold in entries)
                         or f"[-]({href})")
        out.append(f"| {_md(s)} | " + " | ".join(cells) + " |")
    return out


def render(results: Sequence[ModelResult], title: str,
           compare: tuple[str, str] | None = None) -> str:
    """report.md; `compare`: (BASE, NEW) of a compare run, whose fixes are not unexpected."""
    c = counts(results)
    fixed = fixes(results, compare)
    table = compact(results, fixed)
    out = [f"# mmcheck report: {_md(title)}", ""]
    out.append(f"{count(c.models, 'model')}, {count(c.verdicts, 'verdict')}: {c.unexpected} differ from their "
               f"expectation" + (f" ({len(fixed)} of them fixes of a compare run)" if fixed else "")
               + f", {c.undecided} undecided (exit status {c.status}).")
    bad = problems(results, fixed)
    if bad:
        out += ["", "## Unexpected verdicts", ""]
        for p in bad:
            name = p.result.model.name
            out.append(f"- [{name}]({name}/{ATTACHMENT}): {_md(p.line()[len(name) + 2:])}")
    out += ["", "## Verdict matrix", "",
            ("The properties violated per scenario and protocol; each links to the model's "
             "attachment."), ""]
    out += table_lines(table)
    out += ["", _md(legend(table, short=False)), ""]
    out += ["Scenarios:", ""]
    out += [f"- **{_md(s)}**: {_md(d)}" if d else f"- **{_md(s)}**"
            for s, d in table.descriptions.items()]
    out += ["", "## Models", "",
            "| model | wzap | distinct states | TLC runs (cached) | seconds |",
            "|---|---:|---:|---:|---:|"]
    for r in results:
        wz = "?" if r.max_write_hold is None else str(r.max_write_hold)
        states = "?" if r.distinct_states is None else f"{r.distinct_states:,}"
        cached = sum(1 for run in r.runs if run.cached)
        out.append(f"| [{r.model.name}]({r.model.name}/{ATTACHMENT}) | {wz} | {states} | "
                   f"{len(r.runs)} ({cached}) | {r.seconds:.1f} |")
    out += ["", "wzap: the most present pages zapped while munmap holds mmap_sem for write.", ""]
    out += ["## Properties", ""]
    out += [f"- **{p}**: {PROPERTY_DESCRIPTIONS[p]}" for p in PROPERTIES]
    out += ["", ("Each model's attachment (`<model>/attachment.txt`) holds its map, race "
                 "diagrams of the violations and certificates of what holds; report.html shows "
                 "the same with the diagrams as tables."), ""]
    return "\n".join(out)
