"""The sink every replay reports to: buffers rows, writes and tallies them in batches.

Engines call :meth:`Recorder.add` (a list append) for every response and
:meth:`Recorder.tick` a few times a second; a tick writes the buffer when it holds
``_FLUSH_ROWS`` rows or every ``_FLUSH_EVERY_S``, so memory stays bounded and each write
is short (about a millisecond per thousand rows), which keeps a paced loop on time.
``seq`` continues across the replays written into one file (a gate's warm, then verify),
so ordering a results file by ``seq`` is its send order over the whole run.
Writing from a separate thread was measured and did not help: the Arrow conversion
holds the GIL, so the loop waited on the GIL instead of on the write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from warmer.replay.faults import FailureWatch
from warmer.replay.results import ResultsWriter, Row
from warmer.replay.summary import Tally

_PROGRESS_EVERY_S = 0.5
_FLUSH_ROWS = 8192
_FLUSH_EVERY_S = 0.5

ProgressFactory = Callable[[str | None, float, int, int, int | None, float | None], Any]


class Recorder:
    """The :class:`~warmer.replay.engine.Sink` of one replay; :meth:`close` when done.

    ``halt`` is the event the engine obeys: a tick sets it when the caller's ``stop`` is
    set, and a flush sets it when ``watch`` trips (the target stopped working).
    """

    def __init__(
        self,
        writer: ResultsWriter,
        phase: str | None,
        on_event: Callable[[Any], None] | None,
        expected: int | None,
        rate: float | None,
        make_progress: ProgressFactory,
        *,
        stop: threading.Event | None = None,
        halt: threading.Event | None = None,
        watch: FailureWatch | None = None,
    ) -> None:
        self.writer = writer
        self.origin = writer.origin
        self.phase = phase
        self.seq_base = writer.rows_written
        """Rows the file already holds: engines number from 0, this replay's rows follow them."""
        self.tally = Tally()
        self.started = time.perf_counter()
        self.expected = expected
        self.rate = rate
        self._rows: list[Row] = []
        self._on_event = on_event
        self._make_progress = make_progress
        self._last_flush = self._last_event = self.started
        self.stop = stop or threading.Event()
        self.halt = halt or threading.Event()
        self.watch = watch
        if self.stop.is_set():
            self.halt.set()

    def add(self, row: Row) -> None:
        self._rows.append(row)

    def tick(self) -> None:
        if self.stop.is_set():
            self.halt.set()
        now = time.perf_counter()
        if len(self._rows) >= _FLUSH_ROWS or now - self._last_flush >= _FLUSH_EVERY_S:
            self.flush()
        if self._on_event is not None and now - self._last_event >= _PROGRESS_EVERY_S:
            self._last_event = now
            self._on_event(self.progress(now))

    def flush(self) -> None:
        """Write the buffered rows and count them."""
        rows, self._rows = self._rows, []
        self._last_flush = time.perf_counter()
        if rows:
            if self.seq_base:
                rows = [(row[0] + self.seq_base, *row[1:]) for row in rows]
            batch = self.writer.write_rows(rows)
            self.tally.add(batch)
            if self.watch is not None and self.watch.add(batch) is not None:
                self.halt.set()

    def close(self) -> None:
        """Write what is left (the results writer itself stays open)."""
        self.flush()

    def progress(self, now: float) -> Any:
        """A progress event as of ``now``."""
        sent = self.tally.sent + len(self._rows)
        return self._make_progress(
            self.phase, now - self.started, sent, self.tally.error_count, self.expected, self.rate
        )
