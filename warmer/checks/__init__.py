"""The check language shared by config and gate: grammar (``hit_rate.l0 >= 85%``) and vocabulary.

Neutral on purpose: ``warmer.config`` parses ``[gate] checks`` when the file loads (a typo
is exit 2 before any traffic) and ``warmer.gate`` judges them, so the language lives
below both and imports neither.
"""

from __future__ import annotations

from warmer.checks.grammar import Check, NoData, format_value, parse_check, parse_checks
from warmer.checks.vocabulary import VOCABULARY, resolve

__all__ = [
    "VOCABULARY",
    "Check",
    "NoData",
    "format_value",
    "parse_check",
    "parse_checks",
    "resolve",
]
