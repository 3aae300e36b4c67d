"""Re-pin the golden renders, on purpose only: each new text must first translate
with pcal.trans and pass TLC's parser (SANY) with the bundled jar.

    .venv/bin/python tests/golden/repin.py
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_render import GOLDEN, GOLDEN_MODELS, golden_texts

from runner.java import locate_tools
from runner.pcal import sany, translate


def main() -> int:
    tools = locate_tools()
    for name in GOLDEN_MODELS:
        texts = golden_texts(name)
        spec_text = texts[f"{name}.tla"]
        module = spec_text.split("MODULE ", 1)[1].split()[0]
        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / f"{module}.tla"
            spec.write_text(spec_text)
            translate(spec, tools=tools)
            run = sany(spec, tools=tools)
            if run.exit_code != 0:
                print(f"{name}: SANY rejects the translation:\n{run.output}")
                return 1
        for filename, text in texts.items():
            (GOLDEN / filename).write_text(text)
        print(f"re-pinned {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
