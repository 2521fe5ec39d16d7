"""Where Milvus Lite and a Milvus server differ, our tools answer the same: an insert of an existing id
(a server would store it twice), paging in key order past the 16,384 window, an index rebuilt by another
program, and failures told apart by code. Against the real C++ Milvus 2.3.5, checked with `oracle`."""

from __future__ import annotations

from typing import Any

from mcp import Client

from tests.real_milvus.conftest import Oracle, fails, ok, real_milvus, rows


async def index_of(mcp: Client, collection: str, index_name: str, db: str) -> dict[str, Any]:
    """One index as milvus_describe_collection describes it (with its build progress)."""
    described = await ok(mcp, "milvus_describe_collection", collection_name=collection, database=db)
    return next(i for i in described["indexes"] if i["index_name"] == index_name)


pytestmark = real_milvus


async def walk(mcp: Client, db: str, name: str, **arguments: Any) -> list[Any]:
    seen: list[Any] = []
    cursor = None
    for _ in range(1000):
        page = await ok(mcp, "milvus_query", collection_name=name, database=db, cursor=cursor, **arguments)
        seen.extend(row["id"] for row in page["rows"])
        cursor = page.get("next_cursor")
        if cursor is None:
            return seen
    raise AssertionError("the walk did not end")


async def test_insert_of_an_existing_id_is_refused_and_stored_once(mcp: Client, db: str, oracle: Oracle) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="docs", dimension=4, database=db)
    await ok(mcp, "milvus_insert", collection_name="docs", rows=rows(3), database=db)
    message = await fails(mcp, "milvus_insert", collection_name="docs", rows=rows(2, start=2), database=db)
    assert "1 of these primary keys already exist in 'docs': '2'" in message
    assert oracle.count("docs", db) == 3 and oracle.count("docs", db, "id == 2") == 1
    message = await fails(mcp, "milvus_insert", collection_name="docs", rows=rows(1, start=5) * 2, database=db)
    assert "Row 1: primary key 5 is also in row 0" in message
    assert oracle.count("docs", db) == 3


async def test_a_cursor_walks_past_the_offset_window_in_key_order(mcp: Client, db: str, oracle: Oracle) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="many", dimension=4, database=db)
    ids = list(range(1, 17_001))
    order = ids[8000:] + ids[:8000]
    for start in range(0, len(order), 2500):
        chunk = [{"id": i, "vector": [float(i % 7 + 1), 1.0, 2.0, 3.0]} for i in order[start : start + 2500]]
        await ok(mcp, "milvus_insert", collection_name="many", rows=chunk, database=db)
    assert oracle.count("many", db) == len(ids)
    assert await walk(mcp, db, "many", limit=1000, output_fields=["id"]) == ids
    page = await ok(
        mcp, "milvus_query", collection_name="many", database=db, offset=16_000, limit=384, output_fields=["id"]
    )
    assert [r["id"] for r in page["rows"]] == ids[16_000:16_384] and not page["truncated"]
    assert "next_offset" not in page and page["next_cursor"]  # the window ends; the cursor goes on


async def test_an_index_rebuilt_elsewhere_with_another_metric_is_used(mcp: Client, db: str, oracle: Oracle) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="m", dimension=4, database=db)  # COSINE
    far_same_way = {"id": 1, "vector": [10.0, 0.0, 0.0, 0.0]}
    near_other_way = {"id": 2, "vector": [0.8, 0.6, 0.0, 0.0]}
    await ok(mcp, "milvus_insert", collection_name="m", rows=[far_same_way, near_other_way], database=db)
    query = [1.0, 0.0, 0.0, 0.0]
    cosine = await ok(mcp, "milvus_search", collection_name="m", vector=query, limit=2, database=db)
    assert cosine["hits"][0]["id"] == 1
    other = oracle.client(db)
    other.release_collection("m")
    other.drop_index("m", "vector")
    index = other.prepare_index_params()
    index.add_index(field_name="vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    other.create_index("m", index)
    other.load_collection("m")
    l2 = await ok(mcp, "milvus_search", collection_name="m", vector=query, limit=2, database=db)
    assert l2["hits"][0]["id"] == 2  # the index's own metric, not the one cached before
    told = await ok(mcp, "milvus_search", collection_name="m", vector=query, limit=2, metric_type="L2", database=db)
    assert told["metric_type"] == "L2" and [h["id"] for h in told["hits"]] == [2, 1]
    described = await index_of(mcp, "m", "vector", db)
    assert described["params"] == {"M": "8", "efConstruction": "64"} or described["params"] == {
        "M": 8,
        "efConstruction": 64,
    }


async def test_failures_are_told_apart_by_code(mcp: Client, db: str) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="docs", dimension=4, database=db)
    message = await fails(
        mcp, "milvus_insert", collection_name="docs", rows=rows(1), partition_name="connection_2024", database=db
    )
    assert (
        message == "Partition 'connection_2024' does not exist in collection 'docs'. Existing partitions: '_default'."
    )
    message = await fails(mcp, "milvus_query", collection_name="docs", filter="id = 3", database=db)
    assert "Invalid filter 'id = 3'" in message and "use '==' to compare" in message
    message = await fails(mcp, "milvus_count", collection_name="docs", database="no_such_db")
    assert "Database 'no_such_db' does not exist" in message
