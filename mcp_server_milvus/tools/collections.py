"""Collections: list, describe, drop, rename, load, release, flush. (Create lives in create.py.)"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Annotated, Any, Literal

import anyio
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from pydantic import BaseModel, Field

from mcp_server_milvus import confirmations, errors
from mcp_server_milvus.arguments import CollectionName, ConfirmCollection, Database, NewCollection
from mcp_server_milvus.failures import Op, during
from mcp_server_milvus.gather import gather
from mcp_server_milvus.models import VectorFieldOut, vector_fields_out
from mcp_server_milvus.records import PROPERTIES, index_params
from mcp_server_milvus.results import clean, fit
from mcp_server_milvus.schema_cache import CollectionInfo, FieldInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.text import setup_of
from mcp_server_milvus.tools import runtime, tool

MAX_SUMMARIES = 500
"""Collections whose row count and load state a listing looks up; the rest are listed by name."""


ROW_COUNT_EXACT = Field(
    None,
    description="false: row_count was counted earlier and may miss another program's latest writes; "
    "milvus_count is exact.",
)


class CollectionSummary(BaseModel):
    name: str
    row_count: int | None = None
    row_count_exact: bool | None = ROW_COUNT_EXACT
    load_state: str | None = None


class CollectionList(BaseModel):
    database: str
    collections: list[CollectionSummary]
    total: int
    truncated: bool = False
    hint: str | None = None


class FieldOut(BaseModel):
    """A field as an agent needs it; flags that are off are left out to save context."""

    name: str
    type: str
    is_primary: bool | None = None
    auto_id: bool | None = None
    dim: int | None = None
    max_length: int | None = None
    element_type: str | None = None
    max_capacity: int | None = None
    nullable: bool | None = None
    default_value: Any = None
    is_partition_key: bool | None = None
    enable_analyzer: bool | None = None
    analyzer_params: Any = None
    is_function_output: bool | None = None
    description: str | None = None

    @classmethod
    def of(cls, f: FieldInfo) -> FieldOut:
        return cls(
            name=f.name,
            type=f.type,
            is_primary=f.is_primary or None,
            auto_id=f.auto_id or None,
            dim=f.dim,
            max_length=f.max_length,
            element_type=f.element_type,
            max_capacity=f.max_capacity,
            nullable=f.nullable or None,
            default_value=clean(f.default_value),
            is_partition_key=f.is_partition_key or None,
            enable_analyzer=f.enable_analyzer or None,
            analyzer_params=_analyzer(f.analyzer_params),
            is_function_output=f.is_function_output or None,
            description=f.description or None,
        )


def _analyzer(params: str | None) -> Any:
    """The analyzer parameters as an object, e.g. {"type": "standard"}; as Milvus sent them if not JSON."""
    if params is None:
        return None
    try:
        return json.loads(params)
    except ValueError:
        return params


class IndexOut(BaseModel):
    index_name: str
    field_name: str
    index_type: str
    metric_type: str | None = None
    params: dict[str, Any] | Literal["unknown"] = Field(
        description="Build parameters; 'unknown' for an index built elsewhere on a backend that does not report them."
    )
    state: str | None = Field(None, description="The build's state, e.g. Finished.")
    indexed_rows: int | None = None
    pending_index_rows: int | None = None


class PrimaryKeyOut(BaseModel):
    name: str
    type: str
    auto_id: bool


class CollectionDescription(BaseModel):
    name: str
    database: str
    description: str | None = None
    primary_key: PrimaryKeyOut
    vector_fields: list[VectorFieldOut]
    fields: list[FieldOut]
    functions: list[dict[str, Any]] | None = None
    indexes: list[IndexOut]
    partitions: list[str]
    partition_key: str | None = Field(
        None, description="The field whose value picks each row's partition; filter on it to read one tenant."
    )
    num_partitions: int | None = Field(None, description="With a partition key: the partitions it spreads rows over.")
    load_state: str
    row_count: int
    row_count_exact: bool | None = ROW_COUNT_EXACT
    enable_dynamic_field: bool
    consistency_level: str | None = None
    properties: dict[str, Any] | None = None
    text: dict[str, Any] | None = Field(
        None, description="Text collections: the text field and the vector fields filled from it."
    )
    flush_pending: bool | None = Field(
        None, description="True when rows await a flush to be indexed; absent when the backend does not tell."
    )
    truncated: bool | None = None
    hint: str | None = None


class Dropped(BaseModel):
    dropped: str
    database: str


class Renamed(BaseModel):
    old_name: str
    new_name: str
    database: str
    load_state: str


class LoadStateOut(BaseModel):
    collection_name: str
    database: str
    load_state: str


class Flushed(BaseModel):
    collection_name: str
    database: str
    row_count: int


@tool(read_only=True)
async def milvus_list_collections(ctx: Context, database: Database = None) -> CollectionList:
    """Collections with their row counts and load states."""
    rt = runtime(ctx)
    t = rt.timeout
    budget = rt.settings.max_result_bytes

    db = database or rt.settings.database
    version = rt.version()

    async def op(session: Session) -> CollectionList:
        counts: dict[str, tuple[int, bool]] = {}
        states: dict[str, str] = {}
        limiter = anyio.CapacityLimiter(8)

        # A collection dropped meanwhile, or whose statistics are unavailable, is still listed.
        async def summarize(name: str) -> None:
            async with limiter:
                with suppress(Exception):
                    counts[name] = await rt.row_count(session, name, version[1])

        async def load_state(name: str) -> None:
            async with limiter:
                with suppress(Exception):
                    states[name] = await session.load_state(name, t)

        async def listing() -> list[str]:
            """The names, and the load states when the backend sends them with the listing."""
            with during(Op.LIST_COLLECTIONS):
                found, listed_states = await session.backend.list_collections(session.client, t)
            states.update(listed_states)
            return rt.visibility.visible_collections(session.database, found)

        # The names are live, but waiting for them before asking for counts would cost a second
        # round trip: summarize the names seen last time while the listing is under way, then any
        # new ones. Summaries of names that are gone are dropped.
        seen = rt.listed.get(session.database, [])[:MAX_SUMMARIES]
        names: list[str] = []
        failure: Exception | None = None
        async with anyio.create_task_group() as tg:
            for name in seen:
                tg.start_soon(summarize, name)
                if not session.backend.lists_load_states:
                    tg.start_soon(load_state, name)
            try:
                names = sorted(await listing())
            except Exception as exc:  # raised below, as it was, not wrapped in an exception group
                failure = exc
                tg.cancel_scope.cancel()
            for name in [n for n in names[:MAX_SUMMARIES] if n not in set(seen)]:
                tg.start_soon(summarize, name)
            for name in [n for n in names[:MAX_SUMMARIES] if n not in states and n not in set(seen)]:
                tg.start_soon(load_state, name)
        if failure is not None:
            raise failure
        rt.listed[session.database] = names
        listed = [_summary(n, counts.get(n), states.get(n)) for n in names]

        def build(n: int) -> CollectionList:
            cut = n < len(listed)
            return CollectionList(
                database=session.database,
                collections=listed[:n],
                total=len(listed),
                truncated=cut,
                hint="Result cut to fit the context budget; describe a collection by name." if cut else None,
            )

        return fit(build, listed, budget)[0]

    # While the engine's count of changes stands, a listing that was exact is still exact: keep it.
    keep = _settled_listing if version[1] is not None else None
    return await rt.listings.run(db, version, lambda: rt.run(db, "list collections", op), keep)


def _settled(row_count: int | None, row_count_exact: bool | None, load_state: str | None) -> bool:
    """Whether a count and a load state stay true until something changes: counted exactly, and no load
    under way. Only such listings and descriptions are kept."""
    return row_count is not None and row_count_exact is None and load_state in ("Loaded", "NotLoad")


def _settled_listing(listing: CollectionList) -> bool:
    return all(_settled(c.row_count, c.row_count_exact, c.load_state) for c in listing.collections)


def _summary(name: str, count: tuple[int, bool] | None, state: str | None) -> CollectionSummary:
    rows, exact = count if count is not None else (None, True)
    return CollectionSummary(name=name, row_count=rows, row_count_exact=None if exact else False, load_state=state)


@tool(read_only=True)
async def milvus_describe_collection(
    ctx: Context, collection_name: CollectionName, database: Database = None
) -> CollectionDescription:
    """A collection's schema, indexes, partitions, load state and row count."""
    rt = runtime(ctx)
    t = rt.timeout
    budget = rt.settings.max_result_bytes
    version = rt.version()

    async def op(session: Session) -> CollectionDescription:
        rt.forget(session, collection_name)  # describe always shows the live schema
        (info, _), partitions = await gather(  # the schema first: its error names the collection
            lambda: rt.schema(session, collection_name),
            lambda: session.client.list_partitions(collection_name, timeout=t),
        )
        rows, exact = await rt.row_count(session, info.name, version[1])
        indexes = [
            IndexOut(
                index_name=i.index_name,
                field_name=i.field_name,
                index_type=i.index_type,
                metric_type=i.metric_type,
                params=clean(
                    i.params
                    if session.backend.describe_keeps_params
                    else index_params(info.properties, i.index_name, i.index_type, i.metric_type)
                ),
                state=i.state,
                indexed_rows=i.indexed_rows,
                pending_index_rows=i.pending_rows,
            )
            for i in info.indexes
        ]
        properties = {k: v for k, v in info.properties.items() if k not in PROPERTIES}
        load_state = "Loaded" if info.loaded else await session.load_state(collection_name, t)
        fields = [FieldOut.of(f) for f in info.fields]
        partition_names = list(partitions)
        setup = setup_of(info)
        text = setup.as_dict() if setup else None
        key = next((f.name for f in info.fields if f.is_partition_key), None)
        key_partitions = session.backend.key_partitions(info.num_partitions) if key else None

        def build(n: int) -> CollectionDescription:
            cut = n < max(len(fields), len(partition_names))
            return CollectionDescription(
                name=info.name,
                database=info.database,
                description=info.description or None,
                primary_key=PrimaryKeyOut(name=info.primary.name, type=info.primary.type, auto_id=info.primary.auto_id),
                vector_fields=vector_fields_out(info),
                fields=fields[:n],
                functions=list(info.functions) or None,
                indexes=indexes,
                partitions=partition_names[:n],
                partition_key=key,
                num_partitions=key_partitions,
                load_state=load_state,
                row_count=rows,
                row_count_exact=None if exact else False,
                enable_dynamic_field=info.enable_dynamic_field,
                consistency_level=info.consistency_level,
                properties=clean(properties) or None,
                text=text,
                flush_pending=session.backend.flush_pending(info.indexes),
                truncated=cut or None,
                hint=f"Fields and partitions cut to the first {n} to fit the result budget." if cut else None,
            )

        return fit(build, range(max(len(fields), len(partition_names))), budget)[0]

    # As a listing: while the engine's count of changes stands, an exact description is still exact.
    keep = _settled_description if version[1] is not None else None
    key = (database or rt.settings.database, collection_name)
    return await rt.describes.run(key, version, lambda: rt.run(database, "describe the collection", op), keep)


