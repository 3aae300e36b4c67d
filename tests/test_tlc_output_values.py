"""runner.tla_values: TLC's printed values -> Python values, and back for display."""

from __future__ import annotations

import json

import pytest

from runner.tla_values import (
    FrozenDict,
    ModelValue,
    ValueSyntaxError,
    format_value,
    parse_value,
    to_jsonable,
)


@pytest.mark.parametrize("text,value", [
    ("0", 0), ("-12", -12), ("TRUE", True), ("FALSE", False),
    ('"a b"', "a b"), ('"q\\"u\\\\o\\nte"', 'q"u\\o\nte'),
    ("{}", frozenset()), ("{1, 2, 2}", frozenset({1, 2})), ("2..4", frozenset({2, 3, 4})),
    ("<<>>", ()), ("<< >>", ()), ('<<1, "a", <<>>>>', (1, "a", ())),
    ("[a |-> 1, b |-> {}]", {"a": 1, "b": frozenset()}),
    ('(1 :> "x" @@ 2 :> "y")', {1: "x", 2: "y"}), ("(5 :> 0)", {5: 0}),
    ("1 :> 2 @@ 3 :> 4", {1: 2, 3: 4}),
    ("{[a |-> 1], [a |-> 1], [a |-> 2]}", frozenset({FrozenDict(a=1), FrozenDict(a=2)})),
    ("{(1 :> {2})}", frozenset({FrozenDict({1: frozenset({2})})})),
    ("<< {1,\n   2},\n   {3} >>", (frozenset({1, 2}), frozenset({3}))),
])
def test_parse(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_model_values_are_strings_but_distinguishable() -> None:
    # Known limit (documented): as str, M1 and "M1" are equal, so a set holding both collapses.
    assert len(parse_value('{p1, "p1"}')) == 1
    mv = parse_value("p1")
    assert isinstance(mv, ModelValue) and isinstance(mv, str) and mv == "p1"
    assert not isinstance(parse_value('"p1"'), ModelValue)
    assert format_value(mv) == "p1" and format_value("p1") == '"p1"'


def test_types() -> None:
    assert type(parse_value("{1}")) is frozenset
    assert type(parse_value("<<1>>")) is tuple
    assert type(parse_value("[a |-> 1]")) is FrozenDict
    assert parse_value("TRUE") is True


def test_frozen_dict_is_hashable_and_immutable() -> None:
    d = parse_value("[a |-> {1}, b |-> <<2>>]")
    assert hash(d) == hash(parse_value("[b |-> <<2>>, a |-> {1}]"))
    with pytest.raises(TypeError):
        d["a"] = 2
    with pytest.raises(TypeError):
        d.update(c=3)


@pytest.mark.parametrize("bad", ["", "{1,", "<<1 2>>", "[a = 1]", "1..x", "@", '"open',
                                 "{1} extra", "[1 |-> 2]", "(1 :> 2"])
def test_syntax_errors(bad: str) -> None:
    with pytest.raises(ValueSyntaxError):
        parse_value(bad)


def test_to_jsonable_and_format_roundtrip() -> None:
    text = '<<{3, 1, 2}, [a |-> M1, b |-> "s"], (1 :> TRUE @@ 2 :> FALSE), {<<2>>, <<1>>}>>'
    v = parse_value(text)
    j = to_jsonable(v)
    assert j == [[1, 2, 3], {"a": "M1", "b": "s"}, {"1": True, "2": False}, [[1], [2]]]
    json.dumps(j)
    assert format_value(v) == (
        '<<{1, 2, 3}, [a |-> M1, b |-> "s"], (1 :> TRUE @@ 2 :> FALSE), {<<1>>, <<2>>}>>')
    assert parse_value(format_value(v)) == v
