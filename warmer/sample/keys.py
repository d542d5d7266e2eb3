"""Cache keys: map a request (method, target, headers) to the key a cache would store it under.

Everything downstream (selection, inspect, replay ordering, the gate's warm/verify overlap)
counts keys with the function built here, so two requests share a key exactly when a
cache configured like ``[sample.key]`` would serve them from the same object.

Key grammar (what :func:`make_key_function` returns)::

    key      = [ method SP ] path [ "?" query ] [ " | " vary ]
    method   = "GET" | "POST" | ...          ; upper-case; HEAD is written GET
    path     = the target's path, "%XX" of unreserved characters decoded, other
               escapes upper-cased (RFC 3986 §6.2.2), lower-cased when configured,
               "/" when empty
    query    = param *( "&" param )          ; blank parameters and ignored names
                                             ; dropped, sorted when configured
    vary     = name "=" value *( "&" name "=" value )   ; in the order configured

Decisions, documented in ``docs/sample-schema.md``:

* ``HEAD`` reads the same object as ``GET``, so it is keyed as ``GET`` (with or without
  ``include_method``).
* Sorting orders parameters by their full ``name=value`` text (as Varnish's
  ``std.querysort`` does), so repeated names are ordered by value too.
* Ignored names are fnmatch patterns matched case-insensitively against the
  percent-decoded parameter name; the value of a kept parameter is never decoded beyond
  unreserved characters, so ``a%26b`` and ``a&b`` stay different.
* A fragment (``#...``) is dropped; an absolute-form target (``http://h/p``) keeps only its
  path and query, since the recorded host never decides anything.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Mapping
from urllib.parse import unquote

from warmer.config.schema import KeyConfig

KeyFunction = Callable[[str, str, Mapping[str, str]], str]
"""``(method, target, headers with lower-case names) -> cache key``."""

_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")


def make_key_function(config: KeyConfig | None = None) -> KeyFunction:
    """Build the key function for ``config`` (default :class:`KeyConfig` when omitted).

    The returned function is pure and cheap: it never raises on odd input, it only
    normalises what it can.
    """
    config = config or KeyConfig()
    ignored = _ignore_matcher(config.ignore_params)
    vary = tuple(name.lower() for name in config.vary)

    def key(method: str, target: str, headers: Mapping[str, str]) -> str:
        path, query = _split_target(target)
        path = normalise_path(path, lowercase=config.lowercase_path)
        query = normalise_query(query, ignored=ignored, sort=config.sort_params)
        text = f"{path}?{query}" if query else path
        if config.include_method:
            text = f"{_key_method(method)} {text}"
        if vary:
            text += " | " + "&".join(f"{name}={headers.get(name, '').strip()}" for name in vary)
        return text

    return key


def _key_method(method: str) -> str:
    upper = method.upper()
    return "GET" if upper == "HEAD" else upper


def _split_target(target: str) -> tuple[str, str]:
    if "://" in target:
        target = _ABSOLUTE.sub("", target, count=1)
    target = target.split("#", 1)[0]
    path, _, query = target.partition("?")
    return path, query


def _normalise_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def normalise_escapes(text: str) -> str:
    """``%XX`` of unreserved characters decoded, other escapes upper-cased (RFC 3986 §6.2.2)."""
    return _ESCAPE.sub(_normalise_escape, text) if "%" in text else text


def normalise_path(path: str, *, lowercase: bool = False) -> str:
    """Decode escaped unreserved characters, upper-case other escapes, optionally lower-case.

    Lower-casing happens after decoding and leaves escapes upper-case (``%2F`` stays
    ``%2F``), so ``/A%2Fb`` becomes ``/a%2Fb``.
    """
    path = normalise_escapes(path) or "/"
    if lowercase:
        path = _ESCAPE.sub(lambda m: m.group(0).upper(), path.lower())
    return path


def normalise_query(
    query: str, *, ignored: Callable[[str], bool] = lambda _: False, sort: bool = True
) -> str:
    """Drop blank and ignored parameters, normalise escapes, sort when ``sort``."""
    if not query:
        return ""
    params = []
    for param in query.split("&"):
        if not param:
            continue
        param = normalise_escapes(param)
        if not ignored(_decoded_name(param.partition("=")[0])):
            params.append(param)
    if sort:
        params.sort()
    return "&".join(params)


@functools.lru_cache(maxsize=4096)
def _decoded_name(name: str) -> str:
    """A parameter name as matched against patterns; the same few names recur."""
    return unquote(name).lower()


def _ignore_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """One compiled regex for all patterns; callers pass the lower-cased name."""
    if not patterns:
        return lambda _: False
    regex = re.compile("|".join(fnmatch.translate(p.lower()) for p in patterns))

    @functools.lru_cache(maxsize=4096)
    def ignored(name: str) -> bool:
        return regex.match(name) is not None

    return ignored
