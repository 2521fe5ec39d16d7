"""milvus_create_collection: create, index and load in one call, from a quick setup or a full schema."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from mcp_server_milvus import errors, validation
from mcp_server_milvus import names as naming
from mcp_server_milvus.arguments import ArgumentObject, Database, FieldRef, NewCollection, NewField
from mcp_server_milvus.backends import Backend
from mcp_server_milvus.capabilities import Feature
from mcp_server_milvus.index_params import check_build_params, index_defaults
from mcp_server_milvus.models import VectorFieldOut, vector_fields_out
from mcp_server_milvus.records import field_lengths, with_index
from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.schema_cache import FieldInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.text import TextSetup, embedding_dimension
from mcp_server_milvus.tools import runtime, tool

logger = logging.getLogger(__name__)


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


ScalarType = Literal["BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "VARCHAR", "JSON", "ARRAY"]
VectorType = Literal["FLOAT_VECTOR", "SPARSE_FLOAT_VECTOR", "BINARY_VECTOR", "FLOAT16_VECTOR", "BFLOAT16_VECTOR"]
TypeName = Annotated[ScalarType | VectorType, BeforeValidator(_upper)]
ElementType = Annotated[
    Literal["BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "VARCHAR"], BeforeValidator(_upper)
]
MetricType = Annotated[
    Literal["COSINE", "L2", "IP", "BM25", "HAMMING", "JACCARD"],
    BeforeValidator(_upper),
]

Analyzer = Annotated[
    Literal["standard", "english", "chinese"],
    BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
]

DEFAULT_VARCHAR_LENGTH = 512
PRIMARY_FIELD = "id"
VECTOR_FIELD = "vector"
TEXT_MAX_LENGTH = 65535
PARTITION_KEY_TYPES = frozenset({"INT64", "VARCHAR"})


class FieldSpec(ArgumentObject):
    """One field of a full schema."""

    name: NewField
    type: TypeName
    is_primary: bool = False
    auto_id: bool = False
    dim: int | None = Field(None, ge=1, le=32768)
    max_length: int | None = Field(None, ge=1, le=65535, description="Default 512.")
    element_type: ElementType | None = None
    max_capacity: int | None = Field(None, ge=1, le=4096)
    nullable: bool = False
    default_value: Any = None
    enable_analyzer: bool = False
    analyzer: Analyzer | None = None
    is_partition_key: bool = False
    description: str = ""


class IndexSpec(ArgumentObject):
    field_name: FieldRef
    index_type: Annotated[str, Field(max_length=64), BeforeValidator(_upper)] = "AUTOINDEX"
    metric_type: MetricType | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class FunctionSpec(ArgumentObject):
    name: Annotated[str, AfterValidator(naming.new("function"))]
    type: Annotated[Literal["BM25"], BeforeValidator(_upper)] = "BM25"
    input_field_names: list[FieldRef] = Field(min_length=1)
    output_field_names: list[FieldRef] = Field(min_length=1)


class CreatedCollection(BaseModel):
    collection_name: str
    database: str
    primary_key: str
    vector_fields: list[VectorFieldOut]
    load_state: str


DEFAULTABLE = frozenset({"BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "VARCHAR"})


def _check_default(f: FieldSpec) -> None:
    """A default_value of the field's own type, or the create would leave a collection no tool can use."""
    if f.default_value is None:
        return
    if f.type not in DEFAULTABLE or f.is_primary:
        raise ToolError(
            f"Field '{f.name}': Milvus takes default_value only on non-primary BOOL, integer, FLOAT, DOUBLE and "
            f"VARCHAR fields, not {'the primary key' if f.is_primary else f.type}."
        )
    spec = FieldInfo(name=f.name, type=f.type, max_length=f.max_length or DEFAULT_VARCHAR_LENGTH)
    try:
        validation.scalar(f.default_value, spec, f"Field '{f.name}' default_value")
    except errors.SchemaMismatch as exc:
        raise ToolError(str(exc)) from None


