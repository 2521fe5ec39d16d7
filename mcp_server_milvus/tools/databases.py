"""Databases, and what this server is connected to.

The databases are listed by milvus_server_info, with the default one and everything else an agent asks
first about a server, rather than by a tool of their own: one call answers "where am I, what is here"."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from pydantic import BaseModel, Field

from mcp_server_milvus import __version__, confirmations, errors
from mcp_server_milvus.arguments import ConfirmDatabase, DatabaseRef, NewDatabase
from mcp_server_milvus.redact import redact
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.tools import runtime, tool

DatabaseName = DatabaseRef
NewDatabaseName = NewDatabase


class DatabaseChanged(BaseModel):
    database: str
    created: bool | None = None
    dropped: bool | None = None


class EmbeddingOut(BaseModel):
    provider: str
    model: str
    dimension: int | None = Field(None, description="Known once the model has embedded a text.")


class Limits(BaseModel):
    """The limits in force, as the operator set them."""

    max_result_bytes: int
    timeout_seconds: float
    schema_cache_ttl_seconds: float
    max_rows: int = Field(description="Rows one insert or upsert may carry.")
    max_limit: int = Field(description="The largest limit a query or search may ask for.")
    max_concurrency: int = Field(description="Calls this server runs at once; more wait for a slot.")


class ServerInfo(BaseModel):
    uri: str = Field(description="The Milvus URI, credentials masked.")
    backend: Literal["milvus-lite", "milvus-server"]
    lite_mode: Literal["engine-process", "in-process"] | None = Field(
        None, description="How Milvus Lite runs: its own shared engine process, or inside this server."
    )
    engine_pid: int | None = None
    lite_auto_flush_seconds: float | None = Field(
        None, description="The engine flushes a collection after its writes are quiet this long; 0: off."
    )
    server_version: str
    capabilities: dict[str, bool] = Field(description="What this backend supports, from its version.")
    default_database: str
    databases: list[str] = Field(description="Every database this server shows.")
    mcp_server_version: str
    limits: Limits
    embedding: EmbeddingOut | None = Field(None, description="Who embeds text; absent when nobody does.")


@tool()
async def milvus_create_database(ctx: Context, database_name: NewDatabaseName) -> DatabaseChanged:
    """Create a database; pass its name as database to work in it."""
    rt = runtime(ctx)
    t = rt.timeout
    rt.visibility.check_new_database(database_name)

    async def op(session: Session) -> DatabaseChanged:
        existing = await session.client.list_databases(timeout=t)
        if database_name in existing:
            raise ToolError(f"Database '{database_name}' already exists; use it with database: '{database_name}'.")
        await session.client.create_database(database_name, timeout=t)
        return DatabaseChanged(database=database_name, created=True)

    return await rt.run(None, "create the database", op)


async def _ask_drop_database(
    ctx: Context, database_name: str, confirm_name: str
) -> Elicit[confirmations.Confirmation] | None:
    if confirm_name != database_name:
        return None  # refused by the tool itself
    return confirmations.ask(ctx, f"Drop database '{database_name}', for good?")


@tool(destructive=True)
async def milvus_drop_database(
    ctx: Context,
    database_name: DatabaseName,
    confirm_name: ConfirmDatabase,
    confirmed: Annotated[ElicitationResult[confirmations.Confirmation], Resolve(_ask_drop_database)],
) -> DatabaseChanged:
    """Drop an empty database (drop its collections first)."""
    confirmations.check(confirmed, f"database '{database_name}' was not dropped.")
    rt = runtime(ctx)
    t = rt.timeout
    if confirm_name != database_name:
        raise ToolError(
            f"confirm_name {confirm_name!r} does not match database_name {database_name!r}; repeat the exact name."
        )
    if database_name == "default":
        raise ToolError("The 'default' database cannot be dropped.")

    async def op(session: Session) -> DatabaseChanged:
        existing = await session.client.list_databases(timeout=t)
        if database_name not in existing or not rt.visibility.database(database_name):
            raise rt.visibility.hidden_database(database_name, existing)
        target = await rt.sessions.get(database_name)
        collections = await target.client.list_collections(timeout=t)
        visible = rt.visibility.visible_collections(database_name, collections)
        if visible:
            raise ToolError(
                f"Database '{database_name}' still holds {errors.names(visible)}; drop those collections "
                "first (milvus_drop_collection with database set)."
            )
        if collections:
            raise rt.visibility.not_empty(database_name)
        await rt.sessions.discard(database_name)
        await session.client.drop_database(database_name, timeout=t)
        rt.cache.invalidate_database(session.endpoint, database_name)
        return DatabaseChanged(database=database_name, dropped=True)

    return await rt.run(None, "drop the database", op)


@tool(read_only=True)
async def milvus_server_info(
    ctx: Context,
) -> ServerInfo:
    """The connection (URI, credentials masked), Milvus version, capabilities, limits and databases."""
    rt = runtime(ctx)

    async def op(session: Session) -> ServerInfo:
        existing = await session.client.list_databases(timeout=rt.timeout)
        capabilities = session.backend.capabilities
        version = capabilities.version
        s, e = rt.settings, rt.embedder
        return ServerInfo(
            uri=redact(s.uri),
            backend=session.backend.kind,
            lite_mode=None if not s.is_lite else "in-process" if s.lite_in_process else "engine-process",
            engine_pid=rt.sessions.engine.pid if rt.sessions.engine else None,
            lite_auto_flush_seconds=rt.sessions.engine.auto_flush_running if rt.sessions.engine else None,
            server_version=version,
            capabilities=capabilities.as_dict(),
            default_database=s.database,
            databases=rt.visibility.visible_databases(existing),
            mcp_server_version=__version__,
            limits=Limits(
                max_result_bytes=s.max_result_bytes,
                timeout_seconds=s.timeout,
                schema_cache_ttl_seconds=s.schema_cache_ttl,
                max_rows=s.max_rows,
                max_limit=s.max_limit,
                max_concurrency=s.max_concurrency,
            ),
            embedding=EmbeddingOut(provider=e.name, model=e.model, dimension=e.known_dimension) if e else None,
        )

    return await rt.run(None, "report the server version", op)


TOOLS = (
    milvus_create_database,
    milvus_drop_database,
    milvus_server_info,
)
