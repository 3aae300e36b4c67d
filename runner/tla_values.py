"""Parse the values TLC prints (in traces and messages) into Python values.

    TLC prints                      Python
    42, -5                          int
    "a\"b"                          str
    TRUE, FALSE                     bool
    M1 (a model value)              ModelValue (a str subclass)
    {1, 2}, 1..3                    frozenset
    <<1, 2>>, << >>                 tuple (also functions with domain 1..n)
    [a |-> 1, b |-> 2]              FrozenDict with str keys (records)
    (1 :> "x" @@ 2 :> "y")          FrozenDict (functions)

Values may span several lines.  A model value equals the string of its name (M1 == "M1"),
so a set holding both would collapse; TLC specs practically never mix the two.  Pure: no processes, no files.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any, NoReturn

from gen.tla import ModelValue, sort_key
from gen.tla import tla as format_value  # the one TLA+ writer, also for display


class FrozenDict(dict[Any, Any]):
    """An immutable, hashable dict: TLA+ records and functions, so they can sit in sets."""

    __slots__ = ("_hash",)

    def __hash__(self) -> int:  # type: ignore[override]
        try:
            return self._hash
        except AttributeError:
            self._hash: int = hash(frozenset(self.items()))
            return self._hash

    def _immutable(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("FrozenDict is immutable")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _immutable  # type: ignore[assignment]
    __ior__ = _immutable  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


class ValueSyntaxError(ValueError):
    """The text is not a value TLC prints."""


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<int>-?\d+)
  | (?P<punct><<|>>|\|->|:>|@@|\.\.|[{}\[\](),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", '"': '"', "\\": "\\"}


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueSyntaxError(f"unexpected {text[pos:pos + 20]!r} at offset {pos}")
        pos = m.end()
        kind = m.lastgroup
        assert kind is not None
        if kind != "ws":
            yield kind, m.group()
    yield "end", ""


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = list(_tokens(text))
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i]

    def next(self) -> tuple[str, str]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        kind, got = self.next()
        if got != text or kind == "string":
            raise ValueSyntaxError(f"expected {text!r}, found {got or 'end of text'!r}")

    def at(self, text: str) -> bool:
        kind, got = self.peek()
        return got == text and kind != "string"

    def value(self) -> Any:
        """value := atom [ '..' atom ] | fn-chain  (a :> b @@ c :> d)."""
        first = self.atom()
        if self.at(".."):
            self.next()
            last = self.atom()
            if not (isinstance(first, int) and isinstance(last, int)):
                raise ValueSyntaxError("'..' between non-integers")
            return frozenset(range(first, last + 1))
        if self.at(":>"):
            pairs = []
            self.next()
            pairs.append((first, self.atom()))
            while self.at("@@"):
                self.next()
                key = self.atom()
                self.expect(":>")
                pairs.append((key, self.atom()))
            return FrozenDict(pairs)
        return first

    def items(self, close: str) -> list[Any]:
        out: list[Any] = []
        if self.at(close):
            self.next()
            return out
        while True:
            out.append(self.value())
            if self.at(","):
                self.next()
                continue
            self.expect(close)
            return out

    def atom(self) -> Any:
        kind, text = self.next()
        if kind == "int":
            return int(text)
        if kind == "string":
            return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1],
                          flags=re.DOTALL)
        if kind == "name":
            if text == "TRUE":
                return True
            if text == "FALSE":
                return False
            return ModelValue(text)
        if text == "{":
            return frozenset(self.items("}"))
        if text == "<<":
            return tuple(self.items(">>"))
        if text == "(":
            inner = self.value()
            self.expect(")")
            return inner
        if text == "[":
            fields: list[tuple[str, Any]] = []
            while True:
                k, name = self.next()
                if k != "name":
                    raise ValueSyntaxError(f"expected a record field name, found {name!r}")
                self.expect("|->")
                fields.append((name, self.value()))
                if self.at(","):
                    self.next()
                    continue
                self.expect("]")
                return FrozenDict(fields)
        raise ValueSyntaxError(f"unexpected {text or 'end of text'!r}")


def parse_value(text: str) -> Any:
    """Parse one TLC-printed value; raise ValueSyntaxError if it is not one."""
    return _parse_value(text)


# A trace repeats most values from one state to the next, and the traces of a run share
# their first states: the values are immutable, so each text is parsed once.
@functools.lru_cache(maxsize=1 << 16)
def _parse_value(text: str) -> Any:
    p = _Parser(text)
    v = p.value()
    if p.peek()[0] != "end":
        raise ValueSyntaxError(f"trailing text after value: {p.peek()[1]!r}")
    return v


def to_jsonable(v: Any) -> Any:
    """JSON-safe form: sets -> sorted lists, tuples -> lists, records -> dicts, functions ->
    dicts keyed by their TLA+ text (str keys stay as they are)."""
    if isinstance(v, (bool, int, str)) or v is None:
        return str(v) if isinstance(v, ModelValue) else v
    if isinstance(v, frozenset | set):
        return [to_jsonable(x) for x in sorted(v, key=sort_key)]
    if isinstance(v, tuple | list):
        return [to_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {(k if isinstance(k, str) else format_value(k)): to_jsonable(x)
                for k, x in v.items()}
    return str(v)
