"""Text collections on Milvus Lite, through the MCP client: plain text in, keyword (BM25) search out."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.conftest import fails, ok

pytestmark = pytest.mark.anyio

CORPUS = [
    "The volcano erupted and lava flowed down the mountain toward the village.",
    "Bake the bread at high heat until the crust turns golden brown.",
    "The striker scored twice in the final minutes of the football match.",
    "Photosynthesis lets green plants turn sunlight, water and carbon dioxide into sugar.",
    "The central bank raised interest rates to slow inflation.",
    "A comet's tail always points away from the sun, pushed by the solar wind.",
]

KEYWORD_QUERIES = {
    "lava volcano": 0,
    "golden crust bread": 1,
    "football striker": 2,
    "photosynthesis sunlight": 3,
    "interest rates inflation": 4,
    "comet tail": 5,
}


async def make_text_docs(client: Client, name: str = "notes", **create: object) -> list[int]:
    created = await ok(client, "milvus_create_collection", collection_name=name, text_field="text", **create)
    assert created["primary_key"] == "id"
    inserted = await ok(
        client, "milvus_insert", collection_name=name, rows=[{"text": t, "n": i} for i, t in enumerate(CORPUS)]
    )
    assert inserted["insert_count"] == len(CORPUS)
    return inserted["ids"]


async def test_text_collection_takes_plain_text_and_records_its_setup(client: Client) -> None:
    ids = await make_text_docs(client)
    assert len(set(ids)) == len(CORPUS)  # auto_id by default for text collections
    described = await ok(client, "milvus_describe_collection", collection_name="notes")
    assert described["text"] == {"text_field": "text", "sparse_field": "text_sparse"}
    assert "mcp_server_milvus.text" not in (described.get("properties") or {})
    text = next(f for f in described["fields"] if f["name"] == "text")
    assert text["max_length"] == 65535
    (index,) = [i for i in described["indexes"] if i["field_name"] == "text_sparse"]
    assert (index["index_type"], index["metric_type"]) == ("SPARSE_INVERTED_INDEX", "BM25")


async def test_bm25_ranks_the_right_document_first(client: Client) -> None:
    await make_text_docs(client)
    for query, expected in KEYWORD_QUERIES.items():
        found = await ok(client, "milvus_search", collection_name="notes", text=query, limit=3, output_fields=["n"])
        assert found["anns_field"] == "text_sparse"
        assert found["metric_type"] == "BM25"
        hits = found["hits"]
        assert hits[0]["entity"]["n"] == expected, (query, hits)
        scores = [h["score"] for h in hits]
        assert scores == sorted(scores, reverse=True) and scores[0] > 0


async def test_several_texts_in_one_call(client: Client) -> None:
    await make_text_docs(client)
    queries = list(KEYWORD_QUERIES)
    found = await ok(client, "milvus_search", collection_name="notes", texts=queries, limit=2, output_fields=["n"])
    assert "hits" not in found or found["hits"] is None
    assert [r["hits"][0]["entity"]["n"] for r in found["results"]] == list(KEYWORD_QUERIES.values())


async def test_a_text_that_matches_no_word_says_why(client: Client) -> None:
    await make_text_docs(client)
    found = await ok(client, "milvus_search", collection_name="notes", text="zzyzx quixotic")
    assert found["hits"] == []
    assert "No row holds any word" in found["warning"]


async def test_one_way_to_send_a_query(client: Client) -> None:
    await make_text_docs(client)
    message = await fails(client, "milvus_search", collection_name="notes", text="lava", vector=[0.1, 0.2])
    assert "exactly one of text" in message
    message = await fails(client, "milvus_search", collection_name="notes", vector="lava")
    assert "vector" in message


async def test_text_search_on_a_vector_collection_says_what_to_create(client: Client) -> None:
    await ok(client, "milvus_create_collection", collection_name="vecs", dimension=4)
    message = await fails(client, "milvus_search", collection_name="vecs", text="lava")
    assert "text_field" in message and "no field a text can search" in message


async def test_text_collection_without_any_vector_field_is_refused(client: Client) -> None:
    message = await fails(
        client, "milvus_create_collection", collection_name="bare", text_field="text", full_text=False
    )
    assert "embedding provider" in message
    listed = await ok(client, "milvus_list_collections")
    assert "bare" not in str(listed)


async def test_text_field_replaces_dimension(client: Client) -> None:
    message = await fails(client, "milvus_create_collection", collection_name="x", text_field="text", dimension=8)
    assert "dimension" in message and "text_field" in message


async def test_group_size_and_partitions_in_search(client: Client) -> None:
    fields = [
        {"name": "id", "type": "INT64", "is_primary": True},
        {"name": "vector", "type": "FLOAT_VECTOR", "dim": 2},
        {"name": "kind", "type": "INT64"},
    ]
    await ok(client, "milvus_create_collection", collection_name="g", fields=fields)
    await ok(
        client,
        "milvus_insert",
        collection_name="g",
        rows=[{"id": i, "vector": [1.0, 0.1 * i + 0.01], "kind": i % 2} for i in range(8)],
    )
    found = await ok(
        client,
        "milvus_search",
        collection_name="g",
        vector=[1.0, 0.0],
        limit=2,
        group_by_field="kind",
        group_size=3,
        output_fields=["kind"],
    )
    kinds = [h["entity"]["kind"] for h in found["hits"]]
    assert sorted(kinds) == [0, 0, 0, 1, 1, 1], kinds
    message = await fails(client, "milvus_search", collection_name="g", vector=[1.0, 0.0], partition_names=["nope"])
    assert "'nope'" in message and "_default" in message
    message = await fails(client, "milvus_search", collection_name="g", vector=[1.0, 0.0], group_size=2)
    assert "group_by_field" in message


async def test_a_bm25_field_is_searched_with_text_and_lite_params_it_cannot_use_are_named(client: Client) -> None:
    await make_text_docs(client)
    message = await fails(client, "milvus_search", collection_name="notes", vector={"3": 0.5}, anns_field="text_sparse")
    assert "filled by a BM25 function from 'text'" in message and "with text" in message
    assert "filter" not in message
    message = await fails(
        client, "milvus_search", collection_name="notes", text="lava", search_params={"drop_ratio_search": 0.2}
    )
    assert "drop_ratio_search 0" in message and "filter" not in message
    found = await ok(
        client, "milvus_search", collection_name="notes", text="lava", search_params={"drop_ratio_search": 0}
    )
    assert found["hits"]