def _check_partition_key(fields: list[FieldSpec], num_partitions: int | None, backend: Backend) -> None:
    """Milvus's rules for a partition key: one field, INT64 or VARCHAR, neither the primary key nor nullable
    (Lite takes a nullable one; a server refuses it), and num_partitions only with a key."""
    keys = [f for f in fields if f.is_partition_key]
    if len(keys) > 1:
        raise ToolError(
            f"A schema takes one partition key; is_partition_key is set on {errors.names([f.name for f in keys])}."
        )
    if not keys:
        if num_partitions is not None:
            raise ToolError(
                "num_partitions applies to a partition key: give partition_key_field (e.g. 'tenant'), or "
                "is_partition_key: true on one field of a full schema."
            )
        return
    key = keys[0]
    if key.type not in PARTITION_KEY_TYPES:
        raise ToolError(f"Partition key '{key.name}' must be INT64 or VARCHAR, not {key.type}.")
    if key.is_primary:
        raise ToolError(
            f"The primary key '{key.name}' cannot be the partition key; make a separate field (e.g. 'tenant') the key."
        )
    if key.nullable:
        raise ToolError(f"Partition key '{key.name}' cannot be nullable: every row needs a value to be placed by.")
    backend.capabilities.require("partition_key")
    unsupported = None if num_partitions is None else backend.unsupported_num_partitions(num_partitions)
    if unsupported:
        raise ToolError(f"{unsupported}.")


def _analyzers(fields: list[FieldSpec], backend: Backend) -> dict[str, dict[str, Any]]:
    """The analyzer_params of each field that names an analyzer, refused where the backend lacks it."""
    found: dict[str, dict[str, Any]] = {}
    for f in fields:
        if f.analyzer is None:
            continue
        if not f.enable_analyzer:
            raise ToolError(f"Field '{f.name}': analyzer applies with enable_analyzer: true on a VARCHAR field.")
        params = backend.analyzer_params(f.analyzer)
        if isinstance(params, str):
            raise ToolError(f"Field '{f.name}': {params}.")
        found[f.name] = params
    return found


def _check_fields(
    fields: list[FieldSpec], functions: list[FunctionSpec], backend: Backend, num_partitions: int | None
) -> None:
    """Reject a schema Milvus would reject, saying how to fix it, before anything is created."""
    names = [f.name for f in fields]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ToolError(f"Field names must be unique; repeated: {errors.names(duplicates)}.")
    primaries = [f for f in fields if f.is_primary]
    if len(primaries) != 1:
        raise ToolError(
            f"A schema needs exactly one primary key field (found {len(primaries)}); set is_primary: true on "
            "one INT64 or VARCHAR field."
        )
    if primaries[0].type not in {"INT64", "VARCHAR"}:
        raise ToolError(f"Primary key '{primaries[0].name}' must be INT64 or VARCHAR, not {primaries[0].type}.")
    outputs = {n for fn in functions for n in fn.output_field_names}
    if not any(f.type.endswith("_VECTOR") for f in fields):
        raise ToolError(
            "A schema needs at least one vector field, e.g. {name: 'vector', type: 'FLOAT_VECTOR', dim: 768}."
        )
    for f in fields:
        unsupported = backend.unsupported_field_type(f.type)
        if unsupported:
            raise ToolError(f"Field '{f.name}': {unsupported}.")
        _check_default(f)
        if f.type.endswith("_VECTOR") and f.type != "SPARSE_FLOAT_VECTOR" and f.dim is None:
            raise ToolError(
                f"Vector field '{f.name}' needs dim, e.g. {{name: '{f.name}', type: '{f.type}', dim: 768}}."
            )
        if f.type == "ARRAY" and (f.element_type is None or f.max_capacity is None):
            raise ToolError(f"ARRAY field '{f.name}' needs element_type (e.g. 'VARCHAR') and max_capacity (e.g. 100).")
        if f.type == "SPARSE_FLOAT_VECTOR" and f.name not in outputs and f.dim is not None:
            raise ToolError(f"Sparse vector field '{f.name}' takes no dim; remove it.")
    _check_partition_key(fields, num_partitions, backend)
    for fn in functions:
        for name in fn.input_field_names + fn.output_field_names:
            if name not in names:
                raise ToolError(
                    f"Function '{fn.name}' names field '{name}', which is not in fields.{errors.did_you_mean(name, names)}"
                )
        for name in fn.input_field_names:
            spec = next(f for f in fields if f.name == name)
            if spec.type != "VARCHAR" or not spec.enable_analyzer:
                raise ToolError(f"BM25 input field '{name}' must be VARCHAR with enable_analyzer: true.")
        for name in fn.output_field_names:
            if next(f for f in fields if f.name == name).type != "SPARSE_FLOAT_VECTOR":
                raise ToolError(f"BM25 output field '{name}' must be SPARSE_FLOAT_VECTOR.")


