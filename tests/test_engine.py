"""Milvus Lite in its own engine process: shared by several servers, restarted after a crash, never orphaned."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.engine import host
from mcp_server_milvus.engine.client import MAX_RESTARTS
from mcp_server_milvus.engine.rundir import pid_alive
from mcp_server_milvus.server import MilvusServer, build_server
from tests.conftest import fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio


def engine_pids(db_path: str) -> list[int]:
    """Pids of engine processes serving this database, found from their command lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"mcp_server_milvus.engine.host" in cmdline and db_path.encode() in cmdline:
            found.append(int(entry.name))
    return found


def wait_until(predicate, seconds: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


async def test_engine_runs_apart_and_stops_when_the_server_leaves(server: MilvusServer, db_path: str) -> None:
    async with Client(server) as client:
        await make_docs(client, n=3)
        info = await ok(client, "milvus_server_info")
        assert info["lite_mode"] == "engine-process"
        pid = info["engine_pid"]
        assert pid != os.getpid() and engine_pids(db_path) == [pid]
    assert wait_until(lambda: not pid_alive(pid)), "the engine outlived its last user"
    state = Path(db_path + ".engine") / "state.json"
    assert not state.exists()


async def test_in_process_mode_is_still_available(db_path: str) -> None:
    async with Client(build_server(Settings(uri=db_path, lite_in_process=True))) as client:
        await make_docs(client, n=2)
        info = await ok(client, "milvus_server_info")
        assert info["lite_mode"] == "in-process" and "engine_pid" not in info
        assert engine_pids(db_path) == []


async def test_two_servers_share_one_database(db_path: str) -> None:
    first, second = build_server(Settings(uri=db_path)), build_server(Settings(uri=db_path))
    async with Client(first) as a, Client(second) as b:
        await make_docs(a, n=3)
        await ok(b, "milvus_insert", collection_name="docs", rows=rows(2, start=10))
        assert (await ok(a, "milvus_count", collection_name="docs"))["count"] == 5
        assert (await ok(b, "milvus_count", collection_name="docs"))["count"] == 5
        pid_a = (await ok(a, "milvus_server_info"))["engine_pid"]
        assert (await ok(b, "milvus_server_info"))["engine_pid"] == pid_a
    assert wait_until(lambda: not pid_alive(pid_a))


async def test_two_servers_in_one_process_hold_claims_of_their_own(db_path: str) -> None:
    """Closing one server leaves the engine running for the other one in the same process."""
    owners = Path(db_path + ".engine") / "owners"
    first, second = build_server(Settings(uri=db_path)), build_server(Settings(uri=db_path))
    async with Client(second) as b:
        async with Client(first) as a:
            await make_docs(a, n=2)
            pid = (await ok(a, "milvus_server_info"))["engine_pid"]
            assert (await ok(b, "milvus_server_info"))["engine_pid"] == pid
            assert len(list(owners.iterdir())) == 2
        assert len(list(owners.iterdir())) == 1
        # Long enough for the engine to have stopped, had it found no live claim.
        await anyio.sleep(host.POLL_SECONDS * (host.IDLE_POLLS + 1))
        assert (await ok(b, "milvus_count", collection_name="docs"))["count"] == 2
        assert (await ok(b, "milvus_server_info"))["engine_pid"] == pid
    assert wait_until(lambda: not pid_alive(pid))


async def test_killed_engine_gives_a_clear_error_then_recovers(server: MilvusServer, db_path: str) -> None:
    async with Client(server) as client:
        await make_docs(client, n=4)
        await ok(client, "milvus_flush", collection_name="docs")
        await ok(client, "milvus_insert", collection_name="docs", rows=rows(2, start=100))  # acknowledged, unflushed
        pid = (await ok(client, "milvus_server_info"))["engine_pid"]
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: not pid_alive(pid))
        message = await fails(client, "milvus_count", collection_name="docs")
        assert "engine" in message and "had stopped" in message and "Retry" in message
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 6
        new_pid = (await ok(client, "milvus_server_info"))["engine_pid"]
        assert new_pid != pid and pid_alive(new_pid)
        hits = await ok(client, "milvus_search", collection_name="docs", vector=rows(1, start=100)[0]["vector"])
        assert hits["hits"][0]["id"] == 100


async def concurrent_counts(client: Client, calls: int) -> list[str]:
    """milvus_count on 'docs', that many at once: 'ok' or the error message of each."""
    texts: list[str] = []

    async def count() -> None:
        result = await client.call_tool("milvus_count", {"collection_name": "docs"})
        texts.append(result.content[0].text if result.is_error else "ok")

    async with anyio.create_task_group() as group:
        for _ in range(calls):
            group.start_soon(count)
    return texts


