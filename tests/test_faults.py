"""Faults: Milvus down at start, gone and back, killed mid-stream; clients that go away; many at once.

Milvus is a standalone `milvus-lite server` child on 127.0.0.1 that each test stops (SIGTERM or SIGKILL)
and starts again on the same port and data directory, the way an operator's Milvus restarts. The MCP
server is in memory unless the test is about a process (stdio) or about clients that go away (HTTP).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult

from mcp_server_milvus.config import Settings
from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.server import build_server
from mcp_server_milvus.sessions import Session
from tests.children import HOST, free_port, listening, stop, wait_listening
from tests.conftest import fails, ok, rows

pytestmark = pytest.mark.anyio

MILVUS_LITE = Path(sys.executable).with_name("milvus-lite")
CHECKOUT = Path(__file__).resolve().parents[1]
TIMEOUT = 5.0
"""--timeout of the MCP servers under test: every call must answer (or fail) well within it."""


class Milvus:
    """A `milvus-lite server` on a fixed port and data directory that can be stopped and started again."""

    def __init__(self, base: Path, port: int | None = None) -> None:
        self.data, self.log = base / "milvus-data", base / "milvus.log"
        self.port = port or free_port()
        self.uri = f"http://{HOST}:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(MILVUS_LITE), "server", "--data-dir", str(self.data), "--host", HOST, "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        wait_listening(self.port, self.proc, self.log)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        stop(self.proc, sig)
        self.proc = None
        assert not listening(self.port)


@contextmanager
def milvus(base: Path, start: bool = True) -> Iterator[Milvus]:
    server = Milvus(base)
    try:
        if start:
            server.start()
        yield server
    finally:
        server.stop(signal.SIGKILL)


def text(result: CallToolResult) -> str:
    return result.content[0].text if result.content else ""


async def ids_in(client: Client, name: str = "docs") -> set[int]:
    """Every id of the collection, walked with the cursor (a page is at most --max-limit rows)."""
    found: set[int] = set()
    page: dict[str, str] = {}
    while True:
        got = await ok(client, "milvus_query", collection_name=name, output_fields=["id"], limit=1000, **page)
        found.update(row["id"] for row in got["rows"])
        if not got.get("next_cursor"):
            return found
        page = {"cursor": got["next_cursor"]}


def server_env(tmp: Path) -> dict[str, str]:
    """The child sees this checkout (not whichever one the virtualenv's editable install points at)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILVUS_", "MCP_"))}
    env.update(XDG_DATA_HOME=str(tmp / "xdg"), PYTHONUNBUFFERED="1", PYTHONPATH=str(CHECKOUT))
    return env


@asynccontextmanager
async def stdio(tmp: Path, *args: str) -> AsyncIterator[Client]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_server_milvus", *args], env=server_env(tmp), cwd=str(tmp)
    )
    with (tmp / "stdio.stderr").open("a") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client


@pytest.mark.subprocess
async def test_down_at_start_then_back_without_a_restart(tmp_path: Path) -> None:
    """The server starts with Milvus down, lists its tools, fails every call clearly within the timeout
    (the URI's password redacted), and once Milvus listens the very next call works."""
    with milvus(tmp_path, start=False) as m:
        uri = f"http://admin:s3cr3tpass@{HOST}:{m.port}"
        async with stdio(tmp_path, "--uri", uri, "--timeout", str(TIMEOUT)) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert {"milvus_list_collections", "milvus_insert", "milvus_search"} <= tools
            for tool, arguments in [
                ("milvus_list_collections", {}),
                ("milvus_count", {"collection_name": "docs"}),
                ("milvus_insert", {"collection_name": "docs", "rows": rows(2)}),
                ("milvus_search", {"collection_name": "docs", "vector": [1, 2, 3, 4]}),
            ]:
                started = time.monotonic()
                message = await fails(client, tool, **arguments)
                assert time.monotonic() - started < TIMEOUT, tool
                assert message.startswith(f"Cannot reach Milvus at http://***@{HOST}:{m.port}"), message
                assert "s3cr3tpass" not in message
            m.start()
            await ok(client, "milvus_create_collection", collection_name="docs", dimension=4)
            assert (await ok(client, "milvus_insert", collection_name="docs", rows=rows(3)))["insert_count"] == 3
            assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 3
    assert "s3cr3tpass" not in (tmp_path / "stdio.stderr").read_text()


