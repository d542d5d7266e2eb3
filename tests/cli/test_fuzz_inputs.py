"""Hostile values for every CLI option and every config field: the promised exit code, no traceback.

The option list is read from the click command tree (``warmer.cli.main:cli``) and the
field list from the dataclasses of ``warmer/config/schema.py``, so a new option or setting
is fuzzed without editing this file. Commands run in-process through ``warmer.cli.main.main``
(the real entry point, exit codes included); every target is a loopback port that is bound
but never listens, so a value that is valid ends in exit 3 at once, never in traffic. A few
representative cases also run as real subprocesses.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import socket
import traceback
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from tests.cli_runner import run_warmer
from warmer.cli.main import cli, main
from warmer.config import schema

HOSTILE = (
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e308",
    str(2**64),
    "",
    "\udcff\udcfe",  # bytes 0xff 0xfe in argv, as Python decodes them
    "[::1",
    "http://127.0.0.1:99999/",
    "ftp://127.0.0.1/",
    "redis://h:6379/?foo=bar",
    "redis://u:pa/ss@127.0.0.1:6379/0",
)
"""Values every option gets; paths into a missing directory and under a file are added."""

SOME_VALID = {
    # option -> hostile values that are in fact valid for it (exit 0, 1 or 3 is right)
    "--format": set(),
    "--log-format": {""},
    "--tz": {""},
    "--seed": {"-1", "0"},
    "--since": {"0"},
    "--until": set(),
    "--top": {"0"},
    "--ramp": {"0"},
    "--ramp-from": {"0"},
    "--max-gap": {"0"},
    "--retries": {"0"},
    "--fail-after": {"0"},
    "--fail-share": {"0"},
    "--limit": {"0"},
    "--settle": {"0"},
    "--workers": {"0"},
    "--processes": {"0"},
    "--duration": set(),
}
"""Numbers that are inside an option's range; every other numeric value must be exit 2."""

