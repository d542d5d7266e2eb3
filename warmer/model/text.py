"""Untrusted text made inert for terminals and text reports: control characters shown, not obeyed.

Keys, header names, parameter names and cache statuses come from production traffic.
Printed raw, a carriage return or line feed forges lines of output, an ESC starts a
terminal escape sequence (colours, cursor moves, window titles, hyperlinks), and bidi
controls reorder what is displayed. :func:`printable` writes each such character as a
visible escape instead (``\\x1b``, ``\\r``, ``\\u202e``); everything else is unchanged.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_BUT_LF = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` with every control, line-separator and bidi-control character escaped
    (line feeds kept with ``keep_newlines``, for messages laid out on several lines)."""
    value = str(text)
    unsafe = _UNSAFE_BUT_LF if keep_newlines else _UNSAFE
    return unsafe.sub(_escape, value) if unsafe.search(value) else value
