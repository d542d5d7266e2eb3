"""``warmer replay SAMPLE --target URL``: replay a sample and write a results file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from warmer.cli._context import AppContext
from warmer.cli._types import bounded, host_port, limited
from warmer.config.limits import MAX_COUNT
from warmer.errors import Interrupted, UsageError

_PACINGS = ("recorded", "rate", "max")
_ORDERS = ("recorded", "hot-first")
_ENGINES = ("fast", "httpx", "locust")


@click.command(context_settings={"show_default": True})
@click.argument("sample_path", metavar="SAMPLE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--target", "-t", help="Candidate base URL (http://, https://, http+unix://).")
@click.option("--unix-socket", type=click.Path(), help="Connect to this Unix socket instead.")
@click.option(
    "--out", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
    default=Path("results.parquet"), help="Results file (Parquet, one row per request).",
)  # fmt: skip
@click.option("--engine", type=click.Choice(_ENGINES), default="fast", help="HTTP engine.")
@click.option("--pacing", type=click.Choice(_PACINGS), default="max", help="How fast to send.")
@click.option(
    "--speed",
    type=limited("replay.speed"),
    default=1.0,
    help="recorded: divide recorded gaps by this.",
)
@click.option(
    "--max-gap",
    "max_gap_s",
    type=limited("replay.max_gap_s"),
    help="recorded: cap idle gaps (seconds).",
)
@click.option("--rate", type=limited("replay.rate"), help="rate: requests per second (open model).")
@click.option(
    "--ramp", "ramp_s", type=limited("replay.ramp_s"), default=0.0, help="rate: seconds to ramp up."
)
@click.option(
    "--ramp-from",
    type=limited("replay.ramp_from"),
    default=0.0,
    help="rate: starting rate of the ramp.",
)
@click.option("--order", type=click.Choice(_ORDERS), default="recorded", help="Request order.")
@click.option(
    "--repeat",
    type=bounded(1, 1_000_000, integer=True),
    default=1,
    help="hot-first: repeat the key list N times.",
)
@click.option(
    "--limit", type=bounded(0, MAX_COUNT, integer=True), help="Send at most this many requests."
)
@click.option("--duration", "duration", help="Stop sending after this long (e.g. 90s, 5m).")
@click.option("--slice", "time_slice", help="Replay part of the sample: START:END (e.g. 60:120).")
@click.option(
    "--concurrency",
    "-c",
    type=limited("replay.concurrency"),
    default=64,
    help="Requests in flight at most.",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=limited("replay.timeout_s"),
    default=10.0,
    help="Per request, seconds.",
)
@click.option(
    "--retries",
    type=limited("replay.retries"),
    default=2,
    help="Retries after connection errors only.",
)
@click.option(
    "--fail-after", type=limited("replay.fail_after"), default=100,
    help="Give up (exit 3) after N failed requests in a row (no response or 5xx); 0: never.",
)  # fmt: skip
@click.option(
    "--fail-share", type=limited("replay.fail_share"), default=0.5,
    help="Give up (exit 3) when more than this share of the last 1000 requests failed.",
)  # fmt: skip
@click.option("--allow-method", "allow_methods", multiple=True, help="Also replay this method.")
@click.option(
    "--header",
    "-H",
    "headers",
    multiple=True,
    help='Add a header: "Name: value"; replaces a recorded or default one (Host too).',
)
@click.option("--drop-header", "drop_headers", multiple=True, help="Drop recorded headers (glob).")
@click.option("--preserve-host", is_flag=True, help="Send the recorded Host header.")
@click.option("--insecure", is_flag=True, help="Do not verify the target's TLS certificate.")
@click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False), help="Trust this CA.")
@click.option("--http2", is_flag=True, help="httpx engine: negotiate HTTP/2.")
@click.option("--phase", help="Label written into every results row (e.g. warm, verify).")
@click.option(
    "--processes", "--workers", "processes", type=limited("replay.processes"), default=1,
    help="Split the replay over N processes (locust: N local workers under one master).",
)  # fmt: skip
@click.option(
    "--expect-workers", type=limited("replay.expect_workers"),
    help="locust: wait for N workers (local ones and `warmer locust-worker`s) before sending.",
)  # fmt: skip
@click.option(
    "--master-bind", metavar="HOST[:PORT]", callback=host_port,
    help="locust: where the master listens for workers [default: 127.0.0.1, a free port].",
)  # fmt: skip
@click.option(
    "--workers-timeout", type=limited("replay.workers_timeout_s"), default=60.0,
    help="locust: seconds to wait for the expected workers (then exit 3).",
)  # fmt: skip
@click.option("--shard", hidden=True, help="I/N: replay every N-th request from the I-th.")
@click.option("--progress/--no-progress", default=None, help="Progress display (default: auto).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.pass_obj
def replay(app: AppContext, /, sample_path: Path, **options: Any) -> None:
    """Replay SAMPLE against --target and record every response in --out.

    \b
    Pacing:  recorded (timing / --speed), rate (--rate N/s), max (--concurrency bound).
    Order:   recorded, or hot-first (one request per key, hottest first).
    Safety:  only GET and HEAD unless --allow-method; redirects are never followed;
             protected hosts ([safety] protected_hosts) are refused with exit 2;
             a record that is not valid HTTP is skipped with a reason (invalid,
             header, host, body), never sent altered (SECURITY.md).
    Exit codes: 0 done, 2 usage or unsafe target, 3 target unreachable, 130 interrupted.
    """
    from warmer.replay import check_target
    from warmer.sample.store import open_sample

    # Input and usage errors (exit 2) come before the reachability check (exit 3).
    reader = open_sample(sample_path)
    plan = _plan(app, options)
    plan.validate()
    check_target(plan.target, min(plan.timeout_s, 5.0), unix_socket=plan.unix_socket)
    if options["processes"] > 1 and plan.engine != "locust":
        summary = _run_processes(sample_path, options["processes"], options["out"])
    else:
        summary = _run_one(reader, plan, options)
    _report(summary, options)


def _plan(app: AppContext, options: dict[str, Any]) -> Any:
    from warmer.observe.build import extra_headers
    from warmer.replay import ReplayPlan
    from warmer.replay.order import parse_duration, parse_time_slice
    from warmer.replay.shards import parse_shard

    if not options["target"]:
        raise UsageError("no target", "pass --target URL or set [replay] target in warmer.toml")
    safety = app.config.safety
    return ReplayPlan(
        target=options["target"],
        unix_socket=options["unix_socket"],
        engine=options["engine"],
        pacing=options["pacing"],
        speed=options["speed"],
        max_gap_s=options["max_gap_s"],
        rate=options["rate"],
        ramp_s=options["ramp_s"],
        ramp_from=options["ramp_from"],
        order=options["order"],
        repeat=options["repeat"],
        limit=options["limit"],
        window=parse_time_slice(options["time_slice"]) if options["time_slice"] else None,
        duration_s=parse_duration(options["duration"]) if options["duration"] else None,
        concurrency=options["concurrency"],
        timeout_s=options["timeout_s"],
        retries=options["retries"],
        allow_methods=tuple(dict.fromkeys((*safety.allow_methods, *options["allow_methods"]))),
        headers=tuple(options["headers"]),
        drop_headers=tuple(options["drop_headers"]),
        preserve_host=options["preserve_host"],
        protected_hosts=safety.protected_hosts,
        verify_tls=not options["insecure"],
        ca_file=options["ca_cert"],
        http2=options["http2"],
        shard=parse_shard(options["shard"]) if options["shard"] else None,
        fail_after=options["fail_after"],
        fail_share=options["fail_share"],
        fail_window=app.config.replay.fail_window,
        capture_headers=extra_headers(app.config),  # the headers [tiers] read
        locust=_locust_options(options),
    )


def _locust_options(options: dict[str, Any]) -> Any:
    from warmer.replay.locust_engine import LocustOptions

    if options["engine"] != "locust":
        return LocustOptions()
    return LocustOptions(
        workers=options["processes"],
        expect=options["expect_workers"],
        bind=options["master_bind"],
        wait_s=options["workers_timeout"],
    )


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM set the returned event (a second SIGINT aborts at once)."""
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _run_one(reader: Any, plan: Any, options: dict[str, Any]) -> Any:
    from warmer.cli._replay_progress import ProgressRenderer
    from warmer.credentials import mask_url
    from warmer.replay import ResultsWriter, replay
    from warmer.replay.run import replay_engine
    from warmer.sample.source import SampleSource

    renderer = ProgressRenderer(live=_live(options["progress"]))
    target = mask_url(plan.target)  # a password in the URL never reaches the results file
    meta = {"sample": os.fspath(reader.path), "target": target, "engine": plan.engine}
    if plan.engine == "locust":
        click.echo(f"locust: waiting for {plan.locust.expected} worker(s)", err=True)
    # The engine starts first (Locust: the master waits for its workers), so the results'
    # clock and the summary's rate start with the traffic; Ctrl-C meanwhile just ends it.
    with (
        replay_engine(plan) as engine,
        _stop_on_signals() as stop,
        ResultsWriter(options["out"], meta=meta) as writer,
    ):
        try:
            summary = replay(
                SampleSource.open(reader.path, in_memory_rows=0),
                plan,
                writer,
                engine=engine,
                phase=options["phase"],
                on_event=renderer if options["progress"] is not False else None,
                stop=stop,
                expected=reader.num_requests,
            )
        finally:
            renderer.close()
    return summary


