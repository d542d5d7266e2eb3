"""Remove secrets from requests before they are written, wherever in a request they sit.

Policy (on by default, ``--no-scrub`` turns it off; ``docs/sample-schema.md`` has the
rules and examples). Names are matched with :func:`warmer.credentials.is_credential_name`
(credential words such as token, secret, session, auth, jwt, key, password, signature,
with an allow-list of harmless look-alikes) plus the configured lists:

* a **header** is dropped when its name is a credential or in the scrub list, unless kept
  with ``--keep-header``; nothing of its value is stored;
* a **parameter** keeps its name and loses its value when its percent-decoded name is a
  credential or in the scrub list (unless kept with ``--keep-param``): query, path
  (``;jsessionid=``), fragment (``#access_token=``) parameters, nested names
  (``user[password]``), form and JSON bodies, in the target and in URLs inside header
  values (``Referer``);
* **userinfo** (``user:pass@``) is removed from the recorded host, absolute-form targets
  and URLs in header values.

A removed value becomes a *pseudonym*, ``REDACTED-`` and 16 hex digits of a keyed hash
(BLAKE2b) under a random salt made for each import and never written: the same value gets
the same pseudonym within one import and different values different ones, so a sample
keeps its distinct keys and their reuse while the secret is gone. ``redact=True``
(``--redact``) writes plain ``REDACTED`` instead, which merges every value into one key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from warmer.credentials import is_credential_name, may_name_credential
from warmer.sample.keys import normalise_escapes

REDACTED = "REDACTED"

_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//)([^/?#]*)@")
# Each pattern captures (separator, name, value) of one parameter of its part of a URL.
_PATH_PARAM = re.compile(r"(;)([^;/=?#]*)=([^;/?#]*)")
_QUERY_PARAM = re.compile(r"(^|&)([^&=]*)=([^&]*)")
_FRAGMENT_PARAM = re.compile(r"(^|[&?/;])([^&?/;=]*)=([^&?/;]*)")
_FORM = re.compile(r"[^\s=&]*=[^\s]*")

Labels = list[str]
"""What was scrubbed, as counted in the sample's metadata: ``param:<name>``,
``body:<name>``, ``userinfo``."""


@dataclass(frozen=True)
class ScrubPolicy:
    """What to scrub. ``enabled=False`` (``--no-scrub``) keeps everything as recorded.

    ``salt`` keys the pseudonyms; the importer gives each import a fresh one.
    """

    headers: frozenset[str]
    params: frozenset[str]
    keep_headers: frozenset[str] = frozenset()
    enabled: bool = True
    keep_params: frozenset[str] = frozenset()
    redact: bool = False
    """Write plain ``REDACTED`` instead of a pseudonym (merges keys: see the module doc)."""
    lowercase_path: bool = False
    """Pseudonyms of path parameters ignore case, as keys do with ``lowercase_path``."""
    salt: bytes = field(default_factory=lambda: secrets.token_bytes(16), repr=False)

    @classmethod
    def build(
        cls,
        headers: Iterable[str],
        params: Iterable[str],
        *,
        keep: Iterable[str] = (),
        keep_params: Iterable[str] = (),
        enabled: bool = True,
        redact: bool = False,
    ) -> ScrubPolicy:
        """A policy from name lists (case-insensitive)."""
        return cls(
            frozenset(h.lower() for h in headers),
            frozenset(p.lower() for p in params),
            frozenset(k.lower() for k in keep),
            enabled,
            frozenset(k.lower() for k in keep_params),
            redact,
        )

    def drops_header(self, name: str) -> bool:
        """Whether header ``name`` (any case) is removed."""
        lower = name.lower()
        if not self.enabled or lower in self.keep_headers:
            return False
        return lower in self.headers or is_credential_name(name)

    def secret_param(self, name: str) -> bool:
        """Whether the value of parameter ``name`` (percent-decoded) is scrubbed."""
        lower = name.lower()
        if lower in self.keep_params:
            return False
        return lower in self.params or is_credential_name(name)

    def pseudonym(self, value: str, *, fold_case: bool = False) -> str:
        """What replaces the secret ``value``: the same text for equivalent values (escapes
        normalised as in keys) within this policy's salt, different text otherwise."""
        if self.redact:
            return REDACTED
        text = normalise_escapes(value)
        text = text.lower() if fold_case else text
        data = text.encode("utf-8", "surrogatepass")
        return f"{REDACTED}-{hashlib.blake2b(data, digest_size=8, key=self.salt).hexdigest()}"

    def may_hold_secret(self, text: str) -> bool:
        """False only when ``text`` surely holds nothing to scrub (a quick test, no parsing)."""
        if "@" in text or may_name_credential(text):
            return True
        if not self._extra_hints:
            return False
        lowered = text.lower()
        return any(name in lowered for name in self._extra_hints)

    @functools.cached_property
    def _extra_hints(self) -> tuple[str, ...]:
        """Configured names that hold none of the credential hints (usually none)."""
        return tuple(p for p in self.params if not may_name_credential(p))

    def scrub_url(self, url: str) -> tuple[str, Labels]:
        """``url`` (a target or a header value) without userinfo and secret parameter values,
        and what was scrubbed."""
        if not self.enabled or not self.may_hold_secret(url):
            return url, []
        labels: Labels = []
        text = url
        match = _USERINFO.match(text) if "@" in text else None
        if match:
            text = match.group(1) + text[match.end() :]
            labels.append("userinfo")
        base, hash_, fragment = text.partition("#")
        path, mark, query = base.partition("?")
        if ";" in path:
            path = _PATH_PARAM.sub(self._replacer("param", labels, self.lowercase_path), path)
        if query:
            query = _QUERY_PARAM.sub(self._replacer("param", labels), query)
        if fragment:
            fragment = _FRAGMENT_PARAM.sub(self._replacer("param", labels), fragment)
        if not labels:
            return url, []
        return f"{path}{mark}{query}{hash_}{fragment}", labels

    def scrub_host(self, host: str) -> tuple[str, Labels]:
        """A recorded host without ``user:pass@``."""
        if not self.enabled or "@" not in host:
            return host, []
        return host.rpartition("@")[2], ["userinfo"]

    def scrub_body(self, body: str) -> tuple[str, Labels]:
        """A request body (base64, as samples store it, or the text a log recorded) with
        the secret fields of a form or JSON body replaced; other bodies (binary,
        multipart) are kept as recorded."""
        if not self.enabled:
            return body, []
        try:
            text, encoded = base64.b64decode(body, validate=True).decode("utf-8"), True
        except (binascii.Error, ValueError):
            text, encoded = body, False
        if not self.may_hold_secret(text):
            return body, []
        labels: Labels = []
        if text.lstrip()[:1] in ("{", "["):
            text = self._scrub_json(text, labels)
        elif _FORM.fullmatch(text):
            text = _QUERY_PARAM.sub(self._replacer("body", labels), text)
        if not labels:
            return body, []
        return (base64.b64encode(text.encode()).decode("ascii") if encoded else text), labels

    def _replacer(
        self, kind: str, labels: Labels, fold_case: bool = False
    ) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            sep, name, value = match.groups()
            plain = unquote(name).strip()
            if not value or not self.secret_param(plain):
                return match.group(0)
            labels.append(f"{kind}:{plain.lower()}")
            return f"{sep}{name}={self.pseudonym(value, fold_case=fold_case)}"

        return replace

    def _scrub_json(self, text: str, labels: Labels) -> str:
        try:
            document = json.loads(text)
        except ValueError:
            return text
        scrubbed = self._scrub_tree(document, labels)
        return json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":")) if labels else text

    def _scrub_tree(self, value: Any, labels: Labels) -> Any:
        if isinstance(value, list):
            return [self._scrub_tree(v, labels) for v in value]
        if not isinstance(value, dict):
            return value
        out = {}
        for name, item in value.items():
            scalar = isinstance(item, str | int | float) and not isinstance(item, bool)
            if scalar and item != "" and self.secret_param(name):
                labels.append(f"body:{name.lower()}")
                item = self.pseudonym(str(item))
            out[name] = self._scrub_tree(item, labels)
        return out
