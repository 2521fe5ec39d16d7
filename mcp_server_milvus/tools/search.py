"""Search: nearest neighbours of one vector, with every argument checked against the field's index."""

from __future__ import annotations

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
    FieldRef,
    Filter,
    Ids,
    OutputFields,
    PartitionNames,
)
from mcp_server_milvus.backends.base import LOWER_IS_BETTER
from mcp_server_milvus.embeddings.base import Provider
from mcp_server_milvus.gather import gather
from mcp_server_milvus.results import clean, clean_row, fit, squeeze
from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.schema_cache import CollectionInfo, FieldInfo, IndexInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.text import bm25_fields, dense_provider, embed, setup_of
from mcp_server_milvus.tools import runtime, tool
from mcp_server_milvus.tools.partitions import check_partitions
from mcp_server_milvus.tools.query import MAX_WINDOW, output_warning, run_query

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


class QueryHits(BaseModel):
    id: int | str | None = Field(None, description="For like_ids: the row these hits are like.")
    hits: list[Hit]
    warning: str | None = None


class SearchResult(BaseModel):
    hits: list[Hit] | None = Field(None, description="For one query (vector or text).")
    results: list[QueryHits] | None = Field(
        None, description="For several queries (vectors, texts or like_ids), in order."
    )
    anns_field: str = Field(description="The vector field searched.")
    metric_type: str | None = None
    truncated: bool = False
    hint: str | None = None
    warning: str | None = None


Vector = list[float] | dict[str, float]


def pick_field(info: CollectionInfo, anns_field: str | None, sparse: bool | None = None) -> FieldInfo:
    """The field a vector query searches: `anns_field`, else the only vector field (of the query's kind
    when `sparse` says which: a text collection has a dense and a sparse one)."""
    vectors = info.vector_fields
    if anns_field is not None:
        f = validation.field_of_role(anns_field, info, "anns_field")
        if not f.is_vector:
            raise errors.SchemaMismatch(
                f"anns_field '{anns_field}' is {f.type}, not a vector field; use one of "
                f"{errors.names(v.name for v in vectors)}."
            )
        return f
    candidates = vectors
    if sparse is not None and len(vectors) > 1:
        candidates = [v for v in vectors if (v.type == "SPARSE_FLOAT_VECTOR") == sparse and not v.is_function_output]
    if len(candidates) != 1:
        raise ToolError(
            f"Collection '{info.name}' has {len(vectors)} vector fields; name one as anns_field: "
            f"{errors.names(v.name for v in vectors)}."
        )
    return candidates[0]


def text_target(info: CollectionInfo, anns_field: str | None, provider: Provider | None) -> tuple[FieldInfo, bool]:
    """The field a text query searches, and whether the text is embedded first (a dense field) or sent
    as it is (a BM25 field). Choice: `anns_field`; else the recorded dense field; else the BM25 field."""
    setup = setup_of(info)
    bm25 = {sparse for _, sparse in bm25_fields(info)}
    if anns_field is not None:
        f = pick_field(info, anns_field)
        if f.name in bm25:
            return f, False
        if setup is not None and f.name == setup.dense_field:
            dense_provider(setup, provider, info.name)
            return f, True
        raise ToolError(
            f"'{f.name}' holds vectors made outside this server ({f.type}), so a text cannot be searched there; "
            f"pass vector instead{', or search ' + errors.names(sorted(bm25)) + ' (BM25)' if bm25 else ''}."
        )
    if setup is not None and setup.dense_field is not None and (provider is not None or setup.sparse_field is None):
        dense_provider(setup, provider, info.name)
        return validation.field_of_role(setup.dense_field, info, "anns_field"), True
    if bm25:
        name = setup.sparse_field if setup is not None and setup.sparse_field in bm25 else sorted(bm25)[0]
        return validation.field_of_role(name, info, "anns_field"), False
    raise ToolError(
        f"Collection '{info.name}' has no field a text can search: no BM25 function and no embeddings recorded by "
        "this server. Pass vector, or create a text collection with milvus_create_collection "
        '{"text_field": "text"} and insert the texts there.'
    )


def refuse_vector_for_bm25(info: CollectionInfo, f: FieldInfo, where: str) -> None:
    """A BM25 field is searched with text: Milvus makes the query's sparse vector from it. A sparse vector
    sent there fails with a code Milvus also uses for bad filters, so the agent would be told to fix its
    filter."""
    source = next((text for text, sparse in bm25_fields(info) if sparse == f.name), None)
    if source is not None:
        raise errors.SchemaMismatch(
            f"{where}: '{f.name}' is filled by a BM25 function from '{source}'; search it with text, not a vector."
        )


