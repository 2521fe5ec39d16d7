"""Query: rows by filter or primary key, and counts."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcp_server_milvus import errors, validation
from mcp_server_milvus.arguments import (
    DEFAULT_CONSISTENCY,
    CollectionName,
    Consistency,
    Database,
    Filter,
    Ids,
    OutputFields,
)
from mcp_server_milvus.results import clean_row, fit
from mcp_server_milvus.schema_cache import CollectionInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.tools import runtime, tool

MAX_WINDOW = 16384
"""Milvus's limit on offset + limit for one query."""


class QueryResult(BaseModel):
    rows: list[dict[str, Any]]
    truncated: bool = Field(False, description="True when rows were cut to fit the result budget.")
    next_offset: int | None = Field(None, description="Pass as offset to get the next rows; absent at the end.")
    hint: str | None = None
    warning: str | None = None


class CountResult(BaseModel):
    count: int
    warning: str | None = None


async def run_query(session: Session, info: CollectionInfo, expr: str, t: float, **kwargs: Any) -> list[dict[str, Any]]:
    """`client.query`, with a malformed filter explained against this collection's fields."""
    with errors.explained_filter(expr, info):
        return list(await session.client.query(info.name, filter=expr, timeout=t, **kwargs))


@tool(title="Query rows", read_only=True)
async def milvus_query(
    ctx: Context,
    collection_name: CollectionName,
    filter: Filter = None,
    ids: Ids = None,
    output_fields: OutputFields = None,
    limit: Annotated[int, Field(ge=1, le=MAX_WINDOW, description="Rows to return.")] = 10,
    offset: Annotated[int, Field(ge=0, lt=MAX_WINDOW, description="Rows to skip, for paging.")] = 0,
    consistency_level: Consistency = DEFAULT_CONSISTENCY,
    database: Database = None,
) -> QueryResult:
    """Fetch rows by `filter` and/or primary key `ids` (both: rows matching both). Vectors are left
    out unless named in output_fields. Example: {"collection_name": "docs", "filter": "year >= 2020",
    "output_fields": ["title", "year"], "limit": 20}."""
    rt = runtime(ctx)
    t = rt.timeout
    budget = rt.settings.max_result_bytes
    if offset + limit > MAX_WINDOW:
        raise ToolError(
            f"offset + limit may be at most {MAX_WINDOW} (got {offset + limit}); narrow the filter instead, "
            "for example on the primary key."
        )

    async def op(session: Session, info: CollectionInfo) -> QueryResult:
        fields, hidden = validation.output_fields(output_fields, info)
        parts = []
        wanted = None if ids is None else validation.primary_keys(ids, info)
        if wanted is not None:
            parts.append(validation.pk_filter(info, wanted))
        if filter:
            parts.append(f"({filter})" if parts else filter)
        expr = " and ".join(parts)
        found = await run_query(
            session,
            info,
            expr,
            t,
            output_fields=fields,
            limit=limit,
            offset=offset,
            consistency_level=consistency_level,
        )
        if wanted is not None and offset == 0 and len(found) < min(len(set(wanted)), limit):
            await rt.confirm_primary_key(session, info)
        rows = [clean_row(row, hidden) for row in found]
        warning = (validation.empty_result_warning(filter, info) if not rows else None) or (
            validation.missing_output_warning(output_fields, info, rows)
        )
        more = len(rows) == limit and offset + limit < MAX_WINDOW

        def build(n: int) -> QueryResult:
            cut = n < len(rows)
            return QueryResult(
                rows=rows[:n],
                truncated=cut,
                next_offset=offset + n if cut or more else None,
                hint=(
                    f"Cut to {n} of {len(rows)} rows to fit {budget} bytes; call again with offset={offset + n}, "
                    "or name fewer output_fields."
                )
                if cut
                else None,
                warning=warning,
            )

        return fit(build, rows, budget)[0]

    return await rt.on_collection(database, collection_name, "query", op, load=True)


@tool(title="Count rows", read_only=True)
async def milvus_count(
    ctx: Context,
    collection_name: CollectionName,
    filter: Filter = None,
    consistency_level: Consistency = DEFAULT_CONSISTENCY,
    database: Database = None,
) -> CountResult:
    """Count the rows of a collection, or those matching `filter`, e.g. {"filter": "year < 2000"}."""
    rt = runtime(ctx)
    t = rt.timeout

    async def op(session: Session, info: CollectionInfo) -> CountResult:
        found = await run_query(
            session, info, filter or "", t, output_fields=["count(*)"], consistency_level=consistency_level
        )
        count = int(found[0]["count(*)"]) if found else 0
        warning = validation.empty_result_warning(filter, info) if count == 0 else None
        return CountResult(count=count, warning=warning)

    return await rt.on_collection(database, collection_name, "count", op, load=True)


TOOLS = (
    milvus_query,
    milvus_count,
)
