"""The one credential rule: which names hold secrets, and the quick test that skips the rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warmer.credentials import (
    CREDENTIAL_STEMS,
    CREDENTIAL_WORDS,
    HINTS,
    is_credential_name,
    may_name_credential,
    name_words,
)

SECRET = [
    "token", "access_token", "accessToken", "ACCESSTOKEN", "id_token", "session", "session_id",
    "sessionId", "JSESSIONID", "PHPSESSID", "auth", "auth_token", "oauth_verifier",
    "Authorization", "jwt", "key", "api_key", "apiKey", "x-api-key", "Ocp-Apim-Subscription-Key",
    "password", "passwd", "pwd", "user[password]", "user%5Bpassword%5D", "signature", "sig",
    "X-Amz-Signature", "X-Amz-Credential", "client_secret", "private_token", "csrf_token",
    "X-XSRF-TOKEN", "otp", "pin", "sid", "ticket", "SAMLResponse", "hmac", "Cookie",
]  # fmt: skip
HARMLESS = [
    "q", "page", "sort", "utm_source", "id", "user", "client_id", "state", "code", "lang",
    "keyword", "keywords", "author", "authors", "authority", "monkey", "hockey", "signal",
    "signup", "design", "passenger", "bypass", "compass", "User-Agent", "Accept", "Referer",
    "If-None-Match", "Content-Type", "X-Forwarded-For", "Keep-Alive",
]  # fmt: skip


@pytest.mark.parametrize("name", SECRET)
def test_credential_names(name: str) -> None:
    assert is_credential_name(name)


@pytest.mark.parametrize("name", HARMLESS)
def test_harmless_names(name: str) -> None:
    assert not is_credential_name(name)


def test_words() -> None:
    assert name_words("user%5BaccessToken%5D") == ["user", "access", "token"]
    assert name_words("X-Amz-Signature") == ["x", "amz", "signature"]


def test_every_stem_and_word_holds_a_hint() -> None:
    for word in (*CREDENTIAL_STEMS, *CREDENTIAL_WORDS, "key"):
        assert any(hint in word for hint in HINTS), word


@given(st.text(max_size=30))
def test_the_quick_test_never_skips_a_credential_name(name: str) -> None:
    if is_credential_name(name):
        assert may_name_credential(f"/p?{name}=v")
