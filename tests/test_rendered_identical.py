"""Every spec and config of the matrix's models (and of a fifth of the exhaustive scenarios
of four protocols) renders byte for byte as pinned in tests/golden/rendered.sha256.json:
the pin was taken before the thread kinds became actor templates (issue 18), so this
shows the plug-in actors render the same PlusCal the closed list did.  Re-pin
(tests/rendered_digests.py --repin) only on purpose, after the new text passed SANY and
TLC."""
from __future__ import annotations

import json

import pytest
from rendered_digests import PINNED, digests


@pytest.mark.slow
def test_every_pinned_render_is_unchanged() -> None:
    pinned = json.loads(PINNED.read_text())
    now = digests()
    assert len(pinned) > 3000
    assert sorted(pinned.keys() - now.keys()) == []
    differ = sorted(k for k in pinned.keys() & now.keys() if pinned[k] != now[k])
    assert differ == [], f"{len(differ)} renders differ, e.g. {differ[:5]}"
