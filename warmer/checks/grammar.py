"""The check language: parse ``hit_rate.l0 >= 85%`` into a frozen :class:`Check`.

Grammar (whitespace between tokens is free; keywords and units are case-sensitive)::

    check    ::= metric op value [nodata]
    metric   ::= word ("." word)*            ; a name from warmer.checks.vocabulary
    word     ::= [A-Za-z_] [A-Za-z0-9_-]*
    op       ::= "<" | "<=" | ">" | ">=" | "==" | "!="
    value    ::= number [unit] | string | "true" | "false"
    string   ::= '"' [^"]* '"' | "'" [^']* "'"
    number   ::= ["-"] (digits ["." digits] | "." digits) [("e"|"E") ["+"|"-"] digits]
                                             ; "_" may group digits: 12_400
    unit     ::= "%" | "ms" | "s" | "B" | "KB" | "MB" | "GB" | "TB"
    nodata   ::= "on" "no_data" ("pass" | "fail")

The threshold is normalised to the metric's unit: ``%`` divides a ratio by 100, ``s`` and
``ms`` convert durations, ``KB``/``MB``/``GB``/``TB`` are binary multiples of bytes (as
Redis reports memory). A ratio written without ``%`` must lie in [0, 1]; a difference of
ratios (``compare.hit_rate.l0.delta``) in [-1, 1], and ``%`` makes it points (``-2%`` is
-0.02). A metric of unit ``text`` (``l2.config.maxmemory_policy``) takes a quoted string,
one of unit ``bool`` (``l2.config.cluster_enabled``) ``true`` or ``false``; both compare
with ``==`` and ``!=`` only, and a number against them (or a string against a number) is
an error. ``on no_data pass``
lets a check pass when its metric has no data; without it the gate's ``--no-data`` policy
applies, which fails by default. Errors are :class:`ConfigError` with a caret under the
offending column.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from warmer.checks.vocabulary import MetricValue, ResolvedMetric, Unit, resolve
from warmer.errors import ConfigError

Op = Literal["<", "<=", ">", ">=", "==", "!="]
NoData = Literal["pass", "fail"]
Threshold = float | str | bool
"""A check's threshold: a number in the metric's unit, a string or a boolean."""

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

# unit written -> (metric unit it applies to, factor to the metric's unit)
_UNITS: dict[str, tuple[Unit, float]] = {
    "%": ("ratio", 0.01),
    "ms": ("ms", 1.0),
    "s": ("ms", 1000.0),
    "B": ("bytes", 1.0),
    "KB": ("bytes", 1024.0),
    "MB": ("bytes", 1024.0**2),
    "GB": ("bytes", 1024.0**3),
    "TB": ("bytes", 1024.0**4),
}
_EQUALITY = ("==", "!=")
_SECONDS_UNITS: dict[str, float] = {"s": 1.0, "ms": 0.001}

_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<op><=|>=|==|!=|<|>)"
    r"|(?P<number>-?(?:\d[\d_]*(?:\.\d[\d_]*)?|\.\d[\d_]*)(?:[eE][-+]?\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.-]*)"
    r"|(?P<percent>%)"
    r"|(?P<string>\"[^\"]*\"|'[^']*')"
)


@dataclass(frozen=True)
class Token:
    """One lexical token and the 0-based column it starts at."""

    kind: Literal["op", "number", "word", "percent", "string", "end"]
    text: str
    col: int


@dataclass(frozen=True)
class Check:
    """A parsed check: ``metric op threshold``, threshold in the metric's unit."""

    text: str
    """The expression as written."""
    metric: str
    op: Op
    threshold: Threshold
    """A number in the metric's unit; a string for ``text``, a boolean for ``bool`` metrics."""
    unit: Unit
    on_no_data: NoData | None = None
    """What a missing value means; None defers to the gate's ``--no-data`` policy."""
    tier: str | None = None
    phase: Literal["warm", "verify"] = "verify"
    written_unit: str | None = None
    """The unit as the user wrote it (``%``, ``ms``, ``s``, ``MB`` ...), for display."""

    def passes(self, value: MetricValue) -> bool:
        """Whether an observed ``value`` (in the metric's unit) satisfies the check.

        A value of another kind than the threshold (a string where a number was expected)
        never satisfies it, whatever the operator.
        """
        if value is None or _kind(value) != _kind(self.threshold):
            return False
        return _OPS[self.op](value, self.threshold)

    @property
    def limit(self) -> float:
        """The threshold as a number; NaN for a string or boolean threshold."""
        value = self.threshold
        return float("nan") if isinstance(value, str | bool) else float(value)

    def threshold_text(self) -> str:
        """The threshold for people, e.g. ``0.85``, ``40 ms``, ``12 MB``."""
        return format_value(self.threshold, self.unit)


