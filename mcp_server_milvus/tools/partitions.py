"""Partitions: create, list with exact row counts, drop; and the check every partition-scoped read makes.

Milvus Lite answers a read of a partition that does not exist with no rows and no error, so an agent that
misspells a partition would read "nothing there" as the truth. `check_partitions` names the missing one
before any data is read.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

import anyio
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from pydantic import BaseModel, Field

from mcp_server_milvus import confirmations, errors
from mcp_server_milvus.arguments import CollectionName, ConfirmPartition, Database, NewPartition, PartitionRef
from mcp_server_milvus.schema_cache import CollectionInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.tools import runtime, tool

DEFAULT_PARTITION = "_default"
"""The partition every collection has, which Milvus never drops."""


class PartitionOut(BaseModel):
    name: str
    row_count: int | None = Field(None, description="Rows in the partition; absent when Milvus could not say.")


class PartitionList(BaseModel):
    collection_name: str
    database: str
    partitions: list[PartitionOut]


class PartitionChanged(BaseModel):
    collection_name: str
    database: str
    partition_name: str
    partitions: list[str] = Field(description="The collection's partitions after the change.")


def refuse_partition_key(info: CollectionInfo) -> None:
    """A ToolError when the collection has a partition key: Milvus places its rows and manages its partitions
    (a server refuses partition names on its reads and writes, Lite would take them on writes)."""
    key = next((f for f in info.fields if f.is_partition_key), None)
    if key is None:
        return
    example = f"{key.name} == 'a'" if key.type == "VARCHAR" else f"{key.name} == 1"
    raise ToolError(
        f"Collection '{info.name}' has the partition key '{key.name}', so Milvus manages its partitions and puts "
        f'each row by its {key.name}: leave partition names out and filter on {key.name} instead, e.g. "{example}".'
    )


async def check_partitions(session: Session, info: CollectionInfo, names: list[str], timeout: float) -> list[str]:
    """The collection's partitions, once every one of `names` is known to be among them; a missing one is a
    ToolError naming it and the existing ones (Lite would read it as empty, without an error). Every
    partition-scoped read and write asks here first."""
    refuse_partition_key(info)
    existing = list(await session.client.list_partitions(info.name, timeout=timeout))
    missing = [n for n in dict.fromkeys(names) if n not in existing]
    if missing:
        first = missing[0]
        which = f"Partition '{first}' does not" if len(missing) == 1 else f"Partitions {errors.names(missing)} do not"
        raise ToolError(
            f"{which} exist in collection '{info.name}'.{errors.did_you_mean(first, existing)} "
            f"Existing partitions: {errors.names(existing)}."
        )
    return existing


@tool(read_only=True)
async def milvus_list_partitions(
    ctx: Context, collection_name: CollectionName, database: Database = None
) -> PartitionList:
    """List a collection's partitions with their row counts."""
    rt = runtime(ctx)
    t = rt.timeout

    async def op(session: Session, info: CollectionInfo) -> PartitionList:
        names = list(await session.client.list_partitions(info.name, timeout=t))
        counts: dict[str, int] = {}
        limiter = anyio.CapacityLimiter(8)

        async def count(name: str) -> None:
            async with limiter:
                with suppress(Exception):  # a partition dropped meanwhile is still listed, without a count
                    counts[name] = await session.backend.partition_row_count(session.client, info.name, [name], t)

        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(count, name)
        return PartitionList(
            collection_name=info.name,
            database=session.database,
            partitions=[PartitionOut(name=n, row_count=counts.get(n)) for n in names],
        )

    return await rt.on_collection(database, collection_name, "list partitions", op)


@tool()
async def milvus_create_partition(
    ctx: Context,
    collection_name: CollectionName,
    partition_name: NewPartition,
    database: Database = None,
) -> PartitionChanged:
    """Create a partition; write to it with milvus_insert's partition_name."""
    rt = runtime(ctx)
    t = rt.timeout

    async def op(session: Session, info: CollectionInfo) -> PartitionChanged:
        refuse_partition_key(info)
        existing = list(await session.client.list_partitions(info.name, timeout=t))
        if partition_name in existing:
            raise ToolError(f"Partition '{partition_name}' already exists in collection '{info.name}'.")
        await session.client.create_partition(info.name, partition_name, timeout=t)
        return PartitionChanged(
            collection_name=info.name,
            database=session.database,
            partition_name=partition_name,
            partitions=list(await session.client.list_partitions(info.name, timeout=t)),
        )

    return await rt.on_collection(database, collection_name, "create the partition", op)


async def _ask_drop_partition(
    ctx: Context, collection_name: str, partition_name: str, confirm_name: str
) -> Elicit[confirmations.Confirmation] | None:
    if confirm_name != partition_name:
        return None  # refused by the tool itself
    return confirmations.ask(
        ctx, f"Drop partition '{partition_name}' of collection '{collection_name}' and all its rows, for good?"
    )


@tool(destructive=True)
async def milvus_drop_partition(
    ctx: Context,
    collection_name: CollectionName,
    partition_name: PartitionRef,
    confirm_name: ConfirmPartition,
    confirmed: Annotated[ElicitationResult[confirmations.Confirmation], Resolve(_ask_drop_partition)],
    database: Database = None,
) -> PartitionChanged:
    """Drop a partition and all its rows, for good."""
    confirmations.check(confirmed, f"partition '{partition_name}' was not dropped.")
    rt = runtime(ctx)
    t = rt.timeout
    if confirm_name != partition_name:
        raise ToolError(
            f"confirm_name {confirm_name!r} does not match partition_name {partition_name!r}; "
            "repeat the exact name to confirm the drop."
        )
    if partition_name == DEFAULT_PARTITION:
        raise ToolError(
            f"The '{DEFAULT_PARTITION}' partition cannot be dropped; delete its rows with milvus_delete, "
            "or drop the whole collection."
        )

    async def op(session: Session, info: CollectionInfo) -> PartitionChanged:
        await check_partitions(session, info, [partition_name], t)
        await session.backend.drop_partition(session.client, info.name, partition_name, t)
        return PartitionChanged(
            collection_name=info.name,
            database=session.database,
            partition_name=partition_name,
            partitions=list(await session.client.list_partitions(info.name, timeout=t)),
        )

    return await rt.on_collection(database, collection_name, "drop the partition", op)


TOOLS = (
    milvus_list_partitions,
    milvus_create_partition,
    milvus_drop_partition,
)
