"""Which committed litmus test reproduces a violated user-visible property (for the report
attachments): a test whose `shows` names the property and the model's scenario, else one
that names the property."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from runner.errors import ConfigError
from runner.litmus.parse import USER_VISIBLE, LitmusTest, load_tests

LITMUS_DIR = Path(__file__).resolve().parents[2] / "specs" / "litmus"


@lru_cache(maxsize=4)
def _tests(directory: Path) -> tuple[LitmusTest, ...]:
    try:
        return tuple(load_tests([directory]))
    except ConfigError:
        return ()


def reproducer_for(prop: str, scenario: str | None,
                   directory: Path = LITMUS_DIR) -> tuple[LitmusTest, str] | None:
    """(the test, the command that runs it on this machine's kernel), or None."""
    if prop not in USER_VISIBLE or not directory.is_dir():
        return None
    tests = [t for t in _tests(directory) if t.shows == prop]
    # the test named after the scenario, then one that lists it first, then any that shows
    # the outcome somewhere (not a control, forbidden everywhere), those naming scenarios first
    best = sorted((t for t in tests if scenario in t.scenarios),
                  key=lambda t: (t.name != scenario, t.scenarios.index(str(scenario)))) or sorted(
        tests, key=lambda t: ("allowed" not in t.expect.values(), not t.scenarios))
    if not best:
        return None
    t = best[0]
    try:  # as a clone of the repository names it
        shown = Path(t.path).resolve().relative_to(directory.resolve().parents[1])
    except ValueError:
        shown = Path(t.path)
    return t, f"mmcheck litmus run {shown} --runs 30"
