"""Concurrent identical reads share one answer.

Why: an agent (or several, on one server) often lists collections while earlier listings are still
running. On Milvus Lite every listing is an RPC to an engine that may be busy with slow searches, and five
listings in flight each waited for their own answer in turn. A listing that starts while another of the same
database is under way now waits for that one's answer instead of asking again.

Only an answer that cannot miss this server's own changes is shared: a flight is joined only while
`Runtime.generation` is what it was when the flight started, and every call that changed state (a write, a
create, a load or a release) moves it on as it ends, before its caller hears back. So a listing made after
a create this server reported always sees the new collection. Another program's changes are no more
hidden than from a listing that took a little longer.

When the leading call fails or is cancelled, those waiting on it run the read themselves: a failure is
never shared, and no caller is cancelled by another's cancel.

An answer can also be kept for the calls after it (`keep`), while the version they start at is the one it
started at. The version of a listing or a describe includes the count of changes the Milvus Lite engine
publishes (`engine.changes`), read before the call asks anything: while that count stands, nothing the call
read has changed, in this server or any other, and the same call asks the engine nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


@dataclass
class _Flight(Generic[T]):
    generation: Hashable
    done: anyio.Event = field(default_factory=anyio.Event)
    answer: list[T] = field(default_factory=list)
    """Holds the answer once the leader succeeded; empty when it failed."""


class SingleFlight(Generic[T]):
    """Key → the read under way for it, and the answer kept for it."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight[T]] = {}
        self._kept: dict[Hashable, tuple[Hashable, T]] = {}

    async def run(
        self,
        key: Hashable,
        generation: Hashable,
        read: Callable[[], Awaitable[T]],
        keep: Callable[[T], bool] | None = None,
    ) -> T:
        """`read()`'s answer, shared with the calls for `key` that overlap it at the same `generation`.

        With `keep`, an answer for which `keep(answer)` holds is also served to later calls at the same
        `generation`: pass it only when `generation` changes with everything `read` reads."""
        kept = self._kept.get(key)
        if kept is not None and kept[0] == generation:
            return kept[1]
        flight = self._flights.get(key)
        if flight is not None and flight.generation == generation:
            await flight.done.wait()
            if flight.answer:
                return flight.answer[0]
            return await read()  # the leader failed or was cancelled: ours is a read of its own
        flight = self._flights[key] = _Flight(generation)
        try:
            answer = await read()
            flight.answer.append(answer)
            if keep is not None and keep(answer):
                self._kept[key] = (generation, answer)
            return answer
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
            flight.done.set()
