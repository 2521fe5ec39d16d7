"""The whole workflow through our MCP server over stdio, against the real C++ Milvus 2.3.5.

Create (quick setup and a full schema with scalar fields), index, load, insert, search, query, count,
delete, rename, drop, and databases. Answers are checked against pymilvus talking straight to Milvus
with Strong consistency (`oracle`).
"""

from __future__ import annotations

import math
from typing import Any

from mcp import Client

from tests.real_milvus.conftest import URI, Oracle, eventually, fails, ok, real_milvus, rows


async def index_of(mcp: Client, collection: str, index_name: str, db: str) -> dict[str, Any]:
    """One index as milvus_describe_collection describes it (with its build progress)."""
    described = await ok(mcp, "milvus_describe_collection", collection_name=collection, database=db)
    return next(i for i in described["indexes"] if i["index_name"] == index_name)


pytestmark = real_milvus


async def test_server_info_names_the_real_server(mcp: Client) -> None:
    info = await ok(mcp, "milvus_server_info")
    assert info["backend"] == "milvus-server"
    assert info["server_version"].startswith("v2.3.5"), info
    assert info["uri"] == URI
    assert info.get("lite_mode") is None
    caps = info["capabilities"]
    assert caps["sparse_vectors"] is False and caps["bm25"] is False and caps["multi_vector"] is False, caps
    assert caps["group_by"] is False and caps["partition_load"] is True, caps


async def test_quick_setup_workflow_in_the_default_database(mcp: Client, oracle: Oracle) -> None:
    created = await ok(mcp, "milvus_create_collection", collection_name="docs", dimension=4)
    assert created["database"] == "default" and created["load_state"] == "Loaded"
    assert created["vector_fields"] == [
        {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4, "metric_type": "COSINE", "index_type": "AUTOINDEX"}
    ]
    inserted = await ok(mcp, "milvus_insert", collection_name="docs", rows=rows(5))
    assert inserted == {"insert_count": 5, "ids": [0, 1, 2, 3, 4], "truncated": False}

    # Read right after the insert: our reads are Strong by default, so the rows are there at once.
    found = await ok(mcp, "milvus_search", collection_name="docs", vector=rows(5)[3]["vector"], limit=2)
    assert [h["id"] for h in found["hits"]][:1] == [3], found
    assert found["hits"][0]["entity"] == {"title": "t3"}
    assert found["metric_type"] == "COSINE"
    assert abs(found["hits"][0]["score"] - 1.0) < 1e-4
    queried = await ok(mcp, "milvus_query", collection_name="docs", filter="id >= 3", output_fields=["title"])
    assert sorted((r["id"], r["title"]) for r in queried["rows"]) == [(3, "t3"), (4, "t4")]
    assert (await ok(mcp, "milvus_count", collection_name="docs"))["count"] == 5

    d = await ok(mcp, "milvus_describe_collection", collection_name="docs")
    assert d["primary_key"] == {"name": "id", "type": "INT64", "auto_id": False}
    assert [(i["field_name"], i["index_type"], i["metric_type"]) for i in d["indexes"]] == [
        ("vector", "AUTOINDEX", "COSINE")
    ]
    assert d["partitions"] == ["_default"] and d["load_state"] == "Loaded" and d["enable_dynamic_field"] is True

    assert (await ok(mcp, "milvus_delete", collection_name="docs", ids=[0, 1]))["delete_count"] == 2
    assert (await ok(mcp, "milvus_count", collection_name="docs"))["count"] == 3
    assert oracle.count("docs") == 3

    renamed = await ok(mcp, "milvus_rename_collection", collection_name="docs", new_name="papers")
    assert renamed == {"old_name": "docs", "new_name": "papers", "database": "default", "load_state": "Loaded"}
    assert (await ok(mcp, "milvus_count", collection_name="papers"))["count"] == 3
    found = await ok(mcp, "milvus_search", collection_name="papers", vector=rows(5)[4]["vector"], limit=1)
    assert found["hits"][0]["id"] == 4
    assert "does not exist" in await fails(mcp, "milvus_count", collection_name="docs")

    dropped = await ok(mcp, "milvus_drop_collection", collection_name="papers", confirm_name="papers")
    assert dropped["dropped"] == "papers"
    assert (await ok(mcp, "milvus_list_collections"))["collections"] == []
    assert oracle.client().list_collections() == []