@pytest.mark.subprocess
async def test_first_call_after_milvus_returns_works_every_time(tmp_path: Path) -> None:
    """Five times: Milvus stops (SIGTERM, then SIGKILL), a call fails clearly, Milvus starts again on the
    same port and data directory, and the very next call (a read, then a write) succeeds; every
    acknowledged insert is there at the end."""
    with milvus(tmp_path) as m:
        async with Client(build_server(Settings(uri=m.uri, timeout=TIMEOUT, embedding_provider="none"))) as client:
            await ok(client, "milvus_create_collection", collection_name="docs", dimension=4)
            acknowledged: set[int] = set()
            first_calls = [
                ("milvus_count", {"collection_name": "docs"}),
                ("milvus_search", {"collection_name": "docs", "vector": [1, 2, 3, 4], "limit": 3}),
                ("milvus_query", {"collection_name": "docs", "filter": "id >= 0", "limit": 3}),
                ("milvus_list_collections", {}),
                ("milvus_insert", {"collection_name": "docs", "rows": rows(10, start=9_000)}),
            ]
            for round_, (tool, arguments) in enumerate(first_calls):
                batch = rows(20, start=round_ * 100)
                assert (await ok(client, "milvus_insert", collection_name="docs", rows=batch))["insert_count"] == 20
                acknowledged |= {row["id"] for row in batch}
                m.stop(signal.SIGKILL if round_ % 2 else signal.SIGTERM)
                message = await fails(client, "milvus_count", collection_name="docs")
                assert message.startswith(f"Cannot reach Milvus at {m.uri}"), message
                m.start()
                started = time.monotonic()
                result = await client.call_tool(tool, arguments)
                assert not result.is_error, (
                    f"round {round_}: {tool} failed right after Milvus came back: {text(result)}"
                )
                assert time.monotonic() - started < TIMEOUT
                if tool == "milvus_insert":
                    acknowledged |= {row["id"] for row in arguments["rows"]}
            assert await ids_in(client) == acknowledged
            assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == len(acknowledged)


@pytest.mark.subprocess
async def test_milvus_killed_mid_stream_of_inserts(tmp_path: Path) -> None:
    """Inserts stream from two writers while Milvus is SIGKILLed and restarted: each call succeeds (its rows
    are there) or fails with a message saying what to do, none outlives the timeout, and no row appears
    that no call sent."""
    with milvus(tmp_path) as m:
        async with Client(build_server(Settings(uri=m.uri, timeout=TIMEOUT, embedding_provider="none"))) as client:
            await ok(client, "milvus_create_collection", collection_name="docs", dimension=4)
            succeeded: set[int] = set()
            sent: set[int] = set()
            failures: list[str] = []
            stop = anyio.Event()

            async def writer(first: int) -> None:
                for call in range(10_000):
                    if stop.is_set():
                        return
                    batch = rows(50, start=first + call * 50)
                    sent.update(row["id"] for row in batch)
                    with anyio.fail_after(TIMEOUT + 1):
                        result = await client.call_tool("milvus_insert", {"collection_name": "docs", "rows": batch})
                    if result.is_error:
                        failures.append(text(result))
                        await anyio.sleep(0.05)
                    else:
                        succeeded.update(row["id"] for row in batch)

            async with anyio.create_task_group() as tg:
                tg.start_soon(writer, 0)
                tg.start_soon(writer, 1_000_000)
                with anyio.fail_after(30):
                    while len(succeeded) < 500:
                        await anyio.sleep(0.01)
                m.stop(signal.SIGKILL)
                with anyio.fail_after(30):
                    while not failures:
                        await anyio.sleep(0.01)
                m.start()
                before = len(succeeded)
                with anyio.fail_after(30):
                    while len(succeeded) < before + 500:
                        await anyio.sleep(0.01)
                stop.set()
            assert failures
            for message in failures:
                assert message.startswith(("Cannot reach Milvus at", "Milvus did not answer within")), message
                assert "Traceback" not in message
            present = await ids_in(client)
            assert succeeded <= present, f"{len(succeeded - present)} acknowledged rows lost"
            assert present <= sent
            assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == len(present)


@pytest.mark.subprocess
async def test_32_concurrent_mixed_calls_from_several_clients(tmp_path: Path) -> None:
    """Four MCP servers on one Milvus, an in-memory client each, 8 calls from each all at once (inserts,
    upserts, deletes, searches, queries, counts): nothing lost, and every server counts true."""
    with milvus(tmp_path) as m:
        settings = Settings(uri=m.uri, timeout=30, embedding_provider="none")
        async with Client(build_server(settings)) as setup:
            await ok(setup, "milvus_create_collection", collection_name="docs", dimension=4)
            await ok(setup, "milvus_insert", collection_name="docs", rows=rows(100, start=0))
        async with (
            Client(build_server(settings)) as a,
            Client(build_server(settings)) as b,
            Client(build_server(settings)) as c,
            Client(build_server(settings)) as d,
        ):
            clients = [a, b, c, d]
            expected = set(range(100))
            calls: list[tuple[Client, str, dict[str, Any]]] = []
            for n, client in enumerate(clients):
                first = 1_000 * (n + 1)
                for k in range(3):  # 12 inserts of disjoint ids
                    batch = rows(40, start=first + 100 * k)
                    calls.append((client, "milvus_insert", {"collection_name": "docs", "rows": batch}))
                    expected |= {row["id"] for row in batch}
                # 4 upserts of existing ids, 4 deletes of distinct ones
                calls.append((client, "milvus_upsert", {"collection_name": "docs", "rows": rows(5, start=10 * n)}))
                calls.append((client, "milvus_delete", {"collection_name": "docs", "ids": [90 + n]}))
                expected.discard(90 + n)
                calls.append((client, "milvus_search", {"collection_name": "docs", "vector": [1, 2, 3, 4]}))
                calls.append((client, "milvus_query", {"collection_name": "docs", "filter": "id < 50"}))
                calls.append((client, "milvus_count", {"collection_name": "docs"}))
            assert len(calls) == 32
            results: list[CallToolResult | None] = [None] * len(calls)

            async def one(i: int) -> None:
                client, tool, arguments = calls[i]
                with anyio.fail_after(60):
                    results[i] = await client.call_tool(tool, arguments)

            async with anyio.create_task_group() as tg:
                for i in range(len(calls)):
                    tg.start_soon(one, i)
            for (_, tool, _), result in zip(calls, results, strict=True):
                assert result is not None and not result.is_error, f"{tool}: {result and text(result)}"
            for client in clients:
                assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == len(expected)
            assert await ids_in(a) == expected


