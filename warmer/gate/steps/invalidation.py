"""The invalidation probe: write a change, then read it back through the candidate in time.

``[invalidation]`` names a request target to read (``read``) and how to change the object
behind it: an HTTP request (``write_url``, ``write_method``, ``write_body``,
``write_headers``) or a Redis command (``redis_url``, ``redis_command``). The step reads
the target through the candidate, writes, then reads again every ``interval_s`` until the
answer differs from the first (``ETag``, ``Last-Modified`` or body digest) or
``within_s`` has passed. Metrics: ``invalidation.visible_after_s`` (no data when the
change never showed) and ``invalidation.ok`` (1 when it showed within ``within_s``, else
0; no data when the probe could not write or read).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warmer.credentials import mask_url
from warmer.gate.steps._fetch import client, fetch
from warmer.gate.steps.base import RunState, StepResult
from warmer.model.text import printable

if TYPE_CHECKING:
    from warmer.config.schema import InvalidationConfig
    from warmer.model.run import InvalidationProbe


@dataclass(frozen=True)
class Invalidation:
    """Write, then read back through the candidate (see the module docstring)."""

    name: str = "invalidation"

    def run(self, state: RunState) -> StepResult:
        config = state.config.invalidation
        assert config is not None  # default_steps adds this step only with [invalidation]
        if state.halt.is_set():
            return StepResult(summary="not run: the run was stopping")
        probe = asyncio.run(_probe(state, config))
        ok = float(probe.ok) if probe.written else None
        return StepResult(
            summary=_summary(probe),
            metrics={
                "invalidation.visible_after_s": probe.visible_after_s,
                "invalidation.ok": ok,
            },
            evidence={"visible_after_s": probe.visible_after_s, "ok": probe.ok},
            no_data={"invalidation": why} if (why := _no_data(probe)) else {},
            report={"invalidation": probe},
        )


async def _probe(state: RunState, config: InvalidationConfig) -> InvalidationProbe:
    from warmer.model.run import InvalidationProbe
    from warmer.replay.target import parse_target

    replay = state.config.replay
    target = parse_target(state.target, replay.unix_socket)
    url = target.url(config.read)
    headers = dict(replay.headers)
    probe = InvalidationProbe(write=_write_text(config), read=config.read, within_s=config.within_s)
    async with client(replay.timeout_s, unix_socket=replay.unix_socket) as http:
        before = await fetch(http, url, headers)
        if not before.usable:
            return _with(probe, reason=f"the first read answered {before.describe()}")
        failure = await _write(config, replay.timeout_s)
        if failure is not None:
            return _with(probe, reason=f"the write failed: {failure}")
        written = time.monotonic()
        probe = _with(probe, written=True)
        while True:
            now = await fetch(http, url, headers)
            elapsed = time.monotonic() - written
            if now.usable and before.differs(now):
                ok = elapsed <= config.within_s
                return _with(probe, visible_after_s=round(elapsed, 3), ok=ok)
            if elapsed > config.within_s:
                return _with(probe, reason=f"still {now.describe()} after {elapsed:.1f}s")
            await asyncio.sleep(config.interval_s)


def _with(probe: InvalidationProbe, **changes: object) -> InvalidationProbe:
    import dataclasses

    if isinstance(changes.get("reason"), str):
        changes["reason"] = printable(changes["reason"])
    return dataclasses.replace(probe, **changes)  # type: ignore[arg-type]


async def _write(config: InvalidationConfig, timeout_s: float) -> str | None:
    """Make the change; the failure in words, None when it went through."""
    if config.redis_url is not None:
        return await asyncio.to_thread(_redis_write, config, timeout_s)
    import httpx

    assert config.write_url is not None
    async with client(timeout_s) as http:
        try:
            response = await http.request(
                config.write_method,
                config.write_url,
                content=config.write_body.encode(),
                headers=config.write_headers,
            )
        except httpx.HTTPError as exc:
            return type(exc).__name__
    return None if response.status_code < 400 else f"status {response.status_code}"


def _redis_write(config: InvalidationConfig, timeout_s: float) -> str | None:
    import redis

    assert config.redis_url is not None
    connection = redis.Redis.from_url(
        config.redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
    )
    try:
        connection.execute_command(*config.redis_command)  # type: ignore[no-untyped-call]
    except (redis.RedisError, OSError) as exc:
        return printable(mask_url(str(exc)))
    finally:
        connection.close()
    return None


def _write_text(config: InvalidationConfig) -> str:
    if config.redis_url is not None:
        command = config.redis_command[0] if config.redis_command else ""
        return f"redis {command} at {mask_url(config.redis_url)}"
    return f"{config.write_method} {mask_url(config.write_url or '')}"


def _no_data(probe: InvalidationProbe) -> str | None:
    if not probe.written:
        return f"the invalidation probe did not run: {probe.reason}"
    if probe.visible_after_s is None:
        return f"the write never showed within {probe.within_s:g}s: {probe.reason}"
    return None


def _summary(probe: InvalidationProbe) -> str:
    if probe.visible_after_s is not None:
        verdict = "within" if probe.ok else "later than"
        return (
            f"the write showed through the candidate after {probe.visible_after_s:.2f}s "
            f"({verdict} {probe.within_s:g}s)"
        )
    return f"not visible: {probe.reason}"
