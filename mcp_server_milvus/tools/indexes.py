"""Indexes: create and drop. milvus_describe_collection describes every index of a collection, with its
build progress, so no tool of its own describes one index."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcp_server_milvus import errors, validation, waiting
from mcp_server_milvus.arguments import CollectionName, Database, FieldRef, IndexRef, NewIndex
from mcp_server_milvus.failures import Op, during
from mcp_server_milvus.index_params import check_build_params, index_defaults
from mcp_server_milvus.records import index_params, recorded, with_index
from mcp_server_milvus.results import clean
from mcp_server_milvus.schema_cache import CollectionInfo, index_info
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.tools import runtime, tool

IndexName = IndexRef


class IndexDescription(BaseModel):
    collection_name: str
    index_name: str
    field_name: str
    index_type: str
    metric_type: str | None = None
    params: dict[str, Any] | Literal["unknown"] = Field(
        description="The build parameters; 'unknown' for an index built by another program on a backend that "
        "does not report them (Milvus Lite)."
    )
    state: str | None = None
    indexed_rows: int | None = None
    pending_index_rows: int | None = None
    total_rows: int | None = None


def known_index(info: CollectionInfo, index_name: str) -> None:
    names = [i.index_name for i in info.indexes]
    if index_name not in names:
        hint = errors.did_you_mean(index_name, names)
        listing = f" Indexes: {errors.names(names)}." if names else " It has no indexes."
        raise errors.SchemaMismatch(f"Collection '{info.name}' has no index '{index_name}'.{hint}{listing}")


class IndexDropped(BaseModel):
    collection_name: str
    index_name: str


async def describe(
    session: Session, collection: str, index_name: str, properties: dict[str, Any], t: float
) -> IndexDescription:
    """The index as Milvus describes it, with the build parameters this server recorded where the backend
    does not report them (`properties` are the collection's)."""
    with during(Op.DESCRIBE_INDEX):
        raw = await session.client.describe_index(collection, index_name, timeout=t)
    if not raw:
        raise errors.SchemaMismatch(f"Collection '{collection}' has no index named '{index_name}'.")
    info = index_info(raw)
    params: dict[str, Any] | Literal["unknown"] = info.params
    if not session.backend.describe_keeps_params:
        params = index_params(properties, index_name, info.index_type, info.metric_type)
    return IndexDescription(
        collection_name=collection,
        index_name=info.index_name,
        field_name=info.field_name,
        index_type=info.index_type,
        metric_type=info.metric_type,
        params=clean(params),
        state=info.state,
        indexed_rows=info.indexed_rows,
        pending_index_rows=info.pending_rows,
        total_rows=raw.get("total_rows"),
    )


@tool()
async def milvus_create_index(
    ctx: Context,
    collection_name: CollectionName,
    field_name: FieldRef,
    index_type: Annotated[
        str,
        Field(max_length=64, description="e.g. AUTOINDEX, HNSW, IVF_FLAT; SPARSE_INVERTED_INDEX for sparse."),
    ] = "AUTOINDEX",
    metric_type: Annotated[
        str | None,
        Field(max_length=32, description="COSINE, L2 or IP; BM25 for BM25 outputs."),
    ] = None,
    params: Annotated[dict[str, Any] | None, Field(description='e.g. {"M": 16, "efConstruction": 200}.')] = None,
    index_name: Annotated[NewIndex | None, Field(description="Default: the field name.")] = None,
    database: Database = None,
) -> IndexDescription:
    """Build an index and wait until it is ready; loading needs one on every vector field."""
    rt = runtime(ctx)
    t = rt.timeout

    async def op(session: Session, info: CollectionInfo) -> IndexDescription:
        f = validation.field_of_role(field_name, info, "field_name")
        existing = info.index_for(field_name)
        if existing is not None:
            raise errors.SchemaMismatch(
                f"Field '{field_name}' already has index '{existing.index_name}' ({existing.index_type}). Drop it "
                "with milvus_drop_index first (the collection must be released to drop it)."
            )
        if f.is_vector and metric_type is None and f.type != "SPARSE_FLOAT_VECTOR":
            raise ToolError(f"Vector field '{field_name}' needs metric_type: COSINE, L2 or IP.")
        kind = index_type.upper()
        unsupported = session.backend.unsupported_index(kind) if f.is_vector else None
        if unsupported:
            raise ToolError(f"{unsupported}.")
        spec: dict[str, Any] = {"index_type": kind, "params": index_defaults(kind, params or {})}
        check_build_params(kind, spec["params"])
        if metric_type:
            spec["metric_type"] = metric_type.upper()
        elif f.type == "SPARSE_FLOAT_VECTOR":
            spec["metric_type"] = "BM25" if info.function_for(f.name) else "IP"
        name = index_name or field_name
        properties = dict(info.properties)
        try:
            with during(Op.CREATE_INDEX):
                await waiting.building(
                    ctx.report_progress,
                    session,
                    info.name,
                    name,
                    lambda: session.backend.create_index(session.client, info.name, field_name, spec, name, t),
                    t,
                )
            if not session.backend.describe_keeps_params:
                properties.update(with_index(properties, name, spec))
                await session.client.alter_collection_properties(info.name, properties, timeout=t)
        finally:
            rt.forget(session, info.name)
        return await describe(session, info.name, name, properties, t)

    return await rt.on_collection(database, collection_name, "create the index", op)


@tool(destructive=True)
async def milvus_drop_index(
    ctx: Context, collection_name: CollectionName, index_name: IndexName, database: Database = None
) -> IndexDropped:
    """Drop an index; release the collection first."""
    rt = runtime(ctx)
    t = rt.timeout

    async def op(session: Session, info: CollectionInfo) -> IndexDropped:
        known_index(info, index_name)
        if await session.load_state(info.name, t) != "NotLoad":
            raise ToolError(
                f"Collection '{info.name}' is loaded; call milvus_release_collection first, then drop the index."
            )
        try:
            with during(Op.DROP_INDEX):
                await session.client.drop_index(info.name, index_name, timeout=t)
            if index_name in recorded(info.properties):
                forgotten = with_index(info.properties, index_name, None)
                await session.client.alter_collection_properties(info.name, forgotten, timeout=t)
        finally:
            rt.forget(session, info.name)
        return IndexDropped(collection_name=info.name, index_name=index_name)

    return await rt.on_collection(database, collection_name, "drop the index", op)


TOOLS = (
    milvus_create_index,
    milvus_drop_index,
)
