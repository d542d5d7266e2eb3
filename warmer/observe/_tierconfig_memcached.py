"""The Memcached half of tier configuration reading: ``stats settings``, a metadump sample."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from warmer.checks.vocabulary import MetricValue
from warmer.observe._common import masked, unreachable
from warmer.observe.memcached import parse_address
from warmer.observe.parsers.memcached_stats import parse_stats
from warmer.observe.tierconfig import TierReading, key_prefix, typed_setting


class MemcachedReader:
    """Reads ``stats settings``, ``stats`` and a bounded ``lru_crawler metadump``."""

    def __init__(self, tier: str, url: str, timeout_s: float) -> None:
        self.tier = tier
        self.address = masked(url)
        self.family, self.where = parse_address(url)
        self.timeout_s = timeout_s

    def read(self, sample_keys: int, separators: str) -> TierReading:
        try:
            settings_text = self._ask(b"stats settings\r\n")
            stats_text = self._ask(b"stats\r\n")
            dump = self._metadump(sample_keys)
        except OSError as exc:
            raise unreachable(self.tier, "Memcached", self.address, str(exc)) from exc
        settings, no_data = _memcached_settings(settings_text, stats_text)
        sample = _summarise_metadump(dump, time.time(), separators)
        stats = parse_stats(stats_text)
        memory, method = sample.pop("memory"), sample.pop("memory_method")
        if memory is None:
            used, items = stats.number("bytes"), stats.number("curr_items")
            if used is not None and items:
                memory, method = used / items, "bytes / curr_items (stats)"
        no_data.update(sample.pop("no_data"))
        if memory is None:
            no_data["memory_per_key"] = "the cache holds no item"
        return TierReading(
            self.tier, "memcached", self.address, settings, no_data,
            memory_per_key_bytes=memory, memory_method=method, **sample,
        )  # fmt: skip

    def _ask(self, command: bytes) -> str:
        with socket.socket(self.family, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout_s)
            sock.connect(self.where)
            sock.sendall(command)
            reply = b""
            while not reply.endswith(b"END\r\n") and not reply.endswith(b"ERROR\r\n"):
                chunk = sock.recv(65536)
                if not chunk or len(reply) > 1 << 20:
                    raise ConnectionError("memcached closed the connection mid-reply")
                reply += chunk
        return reply.decode("utf-8", "replace")

    def _metadump(self, bound: int) -> list[str]:
        """Up to ``bound`` lines of ``lru_crawler metadump all`` (or its error line)."""
        lines: list[str] = []
        with socket.socket(self.family, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout_s)
            sock.connect(self.where)
            sock.sendall(b"lru_crawler metadump all\r\n")
            buffer = b""
            while len(lines) < bound:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                *done, buffer = buffer.split(b"\n")  # metadump ends its lines with \n alone
                lines.extend(line.decode("utf-8", "replace").rstrip("\r") for line in done)
                if lines and (lines[-1] == "END" or "ERROR" in lines[-1]):
                    break
        return lines[:bound]


def _memcached_settings(
    settings_text: str, stats_text: str
) -> tuple[dict[str, MetricValue], dict[str, str]]:
    fields = parse_stats(settings_text).values
    stats = parse_stats(stats_text).values
    settings: dict[str, MetricValue] = {}
    no_data: dict[str, str] = {}
    wanted: tuple[tuple[str, str, Mapping[str, object], str], ...] = (
        ("maxmemory", "maxbytes", fields, "number"),
        ("item_size_max", "item_size_max", fields, "number"),
        ("threads", "num_threads", fields, "number"),
        ("evictions", "evictions", fields, "flag"),
        ("version", "version", stats, "text"),
    )
    for name, key, source, kind in wanted:
        raw = source.get(key)
        if raw is None:
            settings[name], no_data[name] = None, f"stats has no {key}"
        elif kind == "flag":
            settings[name] = str(raw) == "on"
        elif kind == "number":
            settings[name] = typed_setting(name, str(raw))
        else:
            settings[name] = str(raw)
    return settings, no_data


def _summarise_metadump(lines: Sequence[str], now: float, separators: str) -> dict[str, Any]:
    """TTLs, prefixes and sizes from metadump lines ``key=K exp=E la=... size=S``."""
    ttls: list[float] = []
    sizes: list[float] = []
    prefixes: Counter[str] = Counter()
    no_expiry = 0
    no_data: dict[str, str] = {}
    for line in lines:
        if "ERROR" in line:
            no_data["ttl"] = f"lru_crawler metadump is not available ({line.strip()})"
            break
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if "key" not in fields:
            continue
        prefixes[key_prefix(unquote(fields["key"]), separators)] += 1
        expires = float(fields.get("exp", "-1"))
        if expires < 0:
            no_expiry += 1
        else:
            ttls.append(max(expires - now, 0.0))
        if fields.get("size", "").isdigit():
            sizes.append(float(fields["size"]))
    sampled = sum(prefixes.values())
    if not sampled and "ttl" not in no_data:
        no_data["ttl"] = "no item to sample: the cache is empty"
    return {
        "ttls_s": tuple(ttls),
        "sampled": sampled,
        "no_expiry": no_expiry,
        "prefixes": dict(prefixes),
        "memory": sum(sizes) / len(sizes) if sizes else None,
        "memory_method": f"item size of {len(sizes)} sampled items (metadump)" if sizes else "",
        "no_data": no_data,
    }
