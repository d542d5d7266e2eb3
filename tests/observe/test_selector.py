"""The metric selector grammar of [tiers.NAME] hits/misses/requests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warmer.observe.parsers.selector import Selector, parse_selector
from warmer.observe.prometheus import parse_exposition, select


@pytest.mark.parametrize(
    ("text", "extra", "expected"),
    [
        ("up", None, Selector("up")),
        ("  up  ", None, Selector("up")),
        ("x{}", None, Selector("x")),
        ('x{a="1"}', None, Selector("x", (("a", "1"),))),
        ('x{ b = "2", a="1", }', None, Selector("x", (("a", "1"), ("b", "2")))),
        ('x{a="q\\"uote"}', None, Selector("x", (("a", 'q"uote'),))),
        ('x{a="1"}', {"job": "c"}, Selector("x", (("a", "1"), ("job", "c")))),
        ("ns:rule_total", None, Selector("ns:rule_total")),
    ],
)
def test_parse_selector(text: str, extra: dict[str, str] | None, expected: Selector) -> None:
    assert parse_selector(text, extra) == expected


@pytest.mark.parametrize("text", ["", '{a="1"}', "x{a=1}", 'x{a="1"', 'x{a!="1"}', "9x"])
def test_bad_selectors_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_selector(text)


@pytest.mark.parametrize(
    ("name", "labels", "matches"),
    [
        ("req_total", {"tier": "l0", "result": "hit"}, True),
        ("req", {"tier": "l0", "result": "hit", "extra": "x"}, True),
        ("req_total", {"tier": "l0", "result": "miss"}, False),
        ("req_created", {"tier": "l0", "result": "hit"}, False),
        ("other_total", {"tier": "l0", "result": "hit"}, False),
    ],
)
def test_selector_matches(name: str, labels: dict[str, str], matches: bool) -> None:
    selector = parse_selector('req{tier="l0",result="hit"}')
    assert selector.matches(name, labels) is matches


@given(st.text(max_size=80))
def test_selector_parser_only_raises_value_error(text: str) -> None:
    try:
        selector = parse_selector(text)
    except ValueError:
        return
    assert selector.metric and all(k for k, _ in selector.labels)


@given(st.text(max_size=300))
def test_exposition_parser_never_raises(text: str) -> None:
    exposition = parse_exposition(text)
    assert exposition.malformed >= 0
    value = select(exposition, parse_selector("anything"))
    assert value is None or isinstance(value, float)
