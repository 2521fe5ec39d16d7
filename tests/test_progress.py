"""Long writes report progress per batch, to a client that asked for it (a progress callback sends a
progress token); in both client modes."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import MilvusServer, build_server
from tests.conftest import check_cancelled_write, make_docs, ok, rows

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


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_cancelled_while_reporting_logs_what_was_written(
    tmp_path: Path, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A call cancelled as its first progress notification arrives stops the remaining batches, and the log
    names the rows written, whether the cancel lands during the notification or the next batch."""
    server = build_server(Settings(uri=str(tmp_path / "m.db"), embedding_provider="none"))
    async with Client(server, mode=mode) as client:
        await make_docs(client, n=0)
        async with anyio.create_task_group() as tg:

            async def progress(done: float, total: float | None, message: str | None) -> None:
                tg.cancel_scope.cancel()

            async def insert() -> None:
                await client.call_tool(
                    "milvus_insert", {"collection_name": "docs", "rows": rows(5000)}, progress_callback=progress
                )

            tg.start_soon(insert)
        await check_cancelled_write(client, caplog)


async def test_a_failure_part_way_is_a_partial_write_with_counts_and_ids(tmp_path: Path) -> None:
    """The collection is renamed away after the first batch (another call, as another program could): the
    next batch fails, and the error names the rows and ids written before it, which are exactly the rows
    the renamed collection holds.

    In the in-process client's auto mode the server awaits the progress callback between batches, so the
    rename lands between two batches, not during one. (Milvus Lite 3.2.2 loses rows it acknowledged when a
    rename runs while they are inserted: 5,000 acknowledged, 3,000 kept.)"""
    server = build_server(Settings(uri=str(tmp_path / "m.db"), embedding_provider="none"))
    async with Client(server, mode="auto") as client:
        await make_docs(client, n=0)

        async def progress(done: float, total: float | None, message: str | None) -> None:
            if done == 1000:
                await ok(client, "milvus_rename_collection", collection_name="docs", new_name="moved")

        with anyio.fail_after(30):
            result = await client.call_tool(
                "milvus_insert", {"collection_name": "docs", "rows": rows(3000)}, progress_callback=progress
            )
        assert result.is_error
        message = result.content[0].text
        assert re.fullmatch(
            r"Batch 2 failed: collection 'docs' does not exist\. "
            r"Rows 0 to 999 \(1000 rows\) were inserted into default\.docs, ids: 0, 1, 2, "
            r"[0-9, ]+, 49 and 950 more; rows from 1000 on were not inserted\. Send the rest again from row 1000\.",
            message,
        ), message
        assert (await ok(client, "milvus_count", collection_name="moved"))["count"] == 1000
