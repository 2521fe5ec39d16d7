"""Data: insert, upsert and delete. Counts are what Milvus really did, never what was asked."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcp_server_milvus import errors, validation
from mcp_server_milvus.arguments import DEFAULT_CONSISTENCY, CollectionName, Database, Filter, Ids, PartitionName
from mcp_server_milvus.results import clean, fit
from mcp_server_milvus.schema_cache import CollectionInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.tools import runtime, tool

BATCH_ROWS = 1000
"""Rows per insert RPC: well under gRPC's message limit for vectors of a few thousand dimensions."""

Rows = Annotated[
    list[dict[str, Any]],
    Field(
        min_length=1,
        description='Rows as objects, e.g. [{"id": 1, "vector": [0.1, 0.2, ...], "title": "..."}].',
    ),
]


class Inserted(BaseModel):
    insert_count: int
    ids: list[int | str]
    truncated: bool = False


class Upserted(BaseModel):
    upsert_count: int
    ids: list[int | str]
    truncated: bool = False


class Deleted(BaseModel):
    delete_count: int
    not_found: list[int | str] | None = Field(None, description="Requested ids that did not exist.")


async def _write(
    session: Session,
    info: CollectionInfo,
    rows: list[dict[str, Any]],
    partition: str | None,
    upsert: bool,
    t: float,
) -> tuple[int, list[Any]]:
    """Check every row, then send them in batches; if one fails, say exactly what was already written.

    Returns Milvus's count and the ids it reported, made safe for JSON clients."""
    if partition and any(f.is_partition_key for f in info.fields):
        raise ToolError(
            f"Collection '{info.name}' uses a partition key, so Milvus picks partitions; leave partition_name out."
        )
    rows = validation.rows(rows, info, upsert=upsert)
    count, ids = 0, []
    write = session.client.upsert if upsert else session.client.insert
    key = "upsert_count" if upsert else "insert_count"
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        kwargs: dict[str, Any] = {"timeout": t}
        if partition:
            kwargs["partition_name"] = partition
        try:
            answer = await write(info.name, batch, **kwargs)
        except Exception as exc:
            if start == 0:
                raise
            verb = "upserted" if upsert else "inserted"
            shown = errors.names([str(i) for i in ids], limit=50)
            raise ToolError(
                f"Batch {start // BATCH_ROWS + 1} failed: {errors.milvus_message(exc)}. Rows 0 to {start - 1} "
                f"({count} rows) were {verb} before that, ids: {shown}. Send the rest again from row {start}."
            ) from None
        count += int(answer.get(key, len(batch)))
        ids.extend(answer.get("ids") or [])
    return count, clean(ids)


@tool(title="Insert rows")
async def milvus_insert(
    ctx: Context,
    collection_name: CollectionName,
    rows: Rows,
    partition_name: PartitionName = None,
    database: Database = None,
) -> Inserted:
    """Insert rows. Every row is checked against the schema first (fields, vector dimension, id type);
    one bad row writes nothing. Returns the count and ids Milvus assigned."""
    rt = runtime(ctx)
    t = rt.timeout
    budget = rt.settings.max_result_bytes

    async def op(session: Session, info: CollectionInfo) -> Inserted:
        count, ids = await _write(session, info, rows, partition_name, False, t)
        return fit(lambda n: Inserted(insert_count=count, ids=ids[:n], truncated=n < len(ids)), ids, budget)[0]

    return await rt.on_collection(database, collection_name, "insert the rows", op)


@tool(title="Upsert rows", idempotent=True)
async def milvus_upsert(
    ctx: Context,
    collection_name: CollectionName,
    rows: Rows,
    partition_name: PartitionName = None,
    database: Database = None,
) -> Upserted:
    """Insert rows, replacing any existing row with the same primary key. Rows are checked as for
    milvus_insert; one bad row writes nothing."""
    rt = runtime(ctx)
    t = rt.timeout
    budget = rt.settings.max_result_bytes

    async def op(session: Session, info: CollectionInfo) -> Upserted:
        count, ids = await _write(session, info, rows, partition_name, True, t)
        return fit(lambda n: Upserted(upsert_count=count, ids=ids[:n], truncated=n < len(ids)), ids, budget)[0]

    return await rt.on_collection(database, collection_name, "upsert the rows", op)


@tool(title="Delete rows", destructive=True, idempotent=True)
async def milvus_delete(
    ctx: Context, collection_name: CollectionName, ids: Ids = None, filter: Filter = None, database: Database = None
) -> Deleted:
    """Delete rows by primary key (`ids`) or by `filter` (exactly one of the two). Returns how many
    rows really existed and were deleted, e.g. {"filter": "year < 2000"}."""
    rt = runtime(ctx)
    t = rt.timeout
    if (ids is None) == (not filter):
        raise ToolError('Give exactly one of ids (e.g. [1, 2]) or filter (e.g. "year < 2000").')

    async def op(session: Session, info: CollectionInfo) -> Deleted:
        client = session.client
        if ids is not None:
            if not ids:
                return Deleted(delete_count=0)
            wanted = validation.primary_keys(ids, info)
            found = await client.query(
                info.name,
                filter=validation.pk_filter(info, wanted),
                output_fields=[info.primary.name],
                consistency_level=DEFAULT_CONSISTENCY,
                timeout=t,
            )
            existing = [row[info.primary.name] for row in found]
            missing = [k for k in wanted if k not in set(existing)]
            if missing:
                await rt.confirm_primary_key(session, info)
            if existing:
                await client.delete(info.name, ids=existing, timeout=t)
            return Deleted(delete_count=len(existing), not_found=clean(missing[:100]) or None)
        assert filter is not None
        with errors.explained_filter(filter, info):
            counted = await client.query(
                info.name,
                filter=filter,
                output_fields=["count(*)"],
                consistency_level=DEFAULT_CONSISTENCY,
                timeout=t,
            )
        matches = int(counted[0]["count(*)"]) if counted else 0
        if matches:
            await client.delete(info.name, filter=filter, timeout=t)
        return Deleted(delete_count=matches)

    return await rt.on_collection(database, collection_name, "delete the rows", op, load=True)


TOOLS = (
    milvus_insert,
    milvus_upsert,
    milvus_delete,
)
