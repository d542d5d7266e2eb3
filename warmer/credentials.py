"""What counts as a credential, and how a URL is shown without one: one rule for every stage.

The import scrubs traffic with :func:`is_credential_name` (headers, query, path and
fragment parameters, form and JSON bodies); every URL warmer prints or writes (errors,
``observe``, ``config.json``, reports, results metadata) goes through :func:`mask_url`,
which masks its userinfo and the parameters the same rule names. This module imports
nothing from warmer, so ``config`` and ``model`` can use it too.

A name is a credential when one of its *words* is one (words: the percent-decoded name
split at camelCase humps and at anything but letters and digits, lower-cased):

* a word that *contains* a stem of :data:`CREDENTIAL_STEMS` (``accessToken``,
  ``x-amz-signature``, ``jsessionid``, ``user[password]``, ``oauth_verifier``);
* a word equal to one of :data:`CREDENTIAL_WORDS` (``key``, ``sig``, ``sid``, ``otp``);
* a word ending in ``key`` (``apikey``, ``subscriptionkey``);

unless the word is one of :data:`HARMLESS_WORDS` (``author``, ``monkey``), which merely
look like one.
"""

from __future__ import annotations

import functools
import re

CREDENTIAL_STEMS: tuple[str, ...] = (
    "token", "secret", "session", "sessid", "passw", "passphrase", "pwd", "auth", "jwt",
    "signature", "credential", "apikey", "cookie", "csrf", "xsrf", "bearer", "saml", "hmac",
)  # fmt: skip
"""A word containing one of these is a credential (``sessionid``, ``authorization``)."""

CREDENTIAL_WORDS = frozenset({"key", "sig", "sid", "pass", "pin", "otp", "cred", "creds", "ticket"})
"""Words that are a credential on their own (``key=``, ``sig=``, ``sid=``)."""

HARMLESS_WORDS = frozenset(
    {
        "author", "authors", "authored", "authoring", "authority", "authorities",
        "monkey", "donkey", "hockey", "turkey", "jockey", "whiskey", "turnkey",
    }
)  # fmt: skip
"""Words that contain a stem or end in ``key`` but name nothing secret."""

_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
HINTS: tuple[str, ...] = (
    "token", "secret", "sess", "pass", "pwd", "auth", "jwt", "sig", "cred", "key", "cookie",
    "csrf", "xsrf", "bearer", "saml", "hmac", "sid", "pin", "otp", "ticket",
)  # fmt: skip
"""Every stem and word above contains one of these: text without any holds no credential
name (substring tests: several times faster than one regex over the alternatives)."""


@functools.lru_cache(maxsize=8192)
def is_credential_name(name: str) -> bool:
    """Whether a header, parameter or field called ``name`` may hold a credential."""
    return any(_credential_word(word) for word in name_words(name))


def name_words(name: str) -> list[str]:
    """``"user%5BaccessToken%5D"`` → ``["user", "access", "token"]``."""
    if "%" in name:
        name = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name)
    return [w for w in _NOT_ALNUM.split(_HUMP.sub(" ", name).lower()) if w]


def _credential_word(word: str) -> bool:
    if word in HARMLESS_WORDS:
        return False
    if word in CREDENTIAL_WORDS or word.endswith("key"):
        return True
    return any(stem in word for stem in CREDENTIAL_STEMS)


def may_name_credential(text: str) -> bool:
    """False only when no name in ``text`` can be a credential (a quick test, no parsing):
    no escape (which could hide one) and no stem or word anywhere."""
    if "%" in text:
        return True
    lowered = text.lower()
    for hint in HINTS:  # noqa: SIM110 - a plain loop: twice as fast as any() over a generator
        if hint in lowered:
            return True
    return False


# --------------------------------------------------------------------------- masking

MASK = "***"
"""What a masked secret is shown as."""

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*:)?//")
_PARAM = re.compile(r"([?&;])([^=&;#?]*)=([^&;#]*)")


def mask_url(url: str) -> str:
    """``url`` safe to print: userinfo and credential-named parameter values masked.

    ``redis://user:pw@host`` → ``redis://user:***@host``; ``http://TOKEN@host`` →
    ``http://***@host``; ``http://h/m?api_key=k`` → ``http://h/m?api_key=***``. It works
    on the raw text: the userinfo runs to the *last* ``@``, because a password substituted
    from the environment may hold ``/``, ``?``, ``#`` or ``@`` unencoded, which URL parsers
    split on. Over-masking a harmless ``@`` in a path is the accepted cost. A string that
    does not start with ``scheme://`` (or ``//``) is returned unchanged.
    """
    scheme = _SCHEME.match(url)
    if scheme is None:
        return url
    head, rest = url[: scheme.end()], url[scheme.end() :]
    userinfo, at, after = rest.rpartition("@")
    if at:
        rest = f"{_masked_userinfo(userinfo)}@{after}"
    return head + _PARAM.sub(_mask_param, rest)


def _masked_userinfo(userinfo: str) -> str:
    user, colon, _ = userinfo.partition(":")
    if colon and not re.search(r"[/?#]", user):
        return f"{user}:{MASK}"
    return MASK


def _mask_param(match: re.Match[str]) -> str:
    sep, name, value = match.groups()
    if value and is_credential_name(name.strip()):
        return f"{sep}{name}={MASK}"
    return match.group(0)