def _settled_description(description: CollectionDescription) -> bool:
    return _settled(description.row_count, description.row_count_exact, description.load_state)


async def _ask_drop_collection(
    ctx: Context, collection_name: str, confirm_name: str, database: str | None
) -> Elicit[confirmations.Confirmation] | None:
    if confirm_name != collection_name:
        return None  # refused by the tool itself
    where = f" in database '{database}'" if database else ""
    return confirmations.ask(ctx, f"Drop collection '{collection_name}'{where} and all its data, for good?")


@tool(destructive=True, idempotent=False)
async def milvus_drop_collection(
    ctx: Context,
    collection_name: CollectionName,
    confirm_name: ConfirmCollection,
    confirmed: Annotated[ElicitationResult[confirmations.Confirmation], Resolve(_ask_drop_collection)],
    database: Database = None,
) -> Dropped:
    """Drop a collection and all its data, for good."""
    confirmations.check(confirmed, f"collection '{collection_name}' was not dropped.")
    rt = runtime(ctx)
    t = rt.timeout
    if confirm_name != collection_name:
        raise ToolError(
            f"confirm_name {confirm_name!r} does not match collection_name {collection_name!r}; "
            "repeat the exact name to confirm the drop."
        )

    async def op(session: Session, info: CollectionInfo) -> Dropped:
        await session.client.drop_collection(collection_name, timeout=t)
        rt.forget(session, collection_name)
        rt.released.discard((session.database, info.name))
        return Dropped(dropped=collection_name, database=session.database)

    return await rt.on_collection(database, collection_name, "drop the collection", op)


