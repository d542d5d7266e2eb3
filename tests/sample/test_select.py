"""Selection: time window, method filter, downsampling by key hash."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from warmer.config.schema import DEFAULT_SCRUB_HEADERS, DEFAULT_SCRUB_PARAMS
from warmer.sample.importer import ImportOptions
from warmer.sample.scrub import ScrubPolicy
from warmer.sample.select import Selection
from warmer.sample.store import open_sample

from ._import_helpers import import_text

SAMPLES = Path(__file__).resolve().parents[2] / "traffic_samples"


def test_rate_must_be_in_range() -> None:
    with pytest.raises(ValueError):
        Selection(sample_rate=0.0)
    with pytest.raises(ValueError):
        Selection(sample_rate=1.5)


def test_keeps_key_is_deterministic_and_near_rate() -> None:
    sel = Selection(sample_rate=0.3, seed=7)
    keys = [f"GET /k/{i}" for i in range(20000)]
    kept = [k for k in keys if sel.keeps_key(k)]
    assert kept == [k for k in keys if Selection(sample_rate=0.3, seed=7).keeps_key(k)]
    assert 0.27 < len(kept) / len(keys) < 0.33
    assert kept != [k for k in keys if Selection(sample_rate=0.3, seed=8).keeps_key(k)]


def test_downsampling_keeps_every_request_of_a_kept_key(tmp_path: Path) -> None:
    out = tmp_path / "s.parquet"
    from warmer.sample.importer import import_logs

    full = tmp_path / "full.parquet"
    # Two imports: pseudonyms would differ (salted per import), plain redaction does not.
    redact = ScrubPolicy.build(DEFAULT_SCRUB_HEADERS, DEFAULT_SCRUB_PARAMS, redact=True)
    import_logs([str(SAMPLES / "demo-access.log.gz")], full, ImportOptions(scrub=redact))
    report = import_logs(
        [str(SAMPLES / "demo-access.log.gz")],
        out,
        ImportOptions(selection=Selection(sample_rate=0.25, seed=3), scrub=redact),
    )
    all_counts = Counter(open_sample(full).to_table(columns=["key"]).column("key").to_pylist())
    kept = Counter(open_sample(out).to_table(columns=["key"]).column("key").to_pylist())
    assert kept and len(kept) < len(all_counts)
    for key, count in kept.items():
        assert count == all_counts[key]
    assert 0.15 < len(kept) / len(all_counts) < 0.35
    meta = open_sample(out).meta
    assert meta.sample_rate == 0.25
    assert meta.filters["sample_rate"] == 0.25 and meta.filters["seed"] == 3
    assert report.dropped["sampling"] == sum(all_counts.values()) - sum(kept.values())


def _lines() -> str:
    methods = ["GET", "POST", "HEAD", "GET"]
    return "".join(
        f'1.2.3.4 - - [02/Nov/2026:08:00:{i:02d} +0100] "{methods[i % 4]} /p{i} HTTP/1.1" '
        '200 1 "-" "u"\n'
        for i in range(40)
    )


def test_time_window(tmp_path: Path) -> None:
    start = 1793602800.0  # 08:00:00 +0100
    sel = Selection(since=start + 10, until=start + 20)
    report, rows, out = import_text(tmp_path, _lines(), ImportOptions(selection=sel))
    assert sorted(r["ts"] - start for r in rows) == [float(s) for s in range(10, 20)]
    assert report.dropped["window"] == 30
    assert open_sample(out).meta.filters == {
        "since": start + 10,
        "until": start + 20,
        "dropped": {"window": 30},
    }


def test_method_filter(tmp_path: Path) -> None:
    sel = Selection(methods=("GET", "HEAD"))
    report, rows, _ = import_text(tmp_path, _lines(), ImportOptions(selection=sel))
    assert {r["method"] for r in rows} == {"GET", "HEAD"}
    assert len(rows) == 30 and report.dropped["method"] == 10


def test_keys_that_differ_only_by_a_pseudonym_are_sampled_together() -> None:
    from warmer.sample.select import Selection

    selection = Selection(sample_rate=0.5, seed=3)
    keys = [f"GET /a?q=1&token=REDACTED-{i:016x}" for i in range(64)]
    decisions = {selection.keeps_key(k) for k in keys}
    assert len(decisions) == 1  # one decision for the whole group, whatever the salt
    assert decisions == {selection.keeps_key("GET /a?q=1&token=REDACTED")}
    # Other keys still split about evenly.
    kept = sum(selection.keeps_key(f"GET /b/{i}") for i in range(2000))
    assert 900 < kept < 1100
