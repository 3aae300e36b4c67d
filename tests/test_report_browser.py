"""report.html in a real headless browser (Debian's chromium): the race diagrams are tables
in the DOM, the violating step is highlighted, and the page loads nothing external."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from runner import report
from runner.report.stored import load_run

EXAMPLE = Path(__file__).resolve().parent / "data" / "runs" / "example"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")]


def dump_dom(html: Path, profile: Path) -> str:
    assert CHROMIUM is not None
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", html.as_uri()]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=120,
                          errors="replace")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_report_html_in_chromium(tmp_path: Path) -> None:
    run = load_run(EXAMPLE)
    page = tmp_path / "report.html"
    text = report.render(run, "html")["report.html"]
    assert "http://" not in text and "https://" not in text
    page.write_text(text)
    dom = dump_dom(page, tmp_path / "profile")
    assert '<table class="matrix">' in dom
    assert dom.count('<table class="race">') == 6  # one per violated property
    assert '<tr class="violating">' in dom
    assert '<tr class="banner">' in dom  # the liveness loop
    assert 'id="model-madvise_user-fault"' in dom
    assert "BREAKS NoThirdState" in dom
