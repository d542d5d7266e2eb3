"""What may go on the wire: the one form of a request target, header and Host every engine sends.

Recorded traffic is untrusted text. Before any engine writes it, a request passes these
rules, so the fast engine (which writes bytes itself), httpx and Locust send the same
bytes, and nothing in a recorded field can end the request line or the header block early
(request smuggling).

Request target (:func:`encode_target`), as a browser writes one: the fragment is dropped
(clients never send it); every character outside URI syntax, and every non-ASCII
character as its UTF-8 bytes, is percent-encoded (``/café`` → ``/caf%C3%A9``); a ``%``
that starts no escape becomes ``%25``; escapes of unreserved characters are decoded
(``%7E`` → ``~``, RFC 3986 §6.2.2, as cache keys already read them). What is left is a
fixed point of every engine's own URL handling. A target that does not start with one
``/``, or holds whitespace or a control character, cannot be sent.

Header fields (:func:`field_ok`): the name is an RFC 9110 token; the value, without its
surrounding spaces, holds visible characters, spaces and tabs only, each in ISO-8859-1
(a value with ``日本`` cannot be written as the octets HTTP carries: browsers' ``fetch``
refuses it the same way). Host (:func:`encode_host`): an RFC 3986 host and optional
port, a non-ASCII name IDNA-encoded.
"""

from __future__ import annotations

import re
import string

UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_SAFE = UNRESERVED | frozenset("!$&'()*+,/:;=?@[]")
_HEX = frozenset(string.hexdigits)
_UNSENDABLE = re.compile(r"[\s\x00-\x1f\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(:[0-9]{1,5})?")


def encode_target(target: str) -> str | None:
    """``target`` as every engine sends it, or None when it cannot be sent (see above)."""
    target = target.partition("#")[0]
    if not target.startswith("/") or target.startswith("//") or _UNSENDABLE.search(target):
        return None  # "//x" could be read as a host by a proxy
    if target.isascii() and "%" not in target and all(c in _SAFE for c in target):
        return _without_empty_delimiters(target)  # the common case: nothing to encode
    out: list[str] = []
    i, n = 0, len(target)
    while i < n:
        char = target[i]
        if char == "%":
            escape = target[i + 1 : i + 3]
            if len(escape) == 2 and all(c in _HEX for c in escape):
                decoded = chr(int(escape, 16))
                out.append(decoded if decoded in UNRESERVED else "%" + escape)
                i += 3
                continue
            out.append("%25")
        elif char in _SAFE:
            out.append(char)
        else:
            try:
                data = char.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: no bytes to send
                return None
            out.append("".join(f"%{byte:02X}" for byte in data))
        i += 1
    return _without_empty_delimiters("".join(out))


def _without_empty_delimiters(target: str) -> str:
    """Without an empty query's ``?`` or an empty last path parameter's ``;``: URL parsers
    (Locust's among them) drop both, and a cache key ignores the empty query anyway."""
    path, mark, query = target.partition("?")
    last = path.rpartition("/")[2]
    if last and last.find(";") == len(last) - 1:
        path = path[:-1]
    return path + mark + query if query else path


def is_token(text: str) -> bool:
    """Whether ``text`` is an RFC 9110 token (a method or a header name)."""
    return _TOKEN.fullmatch(text) is not None


def field_ok(name: str, value: str) -> bool:
    """Whether ``name: value`` (value already stripped of surrounding spaces) may be sent."""
    return _TOKEN.fullmatch(name) is not None and _FIELD_VALUE.fullmatch(value) is not None


def field_value(value: str) -> str:
    """A recorded value without the optional whitespace around it (RFC 9110 §5.5)."""
    return value.strip(" \t")


def encode_host(host: str) -> str | None:
    """A recorded ``host[:port]`` as a Host header value, or None when it is not one."""
    host = host.strip(" \t")
    if not host.isascii():
        import idna

        name, colon, port = host.rpartition(":") if _has_port(host) else (host, "", "")
        try:
            host = idna.encode(name.rstrip("."), uts46=True).decode("ascii") + colon + port
        except (idna.IDNAError, UnicodeError):
            return None
    return host if _HOST.fullmatch(host) else None


def _has_port(host: str) -> bool:
    _, colon, port = host.rpartition(":")
    return bool(colon) and port.isdigit() and "]" not in port
