"""Row counts for the listing and describe calls, counted once and kept, so that they stay cheap.

Why: on Milvus Lite a collection's statistics walk every row (unflushed ones as Python objects): 155-200 ms
per call with 15k unflushed rows, and `milvus_list_collections` asks for every collection's. A count kept
here is served as it is, marked inexact (`row_count_exact: false`), because another program may have
written since. It is dropped when this server changes the collection (`reconnect.Ledger.changed`, noted by
every data-changing pymilvus call, is applied once the call ends) and after the schema cache TTL, bounding
how far another program's writes can leave it behind. `milvus_count` and the writes' own counts never come
from here. Concurrent misses for one collection share a single count.

On Milvus Lite's engine process the doubt can be lifted: the engine publishes its count of changes
(`engine.changes`). A count is kept with the value that stood when counting began, and while that value
still stands, nothing has changed since: the count is served as exact, however old.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable

import anyio

Key = tuple[str, str, str]
"""(endpoint, database, collection name): the collection's real name, never an alias."""


Changes = str | None
"""The engine's published count of changes (`Sessions.changes`); None without an engine."""


class RowCounts:
    """Collection → (row count, when counted, changes when counting began), with a TTL and single-flight
    counting."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[Key, tuple[int, float, Changes]] = {}
        self._flights: dict[Key, tuple[anyio.Event, Changes]] = {}
        """Counts under way, and the changes that stood when each began."""
        self._epoch = 0
        """Bumped by every invalidation, so a count that overlapped a write is not kept."""

    async def get(self, key: Key, count: Callable[[], Awaitable[int]], changes: Changes = None) -> tuple[int, bool]:
        """(rows, exact), `changes` being what the engine published when the caller began. `exact` is true
        when the rows were counted by this call, or by one it waited on or kept that began while `changes`
        stood: with an engine, a count that began before a change since is not exact."""
        while True:
            cached = self._entries.get(key)
            if cached is not None:
                if changes is not None and cached[2] == changes:
                    return cached[0], True
                if time.monotonic() - cached[1] < self.ttl:
                    return cached[0], False
            flight = self._flights.get(key)
            if flight is None:
                break
            done_event, began = flight
            await done_event.wait()
            done = self._entries.get(key)
            if done is not None and done[1] >= time.monotonic() - self.ttl:
                return done[0], began == changes
            # the leader failed, was cancelled, or a write overlapped it: count ourselves
        event = anyio.Event()
        self._flights[key] = (event, changes)
        epoch = self._epoch
        try:
            rows = await count()
            if self.ttl > 0 and epoch == self._epoch:
                self._entries[key] = (rows, time.monotonic(), changes)
            return rows, True
        finally:
            del self._flights[key]
            event.set()

    def invalidate(self, endpoint: str, database: str, collections: Iterable[str | None]) -> None:
        """Forget the counts of `collections` in `database`; None among them forgets every count of
        `endpoint` (a change whose reach is unknown: a rename across databases, a drop, a truncate)."""
        self._epoch += 1
        names = set(collections)
        if None in names:
            keys = [k for k in self._entries if k[0] == endpoint]
        else:
            keys = [k for k in self._entries if k[:2] == (endpoint, database) and k[2] in names]
        for key in keys:
            del self._entries[key]
