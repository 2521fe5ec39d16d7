"""milvus_create_collection's partition key (multi-tenancy) and text analyzers, on Milvus Lite through the MCP
client: rows placed by tenant and read back by a filter on it, manual partitioning refused, and analyzers
Lite knows (standard, chinese by jieba) used while the ones it lacks are refused before anything is made."""

from __future__ import annotations

import importlib.util

import pytest
from mcp import Client

from tests.conftest import fails, ok, rows

pytestmark = pytest.mark.anyio

TENANTS = {"a": 4, "b": 3, "c": 2}


def tenant_rows() -> list[dict[str, object]]:
    """Nine rows: ids 0-3 of tenant a, 4-6 of b, 7-8 of c."""
    tenants = [t for t, n in TENANTS.items() for _ in range(n)]
    return [{**row, "tenant": tenant} for row, tenant in zip(rows(len(tenants)), tenants, strict=True)]


async def make_tenants(client: Client) -> None:
    created = await ok(
        client,
        "milvus_create_collection",
        collection_name="shared",
        dimension=4,
        partition_key_field="tenant",
        num_partitions=16,
    )
    assert created["primary_key"] == "id"
    inserted = await ok(client, "milvus_insert", collection_name="shared", rows=tenant_rows())
    assert inserted["insert_count"] == 9


async def test_partition_key_keeps_tenants_apart(client: Client) -> None:
    await make_tenants(client)
    described = await ok(client, "milvus_describe_collection", collection_name="shared")
    assert (described["partition_key"], described["num_partitions"]) == ("tenant", 16)
    key = next(f for f in described["fields"] if f["name"] == "tenant")
    assert (key["type"], key["max_length"], key["is_partition_key"]) == ("VARCHAR", 512, True)

    found = await ok(client, "milvus_query", collection_name="shared", filter="tenant == 'a'", output_fields=["tenant"])
    assert sorted(r["id"] for r in found["rows"]) == [0, 1, 2, 3]
    hits = await ok(
        client,
        "milvus_search",
        collection_name="shared",
        vector=[1, 1, 1, 1],
        filter="tenant == 'b'",
        limit=9,
        output_fields=["tenant"],
    )
    assert sorted(h["id"] for h in hits["hits"]) == [4, 5, 6]
    assert {h["entity"]["tenant"] for h in hits["hits"]} == {"b"}
    for tenant, n in TENANTS.items():
        counted = await ok(client, "milvus_count", collection_name="shared", filter=f"tenant == '{tenant}'")
        assert counted["count"] == n, tenant


async def test_partition_key_refuses_manual_partitioning_and_rows_without_a_key(client: Client) -> None:
    await make_tenants(client)
    keyless = [{"id": 100, "vector": [1.0, 2.0, 3.0, 4.0]}, {"id": 101, "vector": [1.0, 1.0, 1.0, 1.0]}]
    message = await fails(client, "milvus_insert", collection_name="shared", rows=keyless)
    assert message.startswith("Row 0: required field 'tenant' (VARCHAR) is missing."), message
    pinned = [{"id": 102, "vector": [1.0, 2.0, 3.0, 4.0], "tenant": "a"}]
    message = await fails(client, "milvus_insert", collection_name="shared", rows=pinned, partition_name="_default")
    assert message == (
        "Collection 'shared' has the partition key 'tenant', so Milvus manages its partitions and puts each row by "
        "its tenant: leave partition names out and filter on tenant instead, e.g. \"tenant == 'a'\"."
    )
    assert "partition key 'tenant'" in await fails(
        client, "milvus_upsert", collection_name="shared", rows=pinned, partition_name="_default"
    )
    assert (await ok(client, "milvus_count", collection_name="shared"))["count"] == 9  # nothing was written
    assert "partition key 'tenant'" in await fails(
        client, "milvus_create_partition", collection_name="shared", partition_name="p1"
    )
    assert "partition key 'tenant'" in await fails(
        client, "milvus_drop_partition", collection_name="shared", partition_name="_pk_3", confirm_name="_pk_3"
    )
    listed = await ok(client, "milvus_list_partitions", collection_name="shared")
    assert "p1" not in [p["name"] for p in listed["partitions"]]
    assert "partition key 'tenant'" in await fails(
        client, "milvus_query", collection_name="shared", filter="id >= 0", partition_names=["_default"]
    )


