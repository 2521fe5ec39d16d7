"""Coming back after Milvus was unreachable: a fresh connection each time, and one retry when it is safe.

Why the first call after Milvus came back used to fail (3 of 5 runs), 0.6-1.2 s after a fresh pymilvus
client in another process already succeeded: gRPC keeps its subchannels (the TCP connections) in one
process-wide pool shared by every channel to the same target. After Milvus went away that subchannel sat
in reconnect backoff (1 s, jittered), so even the new channel pymilvus builds when it recovers from
UNAVAILABLE reused it and failed at once with "Connection refused" until the backoff ran out. A local
subchannel pool per channel makes a new channel dial at once; a dedicated pymilvus connection per client
(pymilvus otherwise shares one handler per address and token, and closing a client never closes it) makes
a rebuilt client a really new connection.

When one retry is safe: a call whose failure is UNREACHABLE runs once more on a rebuilt client within the
same call, unless it had already started a request that changes data. Every pymilvus method the call
invokes goes through `Recorded`, which notes the first one that is not a read or an idempotent state
change before the request can leave (the method is called, not yet awaited). A write whose request may
have reached Milvus is never sent twice by us: an insert whose answer was lost may have been stored, and
a Milvus server keeps both copies of a repeated primary key. What was sent before Milvus went away is for
the agent to check (milvus_count, milvus_query), as the error says.

The retry is one attempt more, not a wait: a refused connection fails at once, so a call that cannot
reach Milvus answers within milliseconds; a connection attempt that hangs (an address that drops packets)
can make a call wait up to twice the timeout.

pymilvus itself re-sends a request that failed with UNAVAILABLE once it has reconnected within the same
call; that reconnect fails at once while Milvus is down, so only a Milvus that restarts within those few
milliseconds could see a write twice that way. That is pymilvus's behaviour, not a retry of ours.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

CLIENT_OPTIONS: dict[str, Any] = {
    "dedicated": True,
    "grpc_options": {"grpc.use_local_subchannel_pool": 1},
}
"""Keyword arguments for every `AsyncMilvusClient`: a connection of its own, dialled afresh (see above)."""

_READ_PREFIXES = ("list_", "describe_", "has_", "get_")
_READS = frozenset({"query", "search", "hybrid_search", "get", "close", "aclose"})
_IDEMPOTENT = _READS | {"load_collection", "release_collection", "flush"}
"""State changes a retry may repeat safely."""


def changes_state(method: str) -> bool:
    """True for a pymilvus method that may change what a listing shows: every data change, and loads,
    releases and flushes, which a retry may repeat safely but which change load states and counts."""
    return not (method.startswith("_") or method.startswith(_READ_PREFIXES) or method in _READS)


def changes_data(method: str) -> bool:
    """True for a pymilvus method that a retry could apply twice (insert, delete, create_*, drop_*, ...).

    Unknown methods count as changes. Private ones (`_get_connection`) pass: we use them only to read
    (ShowCollections, ListIndexes)."""
    return changes_state(method) and method not in _IDEMPOTENT


@dataclass
class Ledger:
    """What one attempt of a tool call asked of Milvus."""

    wrote: str | None = None
    """The first data-changing pymilvus method invoked, if any."""
    changed: set[str | None] = field(default_factory=set)
    """The collections whose rows the call's data-changing methods may have changed; None for a change
    whose reach is not one collection's rows (a drop, a rename, a database change). See `row_counts`."""
    touched: bool = False
    """True once the call invoked a method that `changes_state` (see `Runtime.generation`)."""


_ledger: ContextVar[Ledger | None] = ContextVar("milvus_call_ledger", default=None)


@contextmanager
def recording(ledger: Ledger) -> Iterator[Ledger]:
    """Note in `ledger` every data-changing method invoked inside, tasks started inside included."""
    token = _ledger.set(ledger)
    try:
        yield ledger
    finally:
        _ledger.reset(token)


class Recorded:
    """A pymilvus client whose data-changing methods are noted in the current call's `Ledger`."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if not callable(value) or not changes_state(name):
            return value
        writes = changes_data(name)

        @functools.wraps(value)
        def noted(*args: Any, **kwargs: Any) -> Any:
            ledger = _ledger.get()
            if ledger is not None:
                ledger.touched = True
                if writes:
                    ledger.wrote = ledger.wrote or name
                    ledger.changed.add(_rows_of(name, args, kwargs))
            return value(*args, **kwargs)

        return noted


_ROW_WRITES = frozenset({"insert", "upsert", "delete"})


def _rows_of(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """The collection whose rows `method` changes, or None when its reach is wider or unknown."""
    if method not in _ROW_WRITES:
        return None
    name = args[0] if args else kwargs.get("collection_name")
    return name if isinstance(name, str) else None
