"""Features Milvus 2.3.5 lacks must get a plain explanation, never a cryptic RPC failure or a silent
wrong answer; and what it has (binary vectors, partitions, aliases-free renames) must work.

Raw Milvus 2.3.5 behaviour, measured with pymilvus 3.0.2 straight to the server:
- SPARSE_FLOAT_VECTOR with SPARSE_INVERTED_INDEX: code=1100 "create index on 104 field is not supported:
  invalid parameter[expected=supported field][actual=create index on 104 field]"; a sparse insert:
  code=65535 "%!s(<nil>) is not supported now".
- Two vector fields: code=65535 "multiple vector fields is not supported, fields name: a, b".
- A BM25 function in the schema is dropped silently (the collection is created without it).
- search(group_by_field=...) is ignored silently: ungrouped hits come back.
"""

from __future__ import annotations

from mcp import Client

from tests.real_milvus.conftest import Oracle, fails, ok, real_milvus

pytestmark = real_milvus

PK = {"name": "id", "type": "INT64", "is_primary": True}


async def assert_nothing_created(mcp: Client, db: str) -> None:
    assert (await ok(mcp, "milvus_list_collections", database=db))["collections"] == []


def plain(message: str, what: str) -> None:
    """A message that names the missing feature, the version that has it and what to do instead."""
    assert what in message, message
    assert "does not support" in message and "or newer" in message and "Instead:" in message, message
    assert "2.3.5" in message, message


async def test_sparse_vector_field_is_explained(mcp: Client, db: str) -> None:
    fields = [PK, {"name": "sp", "type": "SPARSE_FLOAT_VECTOR"}]
    message = await fails(mcp, "milvus_create_collection", collection_name="sp", fields=fields, database=db)
    plain(message, "sparse vectors")
    await assert_nothing_created(mcp, db)


async def test_bm25_function_is_explained(mcp: Client, db: str) -> None:
    fields = [
        PK,
        {"name": "text", "type": "VARCHAR", "max_length": 200, "enable_analyzer": True},
        {"name": "sparse", "type": "SPARSE_FLOAT_VECTOR"},
        {"name": "dense", "type": "FLOAT_VECTOR", "dim": 2},
    ]
    functions = [{"name": "bm25", "input_field_names": ["text"], "output_field_names": ["sparse"]}]
    message = await fails(
        mcp, "milvus_create_collection", collection_name="ft", fields=fields, functions=functions, database=db
    )
    # Our server answers for the sparse output field first ("does not support sparse vectors"): plain,
    # though naming BM25 would fit the agent's intent better.
    plain(message, "BM25" if "BM25" in message else "sparse vectors")
    await assert_nothing_created(mcp, db)


async def test_multiple_vector_fields_are_explained(mcp: Client, db: str) -> None:
    fields = [PK, {"name": "a", "type": "FLOAT_VECTOR", "dim": 2}, {"name": "b", "type": "FLOAT_VECTOR", "dim": 2}]
    message = await fails(mcp, "milvus_create_collection", collection_name="two", fields=fields, database=db)
    plain(message, "several vector fields")
    await assert_nothing_created(mcp, db)


async def test_hybrid_search_is_explained(mcp: Client, db: str) -> None:
    """On a one-vector collection, with text or with searches: the capability, not a field count."""
    await ok(mcp, "milvus_create_collection", collection_name="h", dimension=2, database=db)
    await ok(mcp, "milvus_insert", collection_name="h", rows=[{"id": 1, "vector": [1.0, 0.0]}], database=db)
    message = await fails(mcp, "milvus_hybrid_search", collection_name="h", text="solar power", database=db)
    plain(message, "hybrid search")
    searches = [{"anns_field": "vector", "vector": [1, 0]}, {"anns_field": "vector", "vector": [0, 1]}]
    message = await fails(mcp, "milvus_hybrid_search", collection_name="h", searches=searches, database=db)
    plain(message, "hybrid search")


async def test_group_by_search_is_explained(mcp: Client, db: str) -> None:
    fields = [PK, {"name": "kind", "type": "INT64"}, {"name": "vector", "type": "FLOAT_VECTOR", "dim": 2}]
    await ok(mcp, "milvus_create_collection", collection_name="g", fields=fields, database=db)
    data = [{"id": i, "kind": i % 2, "vector": [1.0, float(i)]} for i in range(6)]
    await ok(mcp, "milvus_insert", collection_name="g", rows=data, database=db)
    message = await fails(
        mcp, "milvus_search", collection_name="g", vector=[1, 2], group_by_field="kind", limit=5, database=db
    )
    plain(message, "grouping search")


