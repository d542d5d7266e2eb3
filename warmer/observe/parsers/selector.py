"""Parse a Prometheus series selector as written in ``warmer.toml``: ``name{label="v",...}``.

Grammar (the equality subset of PromQL's instant vector selector)::

    selector = metric-name [ "{" [ matcher *( "," matcher ) [ "," ] ] "}" ]
    matcher  = label-name OWS "=" OWS string
    string   = DQUOTE *( char / "\\" DQUOTE / "\\\\" ) DQUOTE
    metric-name = [a-zA-Z_:][a-zA-Z0-9_:]*   label-name = [a-zA-Z_][a-zA-Z0-9_]*

Only equality matchers: the observer sums every exposed series whose labels include all
of them. A selector that does not fit raises ``ValueError`` (the config loader turns it
into a ConfigError with the path of the field).
"""

from __future__ import annotations

import re
from typing import NamedTuple

_SELECTOR_RE = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*", re.DOTALL)
_MATCHER_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


class Selector(NamedTuple):
    """A metric name and the label values a series must carry to be counted."""

    metric: str
    labels: tuple[tuple[str, str], ...] = ()

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        """True for a sample of this metric (``_total`` suffix optional) with all labels."""
        if name != self.metric and name != f"{self.metric}_total":
            return False
        return all(labels.get(key) == value for key, value in self.labels)


def parse_selector(text: str, extra: dict[str, str] | None = None) -> Selector:
    """Parse ``text``; ``extra`` label matchers (``[tiers.X].labels``) are added to it."""
    match = _SELECTOR_RE.fullmatch(text)
    if match is None:
        raise ValueError(f'not a metric selector: {text!r} (expected name{{label="value"}})')
    labels = dict(extra or {})
    body = match.group(2) or ""
    pos = 0
    while body[pos:].strip():
        matcher = _MATCHER_RE.match(body, pos)
        if matcher is None:
            raise ValueError(f"bad label matcher in {text!r} at {body[pos:]!r}")
        labels[matcher.group(1)] = re.sub(r"\\(.)", r"\1", matcher.group(2))
        pos = matcher.end()
    return Selector(match.group(1), tuple(sorted(labels.items())))
