"""warmer: replay captured traffic to warm a candidate's cache tiers and gate its promotion.

The pipeline is ``sample -> replay -> observe -> gate -> report``; each stage is a
subpackage usable from Python without the CLI.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
