"""Child processes: the Milvus Lite server, MCP servers over stdio and HTTP, and the engine processes
they start; plus CPU accounting from /proc.

Every child is started by a context manager here that kills it in a `finally`; everything listens on
127.0.0.1 only; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import itertools
import json
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
from anyio.abc import Process
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from benchmarks.harness import CALL_TIMEOUT, HOST, SERVER, START_TIMEOUT, BenchError
from mcp_server_milvus.engine.rundir import pid_alive
from tests.children import free_port, listening  # the tests' own: one loopback helper for both

SOURCE = str(Path(__file__).resolve().parent.parent)
"""The checkout these benchmarks belong to: children run its `mcp_server_milvus`, not whichever one the
environment installed (in a second worktree, the editable install points at the first)."""


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args!r} exited with {proc.returncode}: {tail(log)}")
        if listening(port):
            return
        time.sleep(0.05)
    raise BenchError(f"{proc.args!r} did not listen on {HOST}:{port} within {timeout} s: {tail(log)}")


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; always reaped (bounded)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


ROOT = Path(__file__).resolve().parent.parent
"""The checkout the benchmarks run from: its `mcp_server_milvus` is the one measured."""


def child_env(tmp: Path) -> dict[str, str]:
    """This environment without any server setting; the default database lives under `tmp`. PYTHONPATH
    puts this checkout first: a child started in `tmp` would otherwise import whichever checkout the venv's
    editable install points at."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILVUS_", "MCP_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["XDG_DATA_HOME"] = str(tmp / "xdg")
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = SOURCE
    return env


@contextmanager
def lite_server(data_dir: Path) -> Iterator[tuple[str, int]]:
    """A standalone `milvus-lite server` child on 127.0.0.1: the same gRPC server code
    (`milvus_lite.adapter.grpc.server._build_server`) as the MCP server's default engine process."""
    port = free_port()
    log = data_dir.with_suffix(".log")
    exe = Path(sys.executable).with_name("milvus-lite")
    command = [str(exe), "server", "--data-dir", str(data_dir), "--host", HOST, "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc, log)
        yield f"http://{HOST}:{port}", proc.pid
    finally:
        stop_process(proc)


@contextmanager
def http_server(tmp: Path, *args: str) -> Iterator[tuple[int, int]]:
    """`mcp-server-milvus --transport streamable-http` on a free loopback port; yields (port, pid)."""
    port = free_port()
    log = tmp / f"http-{port}.stderr"
    command = [*SERVER, *args, "--transport", "streamable-http", "--host", HOST, "--port", str(port)]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=child_env(tmp), cwd=tmp
        )
    try:
        wait_port(port, proc, log)
        yield port, proc.pid
    finally:
        stop_process(proc)


def stdio_params(tmp: Path, *args: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server_milvus", *args],
        env={"XDG_DATA_HOME": str(tmp / "xdg"), "PYTHONUNBUFFERED": "1", "PYTHONPATH": SOURCE},
        cwd=str(tmp),
    )


@asynccontextmanager
async def stdio_session(tmp: Path, *args: str, log_name: str = "stdio") -> AsyncIterator[Client]:
    """An `mcp.Client` over stdio to a child `python -m mcp_server_milvus ARGS`. The SDK's stdio transport
    closes stdin and then kills the child's process tree on the way out (bounded waits)."""
    with (tmp / f"{log_name}.stderr").open("a") as errlog:
        transport = stdio_client(stdio_params(tmp, *args), errlog=errlog)
        async with Client(transport, read_timeout_seconds=CALL_TIMEOUT) as client:
            yield client


