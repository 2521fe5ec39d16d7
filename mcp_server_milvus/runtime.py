"""The state every tool call shares, and the one path a call takes to Milvus.

`Runtime.run` and `Runtime.on_collection` wrap each tool's Milvus work: they pick the session for the
call's database, look the collection up in the schema cache, load it on demand, retry once when the
failure came from a cached schema that has since changed, and translate every failure into a
`ToolError` for the agent.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus import compat, errors, reconnect, waiting
from mcp_server_milvus.config import Settings
from mcp_server_milvus.embeddings.base import Provider
from mcp_server_milvus.failures import Failure, Op, common, credentials_refusal, during, is_backend_error, op_of
from mcp_server_milvus.gather import gather
from mcp_server_milvus.limits import Gate
from mcp_server_milvus.row_counts import RowCounts
from mcp_server_milvus.schema_cache import CollectionInfo, SchemaCache, collection_info
from mcp_server_milvus.sessions import Session, Sessions
from mcp_server_milvus.single_flight import SingleFlight
from mcp_server_milvus.visibility import Visibility

logger = logging.getLogger(__name__)

T = TypeVar("T")
OpFn = Callable[[Session, CollectionInfo], Awaitable[T]]

_NOT_WORTH_A_REFETCH = {Failure.TIMEOUT, Failure.UNREACHABLE, Failure.UNAUTHENTICATED}


class Runtime:
    """Settings, the client pool, the schema cache, and what this server has released."""

    def __init__(self, settings: Settings, embedder: Provider | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        """Fills and queries the dense fields of text collections; None when no provider is configured."""
        self.sessions = Sessions(settings)
        self.visibility = Visibility.of(settings)
        """The operator's allow-lists: checked here for every call, and by the listing tools."""
        self.cache = SchemaCache(settings.schema_cache_ttl)
        self.counts = RowCounts(settings.schema_cache_ttl)
        """Row counts for listings and describes, dropped by this server's writes (see `row_counts`)."""
        self.released: set[tuple[str, str]] = set()
        """(database, collection) pairs released through this server: never loaded on demand."""
        self.listed: dict[str, list[str]] = {}
        """The collection names each database had at its last listing (see milvus_list_collections)."""
        self.listings: SingleFlight[Any] = SingleFlight()
        """Listings of one database under way at once share an answer, and one is kept while the Lite
        engine reports no change (see `single_flight`)."""
        self.describes: SingleFlight[Any] = SingleFlight()
        """The same for descriptions of one collection (by the name or alias asked for)."""
        self.generation = 0
        """Moved on by every call that changed state, as it ends: a shared listing never predates one."""
        self._load_locks: dict[tuple[str, str, str], anyio.Lock] = {}
        self._write_locks: dict[tuple[str, str, str], anyio.Lock] = {}
        self.gate = Gate(settings.max_concurrency, settings.timeout)
        """Every tool call passes it: at most --max-concurrency calls in flight."""

    def write_lock(self, session: Session, collection: str) -> anyio.Lock:
        """Held by a write from its existence check to its last batch, so that two calls through this
        server cannot both find an id free and both write it."""
        return self._write_locks.setdefault(session.key(collection), anyio.Lock())

    @property
    def timeout(self) -> float:
        return self.settings.timeout

    async def close(self) -> None:
        await self.sessions.close()
        if self.embedder is not None:
            await self.embedder.aclose()

    def version(self) -> tuple[int, str | None]:
        """What an answer shared or kept by `listings` or `describes` must have been read at: this server's
        generation, and the count of changes the Milvus Lite engine publishes (None without one: nothing is
        kept)."""
        return self.generation, self.sessions.changes()

    async def run(self, database: str | None, action: str, op: Callable[[Session], Awaitable[T]]) -> T:
        """Run `op` on the session for `database`, translating every failure."""
        return await self._call(database or self.settings.database, action, op)

    async def on_collection(
        self,
        database: str | None,
        collection: str,
        action: str,
        op: OpFn[T],
        *,
        load: bool = False,
        progress: waiting.Report | None = None,
    ) -> T:
        """Run `op` with the collection's cached schema; load the collection first when `load`.

        `progress` hears how a load made on demand goes (reads pass it; a write reports its batches on
        the same token, whose progress must only rise, so its loads stay quiet).

        When `op` fails and the schema came from the cache, the schema is fetched again: if it changed
        (another program recreated the collection or an index), `op` runs once more on the live one.
        """
        db = database or self.settings.database
        report = waiting.rising(progress) if progress is not None else None

        async def body(session: Session) -> T:
            info, fresh = await self.schema(session, collection)
            for attempt in range(2):
                try:
                    if load:
                        info = await self.ensure_loaded(session, info, report=report)
                    return await op(session, info)
                except Exception as exc:
                    if isinstance(exc, ToolError) and not isinstance(exc, errors.SchemaMismatch):
                        raise
                    live = None if attempt else await self._changed(session, info, fresh, exc, load)
                    if live is None:
                        raise
                    logger.info("Schema of %s.%s changed under us; retrying on the live one", db, collection)
                    info, fresh = live, True
            raise AssertionError("unreachable")

        return await self._call(db, action, body)

    async def _call(self, database: str, action: str, body: Callable[[Session], Awaitable[T]]) -> T:
        """`body` on the session for `database`; once more on a rebuilt client when Milvus could not be
        reached and `body` had not yet started a request that changes data (see `reconnect`)."""
        ledger, session = reconnect.Ledger(), None
        try:
            async with self.guard(database, action, ledger):
                await self.check_database(database)
                try:
                    with reconnect.recording(ledger):
                        async with self.sessions.lease(database) as session:
                            return await body(session)
                except Exception as exc:
                    if ledger.wrote is not None or self.classify(exc) is not Failure.UNREACHABLE:
                        raise
                    logger.info("Could not reach Milvus to %s; trying once more on a new connection", action)
                    await self.sessions.discard(database, session)
                with reconnect.recording(ledger):
                    async with self.sessions.lease(database) as session:
                        return await body(session)
        finally:
            if ledger.changed:  # failed writes too: part of a batch may have been stored
                self.counts.invalidate(self.sessions.endpoint, database, ledger.changed)
            if ledger.touched:
                self.generation += 1

    async def _changed(
        self, session: Session, info: CollectionInfo, fresh: bool, exc: Exception, load: bool
    ) -> CollectionInfo | None:
        """The live schema when a failure of `op` on `info` is worth a retry on it, else None."""
        failure = None if isinstance(exc, errors.SchemaMismatch) else session.backend.classify(exc, op_of(exc))
        if failure in _NOT_WORTH_A_REFETCH or (failure is None and not isinstance(exc, errors.SchemaMismatch)):
            return None
        if failure is Failure.NOT_LOADED:
            if not (load and info.loaded):  # the cache said loaded: released elsewhere, or a restarted engine
                return None
        elif fresh and failure is not Failure.COLLECTION_MISSING:
            return None
        self.forget(session, info.name)
        live, _ = await self.schema(session, info.name)
        if failure in (Failure.NOT_LOADED, Failure.COLLECTION_MISSING) or live.shape != info.shape:
            return live
        return None

    async def check_database(self, database: str) -> None:
        """Refuse a database outside `--databases` as if it did not exist."""
        if not self.visibility.database(database):
            session = await self.sessions.get(self.settings.database)  # always visible (checked at start)
            existing = await session.client.list_databases(timeout=self.timeout)
            raise self.visibility.hidden_database(database, existing)

    async def collections(self, session: Session) -> list[str]:
        """The names of the collections of `session`'s database that the allow-lists let agents see."""
        with during(Op.LIST_COLLECTIONS):  # a missing database fails here, on a server too
            existing = await session.client.list_collections(timeout=self.timeout)
        return self.visibility.visible_collections(session.database, existing)

    async def schema(self, session: Session, collection: str) -> tuple[CollectionInfo, bool]:
        """The cached schema of `collection`, fetched on a miss; a missing collection is a ToolError, and so
        is a hidden one, in the same words. An alias passes when the collection it names does."""
        info, fresh = await self._schema(session, collection)
        if not self.visibility.collection(session.database, info.name):
            raise errors.unknown_collection(collection, session.database, await self.collections(session))
        return info, fresh

    async def _schema(self, session: Session, collection: str) -> tuple[CollectionInfo, bool]:

        async def fetch() -> CollectionInfo:
            client, t = session.client, self.timeout
            try:
                with during(Op.DESCRIBE):
                    described, indexes, state = await gather(
                        lambda: client.describe_collection(collection, timeout=t),
                        lambda: compat.describe_indexes(client, collection, t),
                        lambda: client.get_load_state(collection, timeout=t),
                    )
            except Exception as exc:
                if session.backend.classify(exc, Op.DESCRIBE) is not Failure.COLLECTION_MISSING:
                    raise
                raise errors.unknown_collection(collection, session.database, await self.collections(session)) from None
            compat.forget_pymilvus_schema(client, session.database, collection)
            loaded = getattr(state.get("state"), "name", str(state.get("state"))) == "Loaded"
            return collection_info(session.database, described, indexes, loaded)

        return await self.cache.get(session.key(collection), fetch)

    async def confirm_primary_key(self, session: Session, info: CollectionInfo) -> None:
        """Before ids are reported as not found, refetch the schema; raise `SchemaMismatch` (one retry in
        `on_collection`) when the primary key is no longer the one `info` has. Another program may have
        recreated the collection with a VARCHAR key in place of an INT64 one: ids like "123" pass the
        stale INT64 check as numeric strings and then match nothing."""
        self.forget(session, info.name)
        live, _ = await self.schema(session, info.name)
        if (live.primary.name, live.primary.type) != (info.primary.name, info.primary.type):
            raise errors.SchemaMismatch(
                f"The primary key of '{info.name}' is now '{live.primary.name}' ({live.primary.type}); "
                "give ids of that type."
            )

    async def row_count(self, session: Session, collection: str, changes: str | None) -> tuple[int, bool]:
        """(rows, exact) of `collection` (its real name) for a listing or a describe: a kept count is
        cheap but may miss another program's latest writes, and says so (exact is false), unless the
        Milvus Lite engine reports no change since it was counted (see `row_counts`). `changes`: the
        engine's count as the listing or describe read it when it began (`version`), read once for all
        its collections."""
        return await self.counts.get(
            session.key(collection), lambda: session.row_count(collection, self.timeout), changes
        )

    def forget(self, session: Session, collection: str) -> None:
        """Invalidate a collection after this server (or a stale-schema error) says it changed."""
        self.cache.invalidate(session.key(collection))
        compat.forget_pymilvus_schema(session.client, session.database, collection)

    async def ensure_loaded(
        self, session: Session, info: CollectionInfo, force: bool = False, report: waiting.Report | None = None
    ) -> CollectionInfo:
        """Load the collection unless the cache knows it is loaded; `force` loads even then, and
        even when this server released it (an explicit milvus_load_collection). With `report`, a load
        reports its progress as it goes."""
        if info.loaded and not force:
            return info
        if not force and (session.database, info.name) in self.released:
            raise ToolError(
                f"Collection '{info.name}' was released with milvus_release_collection; "
                "call milvus_load_collection first."
            )
        unindexed = [f.name for f in info.vector_fields if info.index_for(f.name) is None]
        if unindexed:
            raise ToolError(
                f"Collection '{info.name}' cannot be loaded: vector field {errors.names(unindexed)} has no "
                "index. Create one with milvus_create_index (index_type 'AUTOINDEX' is a good default)."
            )
        key = session.key(info.name)
        async with self._load_locks.setdefault(key, anyio.Lock()):  # concurrent first reads load once
            current = self.cache.peek(key)
            if force or current is None or not current.loaded:
                logger.info("Loading %s.%s%s", session.database, info.name, "" if force else " on demand")

                async def load() -> None:
                    await session.client.load_collection(info.name, timeout=self.timeout)

                with during(Op.LOAD):
                    if report is None:
                        await load()
                    else:
                        await waiting.loading(report, session, info.name, load, self.timeout)
                self.cache.set_loaded(key, True)
        return replace(info, loaded=True)

    @asynccontextmanager
    async def guard(self, database: str, action: str, ledger: reconnect.Ledger | None = None) -> AsyncIterator[None]:
        """Translate any failure inside into a `ToolError` that says what to do next; `ledger` tells
        whether the call had sent a write that Milvus may or may not have applied."""
        generation = self.sessions.generation
        try:
            yield
        except ToolError:
            raise
        except Exception as exc:
            failure = self.classify(exc)
            if failure is None:
                raise  # a defect of ours: the tool names it, and the log keeps its traceback
            wrote = ledger is not None and ledger.wrote is not None
            raise await self._explain(failure, exc, database, action, generation, wrote) from None

    def classify(self, exc: Exception) -> Failure | None:
        """What a failure from Milvus means; None for a ToolError or a defect of ours."""
        if isinstance(exc, ToolError):
            return None
        backend = self.sessions.backend
        if backend is not None:
            return backend.classify(exc, op_of(exc))
        # Milvus never answered: no backend to ask
        return common(exc) or (Failure.REFUSED if is_backend_error(exc) else None)

    async def _explain(
        self, failure: Failure, exc: Exception, database: str, action: str, generation: int, wrote: bool
    ) -> ToolError:
        if failure is Failure.TIMEOUT:
            return errors.timed_out(self.timeout)
        if failure is Failure.UNREACHABLE:
            if await self.sessions.recover_engine(generation):
                return errors.engine_restarted(self.settings.uri)
            await self.sessions.discard(database)
            return errors.unreachable(self.settings.uri, exc, wrote=wrote)
        if failure is Failure.UNAUTHENTICATED:
            await self.sessions.discard(database)
            return errors.unauthenticated(self.settings.uri, credentials_refusal(exc) or exc)
        if failure is Failure.DATABASE_MISSING:
            try:
                session = await self.sessions.get(self.settings.database)
                existing = await session.client.list_databases(timeout=self.timeout)
            except Exception:
                existing = []
            return self.visibility.hidden_database(database, existing)
        logger.debug("Milvus failed to %s (%s)", action, failure, exc_info=True)
        return errors.from_milvus(exc, failure, action=action)
