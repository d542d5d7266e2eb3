"""The ``Reporter`` contract: one output format, rendered from a ``RunReport`` alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from warmer.model.run import RunReport


class Reporter(Protocol):
    """Renders a run in one format.

    ``render`` is pure: the same ``RunReport`` gives the same text, with no I/O, no clock
    and no network; every string that came from traffic or config is escaped for the format.
    """

    @property
    def format(self) -> str:
        """Short format name used on the command line (``json``, ``md``, ``html``, ``junit``)."""
        ...

    @property
    def filename(self) -> str:
        """File name inside a run directory (``report.json`` ...)."""
        ...

    def render(self, run: RunReport) -> str:
        """The whole document as text."""
        ...


@dataclass(frozen=True)
class FunctionReporter:
    """A ``Reporter`` made of a pure ``render_x`` function."""

    format: str
    filename: str
    render_fn: Callable[[RunReport], str]

    def render(self, run: RunReport) -> str:
        return self.render_fn(run)
