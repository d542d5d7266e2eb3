"""The Locust engine: a real Locust master and workers, on this machine or across machines.

Locust is never imported here (its gevent monkey-patching would take over warmer's
process): the engine starts ``master.py`` and ``--workers`` local ``locust --worker``
processes on the shipped ``locustfile.py``; workers on other machines join with
``warmer locust-worker --master HOST:PORT``. Jobs go to the workers as Locust messages,
sharded by cache key, and every response comes back as a row (``phase.py``), so the
results file, the summary and a gate's verdict are those of the single-machine engines.

Used as a context manager (or through ``replay_engine``), one master and its workers
serve several replays in turn, as a gate's warm and verify phases; otherwise each
``run`` starts and stops its own.
"""

from __future__ import annotations

from warmer.replay.locust_engine.options import LocustOptions

__all__ = ["LocustOptions"]