async def test_full_schema_with_scalar_fields(mcp: Client, db: str, oracle: Oracle) -> None:
    created = await ok(
        mcp,
        "milvus_create_collection",
        collection_name="articles",
        database=db,
        fields=[
            {"name": "pk", "type": "VARCHAR", "is_primary": True, "max_length": 64},
            {"name": "title", "type": "VARCHAR", "max_length": 200},
            {"name": "year", "type": "INT32"},
            {"name": "rating", "type": "DOUBLE"},
            {"name": "draft", "type": "BOOL"},
            {"name": "tags", "type": "ARRAY", "element_type": "VARCHAR", "max_capacity": 8, "max_length": 32},
            {"name": "meta", "type": "JSON"},
            {"name": "embedding", "type": "float_vector", "dim": 4},
        ],
        indexes=[
            {
                "field_name": "embedding",
                "index_type": "HNSW",
                "metric_type": "L2",
                "params": {"M": 8, "efConstruction": 64},
            }
        ],
        enable_dynamic_field=False,
    )
    assert created["primary_key"] == "pk" and created["load_state"] == "Loaded"
    assert created["vector_fields"] == [
        {"name": "embedding", "type": "FLOAT_VECTOR", "dim": 4, "metric_type": "L2", "index_type": "HNSW"}
    ]
    docs = [
        {
            "pk": "a",
            "title": "milvus is a vector database",
            "year": 2020,
            "rating": 4.5,
            "draft": False,
            "tags": ["db", "vector"],
            "meta": {"lang": "en", "pages": 3},
            "embedding": [1, 0, 0, 0],
        },
        {
            "pk": "b",
            "title": "cats sleep all day long",
            "year": 2021,
            "rating": 3.0,
            "draft": True,
            "tags": [],
            "meta": {"lang": "fr", "pages": 10},
            "embedding": [0, 1, 0, 0],
        },
        {
            "pk": "c",
            "title": "dogs bark",
            "year": 2022,
            "rating": 2.0,
            "draft": False,
            "tags": ["pets"],
            "meta": {"lang": "en", "pages": 1},
            "embedding": [0, 0, 1, 0],
        },
    ]
    inserted = await ok(mcp, "milvus_insert", collection_name="articles", rows=docs, database=db)
    assert inserted["ids"] == ["a", "b", "c"]

    d = await ok(mcp, "milvus_describe_collection", collection_name="articles", database=db)
    assert {f["name"]: f["type"] for f in d["fields"]} == {
        "pk": "VARCHAR",
        "title": "VARCHAR",
        "year": "INT32",
        "rating": "DOUBLE",
        "draft": "BOOL",
        "tags": "ARRAY",
        "meta": "JSON",
        "embedding": "FLOAT_VECTOR",
    }
    assert d["primary_key"]["name"] == "pk" and d["enable_dynamic_field"] is False

    hits = await ok(mcp, "milvus_search", collection_name="articles", vector=[0, 1, 0, 0], limit=1, database=db)
    assert hits["hits"][0]["id"] == "b" and hits["metric_type"] == "L2"
    assert hits["hits"][0]["score"] == -hits["hits"][0]["distance"]  # L2: lower distance is better
    assert hits["hits"][0]["entity"]["meta"] == {"lang": "fr", "pages": 10}
    filtered = await ok(
        mcp,
        "milvus_search",
        collection_name="articles",
        vector=[0, 1, 0, 0],
        filter='meta["lang"] == "en" and year >= 2021',
        database=db,
    )
    assert [h["id"] for h in filtered["hits"]] == ["c"]
    assert filtered["hits"][0]["entity"]["tags"] == ["pets"]
    assert filtered["hits"][0]["entity"]["title"] == "dogs bark"

    queried = await ok(
        mcp,
        "milvus_query",
        collection_name="articles",
        filter='array_contains(tags, "db") or draft == true',
        output_fields=["year", "rating"],
        database=db,
    )
    assert sorted((r["pk"], r["year"], r["rating"]) for r in queried["rows"]) == [("a", 2020, 4.5), ("b", 2021, 3.0)]
    by_id = await ok(mcp, "milvus_query", collection_name="articles", ids=["c"], output_fields=["title"], database=db)
    assert by_id["rows"] == [{"pk": "c", "title": "dogs bark"}]
    counted = await ok(mcp, "milvus_count", collection_name="articles", filter='meta["pages"] > 2', database=db)
    assert counted["count"] == 2

    deleted = await ok(mcp, "milvus_delete", collection_name="articles", filter='pk in ["a", "zz"]', database=db)
    assert deleted["delete_count"] == 1
    assert oracle.count("articles", db) == 2
    upserted = await ok(
        mcp, "milvus_upsert", collection_name="articles", rows=[{**docs[1], "title": "new title"}], database=db
    )
    assert upserted["upsert_count"] == 1
    got = await ok(mcp, "milvus_query", collection_name="articles", ids=["b"], output_fields=["title"], database=db)
    assert got["rows"] == [{"pk": "b", "title": "new title"}]
    assert (await ok(mcp, "milvus_count", collection_name="articles", database=db))["count"] == 2


