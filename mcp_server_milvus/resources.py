"""Resources: what is in Milvus, readable without a tool call, and the guides.

The collection resources are the listing and describe tools read another way: the same shared schema
cache, the same `--collections`/`--databases` allow-lists (a hidden collection is a missing one), the same
result budget. Reading one never loads a collection, since a read that allocates memory in Milvus would
surprise an operator: the sample row comes only from a collection that is already loaded.

A resource that cannot be read is a protocol error (the SDK's `ResourceError`; `ResourceNotFoundError`
for a missing or hidden collection or database) carrying the message the tool would have given.

The server sends no resource update notifications, so it does not advertise subscriptions
(`MCPServer(subscriptions=False)` in server.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from pydantic import BaseModel
from pydantic_core import PydanticCustomError

from mcp_server_milvus import errors, guides, names, validation
from mcp_server_milvus.results import clean_row, dump, squeeze
from mcp_server_milvus.schema_cache import CollectionInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.tools import runtime
from mcp_server_milvus.tools.collections import milvus_describe_collection, milvus_list_collections

T = TypeVar("T")

JSON = "application/json"
MARKDOWN = "text/markdown"

_check_collection = names.existing("collection")
_check_database = names.existing("database")


class CollectionResource(BaseModel):
    """milvus://collections/{name}: the describe tool's answer and one stored row."""

    collection: dict[str, Any]
    sample_row: dict[str, Any] | None = None
    sample_note: str


def register(server: MCPServer[Any]) -> None:
    """Add the collection templates and the static guides to `server`."""

    @server.resource(
        "milvus://collections{?database}",
        name="collections",
        title="Collections",
        description="The collections of a database (default: the server's) with row counts and load states.",
        mime_type=JSON,
    )
    async def collections(ctx: Context, database: str | None = None) -> str:
        listed = await _read(ctx, lambda: milvus_list_collections(ctx, _database(database)))
        return _json(dump(listed))

    @server.resource(
        "milvus://collections/{name}{?database}",
        name="collection",
        title="A collection",
        description="A collection's schema, indexes, partitions, row count, load state and, when it is "
        "loaded, one sample row without vectors. Reading it never loads the collection.",
        mime_type=JSON,
    )
    async def collection(ctx: Context, name: str, database: str | None = None) -> str:
        try:
            _check_collection(name)
        except PydanticCustomError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        db = _database(database)
        described = await _read(ctx, lambda: milvus_describe_collection(ctx, name, db))
        sample, note = None, "The collection is not loaded; load it (milvus_load_collection) for a sample row."
        if described.load_state == "Loaded":
            try:  # the description is what was asked for: a sample that fails (released meanwhile?) is left out
                sample = await _read(ctx, lambda: _sample(ctx, name, db))
                note = "One stored row, vectors left out." if sample else "The collection holds no rows yet."
            except ResourceError as exc:
                note = f"No sample row: {exc}"
        return _json(dump(CollectionResource(collection=dump(described), sample_row=sample, sample_note=note)))

    @server.resource(
        "milvus://guides/filters",
        name="filters",
        title="Filter expressions",
        description="The filter grammar with an example of each form.",
        mime_type=MARKDOWN,
    )
    def filters() -> str:
        return guides.FILTERS

    @server.resource(
        "milvus://guides/indexes",
        name="indexes",
        title="Choosing indexes and metrics",
        description="Index and metric types, and what Milvus Lite and a Milvus server each build.",
        mime_type=MARKDOWN,
    )
    def indexes() -> str:
        return guides.INDEXES


def _database(database: str | None) -> str | None:
    """The `database` query parameter, checked as the tools check it; None means the server's default."""
    if not database:
        return None
    try:
        return _check_database(database)
    except PydanticCustomError as exc:
        raise ResourceNotFoundError(str(exc)) from None


async def _read(ctx: Context, read: Callable[[], Awaitable[T]]) -> T:
    """`read()` within a slot of the server's gate, its failures turned into the SDK's resource errors."""
    try:
        async with runtime(ctx).gate.slot():
            return await read()
    except errors.Missing as exc:
        raise ResourceNotFoundError(str(exc)) from None
    except ToolError as exc:
        raise ResourceError(str(exc)) from None


async def _sample(ctx: Context, name: str, database: str | None) -> dict[str, Any] | None:
    """One row of a loaded collection, vectors left out, cut to a quarter of the result budget."""
    rt = runtime(ctx)

    async def op(session: Session, info: CollectionInfo) -> dict[str, Any] | None:
        fields, hidden = validation.output_fields(None, info)
        rows = await session.client.query(info.name, filter="", output_fields=fields, limit=1, timeout=rt.timeout)
        if not rows:
            return None
        return squeeze(clean_row(dict(rows[0]), hidden, info.int64_fields), rt.settings.max_result_bytes // 4)

    return await rt.on_collection(database, name, "read a sample row", op)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
