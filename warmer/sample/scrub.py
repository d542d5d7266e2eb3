"""Remove secrets from requests before they are written: headers, query values, URLs in headers.

Policy (on by default, ``--no-scrub`` turns it off):

* a header is **dropped** when its lower-cased name is in the scrub list or looks like a
  credential (contains ``auth``, ``token``, ``secret``, ``cookie``, ``session``,
  ``password``, ``api-key``/``apikey``, ``signature``, ``credential``), unless kept with
  ``--keep-header``; nothing of its value is stored;
* a query parameter whose percent-decoded, lower-cased name is in the scrub list keeps
  its name but its value becomes ``REDACTED``, so the key shape survives; this applies
  to the target and to URLs inside kept header values (``Referer``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

REDACTED = "REDACTED"
_CREDENTIAL_WORDS = re.compile(
    r"auth|token|secret|cookie|session|password|passwd|api-?key|signature|credential"
)


@dataclass(frozen=True)
class ScrubPolicy:
    """What to scrub. ``enabled=False`` (``--no-scrub``) keeps everything as recorded."""

    headers: frozenset[str]
    params: frozenset[str]
    keep_headers: frozenset[str] = frozenset()
    enabled: bool = True

    @classmethod
    def build(
        cls,
        headers: Iterable[str],
        params: Iterable[str],
        *,
        keep: Iterable[str] = (),
        enabled: bool = True,
    ) -> ScrubPolicy:
        """A policy from name lists (case-insensitive)."""
        return cls(
            frozenset(h.lower() for h in headers),
            frozenset(p.lower() for p in params),
            frozenset(k.lower() for k in keep),
            enabled,
        )

    def drops_header(self, name: str) -> bool:
        """Whether header ``name`` (any case) is removed."""
        name = name.lower()
        if not self.enabled or name in self.keep_headers:
            return False
        return name in self.headers or _CREDENTIAL_WORDS.search(name) is not None

    def _may_name_secret(self, query: str) -> bool:
        """False only when no parameter can be a secret one (a quick test, no parsing):
        no escapes (names might be encoded) and no secret name anywhere in the text."""
        lowered = query.lower()
        return "%" in lowered or any(name in lowered for name in self.params)

    def scrub_url(self, url: str) -> tuple[str, list[str]]:
        """``url`` with secret parameter values replaced, and the names replaced."""
        if not self.enabled or "?" not in url:
            return url, []
        base, _, rest = url.partition("?")
        query, hash_, fragment = rest.partition("#")
        if not self._may_name_secret(query):
            return url, []
        scrubbed: list[str] = []
        params = query.split("&")
        for i, param in enumerate(params):
            name, eq, _ = param.partition("=")
            plain = unquote(name).strip().lower()
            if eq and plain in self.params:
                params[i] = f"{name}={REDACTED}"
                scrubbed.append(plain)  # reported under the name it matched
        if not scrubbed:
            return url, []
        return f"{base}?{'&'.join(params)}{hash_}{fragment}", scrubbed