async def test_indexes_create_describe_drop(mcp: Client, db: str) -> None:
    fields = [{"name": "id", "type": "INT64", "is_primary": True}, {"name": "v", "type": "FLOAT_VECTOR", "dim": 4}]
    await ok(mcp, "milvus_create_collection", collection_name="c", fields=fields, database=db)
    await ok(
        mcp,
        "milvus_insert",
        collection_name="c",
        rows=[{"id": i, "v": [1.0, float(i), 2.0, 3.0]} for i in range(1, 6)],
        database=db,
    )
    flushed = await ok(mcp, "milvus_flush", collection_name="c", database=db)
    assert flushed["row_count"] == 5

    described = await index_of(mcp, "c", "v", db)
    assert described["index_type"] == "AUTOINDEX" and described["metric_type"] == "COSINE"
    assert described["field_name"] == "v"
    assert "release" in await fails(mcp, "milvus_drop_index", collection_name="c", index_name="v", database=db)

    assert (await ok(mcp, "milvus_release_collection", collection_name="c", database=db))["load_state"] == "NotLoad"
    assert (await ok(mcp, "milvus_drop_index", collection_name="c", index_name="v", database=db))["index_name"] == "v"
    message = await fails(mcp, "milvus_load_collection", collection_name="c", database=db)
    assert "milvus_create_index" in message, message

    made = await ok(
        mcp,
        "milvus_create_index",
        collection_name="c",
        field_name="v",
        index_type="hnsw",
        metric_type="l2",
        params={"M": 8, "efConstruction": 64},
        index_name="v_hnsw",
        database=db,
    )
    assert made["index_type"] == "HNSW" and made["metric_type"] == "L2"
    assert made["index_name"] == "v_hnsw"  # a real server keeps the name given (Milvus Lite does not)
    again = await index_of(mcp, "c", "v_hnsw", db)
    assert again["params"].get("M") in (8, "8"), again
    assert again["state"] == "Finished"
    assert again["indexed_rows"] == 5 and again["pending_index_rows"] == 0, again

    assert (await ok(mcp, "milvus_load_collection", collection_name="c", database=db))["load_state"] == "Loaded"
    hits = await ok(
        mcp, "milvus_search", collection_name="c", vector=[1, 3, 2, 3], search_params={"ef": 16}, database=db
    )
    assert hits["hits"][0]["id"] == 3 and hits["metric_type"] == "L2"
    d = await ok(mcp, "milvus_describe_collection", collection_name="c", database=db)
    assert d["vector_fields"][0]["index_type"] == "HNSW" and d["vector_fields"][0]["metric_type"] == "L2"


