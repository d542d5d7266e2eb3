"""AWS Application Load Balancer access logs (space-separated, quoted request and agent).

Fields used, in the documented order (later fields, which AWS keeps adding, are ignored)::

    type time elb client:port target:port request_processing_time
    target_processing_time response_processing_time elb_status_code target_status_code
    received_bytes sent_bytes "request" "user_agent" ssl_cipher ssl_protocol
    target_group_arn "trace_id" "domain_name" "chosen_cert_arn" matched_rule_priority
    request_creation_time ...

``ts`` is ``request_creation_time`` (the 22nd field), when the request arrived; ``time`` is
when the response was sent, and stands in only on lines cut before that field.
``request`` is ``METHOD URL PROTOCOL`` with an absolute URL: scheme and host are recorded,
the target is its path and query. The duration is the sum of the three processing times
(``-1`` when the target did not answer, then null).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from warmer.sample.formats._fields import Columns, build_raw
from warmer.sample.formats._lines import iter_line_blocks
from warmer.sample.formats.interface import ParsedBlock
from warmer.sample.formats.nginx import CompiledFormat, _parse_regex

_Q = r'(?:[^"\\\n]|\\[^\n])*'
PATTERN = (
    r"^(?P<type>[a-z0-9]+) (?P<time>[0-9T:.Z-]+) (?P<elb>\S+) (?P<client>\S+) (?P<target>\S+) "
    r"(?P<t1>\S+) (?P<t2>\S+) (?P<t3>\S+) (?P<elb_status>\S+) (?P<target_status>\S+) "
    r"(?P<received>\S+) (?P<sent>\S+) "
    rf'"(?P<method>[A-Za-z-]+) (?P<url>[^ "]+) (?P<protocol>[^"]*)" "(?P<user_agent>{_Q})"'
    rf'(?: \S+ \S+ \S+ "{_Q}" "{_Q}" "{_Q}" \S+ (?P<created>[0-9T:.Z-]+)(?: [^\n]*)?| [^\n]*)?'
    r"\n?$"
)
_URL = r"^(?P<scheme>[A-Za-z]+)://(?P<host>[^/?#]*)(?P<path>[^#]*)$"
COMPILED = CompiledFormat(
    PATTERN,
    (
        "time",
        "created",
        "client",
        "t1",
        "t2",
        "t3",
        "elb_status",
        "sent",
        "method",
        "url",
        "user_agent",
    ),
    None,
)


@dataclass(frozen=True)
class AlbFormat:
    """AWS ALB access log lines."""

    name: str = "AWS ALB"

    def parse(self, stream: BinaryIO) -> Iterator[ParsedBlock]:
        for block in iter_line_blocks(stream):
            cols, lines, rejected = _parse_regex(COMPILED, block)
            table, rejects = build_raw(_to_nginx(cols), lines, rejected)
            yield ParsedBlock(table, rejects, block.n_lines, checked=True)


def _to_nginx(cols: Columns) -> Columns:
    """ALB columns renamed to the nginx variables ``build_raw`` understands."""
    url = pc.extract_regex(cols["url"], _URL)
    path = url.field("path")
    path = pc.if_else(pc.equal(path, ""), pa.scalar("/"), path)
    client = pc.replace_substring_regex(cols["client"], r":[0-9]+$", "")
    return {
        "time_iso8601": _request_time(cols),
        "remote_addr": client,
        "request_method": cols["method"],
        "request_uri": path,
        "scheme": url.field("scheme"),
        "host": pc.replace_substring_regex(url.field("host"), r":[0-9]+$", ""),
        "status": cols["elb_status"],
        "bytes_sent": cols["sent"],
        "request_time": _total_time(cols),
        "http_user_agent": cols["user_agent"],
    }


def _request_time(cols: Columns) -> pa.Array:
    """``request_creation_time`` (when the balancer received the request), or ``time``
    (when it sent the response) on lines too short to hold it."""
    created = pc.fill_null(cols["created"], "")
    return pc.if_else(pc.equal(created, ""), cols["time"], created)


def _total_time(cols: Columns) -> pa.Array:
    parts = [
        pc.cast(
            pc.if_else(
                pc.match_substring_regex(cols[k], r"^[0-9.]+$"),
                cols[k],
                pa.scalar(None, pa.string()),
            ),
            pa.float64(),
        )
        for k in ("t1", "t2", "t3")
    ]
    total = pc.add(pc.add(parts[0], parts[1]), parts[2])
    return pc.cast(total, pa.string())
