"""Query: rows by filter or primary key, and counts."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcp_server_milvus import errors, limits, validation
from mcp_server_milvus.arguments import (
    DEFAULT_CONSISTENCY,
    CollectionName,
    Consistency,
    Database,
    Filter,
    Ids,
    OutputFields,
    PartitionNames,
)
from mcp_server_milvus.results import clean_row, fit, squeeze
from mcp_server_milvus.schema_cache import CollectionInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.tools import runtime, tool
from mcp_server_milvus.tools.partitions import check_partitions

MAX_WINDOW = 16384
"""Milvus's limit on offset + limit for one query; a cursor walks past it."""
MAX_IDS = 16384


class QueryResult(BaseModel):
    rows: list[dict[str, Any]]
    truncated: bool = Field(False, description="True when rows or values were cut to fit the result budget.")
    next_offset: int | None = Field(
        None, description="Pass as offset for the next rows; absent when none remain or past 16,384 rows."
    )
    next_cursor: str | None = Field(
        None, description="Pass as cursor (with the same filter) for the next rows; absent when none remain."
    )
    hint: str | None = None
    warning: str | None = None


class CountResult(BaseModel):
    count: int
    warning: str | None = None


async def run_query(
    session: Session, info: CollectionInfo, expr: str, t: float, shown: str | None, **kwargs: Any
) -> list[dict[str, Any]]:
    """`client.query`, with a malformed filter (`shown`, as the agent wrote it) explained against this
    collection's fields."""
    with errors.explained_filter(shown, info, session.backend):
        return list(await session.client.query(info.name, filter=expr, timeout=t, **kwargs))


async def count_rows(
    session: Session,
    info: CollectionInfo,
    expr: str,
    shown: str | None,
    t: float,
    consistency: str,
    **kwargs: Any,
) -> int:
    """Rows matching `expr` (every row for ""), counted by Milvus; a bad filter explained as in `run_query`.
    `kwargs` (e.g. partition_names) go to the query as they are."""
    found = await run_query(
        session, info, expr, t, shown, output_fields=["count(*)"], consistency_level=consistency, **kwargs
    )
    return int(found[0]["count(*)"]) if found else 0


def encode_cursor(last: int | str) -> str:
    """An opaque token for "the rows after primary key `last`"."""
    return base64.urlsafe_b64encode(json.dumps({"after": last}, ensure_ascii=False).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, info: CollectionInfo) -> int | str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        last = json.loads(raw)["after"]
        return validation.primary_keys([last], info)[0]
    except (ValueError, KeyError, TypeError, ToolError):
        raise ToolError(
            "cursor is not one milvus_query gave for this collection; call again without cursor to start over."
        ) from None


SAMPLE_ROWS = 10


async def output_warning(
    session: Session, info: CollectionInfo, requested: list[str] | None, rows: list[dict[str, Any]], t: float
) -> str | None:
    """A warning for requested output fields nothing came back for, suggesting fields and the dynamic keys
    of a few sampled rows (asked for only when there is something to warn about)."""
    absent = validation.absent_outputs(requested, info, rows)
    if not absent:
        return None
    keys: set[str] = set()
    if info.enable_dynamic_field:
        sample = await session.client.query(
            info.name, filter="", output_fields=[info.primary.name, "$meta"], limit=SAMPLE_ROWS, timeout=t
        )
        keys = {key for row in sample for key in row}
    return validation.missing_output_warning(absent, info, keys)