async def test_fresh_inserts_are_visible_at_once(mcp: Client, db: str) -> None:
    """Real Milvus reads at the collection's consistency level unless told otherwise; quick-setup
    collections are Bounded, which hides a write for up to a few seconds. Our reads must not."""
    await ok(mcp, "milvus_create_collection", collection_name="fresh", dimension=4, database=db)
    for round_ in range(3):
        data = rows(4, start=round_ * 4)
        await ok(mcp, "milvus_insert", collection_name="fresh", rows=data, database=db)
        total = (round_ + 1) * 4
        assert (await ok(mcp, "milvus_count", collection_name="fresh", database=db))["count"] == total
        got = await ok(mcp, "milvus_query", collection_name="fresh", ids=[total - 1], database=db)
        assert [r["id"] for r in got["rows"]] == [total - 1]
        hits = await ok(mcp, "milvus_search", collection_name="fresh", vector=data[-1]["vector"], limit=1, database=db)
        assert [h["id"] for h in hits["hits"]] == [total - 1]


async def test_bounded_reads_may_lag_but_catch_up(mcp: Client, db: str) -> None:
    """consistency_level=Bounded is the agent's explicit choice: it may miss the newest rows for a while."""
    await ok(mcp, "milvus_create_collection", collection_name="lag", dimension=4, database=db)
    await ok(mcp, "milvus_insert", collection_name="lag", rows=rows(3), database=db)

    async def seen() -> bool:
        got = await ok(mcp, "milvus_count", collection_name="lag", consistency_level="Bounded", database=db)
        return got["count"] == 3

    took = await eventually(seen)
    print(f"Bounded count caught up with 3 fresh rows after {took:.2f} s")


async def test_delete_counts_are_true(mcp: Client, db: str, oracle: Oracle) -> None:
    """Delete right after insert: the count of what existed comes from a Strong read, so it is right."""
    await ok(mcp, "milvus_create_collection", collection_name="d", dimension=4, database=db)
    await ok(mcp, "milvus_insert", collection_name="d", rows=rows(6), database=db)
    deleted = await ok(mcp, "milvus_delete", collection_name="d", ids=[1, 2, 99999999], database=db)
    assert deleted == {"delete_count": 2, "not_found": [99999999]}
    assert (await ok(mcp, "milvus_delete", collection_name="d", ids=[99999998], database=db))["delete_count"] == 0
    assert (await ok(mcp, "milvus_delete", collection_name="d", ids=[1], database=db))["delete_count"] == 0
    by_filter = await ok(mcp, "milvus_delete", collection_name="d", filter="id in [3, 4, 777]", database=db)
    assert by_filter["delete_count"] == 2
    assert (await ok(mcp, "milvus_delete", collection_name="d", filter="id > 100", database=db))["delete_count"] == 0
    assert (await ok(mcp, "milvus_count", collection_name="d", database=db))["count"] == 2
    assert oracle.count("d", db) == 2
    remaining = await ok(mcp, "milvus_query", collection_name="d", filter="id >= 0", database=db)
    assert sorted(r["id"] for r in remaining["rows"]) == [0, 5]
    hits = await ok(mcp, "milvus_search", collection_name="d", vector=rows(6)[2]["vector"], limit=6, database=db)
    assert sorted(h["id"] for h in hits["hits"]) == [0, 5]


async def test_string_ids_and_auto_id(mcp: Client, db: str) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="s", dimension=2, id_type="string", database=db)
    got = await ok(mcp, "milvus_insert", collection_name="s", rows=[{"id": "x", "vector": [1, 2]}], database=db)
    assert got["ids"] == ["x"]
    await ok(mcp, "milvus_create_collection", collection_name="a", dimension=2, auto_id=True, database=db)
    inserted = await ok(
        mcp, "milvus_insert", collection_name="a", rows=[{"vector": [1, 2]}, {"vector": [2, 1]}], database=db
    )
    assert inserted["insert_count"] == 2 and len(inserted["ids"]) == 2
    # Real Milvus's auto ids are beyond 2^53: they travel as strings, and are accepted back as such.
    assert all(isinstance(i, str) and int(i) > 2**53 for i in inserted["ids"]), inserted
    got = await ok(mcp, "milvus_query", collection_name="a", ids=inserted["ids"], database=db)
    assert sorted(r["id"] for r in got["rows"]) == sorted(inserted["ids"])
    deleted = await ok(mcp, "milvus_delete", collection_name="a", ids=inserted["ids"][:1], database=db)
    assert deleted["delete_count"] == 1
    assert (await ok(mcp, "milvus_count", collection_name="a", database=db))["count"] == 1


