"""Hybrid search: several vector searches of one collection (dense and BM25, or two embeddings), fused
into one ranking by Milvus's RRF or weighted ranker.

Each sub-search is checked against its own field and index, as `milvus_search` checks its one: a search
parameter of one index type sent to another is refused here, naming the index, rather than dropped by
Milvus Lite or refused by a server with a catch-all code.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcp_server_milvus import errors, limits, validation
from mcp_server_milvus.arguments import (
    DEFAULT_CONSISTENCY,
    ArgumentObject,
    CollectionName,
    Consistency,
    Database,
    FieldRef,
    Filter,
    OutputFields,
    PartitionNames,
)
from mcp_server_milvus.embeddings.base import Provider
from mcp_server_milvus.results import clean, clean_row, fit, squeeze
from mcp_server_milvus.schema_cache import CollectionInfo, FieldInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.text import bm25_fields, dense_provider, embed, setup_of
from mcp_server_milvus.tools import runtime, tool
from mcp_server_milvus.tools.partitions import check_partitions
from mcp_server_milvus.tools.query import MAX_WINDOW, output_warning
from mcp_server_milvus.tools.search import (
    Vector,
    check_search_params,
    pick_field,
    refuse_vector_for_bm25,
    text_target,
)

MAX_SEARCHES = 10
"""Sub-searches per call: each is one vector search of its own."""

CANDIDATES = 50
"""The least number of hits each sub-search brings to the fusion, unless it names its own limit. A row
that is, say, 12th by meaning and 15th by keywords belongs near the top of the fused ranking, but only if
both lists reach that far: sub-searches as short as the final limit would drop it for rows that only one
search found. Fifty is deep enough for that at the usual limits and cheap for either backend."""

RRF_K_MAX = 16384
"""Milvus takes RRF's k in (0, 16384)."""


class SubSearch(ArgumentObject):
    anns_field: FieldRef
    vector: Annotated[Vector | None, Field(description="Give vector or text.")] = None
    text: Annotated[str | None, Field(min_length=1)] = None
    filter: Annotated[str | None, Field(description="And-ed with the call's filter.")] = None
    limit: Annotated[int | None, Field(ge=1, le=MAX_WINDOW, description=f"Default max(limit, {CANDIDATES}).")] = None
    params: dict[str, Any] | None = None


class FusedHit(BaseModel):
    id: int | str
    score: float = Field(description="The fused score: higher is better.")
    entity: dict[str, Any] = Field(default_factory=dict)


class SearchUsed(BaseModel):
    anns_field: str
    metric_type: str | None = None


class RankerUsed(BaseModel):
    type: Literal["rrf", "weighted"]
    k: int | None = None
    weights: list[float] | None = None


class HybridResult(BaseModel):
    hits: list[FusedHit]
    ranker: RankerUsed
    searches: list[SearchUsed] = Field(description="The sub-searches fused, in order.")
    truncated: bool = False
    hint: str | None = None
    warning: str | None = None


def text_fields(info: CollectionInfo, provider: Provider | None) -> list[tuple[FieldInfo, bool]]:
    """The fields a text searches when no sub-search is named: the embedded field this server recorded
    first, then every BM25 field; each with whether the text is embedded. A recorded embedded field
    without the provider that made it is an error naming the model (searching the rest would quietly
    not be hybrid)."""
    setup = setup_of(info)
    found: list[tuple[FieldInfo, bool]] = []
    if setup is not None and setup.dense_field is not None:
        dense_provider(setup, provider, info.name)
        found.append((validation.field_of_role(setup.dense_field, info, "anns_field"), True))
    for _, sparse in bm25_fields(info):
        found.append((validation.field_of_role(sparse, info, "anns_field"), False))
    if len(found) >= 2:
        return found
    has = f"one field a text can search ('{found[0][0].name}')" if found else "no field a text can search"
    raise ToolError(
        f"Collection '{info.name}' has {has}; hybrid search fuses two or more. Use milvus_search "
        f'{{"collection_name": "{info.name}", "text": ...}}, or give searches with a vector for each field.'
    )


def combined(top: str | None, own: str | None) -> str:
    """The call's filter and a sub-search's own, both applied."""
    if top and own:
        return f"({top}) and ({own})"
    return top or own or ""


