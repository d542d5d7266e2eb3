"""Cache key function: table-driven cases and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warmer.config.schema import KeyConfig
from warmer.sample.keys import make_key_function, normalise_path, normalise_query

DEFAULT = KeyConfig()

CASES: list[tuple[str, KeyConfig, str, str, dict[str, str], str]] = [
    ("plain path", DEFAULT, "GET", "/product/1", {}, "GET /product/1"),
    ("method upper-cased", DEFAULT, "get", "/a", {}, "GET /a"),
    ("HEAD reads the GET object", DEFAULT, "HEAD", "/a", {}, "GET /a"),
    ("POST keeps its method", DEFAULT, "POST", "/api/cart", {}, "POST /api/cart"),
    ("no method", KeyConfig(include_method=False), "HEAD", "/a", {}, "/a"),
    ("params sorted", DEFAULT, "GET", "/s?q=x&page=2", {}, "GET /s?page=2&q=x"),
    ("order kept", KeyConfig(sort_params=False), "GET", "/s?q=x&page=2", {}, "GET /s?q=x&page=2"),
    ("utm dropped", DEFAULT, "GET", "/s?utm_source=a&q=x", {}, "GET /s?q=x"),
    ("ignore is case-insensitive", DEFAULT, "GET", "/s?UTM_Medium=a&q=x", {}, "GET /s?q=x"),
    ("gclid and fbclid", DEFAULT, "GET", "/?gclid=1&fbclid=2", {}, "GET /"),
    ("escaped ignored name", DEFAULT, "GET", "/s?utm%5Fsource=a&q=1", {}, "GET /s?q=1"),
    ("blank query dropped", DEFAULT, "GET", "/a?", {}, "GET /a"),
    ("empty params dropped", DEFAULT, "GET", "/a?&&b=1&", {}, "GET /a?b=1"),
    ("repeated names sorted by value", DEFAULT, "GET", "/a?x=2&x=1", {}, "GET /a?x=1&x=2"),
    ("flag parameter", DEFAULT, "GET", "/a?debug&b=1", {}, "GET /a?b=1&debug"),
    ("unreserved decoded", DEFAULT, "GET", "/%7Euser/%41b", {}, "GET /~user/Ab"),
    ("reserved kept, upper hex", DEFAULT, "GET", "/a%2fb%3f", {}, "GET /a%2Fb%3F"),
    ("value escapes kept", DEFAULT, "GET", "/s?q=a%26b", {}, "GET /s?q=a%26b"),
    ("value unreserved decoded", DEFAULT, "GET", "/s?q=%61", {}, "GET /s?q=a"),
    ("lowercase path", KeyConfig(lowercase_path=True), "GET", "/Prod/A%2f", {}, "GET /prod/a%2F"),
    ("case kept by default", DEFAULT, "GET", "/Prod", {}, "GET /Prod"),
    ("query case kept", KeyConfig(lowercase_path=True), "GET", "/A?Q=X", {}, "GET /a?Q=X"),
    ("empty path", DEFAULT, "GET", "", {}, "GET /"),
    ("fragment dropped", DEFAULT, "GET", "/a?b=1#top", {}, "GET /a?b=1"),
    ("absolute form", DEFAULT, "GET", "https://shop.example/p?x=1", {}, "GET /p?x=1"),
    (
        "vary headers",
        KeyConfig(vary=("Accept-Encoding", "accept-language")),
        "GET",
        "/a",
        {"accept-encoding": " gzip ", "accept-language": "de"},
        "GET /a | accept-encoding=gzip&accept-language=de",
    ),
    ("vary header missing", KeyConfig(vary=("accept",)), "GET", "/a", {}, "GET /a | accept="),
    ("no ignore patterns", KeyConfig(ignore_params=()), "GET", "/a?utm_x=1", {}, "GET /a?utm_x=1"),
    ("custom pattern", KeyConfig(ignore_params=("ref*",)), "GET", "/a?ref=1&r=2", {}, "GET /a?r=2"),
]


@pytest.mark.parametrize(
    ("config", "method", "target", "headers", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_key(
    config: KeyConfig, method: str, target: str, headers: dict[str, str], expected: str
) -> None:
    assert make_key_function(config)(method, target, headers) == expected


def test_default_config_when_omitted() -> None:
    assert make_key_function()("GET", "/a?utm_x=1&b=2", {}) == "GET /a?b=2"


def test_helpers_are_usable_alone() -> None:
    assert normalise_path("/A%2f", lowercase=True) == "/a%2F"
    assert normalise_query("b=2&a=1", sort=False) == "b=2&a=1"
    assert normalise_query("b=2&a=1") == "a=1&b=2"


_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda n: not n.startswith("utm_") and n not in {"gclid", "fbclid", "msclkid", "_"}
)
_value = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.%2F", max_size=8)
_params = st.lists(st.tuples(_name, _value), max_size=6)


@given(_params, st.randoms())
def test_param_order_never_changes_the_key(params: list[tuple[str, str]], rnd: object) -> None:
    key = make_key_function()
    shuffled = list(params)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    query = "&".join(f"{n}={v}" for n, v in params)
    other = "&".join(f"{n}={v}" for n, v in shuffled)
    assert key("GET", f"/s?{query}", {}) == key("GET", f"/s?{other}", {})


@given(_params, st.lists(st.sampled_from(["utm_source", "UTM_Campaign", "gclid", "fbclid"])))
def test_ignored_params_never_change_the_key(
    params: list[tuple[str, str]], noise: list[str]
) -> None:
    key = make_key_function()
    query = "&".join(f"{n}={v}" for n, v in params)
    noisy = "&".join([query, *(f"{n}=zz" for n in noise)])
    assert key("GET", f"/s?{query}", {}) == key("GET", f"/s?{noisy}", {})


@given(st.text(max_size=40), st.sampled_from(["GET", "HEAD", "POST", "get"]))
def test_key_function_never_raises_and_is_idempotent_on_its_target(
    target: str, method: str
) -> None:
    key = make_key_function(KeyConfig(include_method=False))
    once = key(method, target, {})
    assert key(method, once, {}) == once