async def test_partition_key_arguments_are_checked_before_anything_is_made(client: Client) -> None:
    cases = [
        ({"dimension": 4, "num_partitions": 8}, "num_partitions applies to a partition key"),
        ({"dimension": 4, "partition_key_type": "int"}, "partition_key_type applies with partition_key_field"),
        ({"dimension": 4, "partition_key_field": "id"}, "Field names must be unique; repeated: 'id'"),
        (
            {"dimension": 4, "partition_key_field": "tenant", "num_partitions": 8},
            "Milvus Lite (milvus_lite-3.2.2) always makes 16 partitions for a partition key",
        ),
        (
            {
                "fields": [
                    {"name": "id", "type": "INT64", "is_primary": True, "is_partition_key": True},
                    {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
                ]
            },
            "The primary key 'id' cannot be the partition key",
        ),
        (
            {
                "fields": [
                    {"name": "id", "type": "INT64", "is_primary": True},
                    {"name": "score", "type": "FLOAT", "is_partition_key": True},
                    {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
                ]
            },
            "Partition key 'score' must be INT64 or VARCHAR, not FLOAT.",
        ),
        (
            {
                "fields": [
                    {"name": "id", "type": "INT64", "is_primary": True},
                    {"name": "a", "type": "INT64", "is_partition_key": True},
                    {"name": "b", "type": "VARCHAR", "is_partition_key": True},
                    {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
                ]
            },
            "A schema takes one partition key; is_partition_key is set on 'a', 'b'.",
        ),
        (
            {
                "fields": [
                    {"name": "id", "type": "INT64", "is_primary": True},
                    {"name": "t", "type": "INT64", "is_partition_key": True, "nullable": True},
                    {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
                ]
            },
            "Partition key 't' cannot be nullable",
        ),
    ]
    for arguments, expected in cases:
        message = await fails(client, "milvus_create_collection", collection_name="bad", **arguments)
        assert expected in message, (arguments, message)
    assert (await ok(client, "milvus_list_collections"))["collections"] == []


async def test_int_partition_key_in_a_text_collection(client: Client) -> None:
    await ok(
        client,
        "milvus_create_collection",
        collection_name="notes",
        text_field="text",
        partition_key_field="org",
        partition_key_type="int",
    )
    texts = ["volcano lava eruption", "volcano ash cloud", "bread baking crust"]
    await ok(
        client, "milvus_insert", collection_name="notes", rows=[{"text": t, "org": i % 2} for i, t in enumerate(texts)]
    )
    found = await ok(
        client, "milvus_search", collection_name="notes", text="volcano", filter="org == 1", output_fields=["text"]
    )
    assert [h["entity"]["text"] for h in found["hits"]] == ["volcano ash cloud"]
    key = next(
        f
        for f in (await ok(client, "milvus_describe_collection", collection_name="notes"))["fields"]
        if f["name"] == "org"
    )
    assert (key["type"], key["is_partition_key"]) == ("INT64", True)


CHINESE = ["我喜欢吃苹果和香蕉", "北京是中国的首都", "机器学习是人工智能的一个分支", "今天天气很好，适合去公园散步"]
CHINESE_QUERIES = {"首都北京": 1, "人工智能": 2, "天气": 3}


@pytest.mark.skipif(importlib.util.find_spec("jieba") is None, reason="needs jieba (the [chinese] extra)")
async def test_chinese_analyzer_finds_chinese_words(client: Client) -> None:
    await ok(client, "milvus_create_collection", collection_name="zh", text_field="text", analyzer="chinese")
    await ok(client, "milvus_insert", collection_name="zh", rows=[{"text": t, "n": i} for i, t in enumerate(CHINESE)])
    for query, expected in CHINESE_QUERIES.items():
        found = await ok(client, "milvus_search", collection_name="zh", text=query, limit=2, output_fields=["n"])
        assert found["hits"][0]["entity"]["n"] == expected, (query, found["hits"])
    text = next(
        f
        for f in (await ok(client, "milvus_describe_collection", collection_name="zh"))["fields"]
        if f["name"] == "text"
    )
    assert text["analyzer_params"] == {"tokenizer": "jieba"}
    # The standard analyzer keeps a run of Chinese characters as one word, so the same queries find nothing.
    await ok(client, "milvus_create_collection", collection_name="std", text_field="text", analyzer="standard")
    await ok(client, "milvus_insert", collection_name="std", rows=[{"text": t} for t in CHINESE])
    assert (await ok(client, "milvus_search", collection_name="std", text="人工智能"))["hits"] == []


async def test_an_analyzer_lite_lacks_is_refused_before_anything_is_made(client: Client) -> None:
    message = await fails(
        client, "milvus_create_collection", collection_name="en", text_field="text", analyzer="english"
    )
    assert message == (
        "Field 'text': Milvus Lite (milvus_lite-3.2.2) has no 'english' analyzer; it knows 'standard' and 'chinese' (its "
        "jieba tokenizer). Use one of those, or a Milvus server 2.5 or newer."
    )
    message = await fails(client, "milvus_create_collection", collection_name="en", dimension=4, analyzer="standard")
    assert message == "analyzer applies to a text collection: give text_field too, e.g. text_field: 'text'."
    assert (await ok(client, "milvus_list_collections"))["collections"] == []
