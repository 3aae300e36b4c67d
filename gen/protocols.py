"""Protocols are template files: discovery, and the front matter each one starts with.

A protocol is one jinja2 template `<name>.tla.j2` in a protocol directory.  It starts
with its front matter, TOML inside a jinja comment that renders to nothing:

    {#---
    name = "detach_merged"
    description = "Linux 4.20 (dd2283f2605e): detach, downgrade_write, unmap_region"
    kernel = "torvalds/linux dd2283f2605e, mm/mmap.c __do_munmap()/unmap_region()"
    fault_path = "page_fault"            # optional: the mm.j2 macro faults run
    [options.ablation]                   # optional: settable by a model or scenario
    values = ["none", "no_detached_check"]
    default = "none"
    description = "leave out one step of the protocol"
    ---#}
    {% extends "base.tla.j2" %}

Directories are searched in order (gen/frontmatter.py): every `--protocols DIR`, then the
directories of $MMCHECK_PROTOCOLS (separated by ':'), then the built-in specs/templates/; a
name found earlier hides the same name later.  The actors (gen/actors.py) found along the
same directories come with the protocols (`Protocols.actors`).  Every `*.tla.j2` of a
directory is a protocol except `base.tla.j2`; the shared templates (base.tla.j2, mm.j2)
are looked up in the protocol's own directory first, then in the built-in one.  Nothing here renders.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from gen import actors as actors_mod
from gen.actors import Actors
from gen.frontmatter import (
    BUILTIN,
    ENV_VAR,
    FRONT_CLOSE,
    FRONT_OPEN,
    NAME,
    ByName,
    check_name,
    front_matter,
    no_unknown,
    search_dirs,
    signature,
    toml_value,
)
from gen.frontmatter import show as _show
from gen.frontmatter import text as _text
from gen.frontmatter import where as _where
from gen.validate import MODEL_KEYS
from runner.errors import ConfigError

SUFFIX = ".tla.j2"
SHARED = ("base.tla.j2", "mm.j2")  # not protocols: shared by every protocol
DEFAULT_FAULT_PATH = "page_fault"
FRONT_KEYS = {"name", "description", "kernel", "fault_path", "options"}
OPTION_KEYS = {"values", "default", "description"}
# Names an option may not take, besides the model keys (gen.validate.MODEL_KEYS) and the
# names ending in "_groups" (one list of thread groups per actor): what render() passes to
# every template, and the matrix's words.
RESERVED = {
    "model", "module", "protocol_description", "kernel_ref", "groups", "repeat_consts",
    "init_vmas", "symmetry", "thread_summary", "options", "fault_path", "tla", "range_case",
    "scenario", "parameters", "violated", "actors", "vma_at", "protocol_groups",
}
OptionValue = str | int | bool


@dataclass(frozen=True)
class Option:
    """A setting a protocol declares: a model or scenario picks one of `values`."""

    name: str
    values: tuple[OptionValue, ...]
    default: OptionValue
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "values": list(self.values), "default": self.default,
                "description": self.description}


@dataclass(frozen=True)
class Protocol:
    """What a protocol template declares about itself, and where it lives."""

    name: str
    description: str
    kernel: str  # the kernel reference: commit, mail or file
    template: Path  # the template file
    options: tuple[Option, ...] = ()
    fault_path: str = DEFAULT_FAULT_PATH
    builtin: bool = True

    @property
    def search_path(self) -> tuple[Path, ...]:
        """Where its template and the shared ones it extends and imports are looked up."""
        own = self.template.parent
        return (own,) if own == BUILTIN else (own, BUILTIN)

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "kernel": self.kernel,
                "template": str(self.template), "fault_path": self.fault_path,
                "options": [o.to_dict() for o in self.options], "builtin": self.builtin}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Protocol:
        """The definition stored with a result (Protocol.to_dict)."""
        return cls(
            name=str(d["name"]), description=str(d["description"]), kernel=str(d["kernel"]),
            template=Path(d["template"]), fault_path=str(d.get("fault_path", DEFAULT_FAULT_PATH)),
            options=tuple(Option(str(o["name"]), tuple(o["values"]), o["default"],
                                 str(o["description"])) for o in d.get("options", [])),
            builtin=bool(d.get("builtin", True)))


@dataclass(frozen=True)
class Protocols(ByName[Protocol]):
    """The protocols found, by name, in search order; `hidden` are the later same names."""

    found: dict[str, Protocol]
    dirs: tuple[Path, ...]
    hidden: tuple[Protocol, ...] = field(default=())
    # the actors found along the same search path (None: the built-in ones)
    actor_defs: Actors | None = None

    @property
    def actors(self) -> Actors:
        return self.actor_defs if self.actor_defs is not None else actors_mod.builtin()


# ---------------------------------------------------------------- front matter


def _option(path: Path, name: str, table: Any) -> Option:
    key = f"options.{name}"
    if not NAME.match(name) or name in RESERVED | MODEL_KEYS or name.endswith("_groups"):
        raise ConfigError(f"{_where(path, key)}: option name {name!r} is "
                          + ("reserved (a model key or a template variable)" if NAME.match(name)
                             else "not a name (letters, digits and '_')"))
    if not isinstance(table, dict):
        raise ConfigError(f"{_where(path, key)}: must be a table of values, default, description")
    no_unknown(path, key, table, OPTION_KEYS)
    values = table.get("values")
    if (not isinstance(values, list) or not values
            or not all(isinstance(v, (str, int, bool)) for v in values)
            or len({type(v) for v in values}) != 1):
        raise ConfigError(f"{_where(path, key + '.values')}: a non-empty list of strings, "
                          f"integers or booleans (all of one type)")
    if len(set(values)) != len(values):
        raise ConfigError(f"{_where(path, key + '.values')}: lists a value twice")
    if "default" not in table:
        raise ConfigError(f"{_where(path, key + '.default')}: missing")
    default = table["default"]
    if default not in values or type(default) is not type(values[0]):
        raise ConfigError(f"{_where(path, key + '.default')}: {default!r} is not one of the "
                          f"values")
    if "description" not in table:
        raise ConfigError(f"{_where(path, key + '.description')}: missing (one line saying "
                          f"what the option changes)")
    return Option(name, tuple(values), default,
                  _text(path, table, "description", key + ".description"))


def parse_protocol(path: Path, text: str | None = None, builtin: bool = False) -> Protocol:
    """Read one protocol template's front matter; a bad one is a one-line ConfigError."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{_show(path)}: cannot read ({e})") from None
    table = front_matter(text, path)
    no_unknown(path, "", table, FRONT_KEYS)
    name = check_name(path, table, SUFFIX, "protocol")
    fault_path = table.get("fault_path", DEFAULT_FAULT_PATH)
    if not isinstance(fault_path, str) or not NAME.match(fault_path):
        raise ConfigError(f"{_where(path, 'fault_path')}: must name a macro of mm.j2")
    options_raw = table.get("options", {})
    if not isinstance(options_raw, dict):
        raise ConfigError(f"{_where(path, 'options')}: must be a table of [options.NAME] tables")
    options = tuple(_option(path, n, t) for n, t in options_raw.items())
    protocol = Protocol(name, _text(path, table, "description"), _text(path, table, "kernel"),
                        path, options, fault_path, builtin)
    if fault_path != DEFAULT_FAULT_PATH:
        macros = shared_macros(protocol.search_path)
        if fault_path not in macros:
            raise ConfigError(f"{_where(path, 'fault_path')}: {fault_path!r} is not a macro of "
                              f"mm.j2 (its macros: {', '.join(macros)})")
    return protocol


