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
from typing import TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus import compat, errors
from mcp_server_milvus.config import Settings
from mcp_server_milvus.embeddings.base import Provider
from mcp_server_milvus.failures import Failure, Op, common, during, is_backend_error, op_of
from mcp_server_milvus.gather import gather
from mcp_server_milvus.limits import Gate
from mcp_server_milvus.schema_cache import CollectionInfo, SchemaCache, collection_info
from mcp_server_milvus.sessions import Session, Sessions

logger = logging.getLogger(__name__)

T = TypeVar("T")
OpFn = Callable[[Session, CollectionInfo], Awaitable[T]]

_NOT_WORTH_A_REFETCH = {Failure.TIMEOUT, Failure.UNREACHABLE}


class Runtime:
    """Settings, the client pool, the schema cache, and what this server has released."""

    def __init__(self, settings: Settings, embedder: Provider | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        """Fills and queries the dense fields of text collections; None when no provider is configured."""
        self.sessions = Sessions(settings)
        self.cache = SchemaCache(settings.schema_cache_ttl)
        self.released: set[tuple[str, str]] = set()
        """(database, collection) pairs released through this server: never loaded on demand."""
        self.listed: dict[str, list[str]] = {}
        """The collection names each database had at its last listing (see milvus_list_collections)."""
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

    async def run(self, database: str | None, action: str, op: Callable[[Session], Awaitable[T]]) -> T:
        """Run `op` on the session for `database`, translating every failure."""
        db = database or self.settings.database
        async with self.guard(db, action):
            session = await self.sessions.get(db)
            return await op(session)

    async def on_collection(
        self, database: str | None, collection: str, action: str, op: OpFn[T], *, load: bool = False
    ) -> T:
        """Run `op` with the collection's cached schema; load the collection first when `load`.

        When `op` fails and the schema came from the cache, the schema is fetched again: if it changed
        (another program recreated the collection or an index), `op` runs once more on the live one.
        """
        db = database or self.settings.database
        async with self.guard(db, action):
            session = await self.sessions.get(db)
            info, fresh = await self.schema(session, collection)
            for attempt in range(2):
                try:
                    if load:
                        info = await self.ensure_loaded(session, info)
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

    async def schema(self, session: Session, collection: str) -> tuple[CollectionInfo, bool]:
        """The cached schema of `collection`, fetched on a miss; a missing collection is a ToolError."""

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
                with during(Op.LIST_COLLECTIONS):  # a missing database fails here, on a server too
                    existing = await client.list_collections(timeout=t)
                raise errors.unknown_collection(collection, session.database, existing) from None
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

    def forget(self, session: Session, collection: str) -> None:
        """Invalidate a collection after this server (or a stale-schema error) says it changed."""
        self.cache.invalidate(session.key(collection))
        compat.forget_pymilvus_schema(session.client, session.database, collection)

    async def ensure_loaded(self, session: Session, info: CollectionInfo, force: bool = False) -> CollectionInfo:
        """Load the collection unless the cache knows it is loaded; `force` loads even then, and
        even when this server released it (an explicit milvus_load_collection)."""
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
                with during(Op.LOAD):
                    await session.client.load_collection(info.name, timeout=self.timeout)
                self.cache.set_loaded(key, True)
        return replace(info, loaded=True)

    @asynccontextmanager
    async def guard(self, database: str, action: str) -> AsyncIterator[None]:
        """Translate any failure inside into a `ToolError` that says what to do next."""
        generation = self.sessions.generation
        try:
            yield
        except ToolError:
            raise
        except Exception as exc:
            backend = self.sessions.backend
            if backend is not None:
                failure = backend.classify(exc, op_of(exc))
            else:  # Milvus never answered: no backend to ask
                failure = common(exc) or (Failure.REFUSED if is_backend_error(exc) else None)
            if failure is None:
                raise  # a defect of ours: the tool names it, and the log keeps its traceback
            raise await self._explain(failure, exc, database, action, generation) from None

    async def _explain(
        self, failure: Failure, exc: Exception, database: str, action: str, generation: int
    ) -> ToolError:
        if failure is Failure.TIMEOUT:
            return errors.timed_out(self.timeout)
        if failure is Failure.UNREACHABLE:
            if await self.sessions.recover_engine(generation):
                return errors.engine_restarted(self.settings.uri)
            await self.sessions.discard(database)
            return errors.unreachable(self.settings.uri, exc)
        if failure is Failure.DATABASE_MISSING:
            try:
                session = await self.sessions.get(self.settings.database)
                existing = await session.client.list_databases(timeout=self.timeout)
            except Exception:
                existing = []
            return errors.unknown_database(database, existing)
        logger.debug("Milvus failed to %s (%s)", action, failure, exc_info=True)
        return errors.from_milvus(exc, failure, action=action)