FREE_TEXT = {
    # options whose value is any text (a name, a label, a pattern): only undecodable bytes
    # are refused there; what the text means is checked where it is used.
    "--keep-header",
    "--scrub-header",
    "--scrub-param",
    "--keep-param",
    "--method",
    "--name",
    "--allow-method",
    "--drop-header",
    "--phase",
    "--unix-socket",
    "--target",
    "--sample",
    "--header",
    "--run-dir",
    "--rejudge",
    "--timings",
    "--output",
    "-o",
    "--out",
    "--master-bind",
    "--log-format",
    "--engine",
    "--check",
    "--warm-until",
    "--simulate",
    "--slice",
    "--shard",
    "--since",
    "--until",
    "--field",
    "--tz",
    "--duration",
}
"""For these, a hostile value may be valid text (exit 0/1/3) or refused (exit 2)."""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A sample, a log, a run directory and a closed loopback port to aim at."""
    work = tmp_path_factory.mktemp("fuzz")
    records = [
        {"ts": 1764504000.0 + i, "method": "GET", "target": f"/p/{i % 5}", "status": 200}
        for i in range(40)
    ]
    (work / "s.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (work / "a.log").write_text(
        "".join(
            f'10.0.0.1 - - [02/Nov/2026:08:00:{i:02d} +0100] "GET /p/{i % 5} HTTP/1.1" '
            '200 512 "-" "curl/8.0"\n'
            for i in range(20)
        )
    )
    yield work


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A port bound and never listened on: a connection is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def run_dir(workdir: Path, closed_port: int) -> Path:
    """A run directory as a gate that could not reach its target leaves it."""
    target = f"http://127.0.0.1:{closed_port}"
    args = ["gate", "--sample", "s.jsonl", "--target", target, "--run-dir", "run"]
    code, _, err = invoke(workdir, args)
    assert code == 3, err
    return workdir / "run"


def invoke(cwd: Path, args: list[str]) -> tuple[int | None, str, str]:
    """``warmer ARGS`` in this process: (exit code, stdout, stderr); an exception that
    escapes the entry point is returned as a traceback in stderr, exit None."""
    runner = CliRunner()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    with runner.isolation() as streams, _chdir(cwd):
        code: int | None = None
        escaped = ""
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except BaseException:  # anything escaping main() is the bug sought
            escaped = traceback.format_exc()
        out = streams[0].getvalue().decode("utf-8", "replace")
        err = streams[1].getvalue().decode("utf-8", "replace") + escaped
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    return code, out, err


class _chdir:
    def __init__(self, path: Path) -> None:
        self.path, self.old = path, Path.cwd()

    def __enter__(self) -> None:
        import os

        os.chdir(self.path)

    def __exit__(self, *exc: object) -> None:
        import os

        os.chdir(self.old)


# --------------------------------------------------------------------------- the CLI


def all_options() -> list[tuple[tuple[str, ...], click.Option]]:
    """(command path, option) for every value-taking option of every command."""
    ctx = click.Context(cli)
    found: list[tuple[tuple[str, ...], click.Option]] = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, (*path, name))
            return
        for param in command.params:
            if isinstance(param, click.Option) and not param.is_flag and not param.hidden:
                found.append((path, param))

    walk(cli, ())
    return found


def base_args(path: tuple[str, ...], work: Path, port: int, run: Path | None) -> list[str] | None:
    """Arguments that make ``path`` run to its first network step (or finish) quickly."""
    target = f"http://127.0.0.1:{port}"
    return {
        ("sample", "import"): ["sample", "import", "a.log", "-o", "out.parquet"],
        ("sample", "inspect"): ["sample", "inspect", "s.jsonl"],
        ("replay",): ["replay", "s.jsonl", "--target", target, "-o", "r.parquet", "--no-progress"],
        ("observe",): ["observe"],
        ("gate",): ["gate", "--sample", "s.jsonl", "--target", target, "--dry-run"],
        ("report",): ["report", str(run)] if run else None,
        ("drift",): [
            "drift",
            *("--baseline", f"redis://127.0.0.1:{port}"),
            *("--candidate", f"redis://127.0.0.1:{port}"),
        ],
        # demo starts servers and locust-worker serves forever for any readable --master:
        # their options are fuzzed where they are parsed (test_server_commands_refuse_...)
        ("demo",): None,
        ("locust-worker",): None,
    }[path]


def _numeric(option: click.Option) -> bool:
    return getattr(option.type, "name", "") in ("integer", "float") or isinstance(
        option.type, click.types._NumberParamTypeBase
    )


def _flag(option: click.Option) -> str:
    return max(option.opts, key=len)


def _values(work: Path) -> tuple[str, ...]:
    return (
        *HOSTILE,
        str(work / "a.log" / "under-a-file" / "x.parquet"),
        str(work / "new" / "dir" / "x.parquet"),
    )


def test_the_walk_sees_every_command() -> None:
    commands = {path for path, _ in all_options()}
    assert {("sample", "import"), ("replay",), ("gate",), ("observe",)} <= commands
    assert len(all_options()) > 80


@pytest.mark.parametrize(
    "path", sorted({p for p, _ in all_options()}), ids=lambda p: "-".join(p) or "root"
)
def test_every_option_with_hostile_values(
    path: tuple[str, ...], workdir: Path, closed_port: int, run_dir: Path
) -> None:
    """Each value alone on a command otherwise valid: exit 2 (naming the option) unless the
    value is valid for it; never a traceback, never a hang."""
    base = base_args(path, workdir, closed_port, run_dir)
    if base is None:
        pytest.skip("fuzzed through its parser below")
    (workdir / "warmer.toml").write_text(
        _observe_config(closed_port) if path == ("observe",) else ""
    )
    problems = []
    for _, option in (item for item in all_options() if item[0] == path):
        flag = _flag(option)
        for value in _values(workdir):
            code, out, err = invoke(workdir, [*base, flag, value])
            shown = f"{' '.join(path)} {flag} {value!r}: exit {code}"
            if "Traceback" in out + err:
                problems.append(f"{shown}: traceback\n{err[-600:]}")
            elif code not in (0, 1, 2, 3):
                problems.append(f"{shown}: exit code outside the contract")
            elif code == 2 and not _names_it(err, option, value):
                problems.append(f"{shown}: the message does not name the option: {err[-300:]}")
            elif code != 2 and not _may_be_valid(option, value):
                problems.append(f"{shown}: a bad value was accepted: {err[-300:]}")
    (workdir / "warmer.toml").unlink()
    assert not problems, "\n".join(problems)


def test_gate_file_options_in_a_run_that_gets_to_its_target(
    workdir: Path, closed_port: int, tmp_path: Path
) -> None:
    """--dry-run writes nothing: the options naming files and directories are fuzzed again
    in a run that goes as far as its (closed) target: exit 2 or 3, never a traceback."""
    target = f"http://127.0.0.1:{closed_port}"
    base = ["gate", "--sample", str(workdir / "s.jsonl"), "--target", target]
    options = [o for p, o in all_options() if p == ("gate",) and isinstance(o.type, click.Path)]
    assert {"--run-dir", "--timings", "--rejudge"} <= {_flag(o) for o in options}
    problems = []
    for option in options:
        for value in _values(workdir):
            extra = [] if _flag(option) == "--run-dir" else ["--run-dir", str(tmp_path / "r")]
            code, out, err = invoke(tmp_path, [*base, *extra, _flag(option), value])
            if "Traceback" in out + err or code not in (2, 3):
                problems.append(f"{_flag(option)} {value!r}: exit {code}\n{err[-600:]}")
    assert not problems, "\n".join(problems)


def _names_it(err: str, option: click.Option, value: str) -> bool:
    """A usage error names the option (click's "Invalid value for '--rate'") or, for a
    value checked deeper, the option or the value itself."""
    words = [*option.opts, option.name or "", value]
    return any(w and w in err for w in words) or "Error:" in err


def _may_be_valid(option: click.Option, value: str) -> bool:
    flag = _flag(option)
    if value in SOME_VALID.get(flag, set()):
        return True
    if isinstance(option.type, click.Choice):
        return False
    if _numeric(option):
        return False
    if isinstance(option.type, click.Path) or flag in FREE_TEXT or "-o" in option.opts:
        return "\udcff" not in value or isinstance(option.type, click.Path)
    return False


def _observe_config(port: int) -> str:
    return f'[tiers.l2]\nsource = "redis"\nurl = "redis://127.0.0.1:{port}/0"\n'


def test_server_commands_refuse_bad_values_before_starting(workdir: Path) -> None:
    """demo and locust-worker start servers: only values they must refuse are tried, and
    their address parser is fuzzed directly with every hostile value."""
    from warmer.errors import UsageError
    from warmer.replay.locust_engine.options import DEFAULT_PORT, parse_host_port

    for value in _values(workdir):
        try:
            host, port = parse_host_port(value, DEFAULT_PORT, "--master")
        except UsageError as exc:
            assert "--master" in exc.message
        else:
            assert 0 <= port <= 65535 and host
    for args in (
        ["locust-worker", "--master", "[::1"],
        ["locust-worker", "--master", "h:99999"],
        ["locust-worker", "--master", "h:1", "--processes", "0"],
        ["locust-worker", "--master", "h:1", "--processes", str(2**64)],
        ["locust-worker", "--master", "\udcff"],
        ["demo", "--scenario", "nan"],
        ["demo", "--sample", "missing.jsonl"],
        ["demo", "--sample", "a.log"],  # not a sample
    ):
        code, out, err = invoke(workdir, args)
        assert code == 2 and "Traceback" not in out + err, (args, err)


# --------------------------------------------------------------------------- warmer.toml

_SECTION_COMMAND = {
    "sample": ["sample", "inspect", "s.jsonl"],
    "replay": ["replay", "s.jsonl", "-o", "r.parquet", "--no-progress"],
    "safety": ["replay", "s.jsonl", "-o", "r.parquet", "--no-progress"],
    "observe": ["observe"],
    "tiers": ["observe"],
    "backend": ["observe"],
    "gate": ["gate", "--dry-run"],
    "drift": ["gate", "--dry-run"],
    "stale_reads": ["gate", "--dry-run"],
    "invalidation": ["gate", "--dry-run"],
    "compare": ["gate", "--dry-run"],
}
_TOML_HOSTILE = (
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e308",
    "9223372036854775807",
    '""',
    '"nan"',
    '"[::1"',
    '"http://127.0.0.1:99999/"',
    '"ftp://127.0.0.1/"',
    '"redis://h:6379/?foo=bar"',
    '"redis://u:pa/ss@127.0.0.1:6379/0"',
    "[1, 2]",
    "{ a = 1 }",
    "true",
)


def config_fields() -> list[tuple[str, str]]:
    """(section, field) for every setting of every table, nested tables included."""
    found = []
    hints = typing.get_type_hints(schema.Config)
    for section in dataclasses.fields(schema.Config):
        tp = hints[section.name]
        # Optional tables (``[stale_reads]``: ``StaleReadsConfig | None``) by their class.
        tp = next((a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)), tp)
        cls = schema.SourceConfig if section.name in ("tiers", "backend") else tp
        for field in dataclasses.fields(cls):
            found.append((section.name, field.name))
    found.extend(("sample.key", f.name) for f in dataclasses.fields(schema.KeyConfig))
    return found


def _toml(section: str, field: str, value: str, port: int) -> str:
    redis = f'source = "redis"\nurl = "redis://127.0.0.1:{port}/0"\n'
    if section in ("tiers", "backend"):
        table = "[tiers.l2]" if section == "tiers" else "[backend]"
        base = {"source": '"redis"', "url": f'"redis://127.0.0.1:{port}/0"'}
        base[field] = value
        return table + "\n" + "".join(f"{k} = {v}\n" for k, v in base.items())
    head = f'[replay]\ntarget = "http://127.0.0.1:{port}"\n' if section != "replay" else ""
    lines = f"[{section}]\n{field} = {value}\n"
    if section == "replay" and field != "target":
        lines += f'target = "http://127.0.0.1:{port}"\n'
    if section == "gate" and field != "sample":
        lines += 'sample = "s.jsonl"\n'
    if section != "gate" and _SECTION_COMMAND.get(section, [""])[0] == "gate":
        lines += '[gate]\nsample = "s.jsonl"\n'  # the tables only the gate reads
    return head + lines + ("" if section in ("tiers", "backend") else f"[tiers.l2]\n{redis}")


@pytest.mark.parametrize("section", [*sorted(_SECTION_COMMAND), "sample.key"])
def test_every_config_field_with_hostile_values(
    section: str, workdir: Path, closed_port: int
) -> None:
    """Each field of a table set to a hostile value, read by a command that uses it: exit 2
    naming the field path, or (for a value that happens to be valid) 0, 1 or 3."""
    command = _SECTION_COMMAND["sample" if section == "sample.key" else section]
    problems = []
    for sec, field in (f for f in config_fields() if f[0] == section):
        for value in _TOML_HOSTILE:
            (workdir / "warmer.toml").write_text(_toml(sec, field, value, closed_port))
            code, out, err = invoke(workdir, command)
            shown = f"[{sec}] {field} = {value}: exit {code}"
            if "Traceback" in out + err:
                problems.append(f"{shown}: traceback\n{err[-600:]}")
            elif code not in (0, 1, 2, 3):
                problems.append(f"{shown}: exit code outside the contract")
            elif code == 2 and field not in err and sec.split(".")[0] not in err:
                problems.append(f"{shown}: the message names no field: {err[-300:]}")
            elif code != 2 and _bad_number(sec, field, value):
                problems.append(f"{shown}: a bad number was accepted")
    (workdir / "warmer.toml").unlink()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "content",
    [
        b'[replay]\ntarget = "http://h\xff\xfe"\n',  # not UTF-8
        b"\x00\x01\x02",
        b"[replay\n",
        b"replay = 5\n",
        b"[tiers]\nl1 = 5\n",
        b'[tiers.l1]\nsource = "redis"\nurl = "redis://h/0"\ncapacity = 1e400\n',
    ],
)
def test_a_hostile_config_file_is_exit_2(content: bytes, workdir: Path) -> None:
    (workdir / "warmer.toml").write_bytes(content)
    try:
        for command in (["observe"], ["gate", "--dry-run"]):
            code, out, err = invoke(workdir, command)
            assert code == 2, (command, err)
            assert "warmer.toml" in err or "tiers" in err or "replay" in err
            assert "Traceback" not in out + err
        # inspect reads [sample] only: a file it cannot parse at all is still exit 2
        code, out, err = invoke(workdir, ["sample", "inspect", "s.jsonl"])
        assert code in (0, 2) and "Traceback" not in out + err
    finally:
        (workdir / "warmer.toml").unlink()


def _bad_number(section: str, field: str, value: str) -> bool:
    """A number outside the field's range (fields without a range are not judged here)."""
    if not _numeric_literal(value) or not _is_number_field(section, field):
        return False
    return not _valid_number(section, field, value)


def _numeric_literal(value: str) -> bool:
    return value in ("nan", "inf", "-inf", "-1", "0", "1e308", "9223372036854775807")


def _is_number_field(section: str, field: str) -> bool:
    from warmer.config.limits import LIMITS

    return f"{section}.{field}" in LIMITS


def _valid_number(section: str, field: str, value: str) -> bool:
    from warmer.config.limits import LIMITS

    number: Any = int(value) if value.lstrip("-").isdigit() else float(value)
    return LIMITS[f"{section}.{field}"].problem(number) is None


# --------------------------------------------------------------------------- real processes


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["gate", "--sample", "s.jsonl", "--target", "TARGET", "--settle", "inf"], "--settle"),
        (["gate", "--sample", "s.jsonl", "--target", "TARGET", "--rate", "nan"], "--rate"),
        (["replay", "s.jsonl", "--target", "TARGET", "--timeout", "nan"], "--timeout"),
        (["sample", "import", "a.log", "-o", "o.parquet", "--since", "1e308"], "--since"),
        (["sample", "import", "a.log", "-o", "o.parquet", "--method", "\udcff"], "--method"),
        (["sample", "import", "a.log", "-o", "a.log/x/o.parquet"], "a.log"),
    ],
)
def test_representative_cases_in_a_real_process(
    args: list[str], names: str, workdir: Path, closed_port: int
) -> None:
    target = f"http://127.0.0.1:{closed_port}"
    args = [target if a == "TARGET" else a for a in args]
    result = run_warmer(*args, cwd=workdir, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert names in result.stderr


# --------------------------------------------------------------------------- regressions

URL_TYPOS = [
    "redis://127.0.0.1:6379/?foo=bar",
    "redis://127.0.0.1:99999/0",
    "ftp://127.0.0.1:6379/",
    "redis://[::1",
    "redis://warmer:se/cret@127.0.0.1:6379/0",
    "http://127.0.0.1:0/metrics",
]


@pytest.mark.parametrize("source", ["redis", "memcached", "prometheus", "promql"])
def test_observer_url_typos_are_exit_2_in_observe_and_gate(
    source: str, workdir: Path, closed_port: int
) -> None:
    """Each typo, in the source it is wrong for, names tiers.l2.url in both commands (the
    gate before its target is tried) and never shows the password."""
    gate = ["gate", "--sample", "s.jsonl", "--target", f"http://127.0.0.1:{closed_port}"]
    for url in URL_TYPOS:
        extra = 'requests = "up"\n' if source in ("prometheus", "promql") else ""
        (workdir / "warmer.toml").write_text(
            f'[tiers.l2]\nsource = "{source}"\nurl = "{url}"\n{extra}'
        )
        for command in (["observe"], gate):
            code, out, err = invoke(workdir, command)
            assert code == 2, (source, url, command[0], err)
            assert "tiers.l2.url" in err and "Traceback" not in out + err
            assert "cret" not in out + err  # the password, or a piece of it
    (workdir / "warmer.toml").unlink()


def test_output_into_a_missing_directory_is_created(workdir: Path) -> None:
    code, _, err = invoke(workdir, ["sample", "import", "a.log", "-o", "deep/er/o.jsonl"])
    assert code == 0, err
    assert (workdir / "deep" / "er" / "o.jsonl").is_file()


def test_inspect_of_a_sample_spanning_decades_stays_small(workdir: Path) -> None:
    """Two records 56 years apart: a per-second array over the span would need 13 GiB;
    under a 4 GiB address-space limit the profile must still come out."""
    import resource
    import subprocess
    import sys

    path = workdir / "decades.jsonl"
    path.write_text(
        '{"ts": 1, "method": "GET", "target": "/a"}\n'
        '{"ts": 1764504000, "method": "GET", "target": "/a"}\n'
    )

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    result = subprocess.run(
        [sys.executable, "-m", "warmer", "sample", "inspect", str(path), "--json"],
        capture_output=True, text=True, timeout=120, preexec_fn=limit, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["requests"] == 2
