"""The shared schema cache, seen through the tools: what a call costs in schema fetches, and that a
changed schema (drop + recreate) or a bad batch never gets past it.

Everything runs against a real Milvus Lite database in tmp_path through the in-memory MCP client;
`server.runtime.cache.fetches` counts the schema fetches from Milvus.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import MilvusServer, build_server
from tests.conftest import fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio

QUERY4 = [1.0, 2.0, 3.0, 4.0]


def invalidate(server: MilvusServer, collection: str, database: str = "default") -> None:
    """Make the next call on `collection` a cache miss, as after a restart or a TTL expiry."""
    server.runtime.cache.invalidate((server.runtime.sessions.endpoint, database, collection))


async def search(client: Client, vector: list[float], name: str = "docs", **kwargs: Any) -> dict[str, Any]:
    return await ok(client, "milvus_search", collection_name=name, vector=vector, limit=3, **kwargs)


async def count(client: Client, name: str = "docs") -> int:
    return (await ok(client, "milvus_count", collection_name=name))["count"]


async def test_many_searches_cost_one_fetch(server: MilvusServer, client: Client) -> None:
    await make_docs(client, n=10)
    cache = server.runtime.cache

    # Warm cache (create fetched the schema): twenty searches cost no fetch at all.
    before = cache.fetches
    for _ in range(20):
        result = await search(client, QUERY4)
        assert len(result["hits"]) == 3
    assert cache.fetches - before == 0

    # Cold cache: the first search fetches, the next nineteen reuse it.
    invalidate(server, "docs")
    before = cache.fetches
    await search(client, QUERY4)
    assert cache.fetches - before == 1
    for _ in range(19):
        await search(client, QUERY4)
    assert cache.fetches - before == 1

    # Other reads share the same entry.
    await ok(client, "milvus_query", collection_name="docs", ids=[1, 2])
    await count(client)
    assert cache.fetches - before == 1


async def test_concurrent_first_calls_share_one_fetch(server: MilvusServer, client: Client) -> None:
    await make_docs(client, n=10)
    cache = server.runtime.cache
    invalidate(server, "docs")
    before = cache.fetches
    results: list[dict[str, Any]] = []

    async def one() -> None:
        results.append(await search(client, QUERY4))

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)

    assert len(results) == 10
    assert all(len(r["hits"]) == 3 for r in results)
    assert cache.fetches - before == 1, "concurrent misses must share a single fetch"


async def test_ttl_zero_fetches_on_every_call(db_path: str) -> None:
    server = build_server(Settings(uri=db_path, schema_cache_ttl=0))
    async with Client(server, raise_exceptions=True) as client:
        await make_docs(client, n=5)
        cache = server.runtime.cache
        before = cache.fetches
        for _ in range(5):
            await search(client, QUERY4)
        assert cache.fetches - before == 5
        await count(client)
        await ok(client, "milvus_insert", collection_name="docs", rows=rows(2, start=100))
        assert cache.fetches - before == 7


async def test_drop_and_recreate_with_another_dimension(server: MilvusServer, client: Client) -> None:
    await make_docs(client, n=5, dim=4)
    await search(client, QUERY4)  # the dimension-4 schema is now cached

    await ok(client, "milvus_drop_collection", collection_name="docs", confirm_name="docs")
    created = await ok(client, "milvus_create_collection", collection_name="docs", dimension=8)
    assert created["vector_fields"][0]["dim"] == 8

    # No stale dimension: 8-dim rows and queries are accepted, 4-dim ones refused against the new schema.
    inserted = await ok(client, "milvus_insert", collection_name="docs", rows=rows(6, dim=8))
    assert inserted["insert_count"] == 6
    result = await search(client, [1.0] * 8)
    assert len(result["hits"]) == 3
    assert await count(client) == 6

    message = await fails(client, "milvus_search", collection_name="docs", vector=QUERY4)
    assert "expects dimension 8, got 4" in message
    message = await fails(client, "milvus_insert", collection_name="docs", rows=rows(1, dim=4, start=50))
    assert "expects dimension 8, got 4" in message
    assert await count(client) == 6

    # And back again: drop + recreate at dimension 4.
    await ok(client, "milvus_drop_collection", collection_name="docs", confirm_name="docs")
    await ok(client, "milvus_create_collection", collection_name="docs", dimension=4)
    await ok(client, "milvus_insert", collection_name="docs", rows=rows(2, dim=4))
    assert len((await search(client, QUERY4))["hits"]) == 2


async def test_wrong_dimension_insert_writes_nothing(client: Client) -> None:
    await make_docs(client, n=5, dim=4)
    assert await count(client) == 5

    bad = {"id": 100, "vector": [0.1, 0.2, 0.3], "title": "short"}
    message = await fails(client, "milvus_insert", collection_name="docs", rows=[bad])
    assert "expects dimension 4, got 3" in message
    assert "vector" in message
    assert await count(client) == 5

    # One bad row among many good ones: the whole batch is refused, and the message names the row.
    batch = rows(50, dim=4, start=1000)
    batch[37] = {"id": 1037, "vector": [1.0, 2.0, 3.0, 4.0, 5.0], "title": "long"}
    message = await fails(client, "milvus_insert", collection_name="docs", rows=batch)
    assert "Row 37" in message
    assert "expects dimension 4, got 5" in message
    assert await count(client) == 5
    found = await ok(client, "milvus_query", collection_name="docs", filter="id >= 1000")
    assert found["rows"] == []

    # Upsert goes through the same check.
    message = await fails(client, "milvus_upsert", collection_name="docs", rows=[rows(1)[0], bad])
    assert "Row 1" in message and "expects dimension 4, got 3" in message
    assert await count(client) == 5
