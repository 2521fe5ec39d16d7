"""Lanes for the engine's RPCs: reads that scan many rows wait their turn on a lane of their own, so quick
calls go first.

Milvus Lite runs every RPC on threads of one interpreter. A search over 15k unflushed rows holds the
GIL for ~100 ms of pure Python; with three of them in flight, a 0.2 ms `DescribeCollection` waited
behind each (5-6x its idle latency, and every MCP tool makes several such calls). Scheduling fixes
what the GIL cannot:

- Every call of a scanning method (search, query, statistics) is timed in thread CPU seconds, per
  method and collection. Once a call on a collection costs `HEAVY_CPU_SECONDS` or more, the next ones run
  on the heavy lane: `HEAVY_WORKERS` threads, fed in arrival order. At most that many heavy calls
  compete with quick ones for the GIL.
- A heavy lane call found cheap again (the collection was flushed, say) sends the next call back to
  the ordinary pool, so misjudging costs one call. Quick searches and queries on small collections
  never queue behind heavy ones.

Still needed after auto-flush, between two flushes: with 3 searches of 15k unflushed rows in flight, quick
calls took 1.0-3.3x longer at p50 without the lanes (list_collections 5.6-40 ms against 3.6-16 ms; never
quicker) in 4 of 4 runs of `python -m benchmarks.run --only knobs`, measured under load. Over flushed rows
they make no difference beyond that noise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

logger = logging.getLogger(__name__)

SCANNING = ("Search", "HybridSearch", "Query", "GetCollectionStatistics")
"""Servicer methods whose cost grows with the rows a read scans. Every other RPC (metadata, writes,
index and load calls) always runs on the ordinary pool."""
HEAVY_CPU_SECONDS = 0.02
"""Thread CPU seconds from which a scanning call counts as heavy: a limit-3 search of 10 rows costs well under a
millisecond, a limit-100 search of 15k unflushed rows about 80 ms."""
HEAVY_WORKERS = 1
"""Heavy calls at once: with one, at most one of them competes with the quick calls for the GIL."""

Handler = Callable[[Any, Any], Any]
Key = tuple[str, str, str]


class Lanes:
    """The ordinary gRPC worker pool for quick calls, one lane for heavy ones."""

    def __init__(self, workers: int = HEAVY_WORKERS, threshold: float = HEAVY_CPU_SECONDS) -> None:
        self.threshold = threshold
        self.cost: dict[Key, float] = {}
        """Thread CPU seconds of the last call per (method, database, collection)."""
        self.announced: set[Key] = set()
        self.heavy = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="heavy")

    def wrap(self, servicer: Any) -> None:
        """Route the servicer's scanning methods through the lanes (in place)."""
        for name in SCANNING:
            setattr(servicer, name, self._routed(name, getattr(servicer, name)))

    def close(self) -> None:
        self.heavy.shutdown(wait=False, cancel_futures=True)

    def _routed(self, name: str, handler: Handler) -> Handler:
        def routed(request: Any, context: Any) -> Any:
            key = (name, getattr(request, "db_name", ""), getattr(request, "collection_name", ""))
            if not self._heavy(key):
                return self._timed(key, handler, request, context)
            return self.heavy.submit(self._queued, key, handler, request, context).result()

        return routed

    def _heavy(self, key: Key) -> bool:
        """Whether the last call with this key cost at least the threshold (an unknown key is quick)."""
        last = self.cost.get(key)
        return last is not None and last >= self.threshold

    def _queued(self, key: Key, handler: Handler, request: Any, context: Any) -> Any:
        if not context.is_active():  # the caller gave up (deadline or cancel) while it waited its turn
            context.abort(grpc.StatusCode.CANCELLED, "cancelled while waiting for the heavy lane")
        return self._timed(key, handler, request, context)

    def _timed(self, key: Key, handler: Handler, request: Any, context: Any) -> Any:
        started = time.thread_time()
        try:
            return handler(request, context)
        finally:
            cost = time.thread_time() - started
            was_heavy = self._heavy(key)
            self.cost[key] = cost
            if was_heavy != (cost >= self.threshold):
                # Said once per key at INFO: a collection whose cost hovers at the threshold flips often.
                level = logging.DEBUG if key in self.announced else logging.INFO
                self.announced.add(key)
                name, db, collection = key
                lane = "the ordinary pool" if was_heavy else "the heavy lane"
                ms = cost * 1000
                logger.log(
                    level,
                    "%s on %s.%s took %.0f ms of CPU; the next one runs on %s",
                    name,
                    db or "default",
                    collection,
                    ms,
                    lane,
                )
