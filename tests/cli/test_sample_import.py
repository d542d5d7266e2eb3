"""``warmer sample import`` through the CLI: summary on stderr, exit codes."""

from __future__ import annotations

from pathlib import Path

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