@tool()
async def milvus_rename_collection(
    ctx: Context,
    collection_name: CollectionName,
    new_name: NewCollection,
    database: Database = None,
) -> Renamed:
    """Rename a collection; a loaded one stays loaded."""
    rt = runtime(ctx)
    t = rt.timeout
    rt.visibility.check_new("collections", new_name)

    async def op(session: Session, info: CollectionInfo) -> Renamed:
        existing = await session.client.list_collections(timeout=t)
        if new_name in existing:
            raise ToolError(f"A collection named '{new_name}' already exists; choose another new_name.")
        was = await session.load_state(collection_name, t)
        await session.client.rename_collection(collection_name, new_name, timeout=t)
        rt.forget(session, collection_name)
        rt.forget(session, new_name)
        if (session.database, collection_name) in rt.released:
            rt.released.discard((session.database, collection_name))
            rt.released.add((session.database, new_name))
        try:
            await session.backend.after_rename(session.client, new_name, was == "Loaded", t)
        except Exception as exc:
            raise ToolError(
                f"Renamed '{collection_name}' to '{new_name}', but loading '{new_name}' again failed: "
                f"{errors.milvus_message(exc)}. Call milvus_load_collection on '{new_name}'."
            ) from None
        return Renamed(
            old_name=collection_name,
            new_name=new_name,
            database=session.database,
            load_state=await session.load_state(new_name, t),
        )

    return await rt.on_collection(database, collection_name, "rename the collection", op)


