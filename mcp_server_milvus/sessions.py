"""The client pool: one `AsyncMilvusClient` per database, created lazily and off the event loop.

pymilvus is imported here, on first use, never at start: `initialize` and `tools/list` answer before
it (or Milvus Lite) has loaded. Constructing a client for a Milvus Lite path opens the database
synchronously (tens of seconds of WAL replay after an unclean stop), so construction runs in a
worker thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus import compat, errors, reconnect
from mcp_server_milvus.backends import Backend, for_version
from mcp_server_milvus.config import Settings
from mcp_server_milvus.engine.client import LiteEngine
from mcp_server_milvus.logs import quiet_pymilvus
from mcp_server_milvus.redact import redact
from mcp_server_milvus.visibility import Visibility

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "default"
"""The database every Milvus has and none can drop."""


@dataclass(frozen=True)
class Session:
    """A connected client for one database of the configured Milvus."""

    client: Any  # pymilvus.AsyncMilvusClient, typed loosely so pymilvus stays off the start path
    database: str
    endpoint: str
    """The identity of the Milvus behind this client, shared by every database of one endpoint."""
    backend: Backend
    """How this Milvus differs from the others: every backend difference is asked of it."""

    def key(self, collection: str) -> tuple[str, str, str]:
        return (self.endpoint, self.database, collection)

    async def load_state(self, collection: str, timeout: float) -> str:
        """'Loaded', 'NotLoad' or 'Loading'."""
        state = (await self.client.get_load_state(collection, timeout=timeout)).get("state")
        return getattr(state, "name", str(state))

    async def row_count(self, collection: str, timeout: float) -> int:
        """Rows, unflushed ones included."""
        return await self.backend.row_count(self.client, collection, timeout)


class Sessions:
    """The pool. Keyed by database: uri and token are fixed for the life of the server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.endpoint = redact(settings.uri)
        self.engine = (
            LiteEngine(settings.uri, settings.lite_auto_flush_seconds)
            if settings.is_lite and not settings.lite_in_process
            else None
        )
        """The Milvus Lite engine process, unless Lite runs in-process or Milvus is a server."""
        self.backend: Backend | None = None
        """Chosen from the version Milvus reports when the first client connects."""
        self._sessions: dict[str, Session] = {}
        self._lock = anyio.Lock()
        self._leases: dict[int, int] = {}
        """Calls in flight on each session (by id): a discarded session is closed when its last one ends."""
        self._retired: dict[int, Session] = {}

    async def get(self, database: str) -> Session:
        session = self._sessions.get(database)
        if session is not None:
            return session
        async with self._lock:
            session = self._sessions.get(database)
            if session is None:
                client = await anyio.to_thread.run_sync(self._new_client, database)
                try:
                    backend = await self._meet(client, database)
                except BaseException:
                    await _close_quietly(client)
                    raise
                session = Session(reconnect.Recorded(client), database, self.endpoint, backend)
                self._sessions[database] = session
            return session

    @asynccontextmanager
    async def lease(self, database: str) -> AsyncIterator[Session]:
        """The session for `database`, kept open for as long as the caller uses it, even if discarded."""
        session = await self.get(database)
        key = id(session)
        self._leases[key] = self._leases.get(key, 0) + 1
        try:
            yield session
        finally:
            self._leases[key] -= 1
            if not self._leases[key]:
                del self._leases[key]
                retired = self._retired.pop(key, None)
                if retired is not None:
                    with anyio.CancelScope(shield=True):
                        await _close_quietly(retired.client)

    async def _meet(self, client: Any, database: str) -> Backend:
        """The backend (from the version, at first contact), once `database` is known to exist.

        Backends report a missing database under codes they also use for other failures (a server's
        create_collection says only "database:x not found", code 65535), so a session for a database
        other than "default" checks that it exists when it is made, and every tool can say so plainly."""
        t = self.settings.timeout
        if self.backend is None:
            version = str(await client.get_server_version(timeout=t))
            self.backend = for_version(version)
            logger.info("Connected to %s %s", self.backend.kind, version)
        if database != DEFAULT_DATABASE:
            existing = list(await client.list_databases(timeout=t))
            if database not in existing:  # the same words as for a database the allow-list hides
                raise Visibility.of(self.settings).hidden_database(database, existing)
        return self.backend

    def _new_client(self, database: str) -> Any:
        from pymilvus import AsyncMilvusClient

        quiet_pymilvus()
        uri = self.settings.uri
        if self.engine is not None:
            uri = self.engine.uri if self.engine.attached else self.engine.attach()
            return AsyncMilvusClient(
                uri=uri, db_name=database, timeout=self.settings.timeout, **reconnect.CLIENT_OPTIONS
            )
        if self.settings.is_lite:
            os.makedirs(os.path.dirname(uri), exist_ok=True)
            logger.info("Opening Milvus Lite database %s in-process", uri)
        try:
            return AsyncMilvusClient(
                uri=uri,
                token=self.settings.token_value,
                db_name=database,
                timeout=self.settings.timeout,
                **tls_options(self.settings),
                **reconnect.CLIENT_OPTIONS,
            )
        except Exception as exc:
            if self.settings.is_lite and compat.lite_is_locked(uri):
                raise errors.lite_locked(uri) from None
            if self.settings.is_lite:
                raise ToolError(
                    f"Could not open the Milvus Lite database {uri}: {errors.milvus_message(exc)}. "
                    "Check the path is writable, or pass --uri with another .db file."
                ) from None
            raise errors.unreachable(uri, exc) from None

    def changes(self) -> str | None:
        """What the Milvus Lite engine says of its changes so far (`engine.changes`): an answer read while
        this held X is still current while it holds X. None without an engine, before it is attached, or
        if it publishes nothing."""
        return self.engine.changes() if self.engine is not None else None

    @property
    def generation(self) -> int:
        """Which engine a call starting now talks to: pass it to `recover_engine` if the call fails."""
        return self.engine.generation if self.engine is not None else 0

    async def recover_engine(self, failed_on: int) -> bool:
        """After a connection failure of a call that started on engine generation `failed_on`: if the
        Milvus Lite engine died, start a new one. True if it did (or another call already did).

        Every call in flight when the engine dies fails at once and comes here. The first to take the
        lock restarts the engine; the others find the generation they started on replaced and share that
        outcome, so that one crash counts as one restart.
        """
        engine = self.engine
        if engine is None or not engine.attached:
            return False
        async with self._lock:
            if engine.generation != failed_on:
                if engine.restart_failure is not None:
                    raise ToolError(engine.restart_failure)
                return True
            if await anyio.to_thread.run_sync(engine.alive):
                return False
            sessions, self._sessions = list(self._sessions.values()), {}
            for session in sessions:
                await _close_quietly(session.client)
            logger.warning("The Milvus Lite engine (pid %s) is gone; starting a new one", engine.pid)
            await anyio.to_thread.run_sync(engine.restart)
        return True

    async def discard(self, database: str, failed: Session | None = None) -> None:
        """Forget a client after a connection failure, so that the next call builds a new one.

        With `failed`, only if that is still the current one: another call may have rebuilt it already,
        and closing the new client would fail that call too."""
        current = self._sessions.get(database)
        if current is None or (failed is not None and current is not failed):
            return
        del self._sessions[database]
        if self._leases.get(id(current)):  # closing it would fail the calls still on it; the last one closes it
            self._retired[id(current)] = current
        else:
            await _close_quietly(current.client)

    async def close(self) -> None:
        """Close every client, then stop Milvus Lite so that its log reaches the disk.

        Holds the pool's lock throughout, so that a call arriving meanwhile waits and then reopens.
        """
        async with self._lock:
            sessions, self._sessions = [*self._sessions.values(), *self._retired.values()], {}
            self._retired.clear()
            for session in sessions:
                await _close_quietly(session.client)
            if self.engine is not None and self.engine.attached:
                await anyio.to_thread.run_sync(self.engine.detach)
                logger.info(
                    "Left Milvus Lite database %s; its engine (pid %s) closes it when its last user leaves",
                    self.settings.uri,
                    self.engine.pid,
                )
            elif self.engine is None and self.settings.is_lite and sessions:
                from milvus_lite.server_manager import server_manager_instance

                await anyio.to_thread.run_sync(server_manager_instance.release_server, self.settings.uri)
                logger.info("Closed Milvus Lite database %s", self.settings.uri)


def tls_options(settings: Settings) -> dict[str, Any]:
    """pymilvus's TLS keywords for the --tls-* settings (its gRPC handler reads them; see
    `AsyncGrpcHandler._create_channel`). Only a CA: `server_pem_path` is the root it trusts. Mutual TLS:
    `ca_pem_path`, `client_pem_path` and `client_key_path`, all three or pymilvus ignores them. Untested
    against a TLS Milvus here."""
    if not settings.uses_tls:
        return {}
    options: dict[str, Any] = {"secure": True}
    if settings.tls_server_name:
        options["server_name"] = settings.tls_server_name
    if settings.tls_cert is not None and settings.tls_key is not None and settings.tls_ca is not None:
        options.update(
            ca_pem_path=str(settings.tls_ca),
            client_pem_path=str(settings.tls_cert),
            client_key_path=str(settings.tls_key),
        )
    elif settings.tls_ca is not None:
        options["server_pem_path"] = str(settings.tls_ca)
    return options


async def _close_quietly(client: Any) -> None:
    try:
        with anyio.move_on_after(5):
            await client.close()
    except Exception as exc:
        logger.debug("Closing a Milvus client failed: %s", exc)