async def test_binary_vectors_work_on_a_server(mcp: Client, db: str, oracle: Oracle) -> None:
    """Milvus Lite refuses BINARY_VECTOR; Milvus 2.3.5 has it, so our server must not refuse it."""
    fields = [PK, {"name": "bits", "type": "BINARY_VECTOR", "dim": 16}]
    created = await ok(
        mcp,
        "milvus_create_collection",
        collection_name="bin",
        fields=fields,
        indexes=[{"field_name": "bits", "index_type": "BIN_FLAT", "metric_type": "HAMMING"}],
        database=db,
    )
    assert created["vector_fields"][0]["metric_type"] == "HAMMING"
    # dim bits per vector, given as dim numbers 0 or 1 (the only form that fits "expects dimension 16").
    ones_first, ones_last = [1] * 8 + [0] * 8, [0] * 8 + [1] * 8
    await ok(
        mcp,
        "milvus_insert",
        collection_name="bin",
        rows=[{"id": 1, "bits": ones_first}, {"id": 2, "bits": ones_last}],
        database=db,
    )
    assert oracle.count("bin", db) == 2
    hits = await ok(mcp, "milvus_search", collection_name="bin", vector=[0] * 9 + [1] * 7, limit=1, database=db)
    assert [h["id"] for h in hits["hits"]] == [2]


async def test_partitions_work(mcp: Client, db: str, oracle: Oracle) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="p", dimension=2, database=db)
    message = await fails(
        mcp,
        "milvus_insert",
        collection_name="p",
        rows=[{"id": 1, "vector": [1, 2]}],
        partition_name="nope",
        database=db,
    )
    assert "nope" in message, message
    assert oracle.count("p", db) == 0


async def test_partition_counts_and_deletes_are_exact(mcp: Client, db: str, oracle: Oracle) -> None:
    """Per-partition row counts, and a delete within one partition, agree with the oracle on a server too."""
    await ok(mcp, "milvus_create_collection", collection_name="p", dimension=2, database=db)
    await ok(mcp, "milvus_create_partition", collection_name="p", partition_name="y2024", database=db)
    rows = [{"id": i, "vector": [1.0, float(i + 1)]} for i in range(7)]
    await ok(mcp, "milvus_insert", collection_name="p", rows=rows[:3], database=db)
    await ok(mcp, "milvus_insert", collection_name="p", rows=rows[3:], partition_name="y2024", database=db)
    listed = await ok(mcp, "milvus_list_partitions", collection_name="p", database=db)
    assert {x["name"]: x["row_count"] for x in listed["partitions"]} == {"_default": 3, "y2024": 4}
    counted = await ok(mcp, "milvus_count", collection_name="p", partition_names=["y2024"], database=db)
    assert counted["count"] == 4
    gone = await ok(mcp, "milvus_delete", collection_name="p", filter="id >= 0", partition_name="y2024", database=db)
    assert gone["delete_count"] == 4
    assert oracle.count("p", db) == 3 == oracle.count("p", db, "id < 3")


async def test_partition_key_keeps_tenants_apart(mcp: Client, db: str, oracle: Oracle) -> None:
    """Milvus 2.3.5 has partition keys (2.2.9 and newer): rows go by tenant, a filter on it reads one tenant, and
    the partition names a server refuses on a partition-key collection are refused by our server first."""
    created = await ok(
        mcp,
        "milvus_create_collection",
        collection_name="shared",
        dimension=2,
        partition_key_field="tenant",
        num_partitions=8,
        database=db,
    )
    assert created["primary_key"] == "id"
    tenants = ["a", "b", "c", "a", "b", "a"]
    data = [{"id": i, "tenant": t, "vector": [1.0, float(i + 1)]} for i, t in enumerate(tenants)]
    await ok(mcp, "milvus_insert", collection_name="shared", rows=data, database=db)
    assert oracle.count("shared", db) == 6
    hits = await ok(
        mcp,
        "milvus_search",
        collection_name="shared",
        vector=[1, 1],
        filter="tenant == 'a'",
        limit=6,
        output_fields=["tenant"],
        database=db,
    )
    assert sorted(h["id"] for h in hits["hits"]) == [0, 3, 5]
    assert (await ok(mcp, "milvus_count", collection_name="shared", filter="tenant == 'b'", database=db))["count"] == 2
    described = await ok(mcp, "milvus_describe_collection", collection_name="shared", database=db)
    assert (described["partition_key"], described["num_partitions"]) == ("tenant", 8)
    message = await fails(
        mcp,
        "milvus_insert",
        collection_name="shared",
        rows=[{"id": 9, "tenant": "a", "vector": [1, 2]}],
        partition_name=described["partitions"][0],
        database=db,
    )
    assert "partition key 'tenant'" in message, message
    assert oracle.count("shared", db) == 6
