"""Row counts kept for listings and describes (`row_counts`): true after this server's writes, marked
inexact when another program may have written since, and exact again after the TTL."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.conftest import make_docs, ok, rows

pytestmark = pytest.mark.anyio


async def listed(client: Client) -> dict[str, dict]:
    return {c["name"]: c for c in (await ok(client, "milvus_list_collections"))["collections"]}


async def test_counts_follow_this_servers_writes(client: Client) -> None:
    await make_docs(client, n=3)
    await make_docs(client, n=2, name="other")
    assert listed_counts(await listed(client)) == {"docs": 3, "other": 2}
    again = await listed(client)
    assert listed_counts(again) == {"docs": 3, "other": 2}
    assert "row_count_exact" not in again["docs"]  # the whole listing kept: nothing changed since

    await ok(client, "milvus_insert", collection_name="docs", rows=rows(4, start=10))
    after_insert = await listed(client)
    assert after_insert["docs"]["row_count"] == 7 and "row_count_exact" not in after_insert["docs"]
    assert after_insert["other"]["row_count"] == 2  # a write to one collection keeps the others' counts
    assert after_insert["other"]["row_count_exact"] is False  # kept: another program may have written since
    assert (await ok(client, "milvus_describe_collection", collection_name="docs"))["row_count"] == 7

    await ok(client, "milvus_delete", collection_name="docs", ids=[0, 10])
    await ok(client, "milvus_upsert", collection_name="docs", rows=rows(1, start=20))
    assert listed_counts(await listed(client)) == {"docs": 6, "other": 2}
    described = await ok(client, "milvus_describe_collection", collection_name="docs")
    assert described["row_count"] == 6 and "row_count_exact" not in described  # the engine saw no change since


async def test_another_programs_writes_are_marked_then_seen(db_path: str) -> None:
    settings = Settings(uri=db_path, embedding_provider="none", schema_cache_ttl=1.0)
    async with Client(build_server(settings)) as mine, Client(build_server(settings)) as theirs:
        await make_docs(mine, n=3)
        assert (await listed(mine))["docs"]["row_count"] == 3
        await ok(theirs, "milvus_insert", collection_name="docs", rows=rows(5, start=100))
        stale = (await listed(mine))["docs"]
        assert stale["row_count_exact"] is False  # kept from before their insert, and says so
        assert (await ok(mine, "milvus_count", collection_name="docs"))["count"] == 8  # always exact
        await anyio.sleep(1.1)
        fresh = (await listed(mine))["docs"]
        assert fresh["row_count"] == 8 and "row_count_exact" not in fresh


async def test_ttl_zero_counts_every_time(db_path: str) -> None:
    settings = Settings(uri=db_path, embedding_provider="none", schema_cache_ttl=0)
    async with Client(build_server(settings)) as client:
        await make_docs(client, n=3)
        for _ in range(2):
            assert (await listed(client))["docs"] == {"name": "docs", "row_count": 3, "load_state": "Loaded"}


def listed_counts(collections: dict[str, dict]) -> dict[str, int]:
    return {name: c["row_count"] for name, c in collections.items()}


async def test_engine_statistics_follow_every_servers_writes(db_path: str) -> None:
    """The engine keeps statistics answers until a change (`engine.host_stats`): another server's writes,
    deletes, overwrites and a drop-and-recreate must all show at once (no count kept in the server: TTL 0)."""
    settings = Settings(uri=db_path, embedding_provider="none", schema_cache_ttl=0)
    async with Client(build_server(settings)) as mine, Client(build_server(settings)) as theirs:
        await make_docs(mine, n=3)

        async def both() -> tuple[int, int]:
            described = await ok(mine, "milvus_describe_collection", collection_name="docs")
            return (await listed(mine))["docs"]["row_count"], described["row_count"]

        assert await both() == (3, 3)
        assert await both() == (3, 3)  # answered from the engine's kept statistics
        await ok(theirs, "milvus_insert", collection_name="docs", rows=rows(5, start=100))
        assert await both() == (8, 8)
        await ok(theirs, "milvus_delete", collection_name="docs", ids=[100, 101])
        assert await both() == (6, 6)
        await ok(theirs, "milvus_upsert", collection_name="docs", rows=rows(2))  # overwrites ids 0 and 1
        assert await both() == (6, 6)
        await ok(theirs, "milvus_drop_collection", collection_name="docs", confirm_name="docs")
        await make_docs(theirs, n=1)
        assert await both() == (1, 1)
