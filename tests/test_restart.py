"""Load on demand across a restart, and an explicit release that reads respect.

Milvus Lite reopens every collection NotLoad: a read after a restart must load it on demand, while a
collection released through milvus_release_collection stays released until milvus_load_collection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import MilvusServer, build_server
from tests.conftest import fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio

QUERY4 = [1.0, 2.0, 3.0, 4.0]


async def engine_stopped(db_path: str) -> None:
    """Wait until the Milvus Lite engine left by the previous server has closed the database, so that
    the next server really reopens it (the engine outlives its last user by about two seconds)."""
    state = Path(db_path + ".engine") / "state.json"
    with anyio.fail_after(20):
        while state.exists():
            await anyio.sleep(0.1)


async def load_state(client: Client, name: str = "docs") -> str:
    return (await ok(client, "milvus_describe_collection", collection_name=name))["load_state"]


async def test_search_after_restart_loads_on_demand(db_path: str) -> None:
    settings = Settings(uri=db_path)
    first = build_server(settings)
    async with Client(first, raise_exceptions=True) as client:
        await make_docs(client, n=7)
        await ok(client, "milvus_flush", collection_name="docs")
        await ok(client, "milvus_insert", collection_name="docs", rows=rows(3, start=100))  # left unflushed
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 10
    # Leaving the client ran the lifespan's close: Milvus Lite released the database.

    await engine_stopped(db_path)
    second = build_server(settings)
    async with Client(second, raise_exceptions=True) as client:
        assert await load_state(client) == "NotLoad"
        hits = (await ok(client, "milvus_search", collection_name="docs", vector=QUERY4, limit=5))["hits"]
        assert len(hits) == 5
        assert await load_state(client) == "Loaded"
        # Data persisted, flushed and unflushed alike.
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 10
        found = await ok(client, "milvus_query", collection_name="docs", ids=[0, 6, 100, 102], output_fields=["title"])
        assert sorted(r["id"] for r in found["rows"]) == [0, 6, 100, 102]
        assert {r["title"] for r in found["rows"]} == {"t0", "t6", "t100", "t102"}


async def test_concurrent_first_searches_after_restart(db_path: str) -> None:
    """Ten searches at once on a NotLoad collection: one schema fetch, every search answered."""
    settings = Settings(uri=db_path)
    async with Client(build_server(settings), raise_exceptions=True) as client:
        await make_docs(client, n=8)

    await engine_stopped(db_path)
    server = build_server(settings)
    async with Client(server, raise_exceptions=True) as client:
        before = server.runtime.cache.fetches
        results: list[dict[str, Any]] = []

        async def one() -> None:
            results.append(await ok(client, "milvus_search", collection_name="docs", vector=QUERY4, limit=4))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(one)
        assert [len(r["hits"]) for r in results] == [4] * 10
        assert server.runtime.cache.fetches - before == 1
        assert await load_state(client) == "Loaded"


async def test_query_and_count_after_restart_load_on_demand(db_path: str) -> None:
    settings = Settings(uri=db_path)
    async with Client(build_server(settings), raise_exceptions=True) as client:
        await make_docs(client, n=4)

    await engine_stopped(db_path)
    async with Client(build_server(settings), raise_exceptions=True) as client:
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 4
    await engine_stopped(db_path)
    async with Client(build_server(settings), raise_exceptions=True) as client:
        found = await ok(client, "milvus_query", collection_name="docs", filter="id >= 2")
        assert sorted(r["id"] for r in found["rows"]) == [2, 3]
    await engine_stopped(db_path)
    async with Client(build_server(settings), raise_exceptions=True) as client:
        deleted = await ok(client, "milvus_delete", collection_name="docs", ids=[3, 99])
        assert deleted["delete_count"] == 1
        assert deleted["not_found"] == [99]
    await engine_stopped(db_path)
    async with Client(build_server(settings), raise_exceptions=True) as client:
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 3


async def test_released_collection_needs_explicit_load(server: MilvusServer, client: Client) -> None:
    await make_docs(client, n=5)
    assert len((await ok(client, "milvus_search", collection_name="docs", vector=QUERY4))["hits"]) == 5

    released = await ok(client, "milvus_release_collection", collection_name="docs")
    assert released["load_state"] == "NotLoad"
    for tool, arguments in [
        ("milvus_search", {"vector": QUERY4}),
        ("milvus_query", {"ids": [1]}),
        ("milvus_count", {}),
    ]:
        message = await fails(client, tool, collection_name="docs", **arguments)
        assert "milvus_load_collection" in message, (tool, message)
    assert await load_state(client) == "NotLoad", "a read must not load a released collection"

    # Even with the cache entry gone (TTL expiry), the release is remembered.
    server.runtime.cache.invalidate((server.runtime.sessions.endpoint, "default", "docs"))
    message = await fails(client, "milvus_search", collection_name="docs", vector=QUERY4)
    assert "milvus_load_collection" in message

    loaded = await ok(client, "milvus_load_collection", collection_name="docs")
    assert loaded["load_state"] == "Loaded"
    assert len((await ok(client, "milvus_search", collection_name="docs", vector=QUERY4))["hits"]) == 5
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 5


async def test_release_then_restart_loads_on_demand(db_path: str) -> None:
    """A release is this server's instruction, not the database's: a new server loads on demand."""
    settings = Settings(uri=db_path)
    async with Client(build_server(settings), raise_exceptions=True) as client:
        await make_docs(client, n=3)
        await ok(client, "milvus_release_collection", collection_name="docs")
        await fails(client, "milvus_search", collection_name="docs", vector=QUERY4)

    await engine_stopped(db_path)
    async with Client(build_server(settings), raise_exceptions=True) as client:
        hits = (await ok(client, "milvus_search", collection_name="docs", vector=QUERY4))["hits"]
        assert len(hits) == 3
