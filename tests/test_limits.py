"""Limits an operator sets: rows per write, the largest limit of a read, and calls at once. Each refusal
names the limit and how to stay under it, and comes before Milvus is asked anything."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client
from typer.testing import CliRunner

from mcp_server_milvus.cli import app
from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.conftest import fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio


def limited(tmp_path: Path, **limits: object) -> Client:
    return Client(build_server(Settings(uri=str(tmp_path / "m.db"), embedding_provider="none", **limits)))


async def test_a_write_of_more_rows_than_max_rows_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    async with limited(tmp_path, max_rows=50) as client:
        await make_docs(client, n=0)
        for tool in ("milvus_insert", "milvus_upsert"):
            message = await fails(client, tool, collection_name="docs", rows=rows(51))
            assert "at most 50 rows per call (--max-rows) and got 51" in message, message
            assert "split the rest" in message and "Nothing was written" in message
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 0
        assert (await ok(client, "milvus_insert", collection_name="docs", rows=rows(50)))["insert_count"] == 50
        info = await ok(client, "milvus_server_info")
        limits = info["limits"]
        assert (limits["max_rows"], limits["max_limit"], limits["max_concurrency"]) == (50, 1000, 64)


async def test_reads_asking_for_more_than_max_limit_are_refused(tmp_path: Path) -> None:
    async with limited(tmp_path, max_limit=20) as client:
        await make_docs(client, n=30)
        vector = rows(1)[0]["vector"]
        for tool, arguments in (
            ("milvus_query", {}),
            ("milvus_search", {"vector": vector}),
            ("milvus_hybrid_search", {"searches": [{"anns_field": "vector", "vector": vector}] * 2}),
        ):
            message = await fails(client, tool, collection_name="docs", limit=21, **arguments)
            assert "limit may be at most 20 on this server (--max-limit), got 21" in message, message
            assert "page on with the offset or cursor" in message
        message = await fails(
            client,
            "milvus_hybrid_search",
            collection_name="docs",
            searches=[{"anns_field": "vector", "vector": vector, "limit": 500}] * 2,
        )
        assert "searches[0].limit may be at most 20" in message, message
        page = await ok(client, "milvus_query", collection_name="docs", limit=20, output_fields=["id"])
        assert [r["id"] for r in page["rows"]] == list(range(20)) and page["next_offset"] == 20
        hits = await ok(client, "milvus_search", collection_name="docs", vector=vector, limit=20)
        assert len(hits["hits"]) == 20


async def test_a_call_past_max_concurrency_waits_for_a_slot_then_fails_clearly(tmp_path: Path) -> None:
    server = build_server(Settings(uri=str(tmp_path / "m.db"), embedding_provider="none", max_concurrency=1, timeout=1))
    gate = server.runtime.gate
    async with Client(server) as client:
        await make_docs(client, n=3)
        async with gate.slot():  # the one slot taken, as a long call would
            started = anyio.current_time()
            message = await fails(client, "milvus_count", collection_name="docs")
            waited = anyio.current_time() - started
        assert "already runs 1 calls at once (--max-concurrency)" in message, message
        assert "none finished within 1 s" in message and "fewer calls in parallel" in message
        assert 0.9 <= waited < 5
        assert gate.in_flight == 0

        async def free_soon() -> None:
            async with gate.slot():
                await anyio.sleep(0.3)

        async with anyio.create_task_group() as tg:
            tg.start_soon(free_soon)
            await anyio.sleep(0.05)
            assert gate.in_flight == 1
            assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 3  # waited, then ran


async def test_calls_beyond_max_concurrency_queue_and_all_succeed(tmp_path: Path) -> None:
    server = build_server(Settings(uri=str(tmp_path / "m.db"), embedding_provider="none", max_concurrency=2))
    async with Client(server) as client:
        await make_docs(client, n=0)
        most = 0
        counts: list[int] = []

        async def insert(k: int) -> None:
            nonlocal most
            most = max(most, server.runtime.gate.in_flight)
            done = await ok(client, "milvus_insert", collection_name="docs", rows=rows(10, start=10 * k))
            counts.append(done["insert_count"])
            most = max(most, server.runtime.gate.in_flight)

        async with anyio.create_task_group() as tg:
            for k in range(12):
                tg.start_soon(insert, k)
        assert counts == [10] * 12 and most <= 2
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 120


def test_the_limits_are_options_with_environment_variables() -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["--help"]).output
    for word in ("--max-rows", "MILVUS_MCP_MAX_ROWS", "--max-limit", "MILVUS_MCP_MAX_LIMIT", "--max-concurrency"):
        assert word in shown, word
    refused = runner.invoke(app, ["--max-limit", "0"])
    assert refused.exit_code == 2 and "invalid max_limit" in refused.output
    refused = runner.invoke(app, ["--max-limit", "20000"])
    assert refused.exit_code == 2 and "16384" in refused.output
