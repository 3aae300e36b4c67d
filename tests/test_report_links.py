"""report.html and report.md lead with what matters, and every race diagram row links to the
template line of its step and to the spec line (stored results of real runs)."""
from __future__ import annotations

import re
from pathlib import Path

from runner import report
from runner.report.stored import load_run

EXAMPLE = Path(__file__).resolve().parent / "data" / "runs" / "example"


def test_every_diagram_row_links_to_its_template_line_and_spec_line() -> None:
    html = report.render(load_run(EXAMPLE), "html")["report.html"]
    anchors = set(re.findall(r'id="([^"]+)"', html))
    rows = re.findall(r'<tr class="[^"]*"><td class="step">.*?</tr>', html, re.DOTALL)
    assert len(rows) > 40
    for row in rows:
        src = re.search(r'<td class="src">(.*?)</td>', row, re.DOTALL)
        assert src, row
        links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', src.group(1))
        templates = [(h, t) for h, t in links if h.startswith("#tpl-")]
        spec = [(h, t) for h, t in links if t.startswith("spec:")]
        assert templates and spec, row
        for href, text in templates:
            assert href[1:] in anchors, href  # the line is shown at the end of the page
            name, line = text.rsplit(":", 1)
            assert href.endswith(f"-L{line}") and name.endswith(".j2")
    # The step a protocol template calls is linked to the protocol's line too.
    assert 'title="munmap0_downgrade_write: mm.j2:' in html
    assert re.search(r'>detach_merged\.tla\.j2:\d+</a>', html)
    m = re.search(r'id="(tpl-mm-j2-[0-9a-f]{8})-L(\d+)"', html)
    assert m


def test_the_reports_lead_with_the_unexpected_and_the_compact_matrix() -> None:
    run = load_run(EXAMPLE)
    html = report.render(run, "html")["report.html"]
    assert html.index('<table class="matrix">') < html.index('<section id="model-')
    assert html.count(">ok<") == 0  # no cell per holding property any more
    md = report.render(run, "md")["report.md"]
    assert "| fault | [NoThirdState](madvise_user-fault/attachment.txt), " \
           "[WriteHoldBound (1)](madvise_user-fault/attachment.txt) | " \
           "[-](detach_merged-fault/attachment.txt) |" in md