def _live(progress: bool | None) -> bool | None:
    return None if progress is None else (progress and sys.stderr.isatty())


def _run_processes(sample_path: Path, processes: int, out: Path) -> Any:
    """Re-run this command in ``processes`` children, one shard each, and merge their parts."""
    from warmer.replay.shards import merge_parts, summary_from_dict

    argv = _argv_without(sys.argv[1:], "--processes")
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        parts = [Path(tmp) / f"part-{i}.parquet" for i in range(processes)]
        children = [
            subprocess.Popen(_child_args(argv, part, i, processes), stdout=subprocess.DEVNULL)
            for i, part in enumerate(parts)
        ]
        with _stop_on_signals() as stop:
            codes = _wait_all(children, stop)
        done = [p for p in parts if p.exists()]
        if not done:
            raise UsageError(f"no shard finished (exit codes {codes})")
        meta = merge_parts(done, out)
    summary = summary_from_dict(meta["runs"][0])
    if any(code == 3 for code in codes):
        from warmer.errors import TargetFailedError

        raise TargetFailedError(
            f"{codes.count(3)} of {processes} processes gave up on the target "
            f"(their messages are above); merged results of what was sent are in {out}",
            "is the candidate still up? --fail-after/--fail-share set when a replay gives up",
        )
    if stop.is_set() or any(code == 130 for code in codes):
        return summary.__class__(**{**summary.to_dict(), "interrupted": True})
    return summary