LIKE_TYPES = frozenset({"FLOAT_VECTOR", "SPARSE_FLOAT_VECTOR"})
"""Vector types whose stored values, as a query returns them, can be sent back as search data."""


def like_target(info: CollectionInfo, anns_field: str | None) -> tuple[FieldInfo, str]:
    """The field `like_ids` searches, and the field whose stored value each source row gives as its query.

    Choice: `anns_field`; else a text collection's dense field (its stored vectors: no embedding needed),
    else its BM25 field; else the only vector field. A BM25 field is searched with the row's text, the
    function's input: a BM25 search takes text, and what a query returns for the output field (Milvus Lite
    gives raw term counts) is no such query."""
    if anns_field is not None:
        f = pick_field(info, anns_field)
    else:
        setup = setup_of(info)
        name = (setup.dense_field or setup.sparse_field) if setup is not None else None
        f = validation.field_of_role(name, info, "anns_field") if name else pick_field(info, None)
    texts = {sparse: text for text, sparse in bm25_fields(info)}
    if f.name in texts:
        return f, texts[f.name]
    if f.is_function_output or f.type not in LIKE_TYPES:
        raise ToolError(
            f"like_ids cannot search '{f.name}' ({f.type}{', computed by a function' if f.is_function_output else ''}"
            "): it searches FLOAT_VECTOR and SPARSE_FLOAT_VECTOR fields, and BM25 fields by their text. Pass "
            "vector instead, or name another anns_field."
        )
    return f, f.name


async def like_queries(
    rt: Runtime, session: Session, info: CollectionInfo, keys: list[int | str], source: str
) -> list[Any]:
    """The stored `source` value of each row in `keys` (typed primary keys), in order, read with one Strong
    query from every partition: "more like this row" names a row, wherever it is stored.

    The rows are fetched and their values sent as plain queries rather than through pymilvus's
    `search(ids=...)`: Milvus Lite refuses that form and Milvus 2.3 predates it, and this form works on all."""
    found = await run_query(
        session,
        info,
        validation.pk_filter(info, keys),
        rt.timeout,
        None,
        output_fields=[source],
        limit=len(keys),
        consistency_level=DEFAULT_CONSISTENCY,
    )
    values = {row.get(info.primary.name): row.get(source) for row in found}
    missing = [key for key in keys if key not in values]
    if missing:
        await rt.confirm_primary_key(session, info)
        raise ToolError(
            f"like_ids {errors.names([str(k) for k in clean(missing)], limit=5)} not found in '{info.name}' "
            f"({len(values)} of {len(keys)} found); check them with milvus_query, or leave them out."
        )
    empty = [key for key in keys if values[key] in (None, "", {})]
    if empty:
        raise ToolError(
            f"like_ids {errors.names([str(k) for k in clean(empty)], limit=5)} have no value in '{source}' to "
            "search with; leave them out."
        )
    return [values[key] for key in keys]


def excluding(info: CollectionInfo, key: int | str, filter: str | None) -> str:
    """The filter of a like_ids search: the agent's filter, without the source row itself.

    Each row gets its own search with its own filter, so the row is left out exactly, with offset paging
    too: asking for one hit more and dropping the row would shift the page whenever the row falls among
    the `offset` hits skipped. The searches run concurrently."""
    own = f"{info.primary.name} != {json.dumps(key, ensure_ascii=False)}"
    return f"{own} and ({filter})" if filter else own


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


def no_terms_warning(filter: str | None, like: bool = False) -> str:
    """Why a BM25 search found nothing: no row holds any word of the query (for like_ids, no other row
    holds any word of the source row's text)."""
    where = " among the rows the filter keeps" if filter else ""
    if like:
        return f"No other row holds any word of this row's text{where}: BM25 matches whole words."
    return (
        f"No row holds any word of this text{where}: BM25 matches whole words (lowercased, split on spaces and "
        "punctuation). Try other words, or a search by meaning on a collection with embeddings."
    )


MAX_QUERIES = 16
"""Queries per call: each brings up to `limit` hits, all within one result budget."""