def shared_macros(search_path: Sequence[Path]) -> list[str]:
    """The macro names of the mm.j2 a protocol with this search path imports."""
    for d in search_path:
        mm = d / "mm.j2"
        if mm.is_file():
            return re.findall(r"\{%-?\s*macro\s+(\w+)\s*\(", mm.read_text(encoding="utf-8"))
    return []


# ---------------------------------------------------------------- discovery


def discover(dirs: Sequence[str | Path] = (), env: str | None = None) -> Protocols:
    """Every protocol of the search path (see the module's docstring)."""
    search = search_dirs(dirs, env)
    return _discover(search, signature(search))


@lru_cache(maxsize=16)
def _discover(search: tuple[Path, ...], signature: tuple[Any, ...]) -> Protocols:
    found: dict[str, Protocol] = {}
    hidden: list[Protocol] = []
    for d in search:
        builtin = d.resolve() == BUILTIN.resolve()
        for path in sorted(d.glob("*" + SUFFIX)):
            if path.name in SHARED:
                continue
            p = parse_protocol(path, builtin=builtin)
            if p.name in found:
                hidden.append(p)
            else:
                found[p.name] = p
    return Protocols(found, search, tuple(hidden), actors_mod.discover_in(search))


def unknown_protocol(name: Any, protocols: Mapping[str, Protocol]) -> str:
    """The problem with an unknown protocol name, naming the known ones."""
    return (f"unknown value {name!r} (one of: {', '.join(protocols)}; for a protocol of your "
            f"own: --protocols DIR or ${ENV_VAR})")


def lookup(protocols: Mapping[str, Protocol], name: Any, where: str) -> Protocol:
    """A protocol by name, or a one-line error `WHERE: unknown value ...`."""
    if isinstance(name, str) and name in protocols:
        return protocols[name]
    raise ConfigError(f"{where}: {unknown_protocol(name, protocols)}")


# ---------------------------------------------------------------- mmcheck new


def starting_template(source: Protocol, name: str) -> str:
    """The text of a new protocol NAME: `source`'s template with its front matter replaced."""
    text = source.template.read_text(encoding="utf-8")
    end = text.find(FRONT_CLOSE) + len(FRONT_CLOSE)
    head = "\n".join([
        FRONT_OPEN,
        f'name = "{name}"',
        f'description = "{source.name}, changed: say how in one line"',
        'kernel = "the patch: a commit id, a mail\'s Message-ID, or a file and function"',
        *([f'fault_path = "{source.fault_path}"'] if source.fault_path != DEFAULT_FAULT_PATH
          else []),
        *[line for o in source.options for line in (
            f"[options.{o.name}]",
            "values = [" + ", ".join(toml_value(v) for v in o.values) + "]",
            f"default = {toml_value(o.default)}",
            f"description = {toml_value(o.description)}")],
        FRONT_CLOSE,
    ])
    return head + text[end:]