@tool(idempotent=True)
async def milvus_load_collection(
    ctx: Context, collection_name: CollectionName, database: Database = None
) -> LoadStateOut:
    """Load a collection into memory. Reads load one on demand unless it was released."""
    rt = runtime(ctx)
    t = rt.timeout

    async def op(session: Session, info: CollectionInfo) -> LoadStateOut:
        rt.released.discard((session.database, info.name))
        await rt.ensure_loaded(session, info, force=True, report=ctx.report_progress)
        return LoadStateOut(
            collection_name=collection_name,
            database=session.database,
            load_state=await session.load_state(collection_name, t),
        )

    return await rt.on_collection(database, collection_name, "load the collection", op)


@tool(idempotent=True)
async def milvus_release_collection(
    ctx: Context, collection_name: CollectionName, database: Database = None
) -> LoadStateOut:
    """Free a collection's memory; reads fail until milvus_load_collection."""
    rt = runtime(ctx)
    t = rt.timeout

    async def op(session: Session, info: CollectionInfo) -> LoadStateOut:
        await session.client.release_collection(collection_name, timeout=t)
        rt.released.add((session.database, info.name))  # the collection's own name: aliases read it too
        rt.cache.set_loaded(session.key(collection_name), False)
        return LoadStateOut(
            collection_name=collection_name,
            database=session.database,
            load_state=await session.load_state(collection_name, t),
        )

    return await rt.on_collection(database, collection_name, "release the collection", op)


@tool(idempotent=True)
async def milvus_flush(ctx: Context, collection_name: CollectionName, database: Database = None) -> Flushed:
    """Seal recent writes into indexed segments; until then Milvus Lite searches them slowly."""
    rt = runtime(ctx)
    t = rt.timeout

    async def op(session: Session, info: CollectionInfo) -> Flushed:
        await session.client.flush(collection_name, timeout=t)
        return Flushed(
            collection_name=collection_name,
            database=session.database,
            row_count=await session.row_count(collection_name, t),
        )

    return await rt.on_collection(database, collection_name, "flush the collection", op)


TOOLS = (
    milvus_list_collections,
    milvus_describe_collection,
    milvus_drop_collection,
    milvus_rename_collection,
    milvus_load_collection,
    milvus_release_collection,
    milvus_flush,
)