async def test_load_release_and_list(mcp: Client, db: str) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="one", dimension=4, database=db)
    await ok(mcp, "milvus_insert", collection_name="one", rows=rows(3), database=db)
    await ok(mcp, "milvus_create_collection", collection_name="two", dimension=8, database=db)
    assert (await ok(mcp, "milvus_release_collection", collection_name="two", database=db))["load_state"] == "NotLoad"
    await ok(mcp, "milvus_flush", collection_name="one", database=db)
    listed = await ok(mcp, "milvus_list_collections", database=db)
    assert listed["collections"] == [
        {"name": "one", "row_count": 3, "load_state": "Loaded"},
        {"name": "two", "row_count": 0, "load_state": "NotLoad"},
    ]
    assert (await ok(mcp, "milvus_load_collection", collection_name="two", database=db))["load_state"] == "Loaded"


async def test_search_range_and_offset(mcp: Client, db: str) -> None:
    fields = [
        {"name": "id", "type": "INT64", "is_primary": True},
        {"name": "kind", "type": "INT64"},
        {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
    ]
    await ok(mcp, "milvus_create_collection", collection_name="docs", fields=fields, database=db)
    data = [{"id": i, "vector": [1.0, float(i), 0.5, 0.25], "kind": i % 2, "title": f"t{i}"} for i in range(1, 9)]
    await ok(mcp, "milvus_insert", collection_name="docs", rows=data, database=db)
    query = [1, 3, 0.5, 0.25]
    filtered = await ok(mcp, "milvus_search", collection_name="docs", vector=query, filter="kind == 0", database=db)
    assert filtered["hits"] and all(h["entity"]["kind"] == 0 for h in filtered["hits"])
    ranged = await ok(
        mcp, "milvus_search", collection_name="docs", vector=query, radius=0.99, range_filter=1.0, database=db
    )
    assert ranged["hits"] and all(0.99 < h["distance"] <= 1.0 + 1e-6 for h in ranged["hits"])
    first = await ok(mcp, "milvus_search", collection_name="docs", vector=query, limit=2, database=db)
    second = await ok(mcp, "milvus_search", collection_name="docs", vector=query, limit=2, offset=2, database=db)
    assert {h["id"] for h in first["hits"]}.isdisjoint({h["id"] for h in second["hits"]})
    scores = [h["score"] for h in first["hits"] + second["hits"]]
    assert scores == sorted(scores, reverse=True)
    dynamic = await ok(mcp, "milvus_query", collection_name="docs", filter='title == "t3"', database=db)
    assert [r["id"] for r in dynamic["rows"]] == [3]


async def test_databases(mcp: Client, oracle: Oracle) -> None:
    listed = await ok(mcp, "milvus_server_info")
    assert "default" in listed["databases"] and "team" not in listed["databases"]
    assert (await ok(mcp, "milvus_create_database", database_name="team"))["created"] is True
    assert "already exists" in await fails(mcp, "milvus_create_database", database_name="team")
    assert "team" in (await ok(mcp, "milvus_server_info"))["databases"]

    await ok(mcp, "milvus_create_collection", collection_name="notes", dimension=2, database="team")
    await ok(mcp, "milvus_insert", collection_name="notes", rows=[{"id": 1, "vector": [1, 2]}], database="team")
    assert "notes" not in [c["name"] for c in (await ok(mcp, "milvus_list_collections"))["collections"]]
    assert [c["name"] for c in (await ok(mcp, "milvus_list_collections", database="team"))["collections"]] == ["notes"]
    assert (await ok(mcp, "milvus_count", collection_name="notes", database="team"))["count"] == 1
    hits = await ok(mcp, "milvus_search", collection_name="notes", vector=[1, 2], database="team")
    assert [h["id"] for h in hits["hits"]] == [1]
    assert oracle.count("notes", "team") == 1
    assert "notes" not in oracle.client().list_collections()

    message = await fails(mcp, "milvus_drop_database", database_name="team", confirm_name="team")
    assert "'notes'" in message and "drop those collections" in message
    await ok(mcp, "milvus_drop_collection", collection_name="notes", confirm_name="notes", database="team")
    assert (await ok(mcp, "milvus_drop_database", database_name="team", confirm_name="team"))["dropped"] is True
    assert "team" not in (await ok(mcp, "milvus_server_info"))["databases"]
    assert "team" not in oracle.client().list_databases()


async def test_search_output_fields_without_the_primary_key(mcp: Client, db: str) -> None:
    fields = [
        {"name": "pk", "type": "VARCHAR", "is_primary": True, "max_length": 8},
        {"name": "title", "type": "VARCHAR", "max_length": 8},
        {"name": "v", "type": "FLOAT_VECTOR", "dim": 2},
    ]
    await ok(mcp, "milvus_create_collection", collection_name="s", fields=fields, database=db)
    await ok(mcp, "milvus_insert", collection_name="s", rows=[{"pk": "a", "title": "x", "v": [1, 2]}], database=db)
    hits = await ok(mcp, "milvus_search", collection_name="s", vector=[1, 2], output_fields=["title"], database=db)
    assert hits["hits"] == [{"id": "a", "score": hits["hits"][0]["score"], "distance": 1.0, "entity": {"title": "x"}}]


async def test_row_counts_include_unflushed_rows(mcp: Client, db: str) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="r", dimension=4, database=db)
    await ok(mcp, "milvus_insert", collection_name="r", rows=rows(3), database=db)
    assert (await ok(mcp, "milvus_count", collection_name="r", database=db))["count"] == 3  # this one is right
    listed = await ok(mcp, "milvus_list_collections", database=db)
    assert listed["collections"] == [{"name": "r", "row_count": 3, "load_state": "Loaded"}], listed
    described = await ok(mcp, "milvus_describe_collection", collection_name="r", database=db)
    assert described["row_count"] == 3, described
    message = await fails(mcp, "milvus_create_collection", collection_name="r", dimension=4, database=db)
    assert "already exists (3 rows)" in message, message


