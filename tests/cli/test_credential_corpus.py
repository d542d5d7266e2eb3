"""A corpus of credentials in every place a request can hold one, in every input format,
through the real commands: no secret value in any artifact, output line or replayed byte.

Each secret is a unique word ``zq<NN>SECRETv``. The logs go through ``warmer sample
import``, ``sample inspect``, ``replay`` (every method allowed, recorded Host preserved,
against a server that records raw bytes) and ``gate``; then every file written (samples,
results, the whole run directory, Parquet files read back with base64 bodies decoded),
every stdout and stderr, and every byte the server received is searched for every secret,
raw and percent-decoded. The same logs imported with ``--no-scrub`` hold every secret, so
each placement does reach the sample and the search can fail.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pyarrow.parquet as pq
import pytest

from tests.cli_runner import run_warmer
from tests.replay.recording import RecordingServer

pytestmark = pytest.mark.slow


def s(n: int) -> str:
    """The ``n``-th secret value."""
    return f"zq{n:02d}SECRETv"


COMBINED = "".join(
    f'10.0.0.{i} - - [02/Nov/2026:08:00:{i:02d} +0100] "GET {target} HTTP/1.1" 200 5 '
    f'"{referer}" "ua"\n'
    for i, (target, referer) in enumerate(
        [
            (f"/q?access_token={s(1)}&page=1", "-"),
            (f"/q?session_id={s(2)}&auth_token={s(3)}&jwt={s(4)}", "-"),
            (f"/q?private_token={s(5)}&X-Amz-Signature={s(6)}", "-"),
            (f"/cart;jsessionid={s(7)}?x=1", "-"),
            (f"/a;token={s(8)}/b", "-"),
            (f"/login?user%5Bpassword%5D={s(9)}", "-"),
            (f"/cb#access_token={s(10)}&state=ok", "-"),
            (f"http://user:{s(11)}@origin.example/abs?x=1", "-"),
            ("/ref", f"https://u:{s(12)}@ref.example/p?token={s(13)}"),
            ("/ref2", f"https://{s(14)}@ref.example/p#id_token={s(15)}"),
        ]
    )
)

LOG_FORMAT = (
    '$remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_authorization" '
    '"$http_cookie" "$http_x_api_key" "$http_ocp_apim_subscription_key" "$http_x_session_token"'
)
NGINX = (
    f'10.0.0.9 [02/Nov/2026:08:01:00 +0100] "GET /h HTTP/1.1" 200 5 "Bearer {s(16)}" '
    f'"sid={s(17)}" "{s(18)}" "{s(19)}" "{s(20)}"\n'
    '10.0.0.9 [02/Nov/2026:08:01:05 +0100] "GET /h HTTP/1.1" 200 5 "-" "-" "-" "-" "-"\n'
)

JSONL = (
    "\n".join(
        json.dumps(r)
        for r in [
            {
                "time": "2026-11-02T07:02:00Z",
                "method": "POST",
                "uri": f"/form?auth={s(21)}",
                "host": f"admin:{s(22)}@shop.example",
                "headers": {
                    "Ocp-Apim-Subscription-Key": s(23),
                    "X-Session-Token": s(24),
                    "Referer": f"http://{s(25)}@ref.example/",
                    "host": f"u:{s(26)}@shop.example",
                    "Accept": "text/html",
                },
                "body": f"user=ann&password={s(27)}",
            },
            {
                "time": "2026-11-02T07:02:01Z",
                "method": "POST",
                "uri": "/api",
                "body": json.dumps({"user": "ann", "auth": {"refreshToken": s(28)}}),
            },
        ]
    )
    + "\n"
)

HAR = json.dumps(
    {
        "log": {
            "version": "1.2",
            "entries": [
                {
                    "startedDateTime": "2026-11-02T07:03:00.000Z",
                    "time": 5,
                    "request": {
                        "method": "POST",
                        "url": f"https://user:{s(29)}@h.example/har?api_key={s(30)}"
                        f"#access_token={s(31)}",
                        "headers": [
                            {"name": "Authorization", "value": f"Basic {s(32)}"},
                            {"name": "Cookie", "value": f"session={s(33)}"},
                            {"name": "X-CSRF-Token", "value": s(34)},
                            {"name": "Referer", "value": f"https://h.example/?sig={s(35)}"},
                        ],
                        "postData": {
                            "mimeType": "application/x-www-form-urlencoded",
                            "text": f"login=ann&passwd={s(36)}",
                        },
                    },
                    "response": {"status": 200, "bodySize": 3, "headers": []},
                }
            ],
        }
    }
)

ALB = (
    "https 2026-11-02T07:04:00.000000Z app/lb/1 10.0.0.5:5555 10.0.1.1:80 0.001 0.002 0.000 "
    f'200 200 34 5 "GET https://user:{s(37)}@alb.example:443/alb?token={s(38)} HTTP/1.1" '
    '"ua" ECDHE TLSv1.2 arn:x "Root=1" "alb.example" "arn:c" 0 2026-11-02T07:04:00.000000Z '
    '"forward" "-" "-" "10.0.1.1:80" "200" "-" "-"\n'
)

CSV = (
    "ts,method,target,host,referer,apikey\n"
    f"2026-11-02T07:05:00Z,GET,/csv?credential={s(39)},u:{s(40)}@csv.example,"
    f"https://r.example/?session={s(41)},{s(42)}\n"
)

SECRETS = [s(n) for n in range(1, 43)]


@pytest.fixture(scope="module")
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.close()


def _logs(where: Path) -> tuple[list[str], str]:
    files = {
        "access.log": COMBINED,
        "app.jsonl": JSONL,
        "traffic.har": HAR,
        "alb.log": ALB,
        "requests.csv": CSV,
        "custom.log": NGINX,
    }
    for name, text in files.items():
        (where / name).write_text(text)
    auto = [str(where / n) for n in files if n != "custom.log"]
    return auto, str(where / "custom.log")


def _imports(where: Path, *flags: str) -> tuple[list[Path], list[str]]:
    """Import the auto-detected logs and the log_format one; samples and outputs."""
    auto, custom = _logs(where)
    a, b = where / "a.parquet", where / "b.jsonl"
    field = ("--field", "header.x-api-key=apikey")
    done_a = run_warmer("sample", "import", *auto, "-o", str(a), *field, *flags)
    done_b = run_warmer(
        "sample", "import", custom, "-o", str(b), "--log-format", LOG_FORMAT, *flags
    )
    for done in (done_a, done_b):
        assert done.returncode == 0, done.stderr
        assert "0 malformed" in done.stderr
    return [a, b], [done_a.stdout, done_a.stderr, done_b.stdout, done_b.stderr]


def _text(path: Path) -> str:
    """Everything ``path`` holds, readable: Parquet read back, gzip opened, bodies decoded."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    if data.startswith(b"PAR1"):
        table = pq.read_table(path)
        rows = table.to_pylist()
        bodies = [_decoded(r["body"]) for r in rows if r.get("body")]
        meta = table.schema.metadata or {}
        return json.dumps([rows, bodies, {k.decode(): v.decode() for k, v in meta.items()}])
    text = data.decode("utf-8", "replace")
    bodies = []
    for line in text.splitlines():
        if line.startswith("{") and '"body"' in line:
            bodies.append(_decoded(json.loads(line)["body"]))
    return text + "\n".join(bodies)


