"""Fixtures: a fresh Milvus Lite database per test, reached through a real in-memory MCP client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import MilvusServer, build_server


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """One event loop for the whole run: grpc.aio keeps process-wide state bound to the loop it first
    ran on, and a callback left from a closed test loop once failed an unrelated test ("Event loop is
    closed" from grpc's completion-queue poller)."""
    return "asyncio"


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "milvus.db")


@pytest.fixture
def settings(db_path: str) -> Settings:
    return Settings(uri=db_path, embedding_provider="none")


@pytest.fixture
def server(settings: Settings) -> MilvusServer:
    return build_server(settings)


@pytest.fixture
async def client(server: MilvusServer) -> AsyncIterator[Client]:
    async with Client(server, raise_exceptions=True) as c:
        yield c


async def ok(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured content."""
    result = await client.call_tool(tool, arguments)
    text = result.content[0].text if result.content else ""
    assert not result.is_error, f"{tool} failed: {text}"
    assert result.structured_content is not None
    return result.structured_content


async def fails(client: Client, tool: str, **arguments: Any) -> str:
    """Call a tool that must fail as a tool error; return the agent-facing message."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} unexpectedly succeeded: {result.structured_content}"
    text = result.content[0].text
    assert "Traceback" not in text and "Error executing tool" not in text, text
    return text


def rows(n: int, dim: int = 4, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    """n rows with distinct, non-zero vectors, ids start..start+n-1 and a title each."""
    return [
        {
            "id": i,
            "vector": [float(i + 1)] + [float((i * 7 + k) % 5 + 1) for k in range(dim - 1)],
            "title": f"t{i}",
            **extra,
        }
        for i in range(start, start + n)
    ]


async def index_of(client: Client, collection: str, index_name: str) -> dict[str, Any]:
    """One index as milvus_describe_collection describes it."""
    described = await ok(client, "milvus_describe_collection", collection_name=collection)
    return next(i for i in described["indexes"] if i["index_name"] == index_name)


async def make_docs(client: Client, n: int = 5, dim: int = 4, name: str = "docs", **create: Any) -> None:
    """A quick-setup collection with n rows."""
    await ok(client, "milvus_create_collection", collection_name=name, dimension=dim, **create)
    if n:
        await ok(client, "milvus_insert", collection_name=name, rows=rows(n, dim))


async def check_cancelled_write(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    """After a write to default.docs was cancelled part-way: its one log line names whole batches, and
    milvus_count shows them (plus the batch in flight, when the line says one was).

    A client that does not wait for its progress notification (legacy mode) lets the server finish more
    batches before the cancel arrives, so the line is read for how many."""
    with anyio.fail_after(10):
        while "part-way" not in caplog.text:
            await anyio.sleep(0.05)
    logged = [r.getMessage() for r in caplog.records if "part-way" in r.getMessage()]
    assert len(logged) == 1 and "was cancelled" in logged[0], logged
    written = re.search(r"rows 0 to (\d+) \((\d+) rows\) were inserted into default\.docs", logged[0])
    assert written, logged
    n = int(written[2])
    assert int(written[1]) == n - 1 and n % 1000 == 0 and n >= 1000, logged
    in_flight = "(in flight)" in logged[0]
    assert in_flight or f"rows from {n} on were not inserted" in logged[0], logged
    await anyio.sleep(0.5)
    counted = (await ok(client, "milvus_count", collection_name="docs"))["count"]
    assert counted in ((n, n + 1000) if in_flight else (n,)), logged