async def test_one_crash_is_one_restart_however_many_calls_see_it(server: MilvusServer, db_path: str) -> None:
    """Four calls fail on one dead engine: one new engine, one restart counted. Three crashes in a row
    take the whole budget (MAX_RESTARTS): were any crash counted twice, a later one would be refused."""
    log = Path(db_path + ".engine") / "engine.log"
    async with Client(server) as client:
        await make_docs(client, n=3)
        for _ in range(MAX_RESTARTS):
            pid = (await ok(client, "milvus_server_info"))["engine_pid"]
            started = log.read_text().count("Serving ")
            os.kill(pid, signal.SIGKILL)
            assert wait_until(lambda pid=pid: not pid_alive(pid))
            texts = await concurrent_counts(client, 4)
            assert all(text == "ok" or "had stopped" in text for text in texts), texts
            assert any("had stopped" in text for text in texts), texts
            assert log.read_text().count("Serving ") == started + 1, "one crash, one new engine"
            assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 3
            assert engine_pids(db_path) == [(await ok(client, "milvus_server_info"))["engine_pid"]]


async def test_stale_state_and_socket_are_recovered(db_path: str) -> None:
    """A dead engine's state file, socket file and owners (old and new names) stop nothing."""
    run_dir = Path(db_path + ".engine")
    (run_dir / "owners").mkdir(parents=True)  # 0755, as earlier versions made it
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = run_dir / "engine-deadbeef.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(stale))
        listener.listen()
    assert stale.is_socket()
    (run_dir / "state.json").write_text(json.dumps({"pid": dead.pid, "socket": str(stale)}))
    claims = [run_dir / "owners" / str(dead.pid), run_dir / "owners" / f"{dead.pid}.0badc0de"]
    for claim in claims:
        claim.touch()
    async with Client(build_server(Settings(uri=db_path))) as client:
        await make_docs(client, n=1)
        assert (await ok(client, "milvus_server_info"))["engine_pid"] != dead.pid
        assert not stale.exists(), "the dead engine's socket file was left"
        assert Path(json.loads((run_dir / "state.json").read_text())["socket"]).is_socket()
        assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert wait_until(lambda: not any(claim.exists() for claim in claims))


@contextmanager
def stdio_server(db_path: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_server_milvus", "--uri", db_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def initialize_and_call(process: subprocess.Popen[bytes], tool: str, arguments: dict) -> dict:
    """A minimal JSON-RPC exchange over the server's pipes (legacy handshake)."""
    assert process.stdin is not None and process.stdout is not None
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}},
    ]
    for message in messages:
        process.stdin.write((json.dumps(message) + "\n").encode())
    process.stdin.flush()
    while True:
        line = process.stdout.readline()
        assert line, "the server closed stdout"
        answer = json.loads(line)
        if answer.get("id") == 2:
            return answer["result"]


@pytest.mark.subprocess
@pytest.mark.parametrize("ending", ["stdin-closed", "sigterm", "sigkill"])
def test_no_engine_left_behind(db_path: str, ending: str) -> None:
    with stdio_server(db_path) as process:
        result = initialize_and_call(process, "milvus_create_collection", {"collection_name": "c", "dimension": 2})
        assert not result.get("isError"), result
        pids = engine_pids(db_path)
        assert len(pids) == 1
        if ending == "stdin-closed":
            assert process.stdin is not None
            process.stdin.close()
        else:
            process.send_signal(signal.SIGTERM if ending == "sigterm" else signal.SIGKILL)
        process.wait(timeout=15)
        assert wait_until(lambda: not pid_alive(pids[0])), f"engine left running after {ending}"


@pytest.mark.subprocess
async def test_two_server_processes_see_each_others_writes(db_path: str) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_milvus", "--uri", db_path])
    async with Client(stdio_client(params)) as a, Client(stdio_client(params)) as b:
        await make_docs(a, n=2)
        await ok(b, "milvus_insert", collection_name="docs", rows=rows(3, start=50))
        assert (await ok(a, "milvus_count", collection_name="docs"))["count"] == 5
        await ok(a, "milvus_delete", collection_name="docs", ids=[50])
        assert (await ok(b, "milvus_count", collection_name="docs"))["count"] == 4


async def test_two_servers_starting_together_share_one_engine(db_path: str) -> None:
    first, second = build_server(Settings(uri=db_path)), build_server(Settings(uri=db_path))
    pids: list[int] = []
    async with Client(first) as a, Client(second) as b:

        async def first_call(client: Client) -> None:
            pids.append((await ok(client, "milvus_server_info"))["engine_pid"])

        async with anyio.create_task_group() as group:
            group.start_soon(first_call, a)
            group.start_soon(first_call, b)
        assert len(set(pids)) == 1 and engine_pids(db_path) == pids[:1]


async def test_engine_restarts_are_bounded(server: MilvusServer) -> None:
    async with Client(server) as client:
        await make_docs(client, n=1)
        for attempt in range(4):
            pid = (await ok(client, "milvus_server_info"))["engine_pid"]
            os.kill(pid, signal.SIGKILL)
            assert wait_until(lambda pid=pid: not pid_alive(pid))
            message = await fails(client, "milvus_count", collection_name="docs")
            if attempt < 3:
                assert "had stopped" in message
            else:
                assert "stopped 3 times" in message and "not restarting it again" in message
                assert "engine.log" in message