def _indexes(
    fields: list[FieldSpec], indexes: list[IndexSpec], functions: list[FunctionSpec], default_metric: str
) -> list[IndexSpec]:
    """The given indexes, plus AUTOINDEX for each vector field that has none."""
    by_name = {f.name: f for f in fields}
    bm25_outputs = {n for fn in functions for n in fn.output_field_names}
    for index in indexes:
        if index.field_name not in by_name:
            raise ToolError(
                f"Index on unknown field '{index.field_name}'.{errors.did_you_mean(index.field_name, by_name)} "
                f"Fields: {errors.names(by_name)}."
            )
    indexed = {i.field_name for i in indexes}
    result = []
    for index in indexes:
        f = by_name[index.field_name]
        if index.metric_type is None and f.type.endswith("_VECTOR"):
            metric = "BM25" if f.name in bm25_outputs else "IP" if f.type == "SPARSE_FLOAT_VECTOR" else default_metric
            metric = "HAMMING" if f.type == "BINARY_VECTOR" else metric
            index = index.model_copy(update={"metric_type": metric})
        result.append(index)
    for f in fields:
        if not f.type.endswith("_VECTOR") or f.name in indexed:
            continue
        if f.type == "SPARSE_FLOAT_VECTOR":
            metric = "BM25" if f.name in bm25_outputs else "IP"
            result.append(IndexSpec(field_name=f.name, index_type="SPARSE_INVERTED_INDEX", metric_type=metric))
        elif f.type == "BINARY_VECTOR":
            result.append(IndexSpec(field_name=f.name, index_type="BIN_FLAT", metric_type="HAMMING"))
        else:
            result.append(IndexSpec(field_name=f.name, index_type="AUTOINDEX", metric_type=default_metric))
    return result


def _build(index: IndexSpec, backend: Backend, on_vector: bool) -> dict[str, Any]:
    """What create_index is given for `index`, checked before anything is created."""
    unsupported = backend.unsupported_index(index.index_type) if on_vector else None
    if unsupported:
        raise ToolError(f"Index on '{index.field_name}': {unsupported}.")
    params = index_defaults(index.index_type, index.params)
    check_build_params(index.index_type, params)
    build: dict[str, Any] = {"index_type": index.index_type, "params": params}
    if index.metric_type:
        build["metric_type"] = index.metric_type
    return build


async def _remove(session: Session, collection: str, ours: bool, timeout: float) -> None:
    """Drop a collection a failed create made (`ours`), or may have made; never raises."""
    try:
        if ours or await session.client.has_collection(collection, timeout=timeout):
            await session.client.drop_collection(collection, timeout=timeout)
            logger.info("Dropped '%s' after its create failed", collection)
    except Exception as exc:
        logger.warning("Could not drop '%s' after its create failed: %s", collection, exc)


def _schema(
    fields: list[FieldSpec],
    functions: list[FunctionSpec],
    analyzers: dict[str, dict[str, Any]],
    enable_dynamic_field: bool,
    description: str,
) -> Any:
    from pymilvus import CollectionSchema, DataType, FieldSchema, Function, FunctionType

    built = []
    for f in fields:
        kwargs: dict[str, Any] = {"is_primary": f.is_primary, "description": f.description}
        if f.is_primary:
            kwargs["auto_id"] = f.auto_id
        if f.dim is not None and f.type != "SPARSE_FLOAT_VECTOR":
            kwargs["dim"] = f.dim
        if f.type == "VARCHAR" or f.element_type == "VARCHAR":
            kwargs["max_length"] = f.max_length or DEFAULT_VARCHAR_LENGTH
        if f.type == "ARRAY":
            kwargs["element_type"] = DataType[f.element_type or "INT64"]
            kwargs["max_capacity"] = f.max_capacity
        if f.nullable:
            kwargs["nullable"] = True
        if f.default_value is not None:
            kwargs["default_value"] = f.default_value
        if f.enable_analyzer:
            kwargs["enable_analyzer"] = True
        if f.name in analyzers:
            kwargs["analyzer_params"] = analyzers[f.name]
        if f.is_partition_key:
            kwargs["is_partition_key"] = True
        built.append(FieldSchema(f.name, DataType[f.type], **kwargs))
    schema = CollectionSchema(built, description=description, enable_dynamic_field=enable_dynamic_field)
    for fn in functions:
        schema.add_function(
            Function(
                name=fn.name,
                function_type=FunctionType.BM25,
                input_field_names=fn.input_field_names,
                output_field_names=fn.output_field_names,
            )
        )
    return schema


def _primary(id_type: str, auto_id: bool) -> FieldSpec:
    """The quick and text setups' primary key, `id` (a full schema names its own; string ids of 512 at most)."""
    if auto_id and id_type == "string":
        raise ToolError("auto_id needs id_type 'int': Milvus generates only INT64 ids.")
    return FieldSpec(
        name=PRIMARY_FIELD, type="INT64" if id_type == "int" else "VARCHAR", is_primary=True, auto_id=auto_id
    )


