"""Auto-flush: the engine flushes a collection once its writes go quiet, or once enough rows wait.

Why: Milvus Lite keeps written rows in a memtable of Python objects until a flush (or 128 MB of them),
and searches, queries and statistics over unflushed rows are about 20x slower than over flushed,
indexed segments. Agents never call `milvus_flush` on their own. The engine process is the one place
that sees every server's writes, so it watches them here: the servicer's Insert, Upsert and Delete are
wrapped to note (database, collection) and the rows written, and one background thread flushes a
collection when

- no write reached it for `quiet_seconds` (the `--lite-auto-flush-seconds` of the server that started
  the engine), or
- `FLUSH_ROWS` rows wait, so that a long ingest is flushed in pieces whose flush stays short.

One flush at a time. A flush holds Lite's GIL (about 0.85 s for 15k x 128 rows, then an index build in
Lite's own background worker), so quick calls wait during one: the size bound keeps that wait short.

Milvus Lite's writes and its flush are not safe to run at once on one collection (a flush swaps the
memtable and the WAL while a write may be between the two), so writes, explicit Flush RPCs and the
auto-flush of one collection hold that collection's lock. Writes to one collection were already
serialized by the GIL in practice; now they are by design.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

FLUSH_ROWS = 5000
"""Unflushed rows (writes noted, a delete counting as one) that start a flush without waiting for quiet.
Measured by `python -m benchmarks.run --only flush` (128-dim rows, 2 cores): see benchmarks/README.md."""
WRITES = ("Insert", "Upsert", "Delete")
DEFAULT_DATABASE = "default"

Key = tuple[str, str]
"""(database, collection as the request named it)."""
Handler = Callable[[Any, Any], Any]


@dataclass
class Pending:
    rows: int
    last_write: float


class AutoFlush:
    """Watches the servicer's writes and flushes quiet or full collections, one at a time, in one thread."""

    def __init__(self, db: Any, quiet_seconds: float, max_rows: int = FLUSH_ROWS) -> None:
        self.db = db
        self.quiet = quiet_seconds
        self.max_rows = max_rows
        self._pending: dict[Key, Pending] = {}
        self._locks: dict[Key, threading.Lock] = {}
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="auto-flush", daemon=True)

    @property
    def enabled(self) -> bool:
        return self.quiet > 0

    def wrap(self, servicer: Any) -> None:
        """Route the servicer's writes and Flush through the collection locks, noting the writes (in place)."""
        for name in WRITES:
            setattr(servicer, name, self._write(getattr(servicer, name)))
        servicer.Flush = self._flush_rpc(servicer.Flush)

    def start(self) -> None:
        if self.enabled:
            self._thread.start()
            logger.info("Auto-flush on: after %g s without writes, or at %d rows", self.quiet, self.max_rows)

    def close(self) -> None:
        """Stop the thread, after the flush under way (if any) ends; no flush starts after this."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    # Observing -------------------------------------------------------------------------------------

    def _write(self, handler: Handler) -> Handler:
        def write(request: Any, context: Any) -> Any:
            key = (database_of(request, context), request.collection_name)
            with self._lock(key):
                answer = handler(request, context)
            if self.enabled:
                self._note(key, int(getattr(request, "num_rows", 0) or 1))
            return answer

        return write

    def _flush_rpc(self, handler: Handler) -> Handler:
        def flush(request: Any, context: Any) -> Any:
            database = database_of(request, context)
            keys = [(database, name) for name in request.collection_names]
            locks = {id(lock): lock for lock in map(self._lock, keys)}  # one each, in one order: no deadlock
            ordered = [locks[i] for i in sorted(locks)]
            for lock in ordered:
                lock.acquire()
            try:
                answer = handler(request, context)
            finally:
                for lock in ordered:
                    lock.release()
            with self._guard:
                for key in keys:
                    self._pending.pop(key, None)
            return answer

        return flush

    def _lock(self, key: Key) -> threading.Lock:
        """The lock of the collection `key` names (an alias's writes take the collection's lock)."""
        database, name = key
        with suppress(Exception):  # a missing collection or database: the handler reports it
            name = self.db.resolve_collection_name(name, database_name=database)
        with self._guard:
            return self._locks.setdefault((database, name), threading.Lock())

    def _note(self, key: Key, rows: int) -> None:
        with self._guard:
            pending = self._pending.setdefault(key, Pending(0, 0.0))
            pending.rows += rows
            pending.last_write = time.monotonic()
            full = pending.rows >= self.max_rows
        if full:
            self._wake.set()

    # Flushing --------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            key, wait = self._next()
            if key is None:
                self._wake.wait(wait)
                self._wake.clear()
                continue
            self._flush(key)

    def _next(self) -> tuple[Key | None, float]:
        """The collection to flush now, or None and how long to sleep before looking again."""
        now = time.monotonic()
        with self._guard:
            wait = self.quiet
            for key, pending in self._pending.items():
                due = pending.last_write + self.quiet
                if pending.rows >= self.max_rows or due <= now:
                    del self._pending[key]
                    return key, 0.0
                wait = min(wait, due - now)
        return None, max(wait, 0.01)

    def _flush(self, key: Key) -> None:
        database, name = key
        started = time.perf_counter()
        try:
            with self._lock(key):
                if self._stop.is_set():
                    return
                self.db.get_collection(name, database_name=database).flush()
        except Exception as exc:  # dropped meanwhile, say: the next write notes it again
            logger.info("Auto-flush of %s.%s skipped: %s", database, name, exc)
            return
        logger.info("Auto-flushed %s.%s in %.0f ms", database, name, (time.perf_counter() - started) * 1000)


def database_of(request: Any, context: Any) -> str:
    """The database a request names, as Milvus Lite's servicer reads it: the request's `db_name`, else the
    `dbname` metadata pymilvus sends, else the default."""
    name = getattr(request, "db_name", "")
    if name:
        return name
    for key, value in context.invocation_metadata() or ():
        if key.lower() == "dbname" and value:
            return value
    return DEFAULT_DATABASE
