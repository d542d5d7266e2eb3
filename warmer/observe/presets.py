"""How real caches and CDNs say hit or miss: one table of header presets, one row per vendor.

A ``header`` tier names a preset (``preset = "varnish"``) or its own header and words.
Each row says which response header to read, how to pick the part of a chain that is this
tier (``hop``: an index, or ``any`` for a CDN whose every node may answer), and what each
status word means (``WORDS``): ``hit`` served from cache, ``stale`` served from cache past
its freshness, ``revalidated`` a stale copy checked with the origin (it reached the origin:
a miss for hit rates, and stale), ``miss`` fetched from the origin, ``bypass`` not looked
up. Words are matched case-insensitively on the first word of the hop (``HIT from edge-1``
reads ``HIT``), then as a ``_WORD`` suffix (``TCP_MEM_HIT``). Each row cites the vendor
document it follows; the nginx and Varnish rows are also checked against Debian's nginx and
Varnish 7 in ``tests/observe/test_real_caches.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Word = Literal["hit", "stale", "revalidated", "miss", "bypass"]
WORDS: tuple[Word, ...] = ("hit", "stale", "revalidated", "miss", "bypass")
"""What a status word may mean."""

Kind = Literal["words", "x-varnish", "age"]


@dataclass(frozen=True)
class Preset:
    """One row of the table: how one vendor's cache reports a lookup."""

    name: str
    header: str
    """The response header read (lower case)."""
    kind: Kind
    """``words``: status words; ``x-varnish``: one transaction id = miss, two = hit;
    ``age``: an ``Age`` header present = hit (RFC 9111 §5.1)."""
    words: Mapping[str, Word] = field(default_factory=dict)
    hop: int | Literal["any"] = -1
    """Which element of a comma chain is this tier; ``any``: a hit anywhere is a hit."""
    also: tuple[str, ...] = ()
    """Other response headers recorded with it (shown in the results for debugging)."""
    source: str = ""
    """The vendor document the row follows."""


_NGINX: dict[str, Word] = {
    "HIT": "hit",
    "STALE": "stale",
    "UPDATING": "stale",
    "REVALIDATED": "revalidated",
    "EXPIRED": "miss",
    "MISS": "miss",
    "BYPASS": "bypass",
}

PRESETS: tuple[Preset, ...] = (
    Preset(
        "nginx",
        "x-cache-status",  # add_header X-Cache-Status $upstream_cache_status
        "words",
        _NGINX,
        source="https://nginx.org/en/docs/http/ngx_http_upstream_module.html"
        "#var_upstream_cache_status",
    ),
    Preset(
        "varnish",
        "x-varnish",
        "x-varnish",  # "1234" on a miss or pass, "1234 1001" (request, object) on a hit
        also=("age", "via"),
        source="varnishd's source, bin/varnishd/cache/cache_req_fsm.c, Resp_Setup_Deliver: "
        "'X-Varnish: %ju %ju' (request and object vxid) when req->is_hit, else one vxid; "
        "Age is floor(now - t_origin), so 0 on a miss",
    ),
    Preset(
        "cloudflare",
        "cf-cache-status",
        "words",
        {
            "HIT": "hit",
            "STALE": "stale",
            "UPDATING": "stale",
            "REVALIDATED": "revalidated",
            "EXPIRED": "miss",
            "MISS": "miss",
            "BYPASS": "bypass",
            "DYNAMIC": "bypass",
            "NONE": "bypass",
            "UNKNOWN": "bypass",
        },
        source="https://developers.cloudflare.com/cache/concepts/cache-responses/",
    ),
    Preset(
        "fastly",
        "x-cache",  # "MISS, HIT": one entry per node, in X-Served-By's order
        "words",
        {"HIT": "hit", "MISS": "miss"},
        hop="any",  # "any entries ... except MISS indicate ... not forwarded to origin"
        also=("x-served-by", "x-cache-hits"),
        source="https://www.fastly.com/documentation/reference/http/http-headers/X-Cache/",
    ),
    Preset(
        "akamai",
        "x-cache",  # Pragma: akamai-x-cache-on
        "words",
        {
            "HIT": "hit",  # TCP_HIT, TCP_MEM_HIT, TCP_IMS_HIT, TCP_NEGATIVE_HIT by suffix
            "REFRESH_HIT": "revalidated",
            "REFRESH_FAIL_HIT": "stale",
            "REFRESH_MISS": "miss",
            "MISS": "miss",
            "DENIED": "bypass",
            "COOKIE_DENY": "bypass",
        },
        source="https://techdocs.akamai.com/edge-diagnostics/docs/pragma-headers",
    ),
    Preset(
        "cloudfront",
        "x-cache",  # "Hit from cloudfront"
        "words",
        {
            "HIT": "hit",
            "REFRESHHIT": "revalidated",
            "MISS": "miss",
            "REDIRECT": "bypass",
            "LAMBDAGENERATEDRESPONSE": "bypass",
            "FUNCTIONGENERATEDRESPONSE": "bypass",
        },
        source="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/"
        "standard-logs-reference.html (x-edge-result-type)",
    ),
    Preset(
        "squid",
        "x-cache",  # "HIT from proxy-1"; each proxy appends, the nearest client is last
        "words",
        {"HIT": "hit", "MISS": "miss"},
        source="no Squid document defines X-Cache; Squid 3-5 send 'HIT from host' "
        "(squid-cache.org); Squid 6 sends RFC 9211 Cache-Status: use source = cache-status",
    ),
    Preset(
        "age",
        "age",
        "age",
        source="https://www.rfc-editor.org/rfc/rfc9111#section-5.1 (not for Varnish, "
        "which sends Age: 0 on misses: use the varnish preset)",
    ),
)
"""Every preset; ``preset = NAME`` in ``[tiers.NAME]`` picks a row by name."""

BY_NAME: Mapping[str, Preset] = {p.name: p for p in PRESETS}


def preset(name: str) -> Preset:
    """The preset called ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return BY_NAME[name.lower()]
    except KeyError:
        raise KeyError(f"unknown preset {name!r} (known: {', '.join(BY_NAME)})") from None