async def test_search_like_ids(mcp: Client, db: str) -> None:
    """More like stored rows, on a server that predates search(ids=...): rows fetched, then searched without
    themselves; auto ids beyond 2^53 go in and come back as strings."""
    angles = [0, 10, 30, 70, 150]
    await ok(mcp, "milvus_create_collection", collection_name="like", dimension=2, auto_id=True, database=db)
    data = [{"vector": [math.cos(math.radians(a)), math.sin(math.radians(a))], "angle": a} for a in angles]
    ids = (await ok(mcp, "milvus_insert", collection_name="like", rows=data, database=db))["ids"]
    assert all(isinstance(i, str) for i in ids), ids
    found = await ok(mcp, "milvus_search", collection_name="like", like_ids=[ids[2], ids[0]], database=db)
    assert [r["id"] for r in found["results"]] == [ids[2], ids[0]]
    assert [[h["id"] for h in r["hits"]] for r in found["results"]] == [
        [ids[1], ids[0], ids[3], ids[4]],
        [ids[1], ids[2], ids[3], ids[4]],
    ]
    paged = await ok(
        mcp, "milvus_search", collection_name="like", like_ids=[ids[2]], filter="angle < 100", offset=1, database=db
    )
    assert [h["id"] for h in paged["results"][0]["hits"]] == [ids[0], ids[3]]
    message = await fails(mcp, "milvus_search", collection_name="like", like_ids=[ids[0], "12345"], database=db)
    assert "'12345'" in message and "1 of 2 found" in message
