"""Hybrid search without an embedding model: vectors given by hand next to BM25 text, through a real MCP
client against Milvus Lite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.conftest import fails, ok

pytestmark = pytest.mark.anyio

FIELDS = [
    {"name": "id", "type": "INT64", "is_primary": True},
    {"name": "text", "type": "VARCHAR", "max_length": 2000, "enable_analyzer": True},
    {"name": "kind", "type": "INT64"},
    {"name": "dense", "type": "FLOAT_VECTOR", "dim": 4},
    {"name": "sparse", "type": "SPARSE_FLOAT_VECTOR"},
]
DOCS = [  # dense order for [1, 0, 0, 0]: 0, 1, 7, 4, 5; BM25 for "hybrid search": 0 first (both words)
    ("milvus vector database hybrid search", [1, 0, 0, 0]),
    ("bm25 keyword ranking for text search", [0.9, 0.1, 0, 0]),
    ("cats and dogs", [0, 1, 0, 0]),
    ("error code E1234 in the logs", [0, 0, 1, 0]),
    ("vector search with filters", [0.7, 0.7, 0, 0]),
    ("search engines rank documents", [0.6, 0, 0.8, 0]),
    ("hybrid cars save fuel", [0, 0, 0, 1]),
    ("database backups at night", [0.8, 0, 0, 0.6]),
]
QUERY = [1.0, 0.0, 0.0, 0.0]


def both(**dense: Any) -> list[dict[str, Any]]:
    """A dense sub-search for QUERY and a BM25 one for "hybrid search"."""
    return [{"anns_field": "dense", "vector": QUERY, **dense}, {"anns_field": "sparse", "text": "hybrid search"}]


async def make_kb(client: Client, name: str = "kb", text: str = "") -> None:
    await ok(
        client,
        "milvus_create_collection",
        collection_name=name,
        fields=FIELDS,
        indexes=[{"field_name": "dense", "index_type": "HNSW", "metric_type": "COSINE"}],
        functions=[{"name": "bm25", "input_field_names": ["text"], "output_field_names": ["sparse"]}],
    )
    rows = [{"id": i, "text": t + text, "kind": i % 2, "dense": v} for i, (t, v) in enumerate(DOCS)]
    await ok(client, "milvus_insert", collection_name=name, rows=rows)


async def ids_of(client: Client, **arguments: Any) -> list[int]:
    found = await ok(client, "milvus_search", collection_name="kb", **arguments)
    return [h["id"] for h in found["hits"]]


async def test_rrf_fuses_a_dense_and_a_bm25_search(client: Client) -> None:
    await make_kb(client)
    found = await ok(
        client,
        "milvus_hybrid_search",
        collection_name="kb",
        searches=[
            {"anns_field": "dense", "vector": QUERY, "params": {"ef": 64}},
            {"anns_field": "sparse", "text": "hybrid search", "params": {"drop_ratio_search": 0.0}},
        ],
        limit=5,
    )
    assert found["ranker"] == {"type": "rrf", "k": 60}
    assert found["searches"] == [
        {"anns_field": "dense", "metric_type": "COSINE"},
        {"anns_field": "sparse", "metric_type": "BM25"},
    ]
    hits = found["hits"]
    assert len(hits) == 5 and hits[0]["id"] == 0
    assert hits[0]["score"] == pytest.approx(2 / 61, rel=1e-5)  # first in both lists
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert set(hits[0]["entity"]) == {"text", "kind"}  # no vectors unless asked, no id twice
    assert found["truncated"] is False
    tuned = await ok(client, "milvus_hybrid_search", collection_name="kb", searches=both(), limit=5, rrf_k=1)
    assert tuned["ranker"] == {"type": "rrf", "k": 1} and tuned["hits"][0]["score"] == pytest.approx(1.0, rel=1e-5)


async def test_weighted_ranking_follows_its_weights(client: Client) -> None:
    """Milvus Lite returns BM25 distances negated; weighted fusion must still rank by BM25, best first."""
    await make_kb(client)
    bm25 = await ids_of(client, text="hybrid search", anns_field="sparse", limit=5)
    dense = await ids_of(client, vector=QUERY, anns_field="dense", limit=5)
    assert bm25 != dense
    for weights, expected in (([1.0, 0.0], dense), ([0.0, 1.0], bm25)):  # in the order of searches
        found = await ok(
            client,
            "milvus_hybrid_search",
            collection_name="kb",
            searches=both(),
            ranker="weighted",
            weights=weights,
            limit=len(expected),
        )
        assert found["ranker"] == {"type": "weighted", "weights": weights}
        assert [h["id"] for h in found["hits"]] == expected, weights
    even = await ok(client, "milvus_hybrid_search", collection_name="kb", searches=both(), ranker="weighted")
    assert even["ranker"]["weights"] == [0.5, 0.5] and even["hits"][0]["id"] == 0
    assert 0 < even["hits"][0]["score"] <= 1


async def test_each_search_takes_the_parameters_of_its_own_index(client: Client) -> None:
    await make_kb(client)
    wrong = [{"anns_field": "dense", "vector": QUERY}, {"anns_field": "sparse", "text": "hybrid", "params": {"ef": 64}}]
    message = await fails(client, "milvus_hybrid_search", collection_name="kb", searches=wrong)
    assert "searches[1]" in message and "SPARSE_INVERTED_INDEX" in message and "'drop_ratio_search'" in message
    message = await fails(
        client, "milvus_hybrid_search", collection_name="kb", searches=both(params={"drop_ratio_search": 0.2})
    )
    assert "searches[0]" in message and "HNSW" in message and "'ef'" in message
    lite = [both()[0], {**both()[1], "params": {"drop_ratio_search": 0.2}}]
    message = await fails(client, "milvus_hybrid_search", collection_name="kb", searches=lite)
    assert "searches[1] ('sparse'): Milvus Lite" in message and "drop_ratio_search 0" in message
    message = await fails(client, "milvus_hybrid_search", collection_name="kb", searches=both(params={"ef": 20}))
    assert "limit 50" in message and "ef" in message  # the candidates a sub-search brings by default
    found = await ok(
        client, "milvus_hybrid_search", collection_name="kb", searches=both(params={"ef": 20}, limit=20), limit=3
    )
    assert len(found["hits"]) == 3


async def test_arguments_are_checked_before_anything_runs(client: Client) -> None:
    await make_kb(client)

    async def refused(**arguments: Any) -> str:
        return await fails(client, "milvus_hybrid_search", collection_name="kb", **arguments)

    assert "Did you mean 'dense'" in await refused(searches=[{"anns_field": "dnese", "vector": QUERY}, both()[1]])
    assert "not a vector field" in await refused(searches=[{"anns_field": "kind", "vector": QUERY}, both()[1]])
    assert "one weight per search" in await refused(searches=both(), ranker="weighted", weights=[1.0])
    assert "weights[1]" in await refused(searches=both(), ranker="weighted", weights=[0.5, 1.5])
    assert 'ranker "weighted"' in await refused(searches=both(), weights=[0.5, 0.5])
    assert "rrf_k" in await refused(searches=both(), rrf_k=0)
    assert "rrf_k" in await refused(searches=both(), rrf_k=16384)
    assert "rrf_k" in await refused(searches=both(), ranker="weighted", rrf_k=10)
    assert "milvus_search" in await refused(searches=both()[:1])
    assert "not both" in await refused(text="x", searches=both())
    assert "Give text or searches" in await refused()
    assert "exactly one of vector or text" in await refused(searches=[{"anns_field": "dense"}, both()[1]])
    bm25_vector = [both()[0], {"anns_field": "sparse", "vector": {"12": 0.5}}]
    assert "BM25 function from 'text'; search it with text" in await refused(searches=bm25_vector)
    assert "dimension 4" in await refused(searches=[{"anns_field": "dense", "vector": [1.0, 0.0]}, both()[1]])
    assert "'vectors'" in await refused(searches=both(), vectors=[QUERY])  # unknown names are refused
    assert "'expr'" in await refused(searches=[{**both()[0], "expr": "kind == 0"}, both()[1]])
    assert "use '=='" in await refused(searches=both(), filter="kind = 1")
    assert "use '=='" in await refused(searches=[{**both()[0], "filter": "kind = 1"}, both()[1]])
    assert "Partition 'nope'" in await refused(searches=both(), partition_names=["nope"])


async def test_text_needs_two_fields_a_text_can_search(client: Client) -> None:
    await make_kb(client)  # its dense vectors come from elsewhere: a text reaches only the BM25 field
    message = await fails(client, "milvus_hybrid_search", collection_name="kb", text="hybrid search")
    assert "one field a text can search ('sparse')" in message and "milvus_search" in message
    await ok(client, "milvus_create_collection", collection_name="vecs", dimension=4)
    message = await fails(client, "milvus_hybrid_search", collection_name="vecs", text="hybrid search")
    assert "no field a text can search" in message and "milvus_search" in message


async def test_text_searches_every_bm25_field(client: Client) -> None:
    fields = [
        {"name": "id", "type": "INT64", "is_primary": True},
        {"name": "title", "type": "VARCHAR", "max_length": 200, "enable_analyzer": True},
        {"name": "body", "type": "VARCHAR", "max_length": 2000, "enable_analyzer": True},
        {"name": "title_sparse", "type": "SPARSE_FLOAT_VECTOR"},
        {"name": "body_sparse", "type": "SPARSE_FLOAT_VECTOR"},
    ]
    functions = [
        {"name": "t", "input_field_names": ["title"], "output_field_names": ["title_sparse"]},
        {"name": "b", "input_field_names": ["body"], "output_field_names": ["body_sparse"]},
    ]
    await ok(client, "milvus_create_collection", collection_name="two", fields=fields, functions=functions)
    rows = [
        {"id": 1, "title": "solar panels", "body": "roofs that make electricity"},
        {"id": 2, "title": "gardening", "body": "solar lamps light the path"},
        {"id": 3, "title": "cooking", "body": "bread and soup"},
    ]
    await ok(client, "milvus_insert", collection_name="two", rows=rows)
    found = await ok(client, "milvus_hybrid_search", collection_name="two", text="solar", output_fields=["title"])
    assert [s["anns_field"] for s in found["searches"]] == ["title_sparse", "body_sparse"]
    assert [h["id"] for h in found["hits"]] == [1, 2] and found["hits"][0]["entity"] == {"title": "solar panels"}
    message = await fails(
        client, "milvus_hybrid_search", collection_name="two", text="solar", ranker="weighted", weights=[1.0]
    )
    assert "'title_sparse', 'body_sparse'" in message


async def test_filters_partitions_and_output_fields(client: Client) -> None:
    await make_kb(client)
    found = await ok(client, "milvus_hybrid_search", collection_name="kb", searches=both(), filter="kind == 0")
    assert found["hits"] and all(h["id"] % 2 == 0 for h in found["hits"])
    own = [{**both()[0], "filter": "id >= 4"}, {**both()[1], "filter": "id >= 4"}]
    found = await ok(client, "milvus_hybrid_search", collection_name="kb", searches=own, filter="kind == 0")
    assert sorted(h["id"] for h in found["hits"]) == [4, 6]
    one_sided = [{**both()[0], "filter": "id == 7"}, both()[1]]
    found = await ok(client, "milvus_hybrid_search", collection_name="kb", searches=one_sided)
    assert {h["id"] for h in found["hits"]} == {7, 0, 1, 4, 5, 6}  # 7 from the dense search, the rest from BM25
    nothing = await ok(client, "milvus_hybrid_search", collection_name="kb", searches=both(), filter="kindd == 1")
    assert nothing["hits"] == [] and "did you mean 'kind'" in nothing["warning"]

    await ok(client, "milvus_create_partition", collection_name="kb", partition_name="late")
    extra = [{"id": 100, "text": "hybrid search late", "kind": 0, "dense": QUERY}]
    await ok(client, "milvus_insert", collection_name="kb", rows=extra, partition_name="late")
    found = await ok(client, "milvus_hybrid_search", collection_name="kb", searches=both(), partition_names=["late"])
    assert [h["id"] for h in found["hits"]] == [100]
    found = await ok(
        client, "milvus_hybrid_search", collection_name="kb", searches=both(), output_fields=["dense"], limit=1
    )
    assert found["hits"][0]["id"] in (0, 100) and found["hits"][0]["entity"] == {"dense": QUERY}


async def test_results_fit_the_budget(tmp_path: Path) -> None:
    server = build_server(Settings(uri=str(tmp_path / "m.db"), embedding_provider="none", max_result_bytes=1024))
    async with Client(server, raise_exceptions=True) as client:
        await make_kb(client, text=" " + "padding " * 100)
        found = await ok(client, "milvus_hybrid_search", collection_name="kb", searches=both(), limit=8)
    assert found["truncated"] is True and "lower limit" in found["hint"]
    assert 0 < len(found["hits"]) < 8
    assert len(str(found).encode()) < 1400
