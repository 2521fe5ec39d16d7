"""Auto-flush in the Milvus Lite engine (`engine.autoflush`): data stays right while it runs, the collection
ends up in flushed segments, 0 turns it off, and it stops with the engine."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.engine.autoflush import FLUSH_ROWS
from mcp_server_milvus.server import build_server
from tests.conftest import make_docs, ok, rows
from tests.test_engine import engine_pids

pytestmark = pytest.mark.anyio


def segments(db_path: str, collection: str = "docs") -> list[Path]:
    """The flushed segments Lite wrote for the collection (Parquet files; unflushed rows are in its WAL)."""
    return sorted((Path(db_path) / "collections" / collection / "partitions").glob("*/data/*.parquet"))


def log(db_path: str) -> str:
    return (Path(db_path + ".engine") / "engine.log").read_text()


async def check_data(client: Client, n: int) -> None:
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == n
    got = await ok(client, "milvus_query", collection_name="docs", filter=f"id == {n - 1}", output_fields=["title"])
    assert [r["title"] for r in got["rows"]] == [f"t{n - 1}"]
    found = await ok(client, "milvus_search", collection_name="docs", vector=rows(n)[7]["vector"], limit=1)
    assert found["hits"][0]["id"] == 7


async def test_quiet_collection_is_flushed_and_stays_right(db_path: str) -> None:
    settings = Settings(uri=db_path, embedding_provider="none", lite_auto_flush_seconds=0.5)
    async with Client(build_server(settings)) as client:
        await make_docs(client, n=300)
        assert segments(db_path) == []  # not flushed yet: the writes were not quiet for 0.5 s
        await check_data(client, 300)  # right before the flush
        deadline = time.monotonic() + 15
        while "Auto-flushed default.docs" not in log(db_path) and time.monotonic() < deadline:
            await check_data(client, 300)  # and while it runs
            await anyio.sleep(0.1)
        assert "Auto-flushed default.docs" in log(db_path)
        assert segments(db_path), "no segment was flushed"
        await check_data(client, 300)  # and after it
        listed = await ok(client, "milvus_list_collections")
        assert listed["collections"][0]["row_count"] == 300


async def test_enough_rows_are_flushed_without_waiting_for_quiet(db_path: str) -> None:
    settings = Settings(uri=db_path, embedding_provider="none", lite_auto_flush_seconds=60)
    async with Client(build_server(settings)) as client:
        await make_docs(client, n=FLUSH_ROWS)
        deadline = time.monotonic() + 15
        while not segments(db_path) and time.monotonic() < deadline:
            await anyio.sleep(0.1)
        assert segments(db_path), f"{FLUSH_ROWS} waiting rows were not flushed"
        await check_data(client, FLUSH_ROWS)


async def test_zero_turns_it_off(db_path: str) -> None:
    settings = Settings(uri=db_path, embedding_provider="none", lite_auto_flush_seconds=0)
    async with Client(build_server(settings)) as client:
        await make_docs(client, n=50)
        await anyio.sleep(1.5)
        assert segments(db_path) == []
        assert "Auto-flush" not in log(db_path)
        await ok(client, "milvus_flush", collection_name="docs")  # an explicit flush still works
        assert segments(db_path)
        await check_data(client, 50)


async def test_it_stops_with_the_engine(db_path: str) -> None:
    settings = Settings(uri=db_path, embedding_provider="none", lite_auto_flush_seconds=30)
    async with Client(build_server(settings)) as client:
        await make_docs(client, n=40)
        info = await ok(client, "milvus_server_info")
        assert info["lite_auto_flush_seconds"] == 30
        async with Client(build_server(settings.model_copy(update={"lite_auto_flush_seconds": 1}))) as second:
            await ok(second, "milvus_count", collection_name="docs")
            assert (await ok(second, "milvus_server_info"))["lite_auto_flush_seconds"] == 30  # the starter's value
    assert engine_pids(db_path) == [info["engine_pid"]]
    deadline = time.monotonic() + 15
    while engine_pids(db_path) and time.monotonic() < deadline:
        await anyio.sleep(0.1)
    assert engine_pids(db_path) == [], "the engine did not stop (a thread left running?)"
    stopped = log(db_path)
    assert "Stopped; database closed" in stopped
    assert "Auto-flushed" not in stopped  # its users left before the writes were quiet for 30 s
    await anyio.sleep(1)
    assert log(db_path) == stopped  # (Lite flushes at close by itself: segments are no sign here)
    async with Client(build_server(settings)) as client:  # the rows were kept (Lite's WAL)
        await ok(client, "milvus_load_collection", collection_name="docs")
        await check_data(client, 40)