def _kind(value: MetricValue) -> str:
    if isinstance(value, bool):
        return "bool"
    return "text" if isinstance(value, str) else "number"


def format_value(value: MetricValue, unit: Unit) -> str:
    """Render a metric value in its unit, compactly (``0.853``, ``41.2 ms``, ``12,400``)."""
    if value is None:
        return "no data"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    if unit == "ratio":
        return f"{value:.4g}"
    if unit == "delta":
        return f"{value:+.4g}"
    if unit in ("ms", "s"):
        return f"{value:,.4g} {unit}" if abs(value) < 1e4 else f"{value:,.0f} {unit}"
    if unit == "bytes":
        return f"{value / 1024**2:,.1f} MB" if abs(value) >= 1024**2 else f"{value:,.0f} B"
    if unit == "rps":
        return f"{value:,.1f}/s"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``end`` token; ConfigError on a stray char."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _error(text, pos, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))  # type: ignore[arg-type]
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def parse_check(
    text: str, tiers: Iterable[str] | None = None, *, vocabulary: str = "gate"
) -> Check:
    """Parse one check; ``tiers`` (when given) are the configured tier names.

    ``vocabulary="protect"`` reads the live metrics of ``[replay] protect`` limits.
    """
    tier_names = None if tiers is None else tuple(tiers)
    return _Parser(text, tokenize(text), tier_names, vocabulary).check()


def parse_checks(
    texts: Sequence[str],
    tiers: Iterable[str] | None = None,
    *,
    where: str = "gate.checks",
    vocabulary: str = "gate",
) -> tuple[Check, ...]:
    """Parse several checks; an error names the failing entry as ``where[i]``."""
    tier_names = None if tiers is None else tuple(tiers)
    checks = []
    for index, text in enumerate(texts):
        try:
            checks.append(parse_check(text, tier_names, vocabulary=vocabulary))
        except ConfigError as exc:
            raise ConfigError(exc.message, exc.hint, path=f"{where}[{index}]") from None
    return tuple(checks)


