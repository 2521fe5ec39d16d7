"""Data: insert, upsert and delete. Counts are what Milvus really did, never what was asked."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

import anyio
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from pydantic import BaseModel, Field

from mcp_server_milvus import confirmations, errors, limits, validation
from mcp_server_milvus.arguments import DEFAULT_CONSISTENCY, CollectionName, Database, Filter, Ids, PartitionName
from mcp_server_milvus.failures import Failure, Op, during
from mcp_server_milvus.results import clean, fit
from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.schema_cache import CollectionInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.text import fill_embeddings, setup_of
from mcp_server_milvus.tools import runtime, tool
from mcp_server_milvus.tools.partitions import check_partitions
from mcp_server_milvus.tools.query import MAX_IDS, count_rows

logger = logging.getLogger(__name__)

BATCH_ROWS = 1000
"""Rows per insert RPC: well under gRPC's message limit for vectors of a few thousand dimensions."""

Rows = Annotated[
    list[dict[str, Any]],
    Field(min_length=1),
]


class Inserted(BaseModel):
    insert_count: int
    ids: list[int | str]
    truncated: bool = False
    warning: str | None = None


class Upserted(BaseModel):
    upsert_count: int
    ids: list[int | str]
    truncated: bool = False
    warning: str | None = None


class Deleted(BaseModel):
    delete_count: int
    not_found: list[int | str] | None = Field(
        None, description="Requested ids that did not exist (in partition_name, when given)."
    )
    truncated: bool | None = Field(None, description="True when not_found was cut to fit the result budget.")
    warning: str | None = None


async def existing_keys(
    session: Session, info: CollectionInfo, keys: list[Any], t: float, partitions: list[str] | None = None
) -> list[Any]:
    """Which of `keys` (typed primary keys) are in the collection: in any partition, or in `partitions`."""
    found: list[Any] = []
    for start in range(0, len(keys), BATCH_ROWS):
        chunk = keys[start : start + BATCH_ROWS]
        rows = await session.client.query(
            info.name,
            filter=validation.pk_filter(info, chunk),
            output_fields=[info.primary.name],
            limit=len(chunk),
            partition_names=partitions,
            consistency_level=DEFAULT_CONSISTENCY,
            timeout=t,
        )
        found.extend(row[info.primary.name] for row in rows)
    return found


Progress = Callable[[float, float | None, str | None], Awaitable[None]]
"""The SDK's `ctx.report_progress`: a no-op when the client sent no progress token."""


@dataclass
class Tally:
    """What one call has written so far, across its batches (and an import's chunks): the log and the
    error of a write that stops part-way say exactly this."""

    sent: int = 0
    """Rows acknowledged by Milvus, counted from the call's first row."""
    count: int = 0
    """Milvus's own count of them."""
    ids: list[Any] = field(default_factory=list)


async def prepare(
    rt: Runtime,
    info: CollectionInfo,
    rows: list[dict[str, Any]],
    upsert: bool,
    label: Callable[[int], str] = validation.row_label,
) -> tuple[list[dict[str, Any]], str | None]:
    """Every row checked (the first bad one named by `label`), and a text collection's dense field filled
    from each row's text by the embedding provider. Returns the rows to send and a warning, if any."""
    warning = None
    setup = setup_of(info)
    if setup is not None and setup.dense_field is not None:
        # Every row checked before the model is paid for, the dense field optional (the model fills it
        # where a row brings none) but checked where a row brings its own vector.
        dense = setup.dense_field
        optional = tuple(replace(f, nullable=True) if f.name == dense else f for f in info.fields)
        validation.rows(rows, replace(info, fields=optional), upsert=upsert, label=label)
        rows, warning = await fill_embeddings(setup, rt.embedder, info.name, rows)
    return validation.rows(rows, info, upsert=upsert, label=label), warning


