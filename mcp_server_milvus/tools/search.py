"""Search: nearest neighbours of one vector, with every argument checked against the field's index."""

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
    FieldRef,
    Filter,
    OutputFields,
)
from mcp_server_milvus.backends.base import LOWER_IS_BETTER
from mcp_server_milvus.results import clean, clean_row, fit, squeeze
from mcp_server_milvus.schema_cache import CollectionInfo, FieldInfo, IndexInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.tools import runtime, tool
from mcp_server_milvus.tools.query import MAX_WINDOW, output_warning

SEARCH_PARAMS: dict[str, set[str]] = {
    "FLAT": set(),
    "IVF_FLAT": {"nprobe"},
    "IVF_SQ8": {"nprobe"},
    "IVF_PQ": {"nprobe"},
    "IVF_RABITQ": {"nprobe", "rbq_query_bits", "refine_k"},
    "HNSW": {"ef"},
    "HNSW_SQ": {"ef", "refine_k"},
    "HNSW_PQ": {"ef", "refine_k"},
    "HNSW_PRQ": {"ef", "refine_k"},
    "AUTOINDEX": {"level", "ef"},
    "SCANN": {"nprobe", "reorder_k"},
    "DISKANN": {"search_list"},
    "SPARSE_INVERTED_INDEX": {"drop_ratio_search"},
    "SPARSE_WAND": {"drop_ratio_search"},
    "BIN_FLAT": set(),
    "BIN_IVF_FLAT": {"nprobe"},
}
"""Search parameters each index type takes. Milvus Lite accepts anything silently, so we check."""


class Hit(BaseModel):
    id: int | str
    score: float = Field(description="Higher is better, whatever the metric.")
    distance: float = Field(description="Milvus's raw value for the metric.")
    entity: dict[str, Any] = Field(default_factory=dict)


class SearchResult(BaseModel):
    hits: list[Hit]
    metric_type: str | None = None
    truncated: bool = False
    hint: str | None = None
    warning: str | None = None


def pick_field(info: CollectionInfo, anns_field: str | None) -> FieldInfo:
    vectors = info.vector_fields
    if anns_field is not None:
        f = validation.field_of_role(anns_field, info, "anns_field")
        if not f.is_vector:
            raise errors.SchemaMismatch(
                f"anns_field '{anns_field}' is {f.type}, not a vector field; use one of "
                f"{errors.names(v.name for v in vectors)}."
            )
        return f
    if len(vectors) != 1:
        raise ToolError(
            f"Collection '{info.name}' has {len(vectors)} vector fields; name one as anns_field: "
            f"{errors.names(v.name for v in vectors)}."
        )
    return vectors[0]


def query_vector(value: list[float] | dict[str, float] | str, f: FieldInfo, info: CollectionInfo) -> Any:
    """The search data for `f`: a dense vector, a sparse vector, or text for a BM25 field."""
    if isinstance(value, str):
        fn = info.function_for(f.name)
        if fn is None or fn.get("type") != "BM25":
            raise ToolError(
                f"Text queries need a BM25 function field; '{f.name}' takes a vector "
                f"({'dimension ' + str(f.dim) if f.dim else 'sparse'})."
            )
        return value
    return validation.vector(value, f, "vector")


