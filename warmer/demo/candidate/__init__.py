"""The reference candidate service: L0 in-process LRU, L1/L2 Redis, a slow backend, RFC 9211.

``warmer demo`` runs it and the tests gate it; docs/candidate.md explains how it exposes
its tiers. Public API: :class:`CandidateSettings`, :class:`CandidateServer` (a child
process) and :class:`CandidateApp` (the ASGI app, for running it in-process).
"""

from __future__ import annotations

from warmer.demo.candidate.server import CandidateServer
from warmer.demo.candidate.settings import CandidateSettings

__all__ = ["CandidateApp", "CandidateServer", "CandidateSettings"]


def __getattr__(name: str) -> object:
    # The app pulls in redis and prometheus_client; only the server process needs them.
    if name == "CandidateApp":
        from warmer.demo.candidate.app import CandidateApp

        return CandidateApp
    raise AttributeError(name)