def _decoded(body: str) -> str:
    """A base64 body decoded (a log's raw text body stays as it is)."""
    try:
        return base64.b64decode(body, validate=True).decode("utf-8", "replace")
    except ValueError:
        return body


def _leaks(texts: list[str]) -> set[str]:
    everything = "\n".join(texts)
    everything += unquote(everything)
    return {secret for secret in SECRETS if secret in everything}


def test_every_placement_reaches_an_unscrubbed_sample(tmp_path: Path) -> None:
    samples, _ = _imports(tmp_path, "--no-scrub")
    assert _leaks([_text(p) for p in samples]) == set(SECRETS)


def test_no_secret_in_any_artifact_output_or_replayed_byte(
    recorder: RecordingServer, tmp_path: Path
) -> None:
    samples, outputs = _imports(tmp_path)
    files: list[Path] = list(samples)
    (tmp_path / "warmer.toml").write_text(
        '[safety]\nallow_methods = ["GET", "HEAD", "POST"]\n[replay]\npreserve_host = true\n'
    )
    for i, sample in enumerate(samples):
        inspect = run_warmer("sample", "inspect", str(sample), cwd=tmp_path)
        assert inspect.returncode == 0, inspect.stderr
        results = tmp_path / f"results-{i}.parquet"
        replay = run_warmer(
            "replay", str(sample), "--target", recorder.url, "-o", str(results), "--json",
            cwd=tmp_path,
        )  # fmt: skip
        assert replay.returncode == 0, replay.stderr
        assert json.loads(replay.stdout)["sent"] > 0
        run_dir = tmp_path / f"run-{i}"
        gate = run_warmer(
            "gate", "--target", recorder.url, "--sample", str(sample), "--run-dir", str(run_dir),
            "--settle", "0", "--check", "errors.rate < 100%", cwd=tmp_path,
        )  # fmt: skip
        assert gate.returncode in (0, 1), gate.stderr
        files += [results, *sorted(p for p in run_dir.rglob("*") if p.is_file())]
        outputs += [inspect.stdout, inspect.stderr, replay.stdout, replay.stderr]
        outputs += [gate.stdout, gate.stderr]
    assert len(files) > 10 and any(p.name == "sample.parquet" for p in files)
    _, received = recorder.snapshot()
    assert b"REDACTED-" in received  # the pseudonymised requests were replayed
    texts = [_text(p) for p in files] + outputs + [received.decode("latin-1")]
    assert _leaks(texts) == set()