def check_search_params(params: dict[str, Any], index: IndexInfo | None, f: FieldInfo, limit: int) -> dict[str, Any]:
    if not params:
        return {}
    if index is None:
        raise ToolError(f"Field '{f.name}' has no index yet; create one with milvus_create_index.")
    allowed = SEARCH_PARAMS.get(index.index_type.upper())
    if allowed is None:
        return params
    unknown = sorted(set(params) - allowed)
    if unknown:
        takes = f"takes {errors.names(sorted(allowed))}" if allowed else "takes no search_params"
        raise ToolError(
            f"search_params {errors.names(unknown)} do not apply to the {index.index_type} index on '{f.name}', "
            f"which {takes}."
        )
    if "ef" in params:
        ef = params["ef"]
        if not isinstance(ef, int) or isinstance(ef, bool) or not limit <= ef <= 32768:
            raise ToolError(f"search_params.ef must be an integer from limit ({limit}) to 32768, got {ef!r}.")
    if "nprobe" in params:
        nlist = int(index.params.get("nlist", 65536))
        nprobe = params["nprobe"]
        if not isinstance(nprobe, int) or isinstance(nprobe, bool) or not 1 <= nprobe <= nlist:
            raise ToolError(f"search_params.nprobe must be an integer from 1 to nlist ({nlist}), got {nprobe!r}.")
    if "drop_ratio_search" in params:
        ratio = params["drop_ratio_search"]
        if not isinstance(ratio, int | float) or not 0 <= ratio < 1:
            raise ToolError(f"search_params.drop_ratio_search must be in [0, 1), got {ratio!r}.")
    return params


GROUPABLE = frozenset({"BOOL", "INT8", "INT16", "INT32", "INT64", "VARCHAR"})


def check_group_by(name: str, info: CollectionInfo) -> None:
    """Grouping takes a scalar field of a type Milvus can group by; the error lists only those."""
    groupable = [f.name for f in info.fields if f.type in GROUPABLE and not f.is_vector]
    f = info.field(name)
    if f is not None and f.type in GROUPABLE:
        return
    what = f"is {f.type}" if f is not None else "is not a field of this collection"
    hint = errors.did_you_mean(name, groupable) if f is None else ""
    fields = f"Groupable fields: {errors.names(groupable)}." if groupable else "This collection has no groupable field."
    raise errors.SchemaMismatch(
        f"group_by_field '{name}' {what}.{hint} Group by an integer, VARCHAR or BOOL field. {fields}"
    )


def check_range(metric: str, radius: float | None, range_filter: float | None) -> None:
    if range_filter is not None and radius is None:
        raise ToolError("range_filter needs radius as well: range search returns hits between the two.")
    if radius is None or range_filter is None:
        return
    if metric in LOWER_IS_BETTER and not range_filter < radius:
        raise ToolError(
            f"With {metric} (lower is closer), range_filter must be below radius: hits have "
            f"range_filter <= distance < radius. Got radius={radius}, range_filter={range_filter}."
        )
    if metric not in LOWER_IS_BETTER and not range_filter > radius:
        raise ToolError(
            f"With {metric} (higher is closer), range_filter must be above radius: hits have "
            f"radius < distance <= range_filter. Got radius={radius}, range_filter={range_filter}."
        )