def _child_args(argv: list[str], part: Path, index: int, count: int) -> list[str]:
    shard = ["--out", str(part), "--shard", f"{index}/{count}", "--no-progress"]
    return [sys.executable, "-m", "warmer", *argv, *shard]


def _wait_all(children: list[subprocess.Popen[bytes]], stop: threading.Event) -> list[int]:
    forwarded = False
    while any(c.poll() is None for c in children):
        if stop.is_set() and not forwarded:
            forwarded = True
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
        stop.wait(0.1)
    return [c.returncode for c in children]


def _argv_without(argv: list[str], option: str) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == option:
            skip = True
            continue
        if arg.startswith(option + "="):
            continue
        out.append(arg)
    return out


def _report(summary: Any, options: dict[str, Any]) -> None:
    from warmer.cli._replay_progress import summary_lines

    out = os.fspath(options["out"])
    for line in summary_lines(summary, out):
        click.echo(line, err=True)
    if options["as_json"]:
        data = {k: v for k, v in summary.to_dict().items() if k != "histograms"}
        click.echo(json.dumps({"results": out, **data}, indent=2))
    if summary.interrupted:
        raise Interrupted(
            f"replay stopped after {summary.sent} requests; results written to {out}",
            "the results file is complete for the requests that were sent",
        )
