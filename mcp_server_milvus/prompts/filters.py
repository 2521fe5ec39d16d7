"""write_filter: a filter expression for a stated goal, from the collection's real fields and types."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from mcp_server_milvus.errors import filter_example, unknown_field
from mcp_server_milvus.prompts.common import CollectionArg, DatabaseArg, fields_block, header, here, on_session, schema
from mcp_server_milvus.schema_cache import CollectionInfo
from mcp_server_milvus.sessions import Session


async def write_filter(
    ctx: Context,
    collection: CollectionArg,
    goal: Annotated[str, Field(description="Which rows to select, in words.")],
    field: Annotated[str | None, Field(description="The field the filter is mostly about, if known.")] = None,
    database: DatabaseArg = None,
) -> str:
    """Write a Milvus filter expression for a stated goal, with the collection's real fields and types."""
    rt = here(ctx).runtime

    async def op(session: Session) -> CollectionInfo:
        info = await schema(rt, session, collection)
        if field is not None and info.field(field) is None:
            raise unknown_field(field, info, "field")
        return info

    info = await on_session(rt, database, f"describe collection '{collection}'", op)
    return (
        f"Write a Milvus filter expression for '{info.name}' that selects: {goal}"
        + (f" (mostly on field '{field}')" if field else "")
        + f"\n\n{header(info)}\nFields:\n{fields_block(info)}\n\n"
        'Grammar: comparisons (== != < <= > >=), and/or/not, `in [..]`, `like "pre%"` on VARCHAR, '
        'JSON paths (meta["k"] == 1), array_contains(f, v) on ARRAY, `f is null` / `f is not null` on nullable '
        "fields. Strings in double quotes. Vector fields cannot be filtered.\n"
        f"Example for this collection: {filter_example(info)}\n"
        "Give the expression, then check it with milvus_count (filter=...)."
    )