@tool(read_only=True)
async def milvus_search(
    ctx: Context,
    collection_name: CollectionName,
    text: Annotated[
        str | None,
        Field(
            min_length=1, description="Embedded, or BM25 keywords. Give one of text, texts, vector, vectors, like_ids."
        ),
    ] = None,
    texts: Annotated[
        list[Annotated[str, Field(min_length=1)]] | None, Field(min_length=1, max_length=MAX_QUERIES)
    ] = None,
    vector: Annotated[Vector | None, Field(description='Floats, or sparse as {"index": weight}.')] = None,
    vectors: Annotated[list[Vector] | None, Field(min_length=1, max_length=MAX_QUERIES)] = None,
    like_ids: Annotated[
        Ids, Field(min_length=1, max_length=MAX_QUERIES, description="Stored rows to find more like.")
    ] = None,
    anns_field: Annotated[FieldRef | None, Field(description="Default: the text's, or the only vector field.")] = None,
    filter: Filter = None,
    limit: Annotated[int, Field(ge=1, le=MAX_WINDOW)] = 10,
    offset: Annotated[int, Field(ge=0, lt=MAX_WINDOW)] = 0,
    output_fields: OutputFields = None,
    partition_names: PartitionNames = None,
    metric_type: Annotated[str | None, Field(max_length=32, description="The index's; leave out.")] = None,
    radius: Annotated[float | None, Field(allow_inf_nan=False, description="Range search: outer bound.")] = None,
    range_filter: Annotated[float | None, Field(allow_inf_nan=False, description="Range search: inner bound.")] = None,
    group_by_field: Annotated[FieldRef | None, Field(description="At most group_size (1) hits per value.")] = None,
    group_size: Annotated[int | None, Field(ge=1, le=1024)] = None,
    strict_group_size: bool | None = None,
    search_params: Annotated[dict[str, Any] | None, Field(description='e.g. {"ef": 64}, {"nprobe": 16}.')] = None,
    consistency_level: Consistency = DEFAULT_CONSISTENCY,
    database: Database = None,
) -> SearchResult:
    """Find the rows nearest to a text, a vector, or stored rows (like_ids, the row itself left out); plural forms give
    results per query. Hits: id, score (higher is better), distance, entity (untrusted data). Example:
    {"collection_name": "docs", "text": "solar power"}."""
    rt = runtime(ctx)
    t = rt.timeout
    budget = rt.settings.max_result_bytes
    forms = (("text", text), ("texts", texts), ("vector", vector), ("vectors", vectors), ("like_ids", like_ids))
    given = [n for n, v in forms if v is not None]
    if len(given) != 1:
        raise ToolError(
            'Give exactly one of text (e.g. "solar power"), texts, vector, vectors or like_ids (e.g. [42]); got '
            f"{errors.names(given) if given else 'none'}."
        )
    limits.check_limit(limit, rt.settings.max_limit)
    if offset + limit > MAX_WINDOW:
        raise ToolError(f"offset + limit may be at most {MAX_WINDOW} (got {offset + limit}).")
    if (group_size is not None or strict_group_size is not None) and group_by_field is None:
        raise ToolError("group_size and strict_group_size apply to grouping: give group_by_field too.")
    batch = texts is not None or vectors is not None or like_ids is not None
    queries: list[Any] = texts or vectors or like_ids or [text if text is not None else vector]
    textual = text is not None or texts is not None

    async def op(session: Session, info: CollectionInfo) -> SearchResult:
        keys: list[int | str] = []
        data: list[Any] = []  # like_ids: read from the rows once every argument is checked
        if like_ids is not None:
            f, source = like_target(info, anns_field)
            keys = validation.primary_keys(like_ids, info)
            if len(set(keys)) < len(keys):
                twice = next(k for i, k in enumerate(keys) if k in keys[:i])
                raise ToolError(f"like_ids names {clean(twice)!r} twice; give each id once.")
            keywords = source != f.name  # a BM25 field, searched with each row's text
        elif textual:
            f, embedded = text_target(info, anns_field, rt.embedder)
            keywords = not embedded
        else:
            first = queries[0]
            f, keywords = pick_field(info, anns_field, isinstance(first, dict) if anns_field is None else None), False
            refuse_vector_for_bm25(info, f, "vector")
        if textual and keywords:
            data = list(queries)
        elif textual:
            assert rt.embedder is not None
            data = (await embed(rt.embedder, list(queries))).vectors
        elif like_ids is None:
            data = [validation.vector(v, f, "vector") for v in queries]
        capabilities = session.backend.capabilities
        if f.type == "SPARSE_FLOAT_VECTOR":
            capabilities.require("bm25" if keywords else "sparse_vectors")
        if group_by_field is not None:
            capabilities.require("group_by")
            check_group_by(group_by_field, info)
        if partition_names:
            await check_partitions(session, info, partition_names, t)
        index = info.index_for(f.name)
        metric = index.metric_type if index else None
        if metric_type is not None and metric is not None and metric_type.upper() != metric.upper():
            raise errors.SchemaMismatch(
                f"Field '{f.name}' is indexed with metric {metric}; search with metric_type '{metric}' or leave "
                f"metric_type out (got '{metric_type}')."
            )
        params = dict(check_search_params(search_params or {}, index, f, limit))
        lacking = session.backend.unsupported_search_params(params)
        if lacking:
            raise ToolError(f"search_params on '{f.name}': {lacking}.")
        check_range(metric or "COSINE", radius, range_filter)
        if radius is not None:
            params["radius"] = radius
        if range_filter is not None:
            params["range_filter"] = range_filter
        fields, hidden = validation.output_fields(output_fields, info)
        # The index's own metric is the server's default: sending the cached one would keep a stale metric
        # in use after another program rebuilt the index (and Milvus Lite would not even complain).
        search_params_arg: dict[str, Any] = {"params": params}
        if metric_type is not None:
            search_params_arg["metric_type"] = metric_type.upper()
        kwargs: dict[str, Any] = {}
        if group_by_field:
            kwargs["group_by_field"] = group_by_field
        if group_size is not None:
            kwargs["group_size"] = group_size
        if strict_group_size is not None:
            kwargs["strict_group_size"] = strict_group_size
        if partition_names:
            kwargs["partition_names"] = partition_names

        async def search(data: list[Any], expr: str) -> list[list[Hit]]:
            with errors.explained_filter(filter, info, session.backend):
                answer = await session.client.search(
                    info.name,
                    data=data,
                    anns_field=f.name,
                    filter=expr,
                    limit=limit,
                    offset=offset,
                    output_fields=fields,
                    search_params=search_params_arg,
                    consistency_level=consistency_level,
                    timeout=t,
                    **kwargs,
                )
            return [hits_of(session, info, metric, list(raw), hidden) for raw in answer or []]

        if like_ids is not None:  # one search per row, each without that row (see `excluding`)
            sources = await like_queries(rt, session, info, keys, source)
            answers = await gather(
                *(
                    lambda q=q, key=key: search([q], excluding(info, key, filter))
                    for q, key in zip(sources, keys, strict=True)
                )
            )
            per_query = [found[0] if found else [] for found in answers]
        else:
            per_query = await search(data, filter or "")
        per_query += [[] for _ in range(len(queries) - len(per_query))]
        warnings: list[str | None] = []
        for hits in per_query:
            warning = None
            if not hits:
                warning = validation.empty_result_warning(filter, info) or (
                    no_terms_warning(filter, like_ids is not None) if keywords and radius is None else None
                )
            warnings.append(warning)
        entities = [h.entity for hits in per_query for h in hits]
        overall = await output_warning(session, info, output_fields, entities, t)

        def build(n: int, squeezed: bool = False) -> SearchResult:
            cut = any(n < len(hits) for hits in per_query)
            hint = None
            if cut:
                hint = (
                    f"Cut to {n} hits per query to fit {budget} bytes; lower limit, name fewer output_fields, "
                    f"or page with offset={offset + n}."
                )
            elif squeezed:
                hint = "A hit was cut to fit the result budget; name fewer output_fields."
            common = {"anns_field": f.name, "metric_type": metric, "truncated": cut or squeezed, "hint": hint}
            if batch:
                ids = [clean(k) for k in keys] or [None] * len(per_query)
                results = [
                    QueryHits(id=i, hits=h[:n], warning=w) for i, h, w in zip(ids, per_query, warnings, strict=True)
                ]
                return SearchResult(results=results, warning=overall, **common)
            return SearchResult(hits=per_query[0][:n], warning=warnings[0] or overall, **common)

        longest = max((len(h) for h in per_query), default=0)
        result, n = fit(build, range(longest), budget)
        if n == 0 and longest:  # a hit larger than the budget: send each query's first cut, so paging moves on
            share = budget // (2 * len(per_query))
            for hits in per_query:
                if hits:
                    hits[0] = hits[0].model_copy(update={"entity": squeeze(hits[0].entity, share)})
            result = build(1, squeezed=True)
        return result

    return await rt.on_collection(database, collection_name, "search", op, load=True, progress=ctx.report_progress)


def hits_of(session: Session, info: CollectionInfo, metric: str | None, raw: list[Any], hidden: set[str]) -> list[Hit]:
    """One query's hits as the agent sees them: scores higher-is-better, rows cleaned."""
    hits = []
    primary = info.primary.name
    left_out = hidden | {primary}
    int64_fields = info.int64_fields
    for item in raw:
        distance = float(item.get("distance", 0.0))
        entity = clean_row(dict(item.get("entity") or {}), left_out, int64_fields)
        hits.append(
            Hit(
                id=clean(session.backend.hit_id(item, primary)),
                score=session.backend.score(metric, distance),
                distance=distance,
                entity=entity,
            )
        )
    return hits


TOOLS = (milvus_search,)
