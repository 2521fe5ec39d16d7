"""Long writes report progress per batch, to a client that asked for it (a progress callback sends a
progress token); in both client modes."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_server_milvus.server import MilvusServer
from tests.conftest import make_docs, ok, rows

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("tool", ["milvus_insert", "milvus_upsert"])
async def test_multi_batch_write_reports_each_batch(server: MilvusServer, mode: str, tool: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    async with Client(server, raise_exceptions=True, mode=mode) as client:
        await make_docs(client, n=0)
        result = await client.call_tool(
            tool, {"collection_name": "docs", "rows": rows(2500)}, progress_callback=progress
        )
        assert not result.is_error, result.content
        verb = "inserted" if tool == "milvus_insert" else "upserted"
        assert seen == [
            (1000, 2500, f"1000 of 2500 rows {verb}"),
            (2000, 2500, f"2000 of 2500 rows {verb}"),
            (2500, 2500, f"2500 of 2500 rows {verb}"),
        ]
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 2500


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_one_batch_and_no_token_are_quiet(server: MilvusServer, mode: str) -> None:
    seen: list[float] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append(done)

    async with Client(server, raise_exceptions=True, mode=mode) as client:
        await make_docs(client, n=0)
        result = await client.call_tool(
            "milvus_insert", {"collection_name": "docs", "rows": rows(1000)}, progress_callback=progress
        )
        assert not result.is_error and seen == []
        # Without a progress callback the client sends no token: the multi-batch write still succeeds.
        await ok(client, "milvus_insert", collection_name="docs", rows=rows(1500, start=1000))
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 2500