def ranker_of(ranker: str, rrf_k: int | None, weights: list[float] | None, n: int) -> tuple[Any, RankerUsed]:
    """pymilvus's ranker for `n` sub-searches, and how the result names it. Weighted scores are
    normalised per metric (pymilvus's default), so that BM25's unbounded scores and cosine's [-1, 1]
    add up on one scale."""
    from pymilvus import RRFRanker, WeightedRanker  # kept off the start path, like every pymilvus import

    if ranker == "rrf":
        k = 60 if rrf_k is None else rrf_k
        return RRFRanker(k), RankerUsed(type="rrf", k=k)
    chosen = weights if weights is not None else [round(1 / n, 6)] * n
    return WeightedRanker(*chosen), RankerUsed(type="weighted", weights=chosen)


def check_arguments(
    text: str | None,
    searches: list[SubSearch] | None,
    ranker: str,
    rrf_k: int | None,
    weights: list[float] | None,
) -> None:
    """What can be checked without the schema: one way to query, a ranker's own options, counts."""
    if (text is None) == (searches is None):
        raise ToolError(
            'Give text (e.g. "solar power": every field a text can search) or searches (e.g. '
            '[{"anns_field": "dense", "vector": [...]}, {"anns_field": "sparse", "text": "solar"}]), not both.'
            if text is not None
            else "Give text or searches: the text to search with, or the sub-searches to fuse."
        )
    if ranker == "rrf" and weights is not None:
        raise ToolError('weights apply to ranker "weighted"; give ranker "weighted" too, or leave weights out.')
    if ranker == "weighted" and rrf_k is not None:
        raise ToolError('rrf_k applies to ranker "rrf" (the default); leave it out with ranker "weighted".')
    for i, s in enumerate(searches or []):
        if (s.vector is None) == (s.text is None):
            raise ToolError(f"searches[{i}] ('{s.anns_field}'): give exactly one of vector or text.")
    if searches is not None and len(searches) < 2:
        raise ToolError(
            "Hybrid search fuses two or more searches; for one, use milvus_search with its anns_field "
            f"('{searches[0].anns_field}')."
        )
    if searches is not None and weights is not None and len(weights) != len(searches):
        raise ToolError(
            f"Give one weight per search: {len(searches)} searches, {len(weights)} weights (in the order of searches)."
        )