@contextmanager
def http_server(tmp: Path, uri: str) -> Iterator[tuple[int, Path]]:
    """`mcp-server-milvus --transport streamable-http` on a free loopback port; yields (port, stderr path)."""
    port, log = free_port(), tmp / "http.stderr"
    command = [sys.executable, "-m", "mcp_server_milvus", "--uri", uri, "--transport", "streamable-http"]
    command += ["--host", HOST, "--port", str(port), "--timeout", "30", "--max-rows", "30000"]
    with log.open("ab") as err:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=server_env(tmp))
    try:
        wait_listening(port, proc, log)
        yield port, log
    finally:
        stop(proc, signal.SIGTERM)


@pytest.mark.subprocess
async def test_a_client_that_disconnects_mid_insert(tmp_path: Path) -> None:
    """A client of the HTTP server disconnects while its 30,000-row insert runs: the server logs what was
    written, milvus_count shows exactly that, and another client is served throughout."""
    with milvus(tmp_path) as m, http_server(tmp_path, m.uri) as (port, log):
        url = f"http://{HOST}:{port}/mcp"
        async with Client(url) as other:
            await ok(other, "milvus_create_collection", collection_name="docs", dimension=4)
            await ok(other, "milvus_create_collection", collection_name="notes", dimension=4)

            async def leaver() -> None:
                async with Client(url) as client:
                    await client.call_tool("milvus_insert", {"collection_name": "docs", "rows": rows(30_000)})

            async with anyio.create_task_group() as tg:
                tg.start_soon(leaver)
                with anyio.fail_after(60):
                    while (await ok(other, "milvus_count", collection_name="docs"))["count"] < 2000:
                        await anyio.sleep(0.05)
                tg.cancel_scope.cancel()  # the client goes away: its HTTP connection closes mid-call
            assert (await ok(other, "milvus_insert", collection_name="notes", rows=rows(5)))["insert_count"] == 5
            with anyio.fail_after(30):
                while "part-way" not in log.read_text():
                    await anyio.sleep(0.1)
            logged = [line for line in log.read_text().splitlines() if "part-way" in line]
            assert len(logged) == 1 and "was cancelled" in logged[0], logged
            done = int(logged[0].split("(")[1].split(" rows")[0])
            assert 2000 <= done < 30_000
            assert (await ok(other, "milvus_count", collection_name="docs"))["count"] in (done, done + 1000)
            assert (await ok(other, "milvus_count", collection_name="notes"))["count"] == 5


@pytest.mark.subprocess
async def test_a_write_that_may_have_been_sent_is_never_sent_again(tmp_path: Path) -> None:
    """The retry rule itself, on the runtime every tool goes through: once Milvus is gone, a call that only
    read runs twice (the second time on a rebuilt client), a call that had invoked a write runs once."""
    with milvus(tmp_path) as m:
        runtime = Runtime(Settings(uri=m.uri, timeout=TIMEOUT, embedding_provider="none"))
        attempts: list[str] = []

        async def read(session: Session) -> Any:
            attempts.append("read")
            return await session.client.list_collections(timeout=TIMEOUT)

        async def write(session: Session) -> Any:
            attempts.append("write")
            row = {"id": 1, "vector": [1.0, 2.0, 3.0, 4.0]}
            return await session.client.insert("docs", [row], timeout=TIMEOUT)

        try:
            assert await runtime.run(None, "list collections", read) == []
            m.stop(signal.SIGKILL)
            attempts.clear()
            for op, expected in [(read, ["read", "read"]), (write, ["write"])]:
                with pytest.raises(ToolError, match=f"^Cannot reach Milvus at {m.uri}") as raised:
                    await runtime.run(None, "do it", op)
                assert attempts == expected
                unsure = "so this write may or may not have been applied" in str(raised.value)
                assert unsure is (op is write), str(raised.value)
                attempts.clear()
        finally:
            await runtime.close()
