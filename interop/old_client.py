"""An older-protocol client: the Python SDK 1.x (`mcp<2`, pinned in requirements-mcp1.txt) `ClientSession`.

It speaks the initialize handshake of protocol 2025-11-25, which the server (Python SDK 2.x) must still
accept. Runs the scenario of scenario.json over stdio, SSE or streamable HTTP. It must run in its own
virtualenv (interop/.venv-mcp1): the project's venv has mcp 2.x.

    python old_client.py http  http://127.0.0.1:8000/mcp
    python old_client.py sse   http://127.0.0.1:8000/sse
    python old_client.py stdio /tmp/x.db mcp-server-milvus [args...]   (the database goes in --uri)

Prints one `PASS <label>: <what>` or `FAIL <label>: <what>: <why>` line per check; exits 1 on any failure.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

HERE = Path(__file__).resolve().parent
S = json.loads((HERE / "scenario.json").read_text())
REQUEST_TIMEOUT = timedelta(seconds=60)
TOTAL_TIMEOUT = 240.0
EXPECTED_PROTOCOL = "2025-11-25"

failures = 0


def report(label: str, what: str, problem: str | None) -> None:
    global failures
    if problem is None:
        print(f"PASS {label}: {what}", flush=True)
    else:
        failures += 1
        print(f"FAIL {label}: {what}: {problem}", flush=True)


async def step(label: str, what: str, fn: Callable[[], Awaitable[str | None]]) -> None:
    try:
        report(label, what, await fn())
    except Exception as exc:  # a crash in one step is that step's failure
        report(label, what, f"raised {type(exc).__name__}: {exc}")


def structured(result: types.CallToolResult) -> dict[str, Any]:
    if result.isError:
        raise AssertionError(f"isError: {result.content}")
    sc = result.structuredContent
    if not isinstance(sc, dict):
        raise AssertionError("no structuredContent")
    first = result.content[0] if result.content else None
    text = first.text if isinstance(first, types.TextContent) else ""
    if json.loads(text) != sc:
        raise AssertionError("the text content is not the structured content")
    return sc


async def scenario(mode: str, target: str, command: list[str]) -> None:
    label = f"mcp1-py/{mode}"
    async with AsyncExitStack() as stack:
        if mode == "stdio":
            params = StdioServerParameters(command=command[0], args=[*command[1:], "--uri", target])
            errlog = stack.enter_context(open(Path(target).parent / "old_client-stdio.stderr", "a"))  # noqa: SIM115
            read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        elif mode == "sse":
            read, write = await stack.enter_async_context(sse_client(target))
        else:
            read, write, _ = await stack.enter_async_context(streamable_http_client(target))
        session = await stack.enter_async_context(ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT))

        init: types.InitializeResult | None = None

        async def initialize() -> str | None:
            nonlocal init
            init = await session.initialize()
            if init.protocolVersion != EXPECTED_PROTOCOL:
                return f"negotiated protocol {init.protocolVersion}, expected {EXPECTED_PROTOCOL}"
            if init.serverInfo.name != "milvus":
                return f"serverInfo {init.serverInfo}"
            if init.capabilities.tools is None:
                return "no tools capability"
            return None

        await step(label, f"initialize (protocol {EXPECTED_PROTOCOL})", initialize)
        if init is None:
            return

        async def list_tools() -> str | None:
            tools = (await session.list_tools()).tools
            names = {t.name for t in tools}
            missing = [n for n in S["required_tools"] if n not in names]
            if missing:
                return f"missing tools {missing}"
            no_output = [t.name for t in tools if t.name in S["required_tools"] and not t.outputSchema]
            return f"no outputSchema on {no_output}" if no_output else None

        await step(label, "tools/list", list_tools)

        async def call(name: str, args: dict[str, Any]) -> types.CallToolResult:
            return await session.call_tool(name, args)

        async def create() -> str | None:
            sc = structured(await call("milvus_create_collection", S["create"]))
            dims = [(f.get("name"), f.get("dim")) for f in sc.get("vector_fields", [])]
            ok = sc.get("collection_name") == "docs" and sc.get("load_state") == "Loaded" and dims == [("vector", 4)]
            return None if ok else f"unexpected answer {sc}"

        async def insert() -> str | None:
            sc = structured(await call("milvus_insert", S["insert"]))
            ok = sc.get("insert_count") == 3 and sorted(sc.get("ids", [])) == [0, 1, 2]
            return None if ok else f"unexpected answer {sc}"

        async def search() -> str | None:
            sc = structured(await call("milvus_search", S["search"]))
            hits, want = sc.get("hits") or [], S["expect_search"]
            ok = (
                bool(hits)
                and hits[0].get("id") == want["top_id"]
                and (hits[0].get("entity") or {}).get("title") == want["top_title"]
                and sorted(h.get("id") for h in hits) == want["ids"]
                and abs(hits[0].get("score", 0) - 1.0) <= 1e-3
            )
            return None if ok else f"unexpected hits {hits}"

        async def query() -> str | None:
            sc = structured(await call("milvus_query", S["query"]))
            got = sorted([r.get("id"), r.get("title")] for r in sc.get("rows", []))
            return None if got == S["expect_query"] else f"unexpected rows {sc.get('rows')}"

        async def error() -> str | None:
            e = S["error"]
            result = await call(e["tool"], e["arguments"])
            if result.isError is not True:
                return f"isError is {result.isError}"
            text = " ".join(c.text for c in result.content if isinstance(c, types.TextContent))
            return None if e["text_contains"] in text else f"message {text!r} lacks {e['text_contains']!r}"

        await step(label, "tools/call milvus_create_collection", create)
        await step(label, "tools/call milvus_insert", insert)
        await step(label, "tools/call milvus_search", search)
        await step(label, "tools/call milvus_query", query)
        await step(label, "tool error is an isError result", error)


async def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("stdio", "sse", "http") or (argv[0] == "stdio" and len(argv) < 3):
        print(__doc__, file=sys.stderr)
        return 2
    mode, target, command = argv[0], argv[1], argv[2:]
    try:
        with anyio.fail_after(TOTAL_TIMEOUT):
            await scenario(mode, target, command)
    except Exception as exc:
        report(f"mcp1-py/{mode}", "scenario", f"raised {type(exc).__name__}: {exc}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1:]))