async def _text_fields(
    rt: Runtime,
    text_field: str,
    full_text: bool | None,
    id_type: str,
    auto_id: bool | None,
    analyzer: Analyzer | None,
) -> tuple[list[FieldSpec], list[FunctionSpec], TextSetup]:
    """The fields of a text collection: the text, its BM25 vectors, and its embeddings when a provider
    is configured (of the provider's dimension). Without `analyzer` Milvus uses its standard one."""
    full_text = True if full_text is None else full_text
    provider = rt.embedder
    if not full_text and provider is None:
        raise ToolError(
            "A text collection needs a vector field: keep full_text (BM25 keyword search), or start the server "
            "with an embedding provider (--embedding-provider local, from the [embeddings] extra)."
        )
    if analyzer is not None and not full_text:
        raise ToolError("analyzer splits text for keyword search: drop it, or keep full_text.")
    text = FieldSpec(
        name=text_field,
        type="VARCHAR",
        max_length=TEXT_MAX_LENGTH,
        enable_analyzer=full_text,
        analyzer=analyzer,
    )
    fields = [
        _primary(id_type, id_type == "int" if auto_id is None else auto_id),
        text,
    ]
    functions: list[FunctionSpec] = []
    sparse_field = dense_field = None
    if full_text:
        sparse_field = naming.derived(text_field, "_sparse")
        fields.append(FieldSpec(name=sparse_field, type="SPARSE_FLOAT_VECTOR"))
        functions.append(
            FunctionSpec(
                name=naming.derived(text_field, "_bm25"),
                input_field_names=[text_field],
                output_field_names=[sparse_field],
            )
        )
    dim = None
    if provider is not None:
        dense_field = naming.derived(text_field, "_dense")
        dim = await embedding_dimension(provider)
        fields.append(FieldSpec(name=dense_field, type="FLOAT_VECTOR", dim=dim))
    setup = TextSetup(
        text_field=text_field,
        sparse_field=sparse_field,
        dense_field=dense_field,
        provider=provider.name if provider else None,
        model=provider.model if provider else None,
        dim=dim,
    )
    return fields, functions, setup


