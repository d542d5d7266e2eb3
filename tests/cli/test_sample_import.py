"""``warmer sample import`` through the CLI: summary on stderr, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli_runner import run_warmer
from warmer.sample.store import open_sample

LINE = (
    '10.0.0.{i} - - [02/Nov/2026:08:00:{i:02d} +0100] "{m} /p/{i}?token=tk{i} HTTP/1.1" '
    '200 5 "-" "ua"\n'
)


run = run_warmer


def _log(tmp_path: Path, n: int = 10, extra: str = "") -> Path:
    src = tmp_path / "access.log"
    src.write_text(
        "".join(LINE.format(i=i, m="GET" if i % 3 else "POST") for i in range(n)) + extra
    )
    return src


def test_import_prints_path_and_summary(tmp_path: Path) -> None:
    src = _log(tmp_path, extra="garbage\n")
    out = tmp_path / "s.parquet"
    result = run("sample", "import", str(src), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert "auto-detected nginx/Apache combined (matched 10/11 probe lines)" in result.stderr
    assert "11 lines, 10 records, 1 malformed" in result.stderr
    assert "line 11: does not match the format" in result.stderr
    assert "scrubbed: param:token x10" in result.stderr
    assert "tk3" not in out.read_bytes().decode(errors="replace")


def test_selection_flags(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    result = run(
        "sample",
        "import",
        str(_log(tmp_path)),
        "-o",
        str(out),
        "--method",
        "get",
        "--since",
        "2026-11-02T07:00:02Z",
        "--sample-rate",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert "selection: window 2026-11-02T07:00:02+00:00 .. -; methods GET; dropped" in result.stderr
    table = open_sample(out).to_table()
    assert set(table.column("method").to_pylist()) == {"GET"}
    assert min(table.column("ts").to_pylist()) >= 1793602802
    filters = open_sample(out).meta.filters
    assert filters["since"] == 1793602802.0 and filters["methods"] == ["GET"]
    assert filters["dropped"] == {"window": 2, "method": 3}


def test_no_scrub_and_keep_header(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    result = run("sample", "import", str(_log(tmp_path)), "-o", str(out), "--no-scrub")
    assert result.returncode == 0
    assert "tk3" in out.read_text()
    assert "scrubbed: nothing" in result.stderr


def test_log_format_flag(tmp_path: Path) -> None:
    src = tmp_path / "c.log"
    src.write_text("1793602800.5|GET|/x|200\n")
    out = tmp_path / "s.parquet"
    result = run(
        "sample",
        "import",
        str(src),
        "-o",
        str(out),
        "--log-format",
        "$msec|$request_method|$request_uri|$status",
    )
    assert result.returncode == 0, result.stderr
    assert open_sample(out).to_table().column("target").to_pylist() == ["/x"]


def test_json_field_flag(tmp_path: Path) -> None:
    src = tmp_path / "j.log"
    src.write_text('{"when": 1793602800, "verb": "GET", "u": "/j"}\n')
    out = tmp_path / "s.parquet"
    result = run(
        "sample",
        "import",
        str(src),
        "-o",
        str(out),
        "--format",
        "json",
        "--field",
        "ts=when",
        "--field",
        "method=verb",
        "--field",
        "target=u",
    )
    assert result.returncode == 0, result.stderr
    assert open_sample(out).to_table().column("target").to_pylist() == ["/j"]


def test_exit_2_cases(tmp_path: Path) -> None:
    out = str(tmp_path / "s.parquet")
    missing = run("sample", "import", str(tmp_path / "nope.log"), "-o", out)
    assert missing.returncode == 2 and "nope.log" in missing.stderr
    strict = run("sample", "import", str(_log(tmp_path, extra="bad\n")), "-o", out, "--strict")
    assert strict.returncode == 2 and "access.log:11: does not match the format" in strict.stderr
    junk = tmp_path / "junk.log"
    junk.write_text("a b c\nd e f\n")
    nothing = run("sample", "import", str(junk), "-o", out, "--format", "combined")
    assert nothing.returncode == 2 and "--format" in nothing.stderr
    assert run("sample", "import", str(junk), "-o", out, "--sample-rate", "0").returncode == 2
    assert run("sample", "import", str(junk), "-o", out, "--field", "nonsense").returncode == 2
    assert run("sample", "import", str(junk), "-o", out, "--format", "nginx").returncode == 2
    assert run("sample", "import", str(junk), "-o", out, "--since", "yesterday-ish").returncode == 2
    assert not Path(out).exists()


def test_extra_scrub_lists_from_config(tmp_path: Path) -> None:
    (tmp_path / "warmer.toml").write_text(
        '[sample]\nscrub_params = ["promo"]\nkeep_params = ["token"]\nredact = true\n'
    )
    src = tmp_path / "o.log"
    src.write_text(
        '1.2.3.4 - - [02/Nov/2026:08:00:00 +0100] "GET /v?promo=99&token=t&sig=s HTTP/1.1" 200 1'
        ' "-" "u"\n'
    )
    out = tmp_path / "s.jsonl"
    result = run("sample", "import", str(src), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    target = open_sample(out).to_table().column("target").to_pylist()[0]
    # promo: the file's extra name; token: kept on purpose; sig: a credential word
    assert target == "/v?promo=REDACTED&token=t&sig=REDACTED"


def test_tz_applies_to_since_and_bad_zone_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    src = _log(tmp_path)
    result = run(
        "sample",
        "import",
        str(src),
        "-o",
        str(out),
        "--tz",
        "+01:00",
        "--since",
        "2026-11-02 08:00:05",
    )
    assert result.returncode == 0, result.stderr
    assert open_sample(out).meta.filters["since"] == 1793602805.0
    assert run("sample", "import", str(src), "-o", str(out), "--tz", "Nowhere/X").returncode == 2


def _inspect(sample: Path) -> dict[str, Any]:
    done = run("sample", "inspect", str(sample), "--json")
    assert done.returncode == 0, done.stderr
    profile: dict[str, Any] = json.loads(done.stdout)
    return profile


def test_scrubbing_keeps_the_distinct_keys_and_their_reuse(tmp_path: Path) -> None:
    """One token per user: thousands of distinct, mostly cold keys. A plain REDACTED made
    them one hot key and inflated every hit rate computed from the sample."""
    lines = [
        f"10.0.{i % 7}.{i % 250} - - [02/Nov/2026:08:{i // 60 % 60:02d}:{i % 60:02d} +0100] "
        f'"GET /feed/{u % 5}?access_token=user{u}&page={u % 3} HTTP/1.1" 200 5 "-" "ua"\n'
        for i, u in ((i, i * 37 % 600) for i in range(2000))  # 600 users, each seen ~3 times
    ]
    src = tmp_path / "access.log"
    src.write_text("".join(lines))
    profiles = {}
    for mode in ("--no-scrub", "--redact", None):
        out = tmp_path / f"s{mode or ''}.parquet"
        done = run("sample", "import", str(src), "-o", str(out), *([mode] if mode else []))
        assert done.returncode == 0, done.stderr
        profiles[mode] = _inspect(out)
    recorded, redacted, scrubbed = profiles["--no-scrub"], profiles["--redact"], profiles[None]
    assert recorded["unique_keys"] == 600
    assert scrubbed["unique_keys"] == recorded["unique_keys"]
    for figure in ("infinite_cache_ceiling", "one_hit_key_share"):
        assert scrubbed[figure] == recorded[figure]
    assert scrubbed["split"]["warmable_ceiling"] == recorded["split"]["warmable_ceiling"]
    assert redacted["unique_keys"] == 15  # 5 paths x 3 pages: the collapse, when asked for
    assert "user1" not in (tmp_path / "s.parquet").read_bytes().decode("latin-1")


def test_hostile_fields_are_rejected_or_cleaned_on_import(tmp_path: Path) -> None:
    records = [
        {"time": 1, "method": "GET", "uri": "/ok", "host": "admin:pw-4411@shop.example"},
        {"time": 2, "method": "GET", "uri": "/x", "host": "a.example\r\nX: 1"},
        {"time": 3, "method": "GET", "uri": "/y", "headers": {"x-a": "1\r\n\r\nGET /z"}},
        {"time": 4, "method": "GET", "uri": "/z\r\nHost: evil"},
        {"time": 5, "method": "GET", "uri": "/t", "headers": {"host": "u:pw-5522@h.example"}},
    ]
    src = tmp_path / "app.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "s.jsonl"
    done = run("sample", "import", str(src), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "3 malformed" in done.stderr
    assert "control character in the host" in done.stderr
    assert "control character in a header" in done.stderr
    assert "scrubbed: userinfo x2" in done.stderr
    rows = open_sample(out).to_table().to_pylist()
    assert [(r["target"], r["host"]) for r in rows] == [("/ok", "shop.example"), ("/t", None)]
    assert dict(rows[1]["headers"])["host"] == "h.example"
    assert b"pw-" not in out.read_bytes()


def test_inspect_and_import_print_no_control_character(tmp_path: Path) -> None:
    """Keys, cache statuses and parameter names come from traffic: ESC and CR from a log
    must not reach the terminal."""
    records = [
        {"time": t, "method": "GET", "uri": "/a%1b[2J?x=1", "cache_status": "HIT\x1b]0;pwned\x07"}
        for t in range(3)
    ] + [{"time": 9, "method": "GET", "uri": "/b", "headers": {"x-token\x1b[31m": "v"}}]
    src = tmp_path / "app.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "s.jsonl"
    # a sample written by hand may hold anything: a key with ESC and CR in it
    sample = tmp_path / "hand.jsonl"
    sample.write_text(
        "".join(
            json.dumps({"ts": t, "method": "GET", "target": "/k", "key": "GET /k\x1b[2J\r\nFAKE",
                        "cache_status": "HIT\x1b]0;pwned\x07"}) + "\n"
            for t in range(3)
        )
    )  # fmt: skip
    imported = run("sample", "import", str(src), "-o", str(out))
    inspected = run("sample", "inspect", str(sample))
    assert imported.returncode == 0 and inspected.returncode == 0, inspected.stderr
    for text in (imported.stderr, imported.stdout, inspected.stdout, inspected.stderr):
        assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    assert "GET /k\\x1b[2J\\r\\nFAKE" in inspected.stdout
    assert "HIT\\x1b]0;pwned\\x07" in inspected.stdout
