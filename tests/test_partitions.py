"""Partitions: made, listed with exact row counts, dropped only when confirmed, and reads scoped to them
that name a missing partition instead of answering "nothing there". Through a real MCP client, against a
real Milvus Lite database."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.conftest import fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio


async def partitioned(client: Client) -> None:
    """'docs' with 3 rows in _default, 4 in 'p2024' and 2 in 'p2025'."""
    await make_docs(client, n=3)
    for name in ("p2024", "p2025"):
        await ok(client, "milvus_create_partition", collection_name="docs", partition_name=name)
    await ok(client, "milvus_insert", collection_name="docs", rows=rows(4, start=10), partition_name="p2024")
    await ok(client, "milvus_insert", collection_name="docs", rows=rows(2, start=20), partition_name="p2025")


async def counts(client: Client) -> dict[str, int]:
    listed = await ok(client, "milvus_list_partitions", collection_name="docs")
    return {p["name"]: p["row_count"] for p in listed["partitions"]}


async def test_partitions_are_listed_with_exact_row_counts(client: Client) -> None:
    await partitioned(client)
    assert await counts(client) == {"_default": 3, "p2024": 4, "p2025": 2}
    again = await fails(client, "milvus_create_partition", collection_name="docs", partition_name="p2024")
    assert "already exists" in again
    bad = await fails(client, "milvus_create_partition", collection_name="docs", partition_name="2024-x")
    assert "not a valid partition name" in bad


async def test_counts_per_partition_are_exact(client: Client) -> None:
    await partitioned(client)

    async def count(**arguments: object) -> int:
        return (await ok(client, "milvus_count", collection_name="docs", **arguments))["count"]

    assert await count() == 9
    assert await count(partition_names=["p2024"]) == 4
    assert await count(partition_names=["p2024", "p2025"]) == 6
    assert await count(partition_names=["_default"]) == 3
    assert await count(partition_names=["p2024"], filter="id >= 12") == 2
    assert await count(partition_names=["p2025"], filter="id < 10") == 0


async def test_query_reads_only_the_partitions_named(client: Client) -> None:
    await partitioned(client)
    got = await ok(client, "milvus_query", collection_name="docs", partition_names=["p2025"], limit=100)
    assert [r["id"] for r in got["rows"]] == [20, 21]
    by_id = await ok(client, "milvus_query", collection_name="docs", ids=[0, 10, 20], partition_names=["p2024"])
    assert [r["id"] for r in by_id["rows"]] == [10]
    filtered = await ok(
        client, "milvus_query", collection_name="docs", filter="id > 10", partition_names=["p2024", "_default"]
    )
    assert [r["id"] for r in filtered["rows"]] == [11, 12, 13]


@pytest.mark.parametrize("tool", ["milvus_query", "milvus_count"])
async def test_a_missing_partition_is_named_with_the_existing_ones(client: Client, tool: str) -> None:
    await partitioned(client)
    message = await fails(client, tool, collection_name="docs", partition_names=["p2024", "p2026"])
    assert "Partition 'p2026' does not exist in collection 'docs'" in message
    assert "Did you mean" in message and "'p2024'" in message
    assert "Existing partitions: '_default', 'p2024', 'p2025'" in message
    message = await fails(client, tool, collection_name="docs", partition_names=["nope"], filter="id > 0")
    assert "Partition 'nope' does not exist" in message


async def test_drop_needs_confirmation_and_spares_default(client: Client) -> None:
    await partitioned(client)
    message = await fails(
        client, "milvus_drop_partition", collection_name="docs", partition_name="p2024", confirm_name="p2025"
    )
    assert "does not match partition_name" in message
    message = await fails(
        client, "milvus_drop_partition", collection_name="docs", partition_name="_default", confirm_name="_default"
    )
    assert "cannot be dropped" in message
    message = await fails(
        client, "milvus_drop_partition", collection_name="docs", partition_name="p2042", confirm_name="p2042"
    )
    assert "Partition 'p2042' does not exist" in message and "Did you mean" in message
    assert await counts(client) == {"_default": 3, "p2024": 4, "p2025": 2}

    dropped = await ok(
        client, "milvus_drop_partition", collection_name="docs", partition_name="p2024", confirm_name="p2024"
    )
    assert dropped["partitions"] == ["_default", "p2025"]
    assert await counts(client) == {"_default": 3, "p2025": 2}
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 5
    got = await ok(client, "milvus_query", collection_name="docs", filter="id >= 10", limit=100)
    assert [r["id"] for r in got["rows"]] == [20, 21]


async def test_a_missing_collection_is_named(client: Client) -> None:
    await make_docs(client, n=0)
    message = await fails(client, "milvus_list_partitions", collection_name="dcos")
    assert "Collection 'dcos' does not exist" in message and "Did you mean 'docs'?" in message


async def test_the_tools_are_announced_as_they_behave(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tools["milvus_list_partitions"].annotations.read_only_hint is True
    assert tools["milvus_drop_partition"].annotations.destructive_hint is True
    assert tools["milvus_create_partition"].annotations.destructive_hint is False
    assert "partition_names" in tools["milvus_query"].input_schema["properties"]


async def test_delete_within_one_partition(client: Client) -> None:
    await partitioned(client)
    gone = await ok(client, "milvus_delete", collection_name="docs", filter="id >= 0", partition_name="p2025")
    assert gone["delete_count"] == 2
    assert await counts(client) == {"_default": 3, "p2024": 4, "p2025": 0}
    gone = await ok(client, "milvus_delete", collection_name="docs", ids=[0, 10, 11], partition_name="p2024")
    assert gone["delete_count"] == 2 and gone["not_found"] == [0]  # id 0 lives in _default, and stays
    assert await counts(client) == {"_default": 3, "p2024": 2, "p2025": 0}
    message = await fails(client, "milvus_delete", collection_name="docs", ids=[1], partition_name="p2026")
    assert "'p2026'" in message and "p2025" in message
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 5
