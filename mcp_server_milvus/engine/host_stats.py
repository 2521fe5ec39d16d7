"""Row statistics kept by the engine until a write changes them: exact, and cheap after the first call.

Why: Milvus Lite counts a collection's rows by walking every row's key, unflushed ones as Python objects
(`Collection.num_entities`: 155-200 ms with 15k unflushed rows), and it does so for GetCollectionStatistics,
GetPartitionStatistics and for every DescribeIndex (whose answer carries indexed and total rows). Every
schema fetch describes the indexes, and every listing asks for statistics: metadata calls paid for the data.

The engine is the only process that has the database open (Lite locks it), so it sees every change. Those
answers are kept per (database, collection) and dropped when a change reaches the collection: Insert, Upsert
and Delete drop that collection's answers; any other RPC that is not a read (create, drop, rename, alias,
index, partition and database calls) drops them all. An answer computed while a change ran is not kept
(a generation count per collection), so what is served is always what Lite would answer now. Every change
is also counted for the servers (`on_change`, see `engine.changes`), once applied and before it answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from mcp_server_milvus.engine.autoflush import WRITES, database_of

KEPT = ("GetCollectionStatistics", "GetPartitionStatistics", "DescribeIndex")
READS = (
    *("Describe", "BatchDescribe", "Show", "Get", "Has", "List", "Select", "Search", "HybridSearch", "Query"),
    *("Connect", "Check", "Alloc", "CalcDistance", "RunAnalyzer", "ComputePhraseMatchSlop", "Dummy"),
)
"""Prefixes of the RPCs that change nothing; every other RPC drops every kept answer."""

Handler = Callable[[Any, Any], Any]
Collection = tuple[str, str]


class KeptStats:
    """Answers of the `KEPT` RPCs per collection, dropped by changes."""

    def __init__(self, db: Any, on_change: Callable[[], None]) -> None:
        self.db = db
        self.on_change = on_change
        self._answers: dict[Collection, dict[tuple[Any, ...], Any]] = {}
        self._generation: dict[Collection, int] = {}
        self._epoch = 0
        self._lock = threading.Lock()

    def wrap(self, servicer: Any, rpcs: list[str]) -> None:
        """Keep the answers of `KEPT`, and let every changing RPC among `rpcs` drop them (in place)."""
        for name in rpcs:
            handler = getattr(servicer, name, None)
            if handler is None:
                continue
            if name in KEPT:
                setattr(servicer, name, self._kept(name, handler))
            elif name in WRITES:
                setattr(servicer, name, self._change(handler, whole=False))
            elif not name.startswith(READS):
                setattr(servicer, name, self._change(handler, whole=True))

    def _collection(self, request: Any, context: Any) -> Collection:
        database, name = database_of(request, context), request.collection_name
        with suppress(Exception):  # a missing database or collection: Lite's handler says so
            name = self.db.resolve_collection_name(name, database_name=database)
        return database, name

    def _kept(self, rpc: str, handler: Handler) -> Handler:
        def kept(request: Any, context: Any) -> Any:
            collection = self._collection(request, context)
            key = (rpc, request.SerializeToString(deterministic=True))
            with self._lock:
                answer = self._answers.get(collection, {}).get(key)
                before = (self._epoch, self._generation.get(collection, 0))
            if answer is not None:
                return answer
            answer = handler(request, context)
            if answer.status.code == 0:
                with self._lock:
                    if before == (self._epoch, self._generation.get(collection, 0)):
                        self._answers.setdefault(collection, {})[key] = answer
            return answer

        return kept

    def _change(self, handler: Handler, whole: bool) -> Handler:
        def change(request: Any, context: Any) -> Any:
            try:
                return handler(request, context)
            finally:  # failed changes too: part of a batch may have been applied
                with self._lock:
                    if whole:
                        self._epoch += 1
                        self._answers.clear()
                    else:
                        collection = self._collection(request, context)
                        self._generation[collection] = self._generation.get(collection, 0) + 1
                        self._answers.pop(collection, None)
                self.on_change()

        return change
