"""Every tool, through a real MCP client, against a real Milvus Lite database."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from mcp_server_milvus.server import MilvusServer
from tests.conftest import fails, index_of, make_docs, ok, rows

pytestmark = pytest.mark.anyio

EXPECTED_TOOLS = {
    "milvus_create_partition",
    "milvus_drop_partition",
    "milvus_list_partitions",
    "milvus_create_alias",
    "milvus_drop_alias",
    "milvus_list_aliases",
    "milvus_list_collections",
    "milvus_describe_collection",
    "milvus_create_collection",
    "milvus_drop_collection",
    "milvus_rename_collection",
    "milvus_load_collection",
    "milvus_release_collection",
    "milvus_flush",
    "milvus_create_index",
    "milvus_drop_index",
    "milvus_insert",
    "milvus_upsert",
    "milvus_delete",
    "milvus_query",
    "milvus_count",
    "milvus_search",
    "milvus_hybrid_search",
    "milvus_create_database",
    "milvus_drop_database",
    "milvus_server_info",
}
DESTRUCTIVE = {
    "milvus_drop_collection",
    "milvus_drop_index",
    "milvus_delete",
    "milvus_drop_database",
    "milvus_drop_partition",
    "milvus_drop_alias",
}


async def test_tool_list_has_schemas_and_annotations(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == EXPECTED_TOOLS
    for name, t in tools.items():
        assert t.title is None, name  # the name says it (see tools.Announcement)
        assert t.description, name
        assert t.input_schema["type"] == "object", name
        assert t.output_schema is not None and t.output_schema["type"] == "object", name
        a = t.annotations
        assert a is not None and a.open_world_hint is None, name
        if a.read_only_hint:
            assert a.destructive_hint is None, name
        else:
            assert a.destructive_hint is (name in DESTRUCTIVE), name
    for name in ("milvus_search", "milvus_query", "milvus_count", "milvus_list_collections"):
        assert tools[name].annotations.read_only_hint is True
    for name in ("milvus_upsert", "milvus_load_collection", "milvus_release_collection"):
        assert tools[name].annotations.idempotent_hint is True
    for name, t in tools.items():
        if name not in {
            "milvus_create_database",
            "milvus_drop_database",
            "milvus_server_info",
        }:
            assert "database" in t.input_schema["properties"], name


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_workflow_in_both_client_modes(server: MilvusServer, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        created = await ok(client, "milvus_create_collection", collection_name="docs", dimension=4)
        assert created["load_state"] == "Loaded"
        assert created["vector_fields"] == [
            {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4, "metric_type": "COSINE", "index_type": "AUTOINDEX"}
        ]
        inserted = await ok(client, "milvus_insert", collection_name="docs", rows=rows(5))
        assert inserted == {"insert_count": 5, "ids": [0, 1, 2, 3, 4], "truncated": False}
        found = await ok(client, "milvus_search", collection_name="docs", vector=rows(5)[3]["vector"], limit=2)
        assert found["hits"][0]["id"] == 3
        assert found["hits"][0]["entity"] == {"title": "t3"}
        assert found["metric_type"] == "COSINE"
        queried = await ok(client, "milvus_query", collection_name="docs", filter="id >= 3", output_fields=["title"])
        assert sorted(r["title"] for r in queried["rows"]) == ["t3", "t4"]
        assert (await ok(client, "milvus_delete", collection_name="docs", ids=[0, 1]))["delete_count"] == 2
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 3
        assert (await ok(client, "milvus_drop_collection", collection_name="docs", confirm_name="docs"))[
            "dropped"
        ] == "docs"
        assert (await ok(client, "milvus_list_collections"))["collections"] == []


async def test_text_content_is_the_same_compact_json(client: Client) -> None:
    await make_docs(client)
    result = await client.call_tool("milvus_query", {"collection_name": "docs", "limit": 3})
    text = result.content[0].text
    assert json.loads(text) == result.structured_content
    assert "\n" not in text and ": " not in text


async def test_list_and_describe_collection(client: Client) -> None:
    await make_docs(client, n=3)
    await make_docs(client, n=0, name="empty", dim=8)
    listed = await ok(client, "milvus_list_collections")
    assert listed["collections"] == [
        {"name": "docs", "row_count": 3, "load_state": "Loaded"},
        {"name": "empty", "row_count": 0, "load_state": "Loaded"},
    ]
    await ok(client, "milvus_release_collection", collection_name="empty")
    listed = await ok(client, "milvus_list_collections")
    assert [(c["name"], c["load_state"]) for c in listed["collections"]] == [("docs", "Loaded"), ("empty", "NotLoad")]
    d = await ok(client, "milvus_describe_collection", collection_name="docs")
    assert d["primary_key"] == {"name": "id", "type": "INT64", "auto_id": False}
    assert d["vector_fields"][0]["dim"] == 4
    assert [i["index_type"] for i in d["indexes"]] == ["AUTOINDEX"]
    assert d["partitions"] == ["_default"]
    assert d["row_count"] == 3 and d["load_state"] == "Loaded" and d["enable_dynamic_field"] is True


async def test_full_schema_create_with_scalars_index_and_bm25(client: Client) -> None:
    created = await ok(
        client,
        "milvus_create_collection",
        collection_name="articles",
        fields=[
            {"name": "pk", "type": "VARCHAR", "is_primary": True, "max_length": 64},
            {"name": "text", "type": "VARCHAR", "max_length": 2000, "enable_analyzer": True},
            {"name": "year", "type": "INT32"},
            {"name": "tags", "type": "ARRAY", "element_type": "VARCHAR", "max_capacity": 8, "max_length": 32},
            {"name": "meta", "type": "JSON", "nullable": True},
            {"name": "embedding", "type": "float_vector", "dim": 4},
            {"name": "sparse", "type": "SPARSE_FLOAT_VECTOR"},
        ],
        indexes=[{"field_name": "embedding", "index_type": "HNSW", "metric_type": "L2", "params": {"M": 8}}],
        functions=[{"name": "bm25", "input_field_names": ["text"], "output_field_names": ["sparse"]}],
        enable_dynamic_field=False,
    )
    assert {v["name"]: v["metric_type"] for v in created["vector_fields"]} == {"embedding": "L2", "sparse": "BM25"}
    docs = [
        {"pk": "a", "text": "milvus is a vector database", "year": 2020, "tags": ["db"], "embedding": [1, 0, 0, 0]},
        {"pk": "b", "text": "cats sleep all day long", "year": 2021, "tags": [], "embedding": [0, 1, 0, 0]},
    ]
    assert (await ok(client, "milvus_insert", collection_name="articles", rows=docs))["ids"] == ["a", "b"]
    hits = await ok(
        client, "milvus_search", collection_name="articles", vector=[0, 1, 0, 0], anns_field="embedding", limit=1
    )
    assert hits["hits"][0]["id"] == "b"
    assert hits["hits"][0]["score"] == -hits["hits"][0]["distance"]  # L2: lower distance is better
    text_hits = await ok(
        client, "milvus_search", collection_name="articles", text="vector database", anns_field="sparse", limit=1
    )
    assert text_hits["hits"][0]["id"] == "a" and text_hits["hits"][0]["score"] > 0
    dense = await ok(client, "milvus_search", collection_name="articles", vector=[0, 1, 0, 0])
    assert dense["anns_field"] == "embedding"  # a dense vector goes to the only dense field
    message = await fails(client, "milvus_search", collection_name="articles", vector={"3": 0.5})
    assert "2 vector fields" in message and "'embedding'" in message
    d = await ok(client, "milvus_describe_collection", collection_name="articles")
    assert d["functions"][0]["type"] == "BM25"
    assert {f["name"]: f.get("is_function_output") for f in d["fields"]}["sparse"] is True


async def test_string_ids_and_auto_id(client: Client) -> None:
    await ok(client, "milvus_create_collection", collection_name="s", dimension=2, id_type="string")
    assert (await ok(client, "milvus_insert", collection_name="s", rows=[{"id": "x", "vector": [1, 2]}]))["ids"] == [
        "x"
    ]
    await ok(client, "milvus_create_collection", collection_name="a", dimension=2, auto_id=True)
    inserted = await ok(client, "milvus_insert", collection_name="a", rows=[{"vector": [1, 2]}, {"vector": [2, 1]}])
    assert inserted["insert_count"] == 2 and len(inserted["ids"]) == 2


async def test_rename_keeps_collection_loaded(client: Client) -> None:
    await make_docs(client, n=3)
    renamed = await ok(client, "milvus_rename_collection", collection_name="docs", new_name="papers")
    assert renamed == {"old_name": "docs", "new_name": "papers", "database": "default", "load_state": "Loaded"}
    assert (await ok(client, "milvus_count", collection_name="papers"))["count"] == 3
    assert "does not exist" in await fails(client, "milvus_count", collection_name="docs")


async def test_load_release_flush(client: Client) -> None:
    await make_docs(client, n=3)
    assert (await ok(client, "milvus_release_collection", collection_name="docs"))["load_state"] == "NotLoad"
    assert (await ok(client, "milvus_load_collection", collection_name="docs"))["load_state"] == "Loaded"
    assert (await ok(client, "milvus_flush", collection_name="docs"))["row_count"] == 3


async def test_indexes_create_describe_drop(client: Client) -> None:
    await ok(
        client,
        "milvus_create_collection",
        collection_name="c",
        fields=[
            {"name": "id", "type": "INT64", "is_primary": True},
            {"name": "v", "type": "FLOAT_VECTOR", "dim": 4},
        ],
    )
    await ok(client, "milvus_insert", collection_name="c", rows=[{"id": 1, "v": [1, 2, 3, 4]}])
    described = await index_of(client, "c", "v")
    assert described["index_type"] == "AUTOINDEX" and described["metric_type"] == "COSINE"
    assert described["state"] == "Finished"
    assert "release" in await fails(client, "milvus_drop_index", collection_name="c", index_name="v")
    await ok(client, "milvus_release_collection", collection_name="c")
    assert (await ok(client, "milvus_drop_index", collection_name="c", index_name="v"))["index_name"] == "v"
    message = await fails(client, "milvus_load_collection", collection_name="c")
    assert "milvus_create_index" in message
    made = await ok(
        client,
        "milvus_create_index",
        collection_name="c",
        field_name="v",
        index_type="hnsw",
        metric_type="l2",
        params={"M": 8, "efConstruction": 64},
        index_name="v_hnsw",
    )
    assert made["index_type"] == "HNSW" and made["metric_type"] == "L2"
    assert made["index_name"] == "v"  # Milvus Lite names every index after its field
    await ok(client, "milvus_load_collection", collection_name="c")
    hits = await ok(client, "milvus_search", collection_name="c", vector=[1, 2, 3, 4], search_params={"ef": 16})
    assert hits["hits"][0]["id"] == 1 and hits["metric_type"] == "L2"


async def test_upsert_replaces_rows(client: Client) -> None:
    await make_docs(client, n=3)
    upserted = await ok(
        client, "milvus_upsert", collection_name="docs", rows=[{"id": 1, "vector": [1, 1, 1, 1], "title": "new"}]
    )
    assert upserted["upsert_count"] == 1
    got = await ok(client, "milvus_query", collection_name="docs", ids=[1])
    assert got["rows"] == [{"id": 1, "title": "new"}]
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 3


async def test_delete_counts_what_really_existed(client: Client) -> None:
    await make_docs(client, n=5)
    deleted = await ok(client, "milvus_delete", collection_name="docs", ids=[1, 2, 99999999])
    assert deleted == {"delete_count": 2, "not_found": [99999999]}
    assert (await ok(client, "milvus_delete", collection_name="docs", ids=[99999998]))["delete_count"] == 0
    assert (await ok(client, "milvus_delete", collection_name="docs", filter="id in [3, 4, 777]"))["delete_count"] == 2
    assert (await ok(client, "milvus_delete", collection_name="docs", filter="id > 100"))["delete_count"] == 0
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 1
    assert "exactly one" in await fails(client, "milvus_delete", collection_name="docs")
    assert "exactly one" in await fails(client, "milvus_delete", collection_name="docs", ids=[1], filter="id > 0")


async def test_query_ids_and_filter_combine_and_page(client: Client) -> None:
    await make_docs(client, n=10)
    both = await ok(client, "milvus_query", collection_name="docs", ids=[1, 2, 3], filter="id != 2")
    assert sorted(r["id"] for r in both["rows"]) == [1, 3]
    page = await ok(client, "milvus_query", collection_name="docs", limit=4)
    assert len(page["rows"]) == 4 and page["next_offset"] == 4
    last = await ok(client, "milvus_query", collection_name="docs", limit=4, offset=8)
    assert len(last["rows"]) == 2 and "next_offset" not in last
    assert (await ok(client, "milvus_count", collection_name="docs", filter="id < 3"))["count"] == 3


async def test_search_filter_group_by_range_and_offset(client: Client) -> None:
    fields = [
        {"name": "id", "type": "INT64", "is_primary": True},
        {"name": "kind", "type": "INT64"},
        {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
    ]
    await ok(client, "milvus_create_collection", collection_name="docs", fields=fields)
    data = [{"id": i, "vector": [1.0, float(i), 0.5, 0.25], "kind": i % 2, "title": f"t{i}"} for i in range(1, 9)]
    await ok(client, "milvus_insert", collection_name="docs", rows=data)
    filtered = await ok(client, "milvus_search", collection_name="docs", vector=[1, 3, 0.5, 0.25], filter="kind == 0")
    assert filtered["hits"] and all(h["entity"]["kind"] == 0 for h in filtered["hits"])
    grouped = await ok(
        client, "milvus_search", collection_name="docs", vector=[1, 3, 0.5, 0.25], group_by_field="kind", limit=5
    )
    assert sorted(h["entity"]["kind"] for h in grouped["hits"]) == [0, 1]
    ranged = await ok(
        client, "milvus_search", collection_name="docs", vector=[1, 3, 0.5, 0.25], radius=0.99, range_filter=1.0
    )
    assert ranged["hits"] and all(0.99 < h["distance"] <= 1.0 + 1e-6 for h in ranged["hits"])
    first = await ok(client, "milvus_search", collection_name="docs", vector=[1, 3, 0.5, 0.25], limit=2)
    second = await ok(client, "milvus_search", collection_name="docs", vector=[1, 3, 0.5, 0.25], limit=2, offset=2)
    assert {h["id"] for h in first["hits"]}.isdisjoint({h["id"] for h in second["hits"]})
    scores = [h["score"] for h in first["hits"] + second["hits"]]
    assert scores == sorted(scores, reverse=True)


async def test_databases(client: Client) -> None:
    assert (await ok(client, "milvus_server_info"))["databases"] == ["default"]
    assert (await ok(client, "milvus_create_database", database_name="team"))["created"] is True
    assert "already exists" in await fails(client, "milvus_create_database", database_name="team")
    await ok(client, "milvus_create_collection", collection_name="docs", dimension=2, database="team")
    await ok(client, "milvus_insert", collection_name="docs", rows=[{"id": 1, "vector": [1, 2]}], database="team")
    assert (await ok(client, "milvus_list_collections"))["collections"] == []
    assert (await ok(client, "milvus_count", collection_name="docs", database="team"))["count"] == 1
    message = await fails(client, "milvus_drop_database", database_name="team", confirm_name="team")
    assert "'docs'" in message and "drop those collections" in message
    await ok(client, "milvus_drop_collection", collection_name="docs", confirm_name="docs", database="team")
    assert (await ok(client, "milvus_drop_database", database_name="team", confirm_name="team"))["dropped"] is True
    assert (await ok(client, "milvus_server_info"))["databases"] == ["default"]


async def test_server_info(client: Client, db_path: str) -> None:
    info = await ok(client, "milvus_server_info")
    assert info["backend"] == "milvus-lite"
    assert info["server_version"].startswith("milvus_lite")
    assert info["uri"] == db_path


async def test_listing_stays_live_when_collections_come_and_go(client: Client) -> None:
    await make_docs(client, n=2)
    assert [c["name"] for c in (await ok(client, "milvus_list_collections"))["collections"]] == ["docs"]
    await make_docs(client, n=3, name="b")
    await ok(client, "milvus_drop_collection", collection_name="docs", confirm_name="docs")
    listed = await ok(client, "milvus_list_collections")
    assert listed["collections"] == [{"name": "b", "row_count": 3, "load_state": "Loaded"}]
    assert listed["total"] == 1
