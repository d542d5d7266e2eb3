"""The vendor preset table: each row reads its vendor's values as the cited document says."""

from __future__ import annotations

import pytest

from warmer.config.schema import SourceConfig
from warmer.errors import ConfigError
from warmer.observe.build import header_rule
from warmer.observe.headers import (
    OUTCOME_HIT,
    OUTCOME_MISS,
    OUTCOME_NONE,
    OUTCOME_REVALIDATED,
    OUTCOME_STALE,
    OUTCOME_UNKNOWN,
)
from warmer.observe.presets import PRESETS, WORDS

H, M, S, R, N, U = (
    OUTCOME_HIT,
    OUTCOME_MISS,
    OUTCOME_STALE,
    OUTCOME_REVALIDATED,
    OUTCOME_NONE,
    OUTCOME_UNKNOWN,
)

CASES = {
    "nginx": [("HIT", H), ("MISS", M), ("EXPIRED", M), ("STALE", S), ("UPDATING", S),
              ("REVALIDATED", R), ("BYPASS", N), ("hit", H), ("odd", U), (None, N)],
    "varnish": [("32770", M), ("32773 32771", H), ("1 2, 3", M), ("x y", U), (None, N)],
    "cloudflare": [("HIT", H), ("MISS", M), ("EXPIRED", M), ("STALE", S), ("UPDATING", S),
                   ("REVALIDATED", R), ("DYNAMIC", N), ("BYPASS", N), ("NONE", N)],
    # Any entry but MISS means the request was not forwarded to origin.
    "fastly": [("MISS, HIT", H), ("HIT, MISS", H), ("MISS, MISS", M), ("HIT", H),
               ("MISS", M)],
    "akamai": [("TCP_HIT from a1-2-3-4", H), ("TCP_MEM_HIT", H), ("TCP_IMS_HIT", H),
               ("TCP_NEGATIVE_HIT", H), ("TCP_MISS from a1", M), ("TCP_REFRESH_HIT", R),
               ("TCP_REFRESH_MISS", M), ("TCP_REFRESH_FAIL_HIT", S), ("TCP_DENIED", N)],
    "cloudfront": [("Hit from cloudfront", H), ("Miss from cloudfront", M),
                   ("RefreshHit from cloudfront", R), ("Redirect from cloudfront", N),
                   ("Error from cloudfront", U)],
    "squid": [("HIT from proxy-1", H), ("MISS from proxy-1", M), ("HIT from a, MISS from b", M),
              ("MISS from a, HIT from b", H)],
    "age": [("0", H), ("12", H), (None, M), ("soon", U)],
}  # fmt: skip


def test_every_preset_cites_its_source_and_is_tested() -> None:
    assert {p.name for p in PRESETS} == set(CASES)
    for row in PRESETS:
        assert row.source, row.name
        assert set(row.words.values()) <= set(WORDS)


@pytest.mark.parametrize(
    ("name", "value", "code"), [(n, v, c) for n, cases in CASES.items() for v, c in cases]
)
def test_preset_reads_the_vendor_value(name: str, value: str | None, code: int) -> None:
    rule = header_rule("cdn", SourceConfig(source="header", preset=name))
    assert rule.classifier()(value) == code


def test_a_preset_can_read_another_header_and_take_more_words() -> None:
    config = SourceConfig(
        source="header", preset="nginx", header="X-Proxy-Cache", words={"warm": "hit"}
    )
    rule = header_rule("edge", config)
    assert rule.header == "x-proxy-cache" and rule.column == "headers"
    assert rule.classifier()("WARM") == H and rule.classifier()("STALE") == S


def test_a_header_tier_without_preset_names_any_header_and_its_words() -> None:
    config = SourceConfig(
        source="header", header="X-My-Cache", words={"yes": "hit", "no": "miss"}, hop="any"
    )
    rule = header_rule("edge", config)
    assert rule.classifier()("no, yes") == H and rule.classifier()("no") == M


def test_unknown_preset_and_bad_header_are_config_errors() -> None:
    with pytest.raises(ConfigError) as err:
        header_rule("edge", SourceConfig(source="header", preset="teapot"))
    assert err.value.path == "tiers.edge.preset" and "varnish" in err.value.message
    with pytest.raises(ValueError, match="not a header name"):
        SourceConfig(source="header", header="x cache")
    with pytest.raises(ValueError, match="needs header"):
        SourceConfig(source="header")
