"""Helpers shared by the observers: masked addresses and unreachable-source errors."""

from __future__ import annotations

from warmer.errors import ObserverUnreachableError
from warmer.model.run import mask_url


def masked(url: str) -> str:
    """``url`` safe to print: password and secret-looking query values replaced by ``***``."""
    return mask_url(url)


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` replaced, for foreign error messages that might echo it."""
    return text.replace(secret, "***") if secret else text


def unreachable(
    tier: str, kind: str, address: str, reason: str, setting: str = "url"
) -> ObserverUnreachableError:
    """The exit-3 error for tier ``tier`` whose ``kind`` source at ``address`` does not answer."""
    where = "backend" if tier == "backend" else f"tiers.{tier}"
    return ObserverUnreachableError(
        f"cannot reach {kind} for {'the backend' if tier == 'backend' else 'tier ' + tier} "
        f"at {address}: {reason}",
        hint=f"check {where}.{setting} in warmer.toml, or set required = false to go on without it",
    )
