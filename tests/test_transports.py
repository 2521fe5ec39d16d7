"""The real server as a child process, over every transport, against a fresh Milvus Lite database.

Each test starts `python -m mcp_server_milvus` the way an MCP client would, runs a short real workflow
(create a collection of dimension 4, insert 3 rows, search, query) and checks the answers. Every wait
is bounded, every child process is killed in a `finally`, and only 127.0.0.1 is used.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO, Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client

from mcp_server_milvus import __version__
from tests.children import HOST, free_port, stop
from tests.conftest import ok, rows

pytestmark = pytest.mark.subprocess

SERVER = [sys.executable, "-m", "mcp_server_milvus"]
START_TIMEOUT = 20.0
"""Seconds for a server to start listening (HTTP transports)."""
EXIT_TIMEOUT = 15.0
"""Seconds for a server to exit after its stdin closes or it gets SIGTERM."""
SOURCE_ROOT = str(Path(__file__).resolve().parent.parent)
"""On the child's PYTHONPATH: the child runs from tmp_path, where `-m mcp_server_milvus` would otherwise
import whichever copy is installed (another checkout's, with an editable install), not the one under test."""
TEST_TIMEOUT = 45.0
"""Seconds for one whole client session: a hung server fails the test instead of the suite."""


# --- helpers -------------------------------------------------------------------------------------


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any server setting, the default database under tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILVUS_", "MCP_"))}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = SOURCE_ROOT
    env.update(extra)
    return env


def stdio_params(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> StdioServerParameters:
    """Spawn parameters for the SDK's stdio client (which passes only a safe subset of our environment)."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server_milvus", *args],
        env={"XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONPATH": SOURCE_ROOT, **(env or {})},
        cwd=str(tmp_path),
    )


def wait_exit(proc: subprocess.Popen[Any], timeout: float = EXIT_TIMEOUT) -> tuple[int, float]:
    """The exit code and how long the process took to exit; fails the test after `timeout`."""
    started = time.monotonic()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not exit within {timeout} s")
    return code, time.monotonic() - started


@contextmanager
def http_server(
    tmp_path: Path,
    db: Path | str,
    transport: str,
    *extra: str,
    stdout: int | IO[Any] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """An HTTP-transport server on a free port, waited on until it accepts connections; `env` adds to
    its environment.

    Yields the process, the port and the path of its stderr log; kills it on the way out.
    """
    port = free_port()
    log = tmp_path / f"{transport}-{port}.stderr"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [*SERVER, "--uri", str(db), "--transport", transport, "--host", HOST, "--port", str(port), *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if stdout is None else stdout,
            stderr=err,
            env=child_env(tmp_path, **(env or {})),
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode} before listening:\n{log.read_text()}")
            try:
                with socket.create_connection((HOST, port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"the server did not listen on {HOST}:{port} within {START_TIMEOUT} s:\n{log.read_text()}"
                    )
                time.sleep(0.05)
        yield proc, port, log
    finally:
        stop(proc)


@asynccontextmanager
async def stdio_session(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> AsyncIterator[Client]:
    """`mcp.Client` over the SDK's stdio transport; the server's stderr goes to tmp_path/stdio.stderr."""
    with (tmp_path / "stdio.stderr").open("a") as errlog:
        async with Client(stdio_client(stdio_params(tmp_path, *args, env=env), errlog=errlog)) as client:
            yield client


async def workflow(session: Any) -> None:
    """Create a collection of dimension 4, insert 3 rows, search and query; check every answer.

    `session` is an `mcp.Client` or a `ClientSession`: both have `call_tool(name, arguments)`.
    """
    created = await ok(session, "milvus_create_collection", collection_name="docs", dimension=4)
    assert created["collection_name"] == "docs"
    assert created["load_state"] == "Loaded"
    assert [(f["name"], f["dim"]) for f in created["vector_fields"]] == [("vector", 4)]

    data = rows(3)
    inserted = await ok(session, "milvus_insert", collection_name="docs", rows=data)
    assert inserted["insert_count"] == 3
    assert sorted(inserted["ids"]) == [0, 1, 2]

    found = await ok(
        session, "milvus_search", collection_name="docs", vector=data[1]["vector"], limit=3, output_fields=["title"]
    )
    hits = found["hits"]
    assert hits[0]["id"] == 1, hits
    assert sorted(h["id"] for h in hits) == [0, 1, 2]
    assert hits[0]["entity"] == {"title": "t1"}
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)

    queried = await ok(session, "milvus_query", collection_name="docs", filter="id >= 1", output_fields=["title"])
    assert sorted((r["id"], r["title"]) for r in queried["rows"]) == [(1, "t1"), (2, "t2")]


async def check_survived(tmp_path: Path, db: Path) -> None:
    """A second server process on the same database sees the 3 rows and can search them."""
    with anyio.fail_after(TEST_TIMEOUT):
        async with stdio_session(tmp_path, "--uri", str(db)) as client:
            assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 3
            found = await ok(client, "milvus_search", collection_name="docs", vector=rows(3)[2]["vector"], limit=1)
            assert [h["id"] for h in found["hits"]] == [2]


class RawStdioServer:
    """The server over plain pipes, JSON-RPC written by hand: every byte it prints on stdout is kept.

    A reader thread drains stdout line by line into a queue, so neither side can block on a full pipe.
    """

    def __init__(self, tmp_path: Path, db: Path, *args: str) -> None:
        self.stderr_path = tmp_path / "raw.stderr"
        with self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [*SERVER, "--uri", str(db), *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=child_env(tmp_path),
                cwd=tmp_path,
            )
        self.stdout_lines: list[bytes] = []
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._next_id = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """Send a request and wait for its response (notifications in between are skipped)."""
        self._next_id += 1
        self.send({"id": self._next_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no answer to {method} within {timeout} s")
            if line is None:
                pytest.fail(f"stdout closed before the answer to {method}:\n{self.stderr()}")
            message = json.loads(line)
            if message.get("id") == self._next_id:
                assert "error" not in message, message
                return message["result"]

    def initialize(self) -> None:
        result = self.request(
            "initialize",
            {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw-test", "version": "0"}},
        )
        assert result["serverInfo"]["name"] == "milvus"
        self.send({"method": "notifications/initialized"})

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = self.request("tools/call", {"name": tool, "arguments": arguments})
        assert not result.get("isError"), result
        return result["structuredContent"]

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def join_stdout(self, timeout: float = 5.0) -> None:
        self._reader.join(timeout)
        assert not self._reader.is_alive(), "stdout was not closed after the process exited"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


# --- stdio ---------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("client_kind", ["client", "session"])
async def test_stdio_workflow(tmp_path: Path, client_kind: str) -> None:
    """stdio with `mcp.Client` (protocol negotiated automatically) and with a `ClientSession` doing the
    initialize handshake, as older clients do."""
    db = tmp_path / "stdio.db"
    with anyio.fail_after(TEST_TIMEOUT):
        if client_kind == "client":
            async with stdio_session(tmp_path, "--uri", str(db)) as client:
                await workflow(client)
                info = await ok(client, "milvus_server_info")
        else:
            with (tmp_path / "stdio.stderr").open("a") as errlog:
                params = stdio_params(tmp_path, "--uri", str(db))
                async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                    init = await session.initialize()
                    assert init.server_info.name == "milvus"
                    assert init.server_info.version == __version__
                    tools = {t.name for t in (await session.list_tools()).tools}
                    assert {"milvus_create_collection", "milvus_insert", "milvus_search", "milvus_query"} <= tools
                    await workflow(session)
                    info = await ok(session, "milvus_server_info")
    assert info["uri"] == str(db)
    assert info["backend"] == "milvus-lite"
    assert (db / "LOCK").exists()


@pytest.mark.anyio
async def test_stdio_configured_only_by_milvus_uri_env(tmp_path: Path) -> None:
    """MILVUS_URI=<path>.db and no --uri: pymilvus would refuse the Lite path at import; the server takes it."""
    db = tmp_path / "x.db"
    with anyio.fail_after(TEST_TIMEOUT):
        async with stdio_session(tmp_path, env={"MILVUS_URI": str(db)}) as client:
            await workflow(client)
            info = await ok(client, "milvus_server_info")
    assert info["uri"] == str(db)
    assert (db / "LOCK").exists()
    assert (db / "collections").is_dir()
    assert not (tmp_path / "xdg" / "mcp-server-milvus").exists(), "the default database was used instead"
    assert "Illegal uri" not in (tmp_path / "stdio.stderr").read_text()


def test_stdio_stdout_carries_only_jsonrpc(tmp_path: Path) -> None:
    """In stdio mode stdout is the protocol: every line the server prints there is a JSON-RPC message,
    and its logs (it does log: Milvus Lite opening, and more) go to stderr."""
    db = tmp_path / "pure.db"
    server = RawStdioServer(tmp_path, db)
    try:
        server.initialize()
        server.request("tools/list", {})
        server.call("milvus_create_collection", collection_name="docs", dimension=4)
        server.call("milvus_insert", collection_name="docs", rows=rows(3))
        hits = server.call("milvus_search", collection_name="docs", vector=rows(3)[0]["vector"], limit=2)["hits"]
        assert hits[0]["id"] == 0
        assert len(server.call("milvus_query", collection_name="docs", filter="id >= 0")["rows"]) == 3
        # A failing call logs too: make sure that stays off stdout as well.
        result = server.request("tools/call", {"name": "milvus_count", "arguments": {"collection_name": "nope"}})
        assert result["isError"] is True
        server.close_stdin()
        code, _ = wait_exit(server.proc)
        server.join_stdout()
    finally:
        stop(server.proc)

    assert code == 0
    assert server.stdout_lines, "the server printed nothing on stdout"
    for line in server.stdout_lines:
        assert line.endswith(b"\n")
        try:
            message = json.loads(line)
        except ValueError:
            pytest.fail(f"non-JSON line on stdout: {line!r}")
        assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", line
    stderr = server.stderr()
    log_lines = [line for line in stderr.splitlines() if " INFO mcp_server_milvus" in line]
    assert any("Serving Milvus at" in line for line in log_lines), stderr
    assert any("Milvus Lite engine" in line or "Milvus Lite database" in line for line in log_lines), stderr


def test_stdio_answers_larger_than_the_pipe_arrive_whole(tmp_path: Path) -> None:
    """Answers are written to the stdout pipe from the event loop: one of several pipe buffers (64 KiB)
    arrives whole, in order with the answers after it."""
    server = RawStdioServer(tmp_path, tmp_path / "big.db", "--max-result-bytes", "1000000")
    try:
        server.initialize()
        server.call("milvus_create_collection", collection_name="docs", dimension=4)
        long_rows = [{**row, "title": "x" * 500 + str(row["id"])} for row in rows(1000)]
        server.call("milvus_insert", collection_name="docs", rows=long_rows)
        for _ in range(2):
            got = server.call("milvus_query", collection_name="docs", filter="id >= 0", limit=1000)["rows"]
            assert sorted(r["title"] for r in got) == sorted(r["title"] for r in long_rows)
        assert max(len(line) for line in server.stdout_lines) > 4 * 65536
        assert server.call("milvus_count", collection_name="docs")["count"] == 1000
        server.close_stdin()
        code, _ = wait_exit(server.proc)
    finally:
        stop(server.proc)
    assert code == 0, server.stderr()


def test_stdio_exits_when_stdin_closes_and_data_survives(tmp_path: Path) -> None:
    """Closing stdin (how MCP clients stop a stdio server) ends the process cleanly by itself, with
    Milvus Lite closed; a second server on the same database finds the rows."""
    db = tmp_path / "persist.db"
    server = RawStdioServer(tmp_path, db)
    try:
        server.initialize()
        server.call("milvus_create_collection", collection_name="docs", dimension=4)
        assert server.call("milvus_insert", collection_name="docs", rows=rows(3))["insert_count"] == 3
        server.close_stdin()
        code, took = wait_exit(server.proc)
    finally:
        stop(server.proc)
    assert code == 0, server.stderr()
    # It takes ~0.3 s here. The SDK's stdio client waits only 2 s after closing stdin before it sends
    # SIGTERM (which also shuts down cleanly); 5 s leaves room for a loaded machine.
    assert took < 5.0, f"took {took:.1f} s to exit after stdin closed"
    stderr = server.stderr()
    closed = re.search(r"(Closed|Left) Milvus Lite database", stderr)
    assert closed, stderr
    assert "Traceback" not in stderr[closed.end() :]
    anyio.run(check_survived, tmp_path, db)


# --- streamable HTTP -----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("stateless", [False, True], ids=["sessions", "stateless"])
async def test_streamable_http_workflow(tmp_path: Path, stateless: bool) -> None:
    db = tmp_path / "http.db"
    extra = ["--stateless"] if stateless else []
    with http_server(tmp_path, db, "streamable-http", *extra) as (proc, port, _):
        with anyio.fail_after(TEST_TIMEOUT):
            async with Client(f"http://{HOST}:{port}/mcp") as client:
                await workflow(client)
                info = await ok(client, "milvus_server_info")
            # A second client of the same process sees the first one's data.
            async with Client(f"http://{HOST}:{port}/mcp") as client:
                assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 3
        assert proc.poll() is None
    assert info["uri"] == str(db)


def test_streamable_http_exits_on_sigterm_and_data_survives(tmp_path: Path) -> None:
    db = tmp_path / "sigterm.db"

    async def write(port: int) -> None:
        with anyio.fail_after(TEST_TIMEOUT):
            async with Client(f"http://{HOST}:{port}/mcp") as client:
                await ok(client, "milvus_create_collection", collection_name="docs", dimension=4)
                await ok(client, "milvus_insert", collection_name="docs", rows=rows(3))

    with http_server(tmp_path, db, "streamable-http") as (proc, port, log):
        anyio.run(write, port)
        proc.send_signal(signal.SIGTERM)
        code, _ = wait_exit(proc)
    assert code == 0, log.read_text()
    stderr = log.read_text()
    assert re.search(r"(Closed|Left) Milvus Lite database", stderr), stderr
    assert "Stopped" in stderr
    anyio.run(check_survived, tmp_path, db)


def test_http_transport_logs_nothing_on_stdout(tmp_path: Path) -> None:
    """Logs go to stderr in HTTP modes too, uvicorn's access log included (uvicorn's default logging
    config would print it on stdout, past the redacting filter)."""

    async def call(port: int) -> None:
        with anyio.fail_after(TEST_TIMEOUT):
            async with Client(f"http://{HOST}:{port}/mcp") as client:
                await ok(client, "milvus_list_collections")

    out_path = tmp_path / "http.stdout"
    with out_path.open("wb") as out, http_server(tmp_path, tmp_path / "quiet.db", "streamable-http", stdout=out) as s:
        proc, port, _ = s
        anyio.run(call, port)
        proc.send_signal(signal.SIGTERM)
        wait_exit(proc)
    assert out_path.read_text() == ""


# --- legacy SSE ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_sse_workflow(tmp_path: Path) -> None:
    db = tmp_path / "sse.db"
    with http_server(tmp_path, db, "sse") as (proc, port, _):
        with anyio.fail_after(TEST_TIMEOUT):
            async with sse_client(f"http://{HOST}:{port}/sse") as (read, write), ClientSession(read, write) as session:
                init = await session.initialize()
                assert init.server_info.name == "milvus"
                await workflow(session)
                info = await ok(session, "milvus_server_info")
            # The data outlives the SSE connection that wrote it.
            async with sse_client(f"http://{HOST}:{port}/sse") as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                assert (await ok(session, "milvus_count", collection_name="docs"))["count"] == 3
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        code, _ = wait_exit(proc)
    assert code == 0
    assert info["uri"] == str(db)


@pytest.mark.anyio
async def test_sse_client_disconnect_does_not_break_other_clients(tmp_path: Path) -> None:
    """Legacy SSE enters the MCP lifespan once per connection: a client that comes and goes must not
    close Milvus (and release Milvus Lite) under another client that is still working."""
    db = tmp_path / "sse2.db"
    failures: list[str] = []
    with http_server(tmp_path, db, "sse") as (_, port, _log):
        url = f"http://{HOST}:{port}/sse"
        with anyio.fail_after(TEST_TIMEOUT):
            async with sse_client(url) as (read, write), ClientSession(read, write) as stayer:
                await stayer.initialize()
                await ok(stayer, "milvus_create_collection", collection_name="docs", dimension=4)
                await ok(stayer, "milvus_insert", collection_name="docs", rows=rows(3))
                done = anyio.Event()

                async def keep_counting() -> None:
                    while not done.is_set():
                        result = await stayer.call_tool("milvus_count", {"collection_name": "docs"})
                        if result.is_error:
                            failures.append(result.content[0].text)  # type: ignore[union-attr]

                async with anyio.create_task_group() as tg:
                    tg.start_soon(keep_counting)
                    for _ in range(2):  # a second client comes and goes, twice
                        async with sse_client(url) as (r2, w2), ClientSession(r2, w2) as visitor:
                            await visitor.initialize()
                            result = await visitor.call_tool("milvus_list_collections", {})
                            if result.is_error:
                                failures.append(result.content[0].text)  # type: ignore[union-attr]
                        await anyio.sleep(0.3)
                    await anyio.sleep(0.5)
                    done.set()
    assert failures == []


# --- command line --------------------------------------------------------------------------------


def test_help(tmp_path: Path) -> None:
    done = subprocess.run(
        [*SERVER, "--help"], capture_output=True, text=True, timeout=30, env=child_env(tmp_path), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    for option in ("--uri", "--token", "--transport", "--port", "--host", "--log-level", "--version"):
        assert option in done.stdout
    for transport in ("stdio", "sse", "streamable-http"):
        assert transport in done.stdout
    assert "MILVUS_URI" in done.stdout


def test_version(tmp_path: Path) -> None:
    done = subprocess.run(
        [*SERVER, "--version"], capture_output=True, text=True, timeout=30, env=child_env(tmp_path), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"mcp-server-milvus {__version__}"


@pytest.mark.anyio
async def test_successful_workflow_logs_no_errors(tmp_path: Path) -> None:
    """No ERROR line or traceback in the log of a session where everything succeeded (Milvus Lite's
    in-process gRPC server logs one for each RPC it does not implement, e.g. after create_index)."""
    with anyio.fail_after(TEST_TIMEOUT):
        async with stdio_session(tmp_path, "--uri", str(tmp_path / "logs.db")) as client:
            await workflow(client)
    stderr = (tmp_path / "stdio.stderr").read_text()
    assert "Serving Milvus at" in stderr
    assert [line for line in stderr.splitlines() if " ERROR " in line or "Traceback" in line] == []