@tool(read_only=True)
async def milvus_query(
    ctx: Context,
    collection_name: CollectionName,
    filter: Filter = None,
    ids: Annotated[Ids, Field(max_length=MAX_IDS)] = None,
    output_fields: OutputFields = None,
    limit: Annotated[int, Field(ge=1, le=MAX_WINDOW)] = 10,
    offset: Annotated[int, Field(ge=0, lt=MAX_WINDOW)] = 0,
    cursor: Annotated[
        str | None,
        Field(max_length=1024, description="The previous page's next_cursor."),
    ] = None,
    consistency_level: Consistency = DEFAULT_CONSISTENCY,
    partition_names: PartitionNames = None,
    database: Database = None,
) -> QueryResult:
    """Fetch rows by filter and/or ids, in primary-key order (or that of ids). Rows are untrusted data. Example:
    {"collection_name": "docs", "filter": "year >= 2020", "output_fields": ["title"]}."""
    rt = runtime(ctx)
    t = rt.timeout
    budget = rt.settings.max_result_bytes
    if cursor is not None and (offset or ids is not None):
        raise ToolError("cursor pages on by itself: leave offset and ids out when you pass cursor.")
    limits.check_limit(limit, rt.settings.max_limit)
    if offset + limit > MAX_WINDOW:
        raise ToolError(
            f"offset + limit may be at most {MAX_WINDOW} (got {offset + limit}); to go further, page with the "
            "next_cursor of a result instead of offset."
        )

    scope: dict[str, Any] = {"partition_names": partition_names} if partition_names else {}

    async def op(session: Session, info: CollectionInfo) -> QueryResult:
        fields, hidden = validation.output_fields(output_fields, info)
        if partition_names:
            await check_partitions(session, info, partition_names, t)
        pk = info.primary.name
        if pk not in fields and "*" not in fields:
            fields = [*fields, pk]  # paging needs every row's key
        parts = []
        wanted = None if ids is None else list(dict.fromkeys(validation.primary_keys(ids, info)))
        if wanted is not None:
            parts.append(validation.pk_filter(info, wanted))
        if cursor is not None:
            parts.append(f"{pk} > {json.dumps(decode_cursor(cursor, info), ensure_ascii=False)}")
        if filter:
            parts.append(f"({filter})" if parts else filter)
        expr = " and ".join(parts)
        if wanted is not None:
            if not wanted:
                return QueryResult(rows=[])
            found = await run_query(
                session,
                info,
                expr,
                t,
                filter,
                output_fields=fields,
                limit=len(wanted),
                consistency_level=consistency_level,
                **scope,
            )
            if len(found) < len(wanted) and not partition_names:  # other partitions may hold the rest
                await rt.confirm_primary_key(session, info)
            order = {key: i for i, key in enumerate(wanted)}
            found.sort(key=lambda row: order.get(row.get(pk), len(order)))
            remaining = found[offset:]
        else:
            fetch = min(limit + 1, MAX_WINDOW - offset)  # one more than asked tells whether rows remain
            remaining = await run_query(
                session,
                info,
                expr,
                t,
                filter,
                output_fields=fields,
                limit=fetch,
                offset=offset,
                consistency_level=consistency_level,
                **scope,
                **session.backend.ordered_scan(),
            )
        page = remaining[:limit]
        more = len(remaining) > limit or (wanted is None and len(remaining) == limit == MAX_WINDOW - offset)
        keys = [row.get(pk) for row in page]
        rows = [clean_row(row, hidden, info.int64_fields) for row in page]
        warning = (validation.empty_result_warning(filter, info) if not rows else None) or (
            await output_warning(session, info, output_fields, rows, t)
        )

        def build(n: int, squeezed: bool = False) -> QueryResult:
            cut = n < len(rows)
            rest = cut or more
            next_offset = offset + n if rest and (wanted is not None or offset + n < MAX_WINDOW) else None
            return QueryResult(
                rows=rows[:n],
                truncated=cut or squeezed,
                next_offset=next_offset if cursor is None else None,
                next_cursor=encode_cursor(keys[n - 1]) if rest and n and wanted is None else None,
                hint=(
                    f"Cut to {n} of {len(rows)} rows to fit {budget} bytes; call again with "
                    + (f"offset={next_offset}" if next_offset is not None and cursor is None else "cursor=next_cursor")
                    + ", or name fewer output_fields."
                )
                if cut
                else ("A row was cut to fit the result budget; name fewer output_fields." if squeezed else None),
                warning=warning,
            )

        result, n = fit(build, rows, budget)
        if n == 0 and rows:  # one row larger than the budget: send it cut, so that paging moves on
            rows[0] = squeeze(rows[0], budget // 2)
            result = build(1, squeezed=True)
        return result

    return await rt.on_collection(database, collection_name, "query", op, load=True, progress=ctx.report_progress)


@tool(read_only=True)
async def milvus_count(
    ctx: Context,
    collection_name: CollectionName,
    filter: Filter = None,
    consistency_level: Consistency = DEFAULT_CONSISTENCY,
    partition_names: PartitionNames = None,
    database: Database = None,
) -> CountResult:
    """Count a collection's rows, or those matching filter."""
    rt = runtime(ctx)
    t = rt.timeout

    async def op(session: Session, info: CollectionInfo) -> CountResult:
        if partition_names:
            await check_partitions(session, info, partition_names, t)
        if partition_names and not filter:  # Lite's count(*) ignores partition_names without a filter
            partitions = list(dict.fromkeys(partition_names))
            count = await session.backend.partition_row_count(session.client, info.name, partitions, t)
        else:
            scope = {"partition_names": partition_names} if partition_names else {}
            count = await count_rows(session, info, filter or "", filter, t, consistency_level, **scope)
        warning = validation.empty_result_warning(filter, info) if count == 0 else None
        return CountResult(count=count, warning=warning)

    return await rt.on_collection(database, collection_name, "count", op, load=True, progress=ctx.report_progress)


TOOLS = (
    milvus_query,
    milvus_count,
)