@tool(title="Vector search", read_only=True)
async def milvus_search(
    ctx: Context,
    collection_name: CollectionName,
    vector: Annotated[
        list[float] | dict[str, float] | str,
        Field(
            description="Query vector: a list of floats of the field's dimension; a sparse vector as "
            '{"index": weight}; or text, for a BM25 function field.'
        ),
    ],
    anns_field: Annotated[
        FieldRef | None, Field(description="Vector field to search; defaults to the only one.")
    ] = None,
    filter: Filter = None,
    limit: Annotated[int, Field(ge=1, le=MAX_WINDOW, description="Hits to return.")] = 10,
    offset: Annotated[int, Field(ge=0, lt=MAX_WINDOW, description="Hits to skip, for paging.")] = 0,
    output_fields: OutputFields = None,
    metric_type: Annotated[
        str | None, Field(max_length=32, description="Must match the field's index metric; usually leave it out.")
    ] = None,
    radius: Annotated[
        float | None, Field(allow_inf_nan=False, description="Range search: the outer bound of distance.")
    ] = None,
    range_filter: Annotated[
        float | None, Field(allow_inf_nan=False, description="Range search: the inner bound.")
    ] = None,
    group_by_field: Annotated[
        FieldRef | None, Field(description="Return at most one hit per value of this scalar field.")
    ] = None,
    search_params: Annotated[
        dict[str, Any] | None,
        Field(description='Index-specific, e.g. {"ef": 64} for HNSW, {"nprobe": 16} for IVF.'),
    ] = None,
    consistency_level: Consistency = DEFAULT_CONSISTENCY,
    database: Database = None,
) -> SearchResult:
    """Find the rows nearest to a query vector. Each hit has id, score (higher is better),
    distance (Milvus's raw value) and entity (output fields; vectors only when named).
    Example: {"collection_name": "docs", "vector": [0.1, 0.2, ...], "filter": "year > 2020", "limit": 5}."""
    rt = runtime(ctx)
    t = rt.timeout
    budget = rt.settings.max_result_bytes
    if offset + limit > MAX_WINDOW:
        raise ToolError(f"offset + limit may be at most {MAX_WINDOW} (got {offset + limit}).")

    async def op(session: Session, info: CollectionInfo) -> SearchResult:
        f = pick_field(info, anns_field)
        data = query_vector(vector, f, info)
        capabilities = session.backend.capabilities
        if f.type == "SPARSE_FLOAT_VECTOR":
            capabilities.require("bm25" if isinstance(data, str) else "sparse_vectors")
        if group_by_field is not None:
            capabilities.require("group_by")
        index = info.index_for(f.name)
        metric = index.metric_type if index else None
        if metric_type is not None and metric is not None and metric_type.upper() != metric.upper():
            raise errors.SchemaMismatch(
                f"Field '{f.name}' is indexed with metric {metric}; search with metric_type '{metric}' or leave "
                f"metric_type out (got '{metric_type}')."
            )
        params = dict(check_search_params(search_params or {}, index, f, limit))
        check_range(metric or "COSINE", radius, range_filter)
        if radius is not None:
            params["radius"] = radius
        if range_filter is not None:
            params["range_filter"] = range_filter
        if group_by_field is not None:
            check_group_by(group_by_field, info)
        fields, hidden = validation.output_fields(output_fields, info)
        # The index's own metric is the server's default: sending the cached one would keep a stale metric
        # in use after another program rebuilt the index (and Milvus Lite would not even complain).
        search_params_arg: dict[str, Any] = {"params": params}
        if metric_type is not None:
            search_params_arg["metric_type"] = metric_type.upper()
        kwargs: dict[str, Any] = {}
        if group_by_field:
            kwargs["group_by_field"] = group_by_field
        with errors.explained_filter(filter, info, session.backend):
            answer = await session.client.search(
                info.name,
                data=[data],
                anns_field=f.name,
                filter=filter or "",
                limit=limit,
                offset=offset,
                output_fields=fields,
                search_params=search_params_arg,
                consistency_level=consistency_level,
                timeout=t,
                **kwargs,
            )
        hits = []
        for raw in answer[0] if answer else []:
            distance = float(raw.get("distance", 0.0))
            entity = clean_row(dict(raw.get("entity") or {}), hidden | {info.primary.name}, info.int64_fields)
            hits.append(
                Hit(
                    id=clean(session.backend.hit_id(raw, info.primary.name)),
                    score=session.backend.score(metric, distance),
                    distance=distance,
                    entity=entity,
                )
            )
        warning = (validation.empty_result_warning(filter, info) if not hits else None) or (
            await output_warning(session, info, output_fields, [h.entity for h in hits], t)
        )

        def build(n: int, squeezed: bool = False) -> SearchResult:
            cut = n < len(hits)
            return SearchResult(
                hits=hits[:n],
                metric_type=metric,
                truncated=cut or squeezed,
                hint=f"Cut to {n} of {len(hits)} hits to fit {budget} bytes; lower limit, name fewer "
                f"output_fields, or page with offset={offset + n}."
                if cut
                else ("A hit was cut to fit the result budget; name fewer output_fields." if squeezed else None),
                warning=warning,
            )

        result, n = fit(build, hits, budget)
        if n == 0 and hits:  # one hit larger than the budget: send it cut, so that paging moves on
            hits[0] = hits[0].model_copy(update={"entity": squeeze(hits[0].entity, budget // 2)})
            result = build(1, squeezed=True)
        return result

    return await rt.on_collection(database, collection_name, "search", op, load=True)


TOOLS = (milvus_search,)