@tool(read_only=True)
async def milvus_hybrid_search(
    ctx: Context,
    collection_name: CollectionName,
    text: Annotated[
        str | None, Field(min_length=1, description="Every field a text can search. Give text or searches.")
    ] = None,
    searches: Annotated[list[SubSearch] | None, Field(min_length=1, max_length=MAX_SEARCHES)] = None,
    ranker: Literal["rrf", "weighted"] = "rrf",
    rrf_k: Annotated[int | None, Field(ge=1, lt=RRF_K_MAX, description="Default 60.")] = None,
    weights: Annotated[
        list[Annotated[float, Field(ge=0, le=1)]] | None, Field(min_length=1, max_length=MAX_SEARCHES)
    ] = None,
    limit: Annotated[int, Field(ge=1, le=MAX_WINDOW)] = 10,
    filter: Filter = None,
    output_fields: OutputFields = None,
    partition_names: PartitionNames = None,
    consistency_level: Consistency = DEFAULT_CONSISTENCY,
    database: Database = None,
) -> HybridResult:
    """Fuse the rankings of several vector fields: keywords (BM25) and meaning, or two embeddings. Hits: id, fused score,
    entity (untrusted data). Example: {"collection_name": "docs", "text": "error E1234"}."""
    rt = runtime(ctx)
    t = rt.timeout
    budget = rt.settings.max_result_bytes
    check_arguments(text, searches, ranker, rrf_k, weights)
    most = rt.settings.max_limit
    limits.check_limit(limit, most)
    for i, s in enumerate(searches or []):
        if s.limit is not None:
            limits.check_limit(s.limit, most, f"searches[{i}].limit")

    async def op(session: Session, info: CollectionInfo) -> HybridResult:
        capabilities = session.backend.capabilities
        capabilities.require("multi_vector")
        if searches is None:
            assert text is not None
            plan = [
                (f, embedded, SubSearch(anns_field=f.name, text=text)) for f, embedded in text_fields(info, rt.embedder)
            ]
            if weights is not None and len(weights) != len(plan):
                used = errors.names(f.name for f, _, _ in plan)
                raise ToolError(f"Give one weight per search: the text searches {used}, in that order.")
        else:
            plan = []
            for s in searches:
                if s.text is not None:
                    f, embedded = text_target(info, s.anns_field, rt.embedder)
                else:
                    f, embedded = pick_field(info, s.anns_field), False
                    refuse_vector_for_bm25(info, f, f"searches[{len(plan)}]")
                plan.append((f, embedded, s))
        reqs_data: list[Any] = []
        for i, (f, _, s) in enumerate(plan):
            if f.type == "SPARSE_FLOAT_VECTOR":
                capabilities.require("bm25" if s.text is not None else "sparse_vectors")
            reqs_data.append(s.text if s.text is not None else validation.vector(s.vector, f, f"searches[{i}].vector"))
        to_embed = [i for i, (_, embedded, _) in enumerate(plan) if embedded]
        if to_embed:
            assert rt.embedder is not None
            vectors = (await embed(rt.embedder, [reqs_data[i] for i in to_embed])).vectors
            for i, v in zip(to_embed, vectors, strict=True):
                reqs_data[i] = v
        from pymilvus import AnnSearchRequest

        reqs = []
        used = []
        for i, ((f, _, s), data) in enumerate(zip(plan, reqs_data, strict=True)):
            index = info.index_for(f.name)
            depth = s.limit if s.limit is not None else min(max(limit, CANDIDATES), most)
            try:
                params = check_search_params(s.params or {}, index, f, depth)
            except ToolError as exc:
                raise ToolError(f"searches[{i}] ('{f.name}', limit {depth}): {exc}") from None
            lacking = session.backend.unsupported_search_params(params)
            if lacking:
                raise ToolError(f"searches[{i}] ('{f.name}'): {lacking}.")
            # No metric_type: the index's own is the server's default (as in milvus_search).
            reqs.append(AnnSearchRequest([data], f.name, {"params": params}, depth, expr=combined(filter, s.filter)))
            used.append(SearchUsed(anns_field=f.name, metric_type=index.metric_type if index else None))
        if partition_names:
            await check_partitions(session, info, partition_names, t)
        fields, hidden = validation.output_fields(output_fields, info)
        fuse, ranker_used = ranker_of(ranker, rrf_k, weights, len(reqs))
        filters = list(dict.fromkeys(x for x in [filter, *(s.filter for _, _, s in plan)] if x))
        with errors.explained_filter(" and ".join(f"({x})" for x in filters) or None, info, session.backend):
            answer = await session.client.hybrid_search(
                info.name,
                reqs,
                fuse,
                limit=limit,
                output_fields=fields,
                partition_names=partition_names,
                consistency_level=consistency_level,
                timeout=t,
            )
        hits = [fused_hit(session, info, item, hidden) for item in (answer[0] if answer else [])]
        warning = None if hits else validation.empty_result_warning(" and ".join(filters) or None, info)
        warning = warning or await output_warning(session, info, output_fields, [h.entity for h in hits], t)

        def build(n: int, squeezed: bool = False) -> HybridResult:
            cut = n < len(hits)
            hint = None
            if cut:
                hint = f"Cut to {n} hits to fit {budget} bytes; lower limit or name fewer output_fields."
            elif squeezed:
                hint = "A hit was cut to fit the result budget; name fewer output_fields."
            return HybridResult(
                hits=hits[:n],
                ranker=ranker_used,
                searches=used,
                truncated=cut or squeezed,
                hint=hint,
                warning=warning,
            )

        result, n = fit(build, hits, budget)
        if n == 0 and hits:  # one hit larger than the budget: send it cut rather than nothing
            hits[0] = hits[0].model_copy(update={"entity": squeeze(hits[0].entity, budget // 2)})
            result = build(1, squeezed=True)
        return result

    return await rt.on_collection(database, collection_name, "search", op, load=True, progress=ctx.report_progress)


def fused_hit(session: Session, info: CollectionInfo, item: Any, hidden: set[str]) -> FusedHit:
    """One fused hit. Milvus Lite and a server both answer the fused score as the distance, higher
    better (measured on Lite 3.2.2: it turns BM25's negated distances round before fusing)."""
    entity = clean_row(dict(item.get("entity") or {}), hidden | {info.primary.name}, info.int64_fields)
    return FusedHit(
        id=clean(session.backend.hit_id(item, info.primary.name)),
        score=float(item.get("distance", 0.0)),
        entity=entity,
    )


TOOLS = (milvus_hybrid_search,)