@tool(destructive=False)
async def milvus_create_collection(
    ctx: Context,
    collection_name: NewCollection,
    dimension: Annotated[
        int | None, Field(ge=1, le=32768, description="Quick setup: give dimension, text_field or fields.")
    ] = None,
    metric_type: MetricType = "COSINE",
    id_type: Literal["int", "string"] = "int",
    auto_id: bool | None = None,
    text_field: Annotated[NewField | None, Field(description="Text setup: the field for each row's text.")] = None,
    full_text: Annotated[bool | None, Field(description="BM25 keyword search; default true.")] = None,
    analyzer: Annotated[Analyzer | None, Field(description="english stems (not on Lite); chinese uses jieba.")] = None,
    partition_key_field: Annotated[
        NewField | None,
        Field(description="A new field (e.g. tenant) picking each row's partition; filters on it read one."),
    ] = None,
    partition_key_type: Literal["string", "int"] | None = None,
    num_partitions: Annotated[int | None, Field(ge=1, le=1024)] = None,
    enable_dynamic_field: bool = True,
    description: str = "",
    fields: Annotated[list[FieldSpec] | None, Field(description="Full schema: every field, one is_primary.")] = None,
    indexes: Annotated[list[IndexSpec] | None, Field(description="Default: AUTOINDEX per vector field.")] = None,
    functions: Annotated[
        list[FunctionSpec] | None, Field(description="BM25: a VARCHAR with enable_analyzer → a SPARSE_FLOAT_VECTOR.")
    ] = None,
    database: Database = None,
) -> CreatedCollection:
    """Create a collection, index its vector fields and load it. Quick: {"collection_name": "docs", "dimension": 768}
    gives INT64 `id` and FLOAT_VECTOR `vector`. Text: {"collection_name": "docs", "text_field": "text"} is
    searchable by keywords (BM25) and, with an embedding provider, by meaning."""
    rt = runtime(ctx)
    t = rt.timeout
    rt.visibility.check_new("collections", collection_name)
    given = [
        name for name, value in (("dimension", dimension), ("text_field", text_field), ("fields", fields)) if value
    ]
    if len(given) != 1:
        raise ToolError(
            "Give one of dimension (quick setup, e.g. dimension: 768), text_field (text, e.g. text_field: "
            f"'text') or fields (full schema); got {errors.names(given) if given else 'none'}."
        )
    for name, value in (("full_text", full_text), ("analyzer", analyzer)):
        if value is not None and text_field is None:
            raise ToolError(f"{name} applies to a text collection: give text_field too, e.g. text_field: 'text'.")
    if partition_key_field is not None and fields is not None:
        raise ToolError(
            "partition_key_field is for quick and text setup; in a full schema set is_partition_key: true on the field."
        )
    if partition_key_type is not None and partition_key_field is None:
        raise ToolError("partition_key_type applies with partition_key_field, e.g. partition_key_field: 'tenant'.")
    functions = functions or []
    setup: TextSetup | None = None
    if text_field is not None:
        fields, functions, setup = await _text_fields(rt, text_field, full_text, id_type, auto_id, analyzer)
    elif fields is None:
        fields = [_primary(id_type, bool(auto_id))]
        fields.append(FieldSpec(name=VECTOR_FIELD, type="FLOAT_VECTOR", dim=dimension))
    if partition_key_field is not None:
        key_type = "INT64" if partition_key_type == "int" else "VARCHAR"
        fields = [*fields, FieldSpec(name=partition_key_field, type=key_type, is_partition_key=True)]
    index_specs = _indexes(fields, indexes or [], functions, metric_type)
    vector_types = {f.name: f.type for f in fields if f.type.endswith("_VECTOR")}

    async def op(session: Session) -> CreatedCollection:
        client = session.client
        backend = session.backend
        _check_fields(fields, functions, backend, num_partitions)
        analyzers = _analyzers(fields, backend)
        builds = {index.field_name: _build(index, backend, index.field_name in vector_types) for index in index_specs}
        capabilities = backend.capabilities
        needs: list[tuple[Feature, bool]] = [
            ("bm25", bool(functions)),
            ("sparse_vectors", any(f.type == "SPARSE_FLOAT_VECTOR" for f in fields)),
            ("multi_vector", sum(f.type.endswith("_VECTOR") for f in fields) > 1),
            ("nullable_default", any(f.nullable or f.default_value is not None for f in fields)),
        ]
        for feature, used in needs:
            if used:
                capabilities.require(feature)
        schema = _schema(fields, functions, analyzers, enable_dynamic_field, description)  # pymilvus is loaded now
        if await client.has_collection(collection_name, timeout=t):
            try:  # the name may be an alias of a collection the allow-lists hide: say nothing of it then
                await rt.schema(session, collection_name)
            except ToolError:
                raise ToolError(f"The name '{collection_name}' is taken; choose another collection_name.") from None
            rows = await session.row_count(collection_name, t)
            raise ToolError(
                f"Collection '{collection_name}' already exists ({rows} rows). Use it as it is, or drop it "
                "with milvus_drop_collection first."
            )
        properties: dict[str, str] = setup.as_property() if setup else {}
        if not backend.describe_keeps_params:
            for field_name, build in builds.items():
                properties.update(with_index(properties, field_name, build))
            varchars = [f for f in fields if f.element_type == "VARCHAR"]
            properties.update(field_lengths({f.name: f.max_length or DEFAULT_VARCHAR_LENGTH for f in varchars}))
        created = False
        try:
            extra = {} if num_partitions is None else {"num_partitions": num_partitions}
            await client.create_collection(collection_name, schema=schema, properties=properties, timeout=t, **extra)
            created = True
            steps = len(builds) + 2  # each a wait, reported once done: Milvus says nothing of an empty one
            await ctx.report_progress(1, steps, f"Collection '{collection_name}' created")
            for done, (field_name, build) in enumerate(builds.items(), start=2):
                await backend.create_index(client, collection_name, field_name, build, field_name, t)
                await ctx.report_progress(done, steps, f"Index on '{field_name}' built")
            await client.load_collection(collection_name, timeout=t)
            await ctx.report_progress(steps, steps, f"'{collection_name}' is loaded")
        except BaseException as exc:
            # Leave nothing half-made behind: the collection was ours, created a moment ago. A call cancelled
            # while create_collection was in flight may have created it all the same.
            cancelled = isinstance(exc, anyio.get_cancelled_exc_class())
            with anyio.CancelScope(shield=True), anyio.move_on_after(t):
                await _remove(session, collection_name, created or cancelled, t)
            raise
        finally:
            rt.forget(session, collection_name)
        rt.released.discard((session.database, collection_name))
        info, _ = await rt.schema(session, collection_name)
        return CreatedCollection(
            collection_name=collection_name,
            database=session.database,
            primary_key=info.primary.name,
            vector_fields=vector_fields_out(info),
            load_state=await session.load_state(collection_name, t),
        )

    return await rt.run(database, "create the collection", op)


TOOLS = (milvus_create_collection,)