async def send(
    rt: Runtime,
    session: Session,
    info: CollectionInfo,
    rows: list[dict[str, Any]],
    partition: str | None,
    upsert: bool,
    progress: Progress | None,
    tally: Tally,
    *,
    batch_rows: int = BATCH_ROWS,
    total: int | None = None,
) -> None:
    """Send checked rows in batches, adding to `tally`; if one fails, say exactly what was already written.

    An insert never overwrites: ids that exist already (in any partition) are refused, which a Milvus
    server would otherwise store twice and Milvus Lite would overwrite. The check and the write hold the
    collection's write lock, so no other call through this server slips between them.

    `progress`, when given, hears of every batch (`total`: the rows of the whole call, when known)."""
    t = rt.timeout
    verb = "upserted" if upsert else "inserted"
    pk = info.primary.name
    async with rt.write_lock(session, info.name):
        if not upsert and not info.primary.auto_id:
            taken = await existing_keys(session, info, [row[pk] for row in rows], t)
            if taken:
                before = f"{tally.sent} rows were inserted before them" if tally.sent else "Nothing was written"
                raise ToolError(
                    f"{len(taken)} of these primary keys already exist in '{info.name}': "
                    f"{errors.names([str(k) for k in clean(taken)])}. milvus_insert never overwrites: use "
                    f"milvus_upsert to replace those rows, or give new ids. {before}."
                )
        write = session.client.upsert if upsert else session.client.insert
        key = "upsert_count" if upsert else "insert_count"
        kwargs: dict[str, Any] = {"timeout": t}
        if partition:
            kwargs["partition_name"] = partition
        for start in range(0, len(rows), batch_rows):
            batch = rows[start : start + batch_rows]
            try:
                with during(Op.WRITE):
                    answer = await write(info.name, batch, **kwargs)
            except BaseException as exc:
                cancelled = isinstance(exc, anyio.get_cancelled_exc_class())
                if tally.sent == 0 and not cancelled:
                    raise  # nothing was written
                told = _partial(session, info, exc, verb, tally, len(batch), batch_rows)
                if cancelled:
                    raise
                raise told from None
            tally.sent += len(batch)
            tally.count += int(answer.get(key, len(batch)))
            tally.ids.extend(answer.get("ids") or [])
            if progress is not None:
                of = f" of {total}" if total is not None else ""
                try:
                    await progress(tally.sent, total, f"{tally.sent}{of} rows {verb}")
                except anyio.get_cancelled_exc_class() as exc:
                    _partial(session, info, exc, verb, tally, 0, batch_rows)  # logged: nothing was in flight
                    raise


async def _write(
    rt: Runtime,
    session: Session,
    info: CollectionInfo,
    rows: list[dict[str, Any]],
    partition: str | None,
    upsert: bool,
    progress: Progress,
) -> tuple[int, list[Any], str | None]:
    """Check every row, then send them in batches, with progress after each batch when there is more
    than one. Returns Milvus's count, the ids it reported (made safe for JSON clients) and a warning."""
    if partition:
        await check_partitions(session, info, [partition], rt.timeout)
    rows, warning = await prepare(rt, info, rows, upsert)
    tally = Tally()
    several = len(rows) > BATCH_ROWS
    await send(rt, session, info, rows, partition, upsert, progress if several else None, tally, total=len(rows))
    return tally.count, clean(tally.ids), warning


def _partial(
    session: Session, info: CollectionInfo, exc: BaseException, verb: str, tally: Tally, size: int, batch_rows: int
) -> ToolError:
    """What a write that failed after its first batch (or was cancelled) did, logged, and said exactly."""
    cancelled = isinstance(exc, anyio.get_cancelled_exc_class())
    failure = None if cancelled else session.backend.classify(exc, Op.WRITE)
    unsure = size > 0 and (cancelled or failure in (None, Failure.TIMEOUT, Failure.UNREACHABLE))
    where = f"{session.database}.{info.name}"
    start, count, ids = tally.sent, tally.count, tally.ids
    done = (
        f"rows 0 to {start - 1} ({count} rows) were {verb} into {where}, ids: {errors.names(clean(ids), limit=50)}"
        if start
        else f"nothing was {verb} into {where} before"
    )
    if unsure:
        last = f"rows {start} to {start + size - 1} (in flight) may or may not have been {verb}"
    else:
        last = f"rows from {start} on were not {verb}"
    logger.warning("A write %s part-way: %s; %s", "was cancelled" if cancelled else "failed", done, last)
    return ToolError(
        f"Batch {start // batch_rows + 1} failed: {errors.milvus_message(exc)}. {done[0].upper()}{done[1:]}; "
        f"{last}. Send the rest again from row {start}" + (" (check those ids first)." if unsure else ".")
    )


@tool()
async def milvus_insert(
    ctx: Context,
    collection_name: CollectionName,
    rows: Rows,
    partition_name: PartitionName = None,
    database: Database = None,
) -> Inserted:
    """Insert rows; existing ids are refused (milvus_upsert replaces). All rows are checked first; one bad row writes
    nothing. Example: {"collection_name": "docs", "rows": [{"id": 1, "vector": [0.1, 0.2]}]}."""
    rt = runtime(ctx)
    budget = rt.settings.max_result_bytes
    limits.check_rows(len(rows), rt.settings.max_rows)

    async def op(session: Session, info: CollectionInfo) -> Inserted:
        count, ids, warning = await _write(rt, session, info, rows, partition_name, False, ctx.report_progress)
        return fit(
            lambda n: Inserted(insert_count=count, ids=ids[:n], truncated=n < len(ids), warning=warning), ids, budget
        )[0]

    return await rt.on_collection(database, collection_name, "insert the rows", op, load=True)


