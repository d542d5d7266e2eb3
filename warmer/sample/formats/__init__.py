"""Log formats the importer understands, behind the one ``LogFormat`` interface."""

from __future__ import annotations

from warmer.sample.formats.interface import LogFormat, ParsedBlock, Rejects

__all__ = ["LogFormat", "ParsedBlock", "Rejects"]
