"""Click parameter types that refuse hostile values at parse time, with the option named.

``limited("replay.rate")`` takes its range from ``warmer.config.limits`` (the table the
config file is checked against), so a flag and its ``warmer.toml`` setting accept the same
numbers. :func:`harden` gives every free-text option of a command a type that refuses
text which is not valid UTF-8 (``\\udcXX`` surrogates, how Python passes such bytes in
``argv``): it could never be sent, written or printed as given.
"""

from __future__ import annotations

import os
from typing import Any

import click

from warmer.config.limits import LIMITS, Bound


class LimitedNumber(click.ParamType[Any]):
    """A finite number inside a :class:`~warmer.config.limits.Bound`."""

    def __init__(self, bound: Bound) -> None:
        self.bound = bound
        self.name = "integer" if bound.integer else "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number: Any = value
        else:
            number = _parse_number(str(value), self.bound.integer)
            if number is None:
                self.fail(f"{value!r} is not {self.bound.describe()}.", param, ctx)
        problem = self.bound.problem(number)
        if problem:
            self.fail(f"{value!r}: {problem.split(', got')[0]}.", param, ctx)
        return number

    def __repr__(self) -> str:
        return f"LimitedNumber({self.bound.describe()})"


def _parse_number(text: str, integer: bool) -> int | float | None:
    try:
        return int(text.strip()) if integer else float(text.strip())
    except ValueError:
        return None


def limited(path: str) -> LimitedNumber:
    """The click type of the flag for config setting ``path`` (``section.field``)."""
    return LimitedNumber(LIMITS[path])


def bounded(lo: float, hi: float, *, integer: bool = False, lo_open: bool = False) -> LimitedNumber:
    """A click type for a flag without a config setting."""
    return LimitedNumber(Bound(lo, hi, lo_open=lo_open, integer=integer))


class Utf8Text(click.types.StringParamType):
    """Text that is valid UTF-8 (no lone surrogates from undecodable ``argv`` bytes)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = super().convert(value, param, ctx)
        if isinstance(text, str) and _has_surrogate(text):
            shown = text.encode("utf-8", "backslashreplace").decode("ascii", "replace")
            self.fail(f"'{shown}' is not valid UTF-8.", param, ctx)
        return text


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


UTF8_TEXT = Utf8Text()


class Utf8Path(click.Path):
    """A ``click.Path`` whose name is valid UTF-8: samples, results and run directories
    are opened by Arrow, which cannot open any other name."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        text = os.fspath(path)
        if isinstance(text, str) and _has_surrogate(text):
            shown = text.encode("utf-8", "backslashreplace").decode("ascii", "replace")
            self.fail(f"'{shown}': the file name is not valid UTF-8; rename it.", param, ctx)
        return path


def harden(command: click.Command) -> click.Command:
    """Give every free-text option of ``command`` the :data:`UTF8_TEXT` type and every
    path parameter a :class:`Utf8Path` with the same settings (idempotent).

    Free-text positional arguments (the logs of ``sample import``, read by Python's own
    files) keep theirs: a log's name may be any bytes the file system allows.
    """
    for param in command.params:
        if isinstance(param, click.Option) and type(param.type) is click.types.StringParamType:
            param.type = UTF8_TEXT
        elif type(param.type) is click.Path:
            checked = Utf8Path.__new__(Utf8Path)
            checked.__dict__.update(param.type.__dict__)
            param.type = checked
    return command


def host_port(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Callback checking a ``HOST[:PORT]`` option when it is given (the value is kept)."""
    if value is None:
        return None
    from warmer.errors import UsageError
    from warmer.replay.locust_engine.options import parse_host_port

    try:
        parse_host_port(value, 0, f"--{param.name or 'address'}".replace("_", "-"))
    except UsageError as exc:
        raise click.BadParameter(f"{exc.message}; {exc.hint}", ctx, param) from exc
    return value
