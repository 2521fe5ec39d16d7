"""The state every tool call shares, and the one path a call takes to Milvus.

`Runtime.run` and `Runtime.on_collection` wrap each tool's Milvus work: they pick the session for the
call's database, look the collection up in the schema cache, load it on demand, retry once when an
error says the cached schema is stale, and translate every failure into a `ToolError` for the agent.
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
from mcp_server_milvus.capabilities import Capabilities, from_version
from mcp_server_milvus.config import Settings
from mcp_server_milvus.gather import gather
from mcp_server_milvus.schema_cache import CollectionInfo, SchemaCache, collection_info
from mcp_server_milvus.sessions import Session, Sessions

logger = logging.getLogger(__name__)

T = TypeVar("T")
Op = Callable[[Session, CollectionInfo], Awaitable[T]]


class Runtime:
    """Settings, the client pool, the schema cache, and what this server has released."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions = Sessions(settings)
        self.cache = SchemaCache(settings.schema_cache_ttl)
        self.released: set[tuple[str, str]] = set()
        """(database, collection) pairs released through this server: never loaded on demand."""
        self.listed: dict[str, list[str]] = {}
        """The collection names each database had at its last listing (see milvus_list_collections)."""
        self._load_locks: dict[tuple[str, str, str], anyio.Lock] = {}
        self._capabilities: Capabilities | None = None

    @property
    def timeout(self) -> float:
        return self.settings.timeout

    async def close(self) -> None:
        await self.sessions.close()

    async def run(self, database: str | None, action: str, op: Callable[[Session], Awaitable[T]]) -> T:
        """Run `op` on the session for `database`, translating every failure."""
        db = database or self.settings.database
        async with self.guard(db, action):
            session = await self.sessions.get(db)
            return await op(session)

    async def on_collection(
        self, database: str | None, collection: str, action: str, op: Op[T], *, load: bool = False
    ) -> T:
        """Run `op` with the collection's cached schema; load the collection first when `load`.

        When `op` fails in a way a changed schema explains and the schema came from the cache, the
        entry is refetched and `op` runs once more: another program may have changed the collection.
        """
        db = database or self.settings.database
        async with self.guard(db, action):
            session = await self.sessions.get(db)
            for attempt in range(2):
                info, fresh = await self.schema(session, collection)
                try:
                    if load:
                        info = await self.ensure_loaded(session, info)
                    return await op(session, info)
                except errors.SchemaMismatch:
                    if fresh or attempt:
                        raise
                except ToolError:
                    raise
                except Exception as exc:
                    stale_load = load and errors.is_not_loaded(exc) and info.loaded
                    if attempt or not (stale_load or (not fresh and errors.signals_schema_change(exc))):
                        raise
                logger.info("Schema of %s.%s looked stale; refetching", db, collection)
                self.forget(session, collection)
        raise AssertionError("unreachable")

    async def capabilities(self, session: Session) -> Capabilities:
        """What the backend supports, learned from its version on first use and kept."""
        if self._capabilities is None:
            version = str(await session.client.get_server_version(timeout=self.timeout))
            self._capabilities = from_version(version)
            logger.info("Connected to %s %s", self._capabilities.backend, version)
        return self._capabilities

    async def schema(self, session: Session, collection: str) -> tuple[CollectionInfo, bool]:
        """The cached schema of `collection`, fetched on a miss; a missing collection is a ToolError."""

        async def fetch() -> CollectionInfo:
            client, t = session.client, self.timeout
            try:
                described, indexes, state = await gather(
                    lambda: client.describe_collection(collection, timeout=t),
                    lambda: compat.describe_indexes(client, collection, t),
                    lambda: client.get_load_state(collection, timeout=t),
                )
            except Exception as exc:
                if not errors.is_collection_missing(exc):
                    raise
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
                await session.client.load_collection(info.name, timeout=self.timeout)
                self.cache.set_loaded(key, True)
        return replace(info, loaded=True)

    @asynccontextmanager
    async def guard(self, database: str, action: str) -> AsyncIterator[None]:
        """Translate any failure inside into a `ToolError` that says what to do next."""
        try:
            yield
        except ToolError:
            raise
        except Exception as exc:
            if not errors.is_backend_error(exc):
                raise  # a defect of ours: the SDK logs its traceback, and the agent is not misled
            if errors.is_timeout(exc):
                raise errors.timed_out(self.timeout) from None
            if errors.is_connection_failure(exc):
                if await self.sessions.recover_engine():
                    raise errors.engine_restarted(self.settings.uri) from None
                await self.sessions.discard(database)
                raise errors.unreachable(self.settings.uri, exc) from None
            missing = errors.missing_database(exc)
            if missing is not None:
                raise await self._unknown_database(missing) from None
            logger.debug("Milvus failed to %s", action, exc_info=True)
            raise errors.from_milvus(exc, uri=self.settings.uri, action=action) from None

    async def _unknown_database(self, name: str) -> ToolError:
        try:
            session = await self.sessions.get(self.settings.database)
            existing = await session.client.list_databases(timeout=self.timeout)
        except Exception:
            existing = []
        return errors.unknown_database(name, existing)