class _Parser:
    """Recursive-descent parser over the token list (one method per grammar rule)."""

    def __init__(
        self,
        text: str,
        tokens: list[Token],
        tiers: tuple[str, ...] | None,
        vocabulary: str = "gate",
    ) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0
        self.tiers = tiers
        self.vocabulary = vocabulary

    def check(self) -> Check:
        metric_token = self._expect("word", "a metric name, e.g. hit_rate.l0")
        resolved = self._metric(metric_token)
        op_token = self._expect("op", "an operator (< <= > >= == !=)")
        unit_token: Token | None = None
        threshold: Threshold
        if resolved.spec.unit in ("text", "bool"):
            threshold = self._literal(resolved, op_token)
        else:
            number_token = self._number(resolved)
            unit_token = self._unit()
            threshold = self._threshold(number_token, unit_token, resolved.spec.unit)
        on_no_data = self._nodata()
        self._expect("end", "the end of the check")
        return Check(
            text=self.text.strip(),
            metric=resolved.name,
            op=op_token.text,  # type: ignore[arg-type]
            threshold=threshold,
            unit=resolved.spec.unit,
            on_no_data=on_no_data,
            tier=resolved.tier,
            phase=resolved.phase,
            written_unit=None if unit_token is None else unit_token.text,
        )

    def _metric(self, token: Token) -> ResolvedMetric:
        if any(not part for part in token.text.split(".")):
            raise _error(self.text, token.col, "empty part in metric name")
        try:
            return resolve(token.text, self.tiers, vocabulary=self.vocabulary)
        except ConfigError as exc:
            raise _error(self.text, token.col, exc.message, exc.hint) from None

    def _number(self, resolved: ResolvedMetric) -> Token:
        token = self.tokens[self.pos]
        if token.kind == "string" or (token.kind == "word" and token.text in ("true", "false")):
            raise _error(
                self.text,
                token.col,
                f"{resolved.name} is a number ({resolved.spec.unit}); {token.text} is not",
                "compare it with a number, e.g. >= 0.9, >= 300 s, >= 4GB",
            )
        return self._expect("number", "a number")

    def _literal(self, resolved: ResolvedMetric, op: Token) -> str | bool:
        """The quoted string or ``true``/``false`` a ``text`` or ``bool`` metric compares with."""
        unit = resolved.spec.unit
        example = '== "allkeys-lru"' if unit == "text" else "== false"
        if op.text not in _EQUALITY:
            raise _error(
                self.text,
                op.col,
                f"{resolved.name} is {'a string' if unit == 'text' else 'a boolean'}: "
                f"{op.text} does not compare it",
                f"use == or !=, e.g. {resolved.name} {example}",
            )
        token = self.tokens[self.pos]
        if unit == "text" and token.kind == "string":
            self.pos += 1
            return token.text[1:-1]
        if unit == "bool" and token.kind == "word" and token.text in ("true", "false"):
            self.pos += 1
            return token.text == "true"
        found = "the end" if token.kind == "end" else token.text
        what = "a quoted string" if unit == "text" else "true or false"
        raise _error(
            self.text,
            token.col,
            f"{resolved.name} compares with {what}, found {found}",
            f"e.g. {resolved.name} {example}",
        )

    def _unit(self) -> Token | None:
        token = self.tokens[self.pos]
        if token.kind == "percent" or (token.kind == "word" and token.text in _UNITS):
            self.pos += 1
            return token
        return None

    def _threshold(self, number: Token, unit: Token | None, metric_unit: Unit) -> float:
        value = float(number.text.replace("_", ""))
        if unit is None:
            if metric_unit == "ratio" and not 0.0 <= value <= 1.0:
                raise _error(
                    self.text, number.col, "a ratio lies between 0 and 1", f"write {value:g}%"
                )
            if metric_unit == "delta" and not -1.0 <= value <= 1.0:
                raise _error(
                    self.text, number.col, "a difference of ratios lies between -1 and 1",
                    f"write {value:g}%",
                )  # fmt: skip
            return value
        if metric_unit == "s" and unit.text in _SECONDS_UNITS:
            return value * _SECONDS_UNITS[unit.text]
        if metric_unit == "delta" and unit.text == "%":
            return value * 0.01  # points: -2% is a difference of -0.02
        applies_to, factor = _UNITS[unit.text]
        if applies_to != metric_unit:
            raise _error(self.text, unit.col, f"unit {unit.text!r} does not fit a {metric_unit}")
        return value * factor

    def _nodata(self) -> NoData | None:
        token = self.tokens[self.pos]
        if token.kind != "word":
            return None
        if token.text != "on":
            raise _error(self.text, token.col, f"unexpected {token.text!r}", _NODATA_HINT)
        self.pos += 1
        keyword = self._expect("word", "no_data")
        if keyword.text != "no_data":
            raise _error(self.text, keyword.col, "expected no_data", _NODATA_HINT)
        verdict = self._expect("word", "pass or fail")
        if verdict.text not in ("pass", "fail"):
            raise _error(self.text, verdict.col, "expected pass or fail", _NODATA_HINT)
        return verdict.text  # type: ignore[return-value]

    def _expect(self, kind: str, what: str) -> Token:
        token = self.tokens[self.pos]
        if token.kind != kind:
            found = "the end" if token.kind == "end" else repr(token.text)
            raise _error(self.text, token.col, f"expected {what}, found {found}")
        self.pos += 1
        return token


_NODATA_HINT = "a check may end with `on no_data pass` or `on no_data fail`"


def _error(text: str, col: int, message: str, hint: str | None = None) -> ConfigError:
    """A ConfigError quoting the check with a caret under column ``col``."""
    shown = text.replace("\n", " ").replace("\t", " ")
    return ConfigError(f"bad check: {message}\n    {shown}\n    {' ' * col}^", hint)