class RawStdio:
    """A minimal JSON-RPC client for a child server's stdio: a request is a line out, its answer a line
    in, matched by id. No models and no output-schema validation, so the client's own CPU time adds as
    little as possible to latencies measured under load (the stall benchmark)."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[anyio.Event, list[dict[str, Any]]]] = {}
        self._send_lock = anyio.Lock()

    async def _send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        async with self._send_lock:
            await self.process.stdin.send((json.dumps(message) + "\n").encode())

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = next(self._ids)
        done, slot = self._pending[request_id] = (anyio.Event(), [])
        await self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        with anyio.fail_after(CALL_TIMEOUT):
            await done.wait()
        message = slot[0]
        if "error" in message:
            raise BenchError(f"{method} failed: {message['error']}")
        return message["result"]  # type: ignore[no-any-return]

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call a tool that must succeed; its structured content."""
        result = await self.request("tools/call", {"name": tool, "arguments": arguments})
        if result.get("isError"):
            raise BenchError(f"{tool} failed: {result.get('content')}")
        return result.get("structuredContent") or {}

    async def read_forever(self) -> None:
        assert self.process.stdout is not None
        buffer = b""
        async for chunk in self.process.stdout:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                message = json.loads(line)
                pending = self._pending.pop(message.get("id", -1), None)
                if pending is not None:
                    pending[1].append(message)
                    pending[0].set()


@asynccontextmanager
async def raw_stdio(
    tmp: Path, *args: str, log_name: str = "raw-stdio", command: list[str] | None = None
) -> AsyncIterator[RawStdio]:
    """`python -m mcp_server_milvus ARGS` (or another stdio MCP server's `command` ARGS) over stdio with
    `RawStdio`, initialized (2025-11-25 handshake); stdin closed, then the child killed if it has not
    exited within 5 s, on the way out."""
    with (tmp / f"{log_name}.stderr").open("ab") as err:
        process = await anyio.open_process([*(command or SERVER), *args], stderr=err, env=child_env(tmp), cwd=tmp)
    try:
        async with anyio.create_task_group() as tg:
            client = RawStdio(process)
            tg.start_soon(client.read_forever)
            info = {"name": "benchmarks", "version": "0"}
            await client.request(
                "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": info}
            )
            await client._send({"jsonrpc": "2.0", "method": "notifications/initialized"})
            try:
                yield client
            finally:
                tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            if process.stdin is not None:
                with contextlib.suppress(Exception):
                    await process.stdin.aclose()
            with anyio.move_on_after(5):
                await process.wait()
            if process.returncode is None:
                process.kill()
                with anyio.move_on_after(10):
                    await process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def settle(pids: list[int], window: float = 0.5, busy: float = 0.1, timeout: float = 60.0) -> float:
    """Wait until the processes are idle: less than `busy` of a core each over a `window`. Milvus Lite keeps
    working for seconds after a flush or load (searches run ~6x slower meanwhile), so timing starts only
    once it has finished. Returns the seconds waited (`timeout` at most)."""
    started = anyio.current_time()
    while anyio.current_time() - started < timeout:
        before = {pid: cpu_seconds(pid) for pid in pids}
        await anyio.sleep(window)
        if all(cpu_seconds(pid) - before[pid] < busy * window for pid in pids):
            break
    return round(anyio.current_time() - started, 1)


def server_children(parent: int) -> list[int]:
    """Pids of this process's children that run `mcp_server_milvus` (e.g. the SDK's stdio child)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"mcp_server_milvus" in cmdline:
            found.append(int(entry.name))
    return found


def only_server_child() -> int | None:
    """The pid of this process's one `mcp_server_milvus` child, or None when there is not exactly one (its
    CPU is then not read)."""
    children = server_children(os.getpid())
    return children[0] if len(children) == 1 else None


def engine_state(db_path: Path) -> tuple[int, str] | None:
    """(pid, gRPC URI) of the engine process serving a Milvus Lite database in the default mode, if any."""
    try:
        state = json.loads((Path(str(db_path) + ".engine") / "state.json").read_text())
        return int(state["pid"]), f"unix:{state['socket']}"
    except (OSError, ValueError, KeyError, TypeError):
        return None


def reap_engine(db_path: Path, pid: int | None, timeout: float = 10.0) -> None:
    """After its last server has gone, the engine stops by itself (about 2 s); kill it if it has not.

    The engine is a grandchild started in a session of its own, so the stdio transport's tree kill
    does not reach it: this is its `finally`.
    """
    if pid is None:
        state = engine_state(db_path)
        if state is None:
            return
        pid = state[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
