"""Map ``warmer.toml`` onto click's ``default_map`` so precedence is flag > env > file > default.

Each command owns one entry below; option names are click's parameter names.
"""

from __future__ import annotations

from typing import Any

from warmer.config import Config


def default_map(config: Config) -> dict[str, Any]:
    """Per-command option defaults taken from the config file."""
    return {
        "sample": _sample_defaults(config),
        "report": {"formats": config.gate.reports},
        "observe": {"timeout_s": config.observe.timeout_s},
        "replay": _replay_defaults(config),
    }


def _sample_defaults(config: Config) -> dict[str, Any]:
    return {"inspect": {"warm_fraction": config.sample.warm_fraction}}


def _replay_defaults(config: Config) -> dict[str, Any]:
    r = config.replay
    values: dict[str, Any] = {
        "target": r.target,
        "unix_socket": r.unix_socket,
        "pacing": r.pacing,
        "speed": r.speed,
        "max_gap_s": r.max_gap_s,
        "rate": r.rate,
        "ramp_s": r.ramp_s,
        "ramp_from": r.ramp_from,
        "concurrency": r.concurrency,
        "order": r.order,
        "engine": r.engine,
        "timeout_s": r.timeout_s,
        "retries": r.retries,
        "headers": tuple(f"{name}: {value}" for name, value in r.headers.items()),
        "drop_headers": r.drop_headers,
        "preserve_host": r.preserve_host,
        "insecure": r.insecure,
        "ca_cert": r.ca_cert,
        "processes": r.processes,
        "fail_after": r.fail_after,
        "fail_share": r.fail_share,
        "expect_workers": r.expect_workers,
        "master_bind": r.master_bind,
        "workers_timeout": r.workers_timeout_s,
    }
    return {name: value for name, value in values.items() if value is not None}
