"""Template files found along the search path, and the front matter each one starts with.

Protocols (`NAME.tla.j2`, gen/protocols.py) and actors (`NAME.actor.j2`, gen/actors.py)
are template files found in the same directories: every `--protocols DIR`, then the
directories of $MMCHECK_PROTOCOLS (separated by ':'), then the built-in specs/templates/;
a name found earlier hides the same name later.  Each file starts with its front matter,
TOML inside a jinja comment that renders to nothing:

    {#---
    name = "..."
    ---#}

Nothing here renders, and nothing here imports the rest of gen/ but gen/validate.py.
"""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from runner.errors import ConfigError

BUILTIN = Path(__file__).resolve().parent.parent / "specs" / "templates"
ENV_VAR = "MMCHECK_PROTOCOLS"
FRONT_OPEN, FRONT_CLOSE = "{#---", "---#}"
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")  # a TLA+ identifier, and no '-' (model names)


def show(path: Path) -> str:
    """A path as the user would type it: relative to the working directory if inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


T = TypeVar("T")


class ByName(Mapping[str, T]):
    """What discovery found along a search path, read by name (protocols, actors): a
    subclass holds it in `found`, in order."""

    found: dict[str, T]

    def __getitem__(self, name: str) -> T:
        return self.found[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.found)

    def __len__(self) -> int:
        return len(self.found)

    def names(self) -> str:
        return ", ".join(self.found)


def where(path: Path, key: str | None = None) -> str:
    return f"{show(path)}: front matter" + (f": {key}" if key else "")


def no_unknown(path: Path, label: str, table: dict[str, Any], allowed: set[str]) -> None:
    """A one-line error naming the first field of `table` (at `label`: "" for the top
    level, else e.g. "keys.addr") that is not in `allowed`."""
    extra = sorted(set(table) - allowed)
    if extra:
        raise ConfigError(f"{where(path, label + '.' + extra[0] if label else extra[0])}: "
                          f"unknown field (allowed: {', '.join(sorted(allowed))})")


def front_matter(text: str, path: Path, what: str = "protocol template",
                 holding: str = "name, description and kernel") -> dict[str, Any]:
    """The TOML between `{#---` and `---#}` at the top of a template."""
    body = text.lstrip("\ufeff")
    if not body.startswith(FRONT_OPEN):
        raise ConfigError(f"{show(path)}:1: not a {what}: it must start with its "
                          f"front matter, a {FRONT_OPEN} ... {FRONT_CLOSE} comment holding "
                          f"{holding} (see docs/writing-protocols.md)")
    end = body.find(FRONT_CLOSE)
    if end < 0:
        raise ConfigError(f"{where(path)}: no closing {FRONT_CLOSE}")
    toml = body[len(FRONT_OPEN):end]
    try:
        return tomllib.loads(toml)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where(path)}: not valid TOML: {e}") from None


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{show(path)}: cannot read ({e})") from None


def text(path: Path, table: dict[str, Any], key: str, label: str | None = None) -> str:
    """A one-line string of the front matter."""
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where(path, label or key)}: missing or empty (a one-line string)")
    if "\n" in value.strip():
        raise ConfigError(f"{where(path, label or key)}: must be one line")
    return value.strip()


def check_name(path: Path, table: dict[str, Any], suffix: str, what: str) -> str:
    """The `name` of the front matter: the file's name without `suffix`, an identifier."""
    name = text(path, table, "name")
    expected = path.name[: -len(suffix)]
    if name != expected:
        raise ConfigError(f"{where(path, 'name')}: {name!r}, but the file is {path.name} "
                          f"(a {what} NAME lives in NAME{suffix})")
    if not NAME.match(name):
        raise ConfigError(f"{where(path, 'name')}: {name!r}: use letters, digits and '_', "
                          f"starting with a letter")
    return name


def search_dirs(dirs: Sequence[str | Path] = (), env: str | None = None) -> tuple[Path, ...]:
    """--protocols directories, then $MMCHECK_PROTOCOLS, then the built-in templates."""
    value = os.environ.get(ENV_VAR, "") if env is None else env
    out: list[Path] = []
    for origin, items in (("--protocols", list(dirs)),
                          (ENV_VAR, [d for d in value.split(os.pathsep) if d])):
        for d in items:
            p = Path(d).expanduser()
            if not p.is_dir():
                raise ConfigError(f"{origin} {d}: no such directory")
            if p.resolve() not in [q.resolve() for q in out]:
                out.append(p)
    if BUILTIN.resolve() not in [q.resolve() for q in out]:
        out.append(BUILTIN)
    return tuple(out)


def signature(dirs: tuple[Path, ...]) -> tuple[Any, ...]:
    """What changes when a template of the search path is added, removed or edited."""
    sig: list[Any] = []
    for d in dirs:
        for f in sorted(d.glob("*.j2")):
            try:
                st = f.stat()
            except OSError:
                continue
            sig.append((str(f), st.st_mtime_ns, st.st_size))
    return tuple(sig)


def toml_value(v: str | int | bool) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