@tool(idempotent=True)
async def milvus_upsert(
    ctx: Context,
    collection_name: CollectionName,
    rows: Rows,
    partition_name: PartitionName = None,
    database: Database = None,
) -> Upserted:
    """Insert rows, replacing those with the same primary key; checked as by milvus_insert."""
    rt = runtime(ctx)
    budget = rt.settings.max_result_bytes
    limits.check_rows(len(rows), rt.settings.max_rows)

    async def op(session: Session, info: CollectionInfo) -> Upserted:
        count, ids, warning = await _write(rt, session, info, rows, partition_name, True, ctx.report_progress)
        return fit(
            lambda n: Upserted(upsert_count=count, ids=ids[:n], truncated=n < len(ids), warning=warning), ids, budget
        )[0]

    return await rt.on_collection(database, collection_name, "upsert the rows", op)


async def _ask_delete(
    ctx: Context,
    collection_name: str,
    ids: list[Any] | None,
    filter: str | None,
    partition_name: str | None,
    database: str | None,
) -> Elicit[confirmations.Confirmation] | None:
    """Ask the user when a filter matches more than --confirm-delete-over rows. The rows are counted
    only where the user can be asked; a call the tool itself refuses (bad filter, unknown collection)
    asks nothing and fails in the tool."""
    if ids is not None or not filter or not confirmations.can_ask(ctx):
        return None
    rt = runtime(ctx)
    over = rt.settings.confirm_delete_over
    scope = {"partition_names": [partition_name]} if partition_name else {}

    async def op(session: Session, info: CollectionInfo) -> int:
        return await count_rows(session, info, filter, filter, rt.timeout, DEFAULT_CONSISTENCY, **scope)

    try:
        matched = await rt.on_collection(database, collection_name, "count the rows to delete", op, load=True)
    except ToolError:
        return None
    if matched <= over:
        return None
    return confirmations.ask(ctx, f"Delete {matched} rows of '{collection_name}' matching {filter!r}, for good?")


@tool(destructive=True, idempotent=True)
async def milvus_delete(
    ctx: Context,
    collection_name: CollectionName,
    confirmed: Annotated[ElicitationResult[confirmations.Confirmation], Resolve(_ask_delete)],
    ids: Annotated[Ids, Field(max_length=MAX_IDS, description="Give ids or filter.")] = None,
    filter: Annotated[Filter, Field(description="Give ids or filter.")] = None,
    partition_name: PartitionName = None,
    database: Database = None,
) -> Deleted:
    """Delete rows; returns how many existed."""
    confirmations.check(confirmed, f"no rows of '{collection_name}' were deleted.")
    rt = runtime(ctx)
    t = rt.timeout
    budget = rt.settings.max_result_bytes
    if (ids is None) == (not filter):
        raise ToolError('Give exactly one of ids (e.g. [1, 2]) or filter (e.g. "year < 2000").')

    async def op(session: Session, info: CollectionInfo) -> Deleted:
        missing: list[Any] = []
        warning = None
        partitions = [partition_name] if partition_name is not None else None
        scope = {"partition_names": partitions} if partitions else {}
        if partitions:
            await check_partitions(session, info, partitions, t)
        if ids is not None:
            wanted = list(dict.fromkeys(validation.primary_keys(ids, info)))
            found = set(await existing_keys(session, info, wanted, t, partitions))
            missing = [k for k in wanted if k not in found]
            if missing:
                await rt.confirm_primary_key(session, info)
            expr = validation.pk_filter(info, [k for k in wanted if k in found])
            before = len(found)
        else:
            assert filter is not None
            expr = filter
            before = await count_rows(session, info, expr, filter, t, DEFAULT_CONSISTENCY, **scope)
            if not before:
                warning = validation.empty_result_warning(filter, info)
        after = 0
        if before:
            # pymilvus's async delete drops Milvus's answer (errors included): count again to know.
            async with rt.write_lock(session, info.name):
                await session.backend.delete(session.client, info, expr, partition_name, t)
                after = await count_rows(session, info, expr, filter, t, DEFAULT_CONSISTENCY, **scope)
        if after and after >= before:
            raise ToolError(
                f"Milvus did not delete the rows: {after} still match. Nothing was deleted; check the "
                "collection with milvus_count and try again."
            )
        if after:
            warning = f"{after} matching rows remain (written meanwhile, or not deleted); count again to check."
        shown = clean(missing)

        def build(n: int) -> Deleted:
            return Deleted(
                delete_count=before - after,
                not_found=shown[:n] or None,
                truncated=n < len(shown) or None,
                warning=warning,
            )

        return fit(build, shown, budget)[0]

    return await rt.on_collection(database, collection_name, "delete the rows", op, load=True)


TOOLS = (milvus_insert, milvus_upsert, milvus_delete)
