"""Freshness of a recorded response per RFC 9111: how long a shared cache may serve it.

Grammar and rules followed (RFC 9111, "HTTP Caching")::

    Cache-Control   = #cache-directive                          ; §5.2
    cache-directive = token [ "=" ( token / quoted-string ) ]   ; max-age="5" is allowed
    delta-seconds   = 1*DIGIT                                   ; §1.2.2, capped at 2^31
    Expires         = HTTP-date                                 ; §5.3, invalid = in the past
    Age             = delta-seconds                             ; §5.1

    freshness_lifetime (§4.2.1, for a shared cache, first match wins):
      s-maxage  →  its value
      max-age   →  its value
      Expires   →  Expires − Date   (Date missing: the response's receipt, so 0 here)
      otherwise →  unknown          (a cache may use a heuristic, §4.2.2; we do not guess)

    freshness left at receipt = freshness_lifetime − Age        ; §4.2.3, Age as received

A directive repeated with different values, or a value that is not delta-seconds, makes
the response stale (§4.2.1: "either the first occurrence should be used or the response
should be considered stale"; §5.2: a cache may treat an invalid value as stale) — lifetime 0.
``no-store`` and ``private`` mean a shared cache does not store the response (§5.2.2.5,
§5.2.2.7); ``no-cache`` means it must revalidate every time (§5.2.2.4): lifetime 0.
Every function is pure and memoised per distinct header value (values repeat heavily).
"""

from __future__ import annotations

import email.utils
import functools
from typing import NamedTuple

from warmer.observe.parsers.legacy import parse_age

MAX_DELTA = 2**31
"""RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as 2^31."""


class Directives(NamedTuple):
    """What a ``Cache-Control`` value says about storing and reusing a response."""

    lifetime_s: float | None
    """``s-maxage`` or ``max-age``; 0 when a directive forbids reuse without revalidation;
    None when the header gives no lifetime (then ``Expires`` may)."""
    storable: bool = True
    """False for ``no-store`` and ``private``: a shared cache keeps no copy."""
    stale_while_revalidate_s: float | None = None
    """RFC 5861: the cache may serve stale this long while it refreshes in the background."""


@functools.lru_cache(maxsize=4096)
def parse_cache_control(value: str | None) -> Directives:
    """Directives of one (comma-joined) ``Cache-Control`` value; never raises."""
    if value is None or not value.strip():
        return Directives(None)
    seen: dict[str, list[str | None]] = {}
    for part in _split(value):
        name, sep, arg = part.partition("=")
        arg_text = arg.strip().strip('"') if sep else None
        seen.setdefault(name.strip().lower(), []).append(arg_text)
    storable = "no-store" not in seen and "private" not in seen
    swr = _delta(seen.get("stale-while-revalidate"))
    if "no-cache" in seen:
        return Directives(0.0, storable, swr)
    for name in ("s-maxage", "max-age"):
        if name in seen:
            lifetime = _delta(seen[name])
            return Directives(0.0 if lifetime is None else lifetime, storable, swr)
    return Directives(None, storable, swr)


def _split(value: str) -> list[str]:
    """Split on commas outside quoted strings (``no-cache="a, b"`` is one directive)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in (part.strip() for part in parts) if p]


def _delta(values: list[str | None] | None) -> float | None:
    """The one delta-seconds of a directive; None when absent, invalid or contradictory."""
    if not values:
        return None
    texts = {v for v in values if v is not None}
    if len(texts) != 1:
        return None
    text = texts.pop()
    if not (text.isascii() and text.isdigit()):
        return None
    return float(min(int(text), MAX_DELTA))


@functools.lru_cache(maxsize=4096)
def parse_http_date(value: str | None) -> float | None:
    """An HTTP-date (IMF-fixdate, RFC 850 or asctime, RFC 9110 §5.6.7) as epoch seconds."""
    if value is None or not value.strip():
        return None
    parsed = email.utils.parsedate_tz(value.strip())
    if parsed is None:
        return None
    try:
        return float(email.utils.mktime_tz(parsed))
    except (OverflowError, ValueError):
        return None


def freshness_lifetime(
    cache_control: str | None, expires: str | None = None, date: str | None = None
) -> float | None:
    """Seconds a shared cache may serve the response from when it was generated (§4.2.1).

    0 for a response that is stale at once (``no-cache``, an invalid or past ``Expires``,
    ``no-store``/``private``: a shared cache does not serve it again); None when neither
    ``Cache-Control`` nor ``Expires`` gives a lifetime.
    """
    directives = parse_cache_control(cache_control)
    if not directives.storable:
        return 0.0
    if directives.lifetime_s is not None:
        return directives.lifetime_s
    if expires is None:
        return None
    expiry = parse_http_date(expires)
    generated = parse_http_date(date)
    if expiry is None:  # §5.3: an invalid Expires ("0") is a time in the past
        return 0.0
    if generated is None:
        return 0.0 if date is not None else None
    return max(0.0, expiry - generated)


def freshness_left(
    cache_control: str | None,
    expires: str | None = None,
    date: str | None = None,
    age: str | None = None,
) -> float | None:
    """Freshness lifetime minus the ``Age`` the response arrived with (may be negative)."""
    lifetime = freshness_lifetime(cache_control, expires, date)
    if lifetime is None:
        return None
    return lifetime - (parse_age(age) or 0)
