"""Protected hosts: a target is compared with ``[safety] protected_hosts`` as a host, not as text.

Both sides are normalised first (:func:`normalise_host`): lower case, no trailing dot,
IDNA (``bücher.example`` → ``xn--bcher-kva.example``); an IPv4 address in any spelling
the URL standard and ``inet_aton`` accept (``127.1``, ``2130706433``, ``0x7f.0.0.1``,
``0177.0.0.1``) becomes its dotted-decimal form, and an IPv4-mapped IPv6 address
(``[::ffff:127.0.0.1]``) the IPv4 address it maps; other IPv6 addresses their compressed
form. An entry protects the target when

* it is a pattern (``*``, ``?``, ``[``; fnmatch) that matches the normalised host;
* it is a host name or address equal to the normalised host;
* it is a CIDR block (``10.0.0.0/8``, ``fd00::/8``) holding the target's address;
* the target and the entry *resolve* to a common address: names (the target's and the
  entries' that are not patterns) are resolved with the system resolver, so ``localhost``
  is refused when ``127.0.0.1`` is protected, and an address when a protected name points
  at it.

Resolution failures are not errors: a name that does not resolve within
:data:`RESOLVE_TIMEOUT_S` is compared as a name only (a target that does not resolve is
then reported unreachable, exit 3, before anything is sent). A protected *name* that does
not resolve from this machine cannot protect by address; list the production addresses
or CIDR blocks to protect them whatever DNS answers.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Iterable

RESOLVE_TIMEOUT_S = 3.0
"""How long all names of one check may take to resolve together."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DIGITS = {16: re.compile(r"[0-9a-fA-F]*"), 8: re.compile(r"[0-7]*"), 10: re.compile(r"[0-9]+")}


def normalise_host(host: str) -> str:
    """The one spelling of ``host`` that protected entries are compared in (see above)."""
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0] if ":" in text else text  # an IPv6 zone (fe80::1%eth0)
    text = text.rstrip(".") or text
    address = parse_address(text)
    if address is not None:
        return str(address)
    if not text.isascii():
        import idna

        try:
            return idna.encode(text, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return text
    return text


def parse_address(text: str) -> IPAddress | None:
    """``text`` as an IP address in any accepted spelling (IPv4-mapped IPv6 → IPv4)."""
    number = _parse_ipv4(text)
    if number is not None:
        return ipaddress.IPv4Address(number)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _parse_ipv4(text: str) -> int | None:
    """The WHATWG URL IPv4 parser: 1 to 4 dot-separated numbers, each decimal, ``0x`` hex
    or ``0``-prefixed octal, the last one filling the remaining bytes."""
    parts = text.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    return values[-1] + sum(n << (8 * (3 - i)) for i, n in enumerate(values[:-1]))


def _ipv4_number(part: str) -> int | None:
    base, digits = 10, part
    if part[:2] in ("0x", "0X"):
        base, digits = 16, part[2:]
    elif len(part) > 1 and part.startswith("0"):
        base, digits = 8, part[1:]
    if not part or not _DIGITS[base].fullmatch(digits):
        return None
    return int(digits, base) if digits else 0


def protected_match(host: str, entries: tuple[str, ...], *, resolve: bool = True) -> str | None:
    """The first entry of ``entries`` that protects ``host``, or None (rules above)."""
    if not entries:
        return None
    name = normalise_host(host)
    for entry in entries:
        if _matches_text(name, entry):
            return entry
    if not resolve:
        return None
    names = [name] + [e for e in entries if not _is_pattern(e) and "/" not in e]
    addresses = resolve_all({normalise_host(n) for n in names})
    mine = addresses[name]
    for entry in entries:
        if mine & _entry_addresses(entry, addresses) or _in_block(mine, entry):
            return entry
    return None


def _matches_text(name: str, entry: str) -> bool:
    if _is_pattern(entry):
        return fnmatch.fnmatchcase(name, entry.strip().lower().rstrip("."))
    if "/" in entry:
        address = parse_address(name)
        return address is not None and _in_block({address}, entry)
    return name == normalise_host(entry)


def _is_pattern(entry: str) -> bool:
    text = entry.strip()
    if text.startswith("[") and text.endswith("]") and parse_address(text[1:-1]) is not None:
        return False  # an IPv6 literal, not a character class
    return any(c in text for c in "*?[")


def _entry_addresses(entry: str, resolved: dict[str, set[IPAddress]]) -> set[IPAddress]:
    if _is_pattern(entry) or "/" in entry:
        return set()
    return resolved.get(normalise_host(entry), set())


def _in_block(addresses: set[IPAddress], entry: str) -> bool:
    if "/" not in entry or _is_pattern(entry):
        return False
    try:
        network = ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return False
    return any(a.version == network.version and a in network for a in addresses)


def resolve_all(
    names: Iterable[str], timeout_s: float = RESOLVE_TIMEOUT_S
) -> dict[str, set[IPAddress]]:
    """Each name's addresses (an address stands for itself); empty when it does not resolve
    in time. Lookups run on daemon threads, so a hung resolver delays nothing past the
    timeout."""
    found: dict[str, set[IPAddress]] = {}
    threads: list[tuple[str, threading.Thread]] = []
    for name in set(names):
        address = parse_address(name)
        if address is not None:
            found[name] = {address}
            continue
        thread = threading.Thread(target=_lookup, args=(name, found), daemon=True)
        thread.start()
        threads.append((name, thread))
    deadline = time.monotonic() + timeout_s
    for _, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {name: set(found.get(name, ())) for name in set(names)}


def _lookup(name: str, found: dict[str, set[IPAddress]]) -> None:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        infos = []
    addresses = {parse_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    found[name] = {a for a in addresses if a is not None}
