"""gen/ is layered: no module imports, directly or through others, a module that imports it
back (issue 18 §5: model <-> protocols <-> scenarios was such a circle), and gen/ uses
nothing of runner/ but its exceptions.  Imports are read from the source (every `import`
and `from ... import`, inside functions too), so a lazy import cannot hide a circle."""
from __future__ import annotations

import ast
from pathlib import Path

GEN = Path(__file__).resolve().parent.parent / "gen"


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            if node.module == "gen":  # from gen import actors
                out |= {f"gen.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def graph() -> dict[str, set[str]]:
    mods = {f"gen.{p.stem}": p for p in GEN.glob("*.py") if p.stem != "__init__"}
    return {m: {i for i in imports(p) if i in mods and i != m} for m, p in mods.items()}


def cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One import circle of the graph, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(g[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(g):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_circle_among_gen_modules() -> None:
    g = graph()
    assert {"gen.model", "gen.protocols", "gen.scenarios", "gen.actors"} <= set(g)
    found = cycle(g)
    assert found is None, " -> ".join(found or [])


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_the_validation_layers_go_one_way() -> None:
    g = graph()
    order = ["gen.validate", "gen.frontmatter", "gen.actors", "gen.protocols", "gen.model",
             "gen.scenarios", "gen.load"]
    for i, m in enumerate(order):
        above = set(order[i + 1:])
        assert not (g[m] & above), f"{m} imports {sorted(g[m] & above)}, a layer above it"


def test_gen_uses_only_the_exceptions_of_runner() -> None:
    for p in GEN.glob("*.py"):
        runner = {i for i in imports(p) if i.split(".")[0] == "runner"}
        assert runner <= {"runner.errors"}, (p.name, runner)
