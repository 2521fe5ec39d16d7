"""Overhead: milvus_search, milvus_query and milvus_insert through MCP vs the same requests made directly.

Four callers share one Milvus Lite engine (the `milvus-lite server` child): `AsyncMilvusClient` in
this process ("direct"); the server's tool called as a method, `server.call_tool(name, arguments)`
("tool-layer": argument parsing, checks and result shaping, no protocol); the MCP server in this
process through `mcp.Client(server)` ("in-memory": adds the protocol dispatch and the client's
validation of structuredContent against the tool's outputSchema); and `python -m mcp_server_milvus`
over stdio, through the SDK's stdio client ("stdio": adds JSON encoding, pipes, a second process and the
SDK client's own work) and through a bare JSON-RPC client ("stdio-bare", `procs.RawStdio`: the server's
cost over stdio, with as little client as there can be; the stdio target is judged on it). The direct calls send exactly the request the
server sends (the same output_fields, consistency level, search_params, limit and offset), so a ratio measures MCP,
the tool layer and the transport, not a different query. Rounds are interleaved (each round calls
every mode once, in rotating order) so that background load hits every mode alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import numpy as np
from mcp import Client

from benchmarks.harness import (
    SERVER_READ,
    Bench,
    BenchError,
    call,
    create_collection,
    direct_search,
    make_rows,
    ratio,
    summarize,
    tool_context,
    vectors,
)
from benchmarks.procs import RawStdio, raw_stdio, stdio_session

MODES = ("direct", "tool-layer", "in-memory", "stdio", "stdio-bare")
OPS = ("search", "query", "insert")
INSERT_ROWS = 10
"""Rows per insert call."""
SCRATCH = "bench_insert"
TARGETS = {"search": 1.05, "query": 1.10}
"""In-memory p50 over direct, less the client's own output-schema check (its time is on a line of its own)."""
STDIO_TARGET = 1.25


Caller = Callable[[int], Awaitable[Any]]


async def _tool_layer(server: Any, tool: str, arguments: dict[str, Any]) -> Any:
    """The tool itself, called on the server object: argument parsing, checks, the RPC and the result,
    without the MCP protocol, the client's output-schema validation or a transport."""
    result = await server.call_tool(tool, arguments, tool_context(server))
    if result.is_error:
        raise BenchError(f"{tool} failed: {result.content}")
    return result


def _callers(
    b: Bench, direct: Any, server: Any, mcp: dict[str, Client], bare: RawStdio, n: int
) -> dict[str, dict[str, Caller]]:
    """op -> mode -> a function doing round i's call."""
    queries = vectors(n, b.dim, b.seed)
    starts = np.random.default_rng(b.seed).integers(0, max(1, b.rows - 10), n).tolist()
    batches = [make_rows(INSERT_ROWS, b.dim, seed=b.seed + i, with_id=False) for i in range(n)]
    c = b.collection

    def d_search(i: int) -> Awaitable[Any]:
        return direct_search(direct, c, queries[i])

    def d_query(i: int) -> Awaitable[Any]:
        return direct.query(c, filter=f"id >= {starts[i]}", **SERVER_READ, limit=10, offset=0, timeout=30)

    def d_insert(i: int) -> Awaitable[Any]:
        return direct.insert(SCRATCH, batches[i], timeout=30)

    def arguments(op: str, i: int) -> tuple[str, dict[str, Any]]:
        if op == "search":
            return "milvus_search", {"collection_name": c, "vector": queries[i], "limit": 10}
        if op == "query":
            return "milvus_query", {"collection_name": c, "filter": f"id >= {starts[i]}", "limit": 10}
        return "milvus_insert", {"collection_name": SCRATCH, "rows": batches[i]}

    def via(client: Client) -> dict[str, Caller]:
        return {op: (lambda i, op=op: call(client, *arguments(op, i))) for op in OPS}

    by_mode = {
        "direct": {"search": d_search, "query": d_query, "insert": d_insert},
        "tool-layer": {op: (lambda i, op=op: _tool_layer(server, *arguments(op, i))) for op in OPS},
        "stdio-bare": {op: (lambda i, op=op: bare.call(*arguments(op, i))) for op in OPS},
    }
    by_mode.update({mode: via(client) for mode, client in mcp.items()})
    return {op: {mode: by_mode[mode][op] for mode in MODES} for op in OPS}


async def _client_validation(client: Client, b: Bench, rounds: int = 100) -> dict[str, float]:
    """Milliseconds the SDK client spends validating one result's structuredContent against the tool's
    outputSchema (jsonschema), which every in-memory and stdio call above includes."""
    vector = vectors(1, b.dim, b.seed + 3)[0]
    calls = {
        "search": ("milvus_search", {"collection_name": b.collection, "vector": vector, "limit": 10}),
        "query": ("milvus_query", {"collection_name": b.collection, "filter": "id >= 0", "limit": 10}),
    }
    out = {}
    for op, (tool, arguments) in calls.items():
        result = await client.call_tool(tool, arguments)
        started = anyio.current_time()
        for _ in range(rounds):
            await client.session.validate_tool_result(tool, result)
        out[op] = round((anyio.current_time() - started) / rounds * 1000, 3)
    return out


async def run(b: Bench) -> dict[str, Any]:
    from pymilvus import AsyncMilvusClient

    from mcp_server_milvus.config import Settings
    from mcp_server_milvus.server import build_server

    warmup = 20 if not b.quick else 8
    n = warmup + b.repeat
    await create_collection(b.lite_uri, SCRATCH, b.dim, 0, auto_id=True)
    direct = AsyncMilvusClient(uri=b.lite_uri)
    samples: dict[str, dict[str, list[float]]] = {op: {m: [] for m in MODES} for op in OPS}
    client_validation: dict[str, float] = {}
    try:
        server = build_server(Settings(uri=b.lite_uri))
        async with (
            Client(server) as mem,
            stdio_session(b.tmp, "--uri", b.lite_uri, log_name="overhead") as stdio,
            raw_stdio(b.tmp, "--uri", b.lite_uri, log_name="overhead-bare") as bare,
        ):
            callers = _callers(b, direct, server, {"in-memory": mem, "stdio": stdio}, bare, n)
            for op in OPS:
                for i in range(n):
                    for k in range(len(MODES)):
                        mode = MODES[(i + k) % len(MODES)]
                        started = anyio.current_time()
                        await callers[op][mode](i)
                        if i >= warmup:
                            samples[op][mode].append(anyio.current_time() - started)
            client_validation = await _client_validation(mem, b)
    finally:
        await direct.close()
    ops = {op: {m: summarize(samples[op][m]) for m in MODES} for op in OPS}
    ratios = {
        op: {
            f"{m}/direct": {
                "p50": ratio(ops[op][m]["p50_ms"], ops[op]["direct"]["p50_ms"]),
                "p95": ratio(ops[op][m]["p95_ms"], ops[op]["direct"]["p95_ms"]),
            }
            for m in MODES[1:]
        }
        for op in OPS
    }
    targets = []
    for op, limit in TARGETS.items():
        check = client_validation.get(op, 0.0)
        value = ratio(ops[op]["in-memory"]["p50_ms"] - check, ops[op]["direct"]["p50_ms"])
        targets.append(
            {
                "name": f"overhead: in-memory {op} p50 without the client's schema check <= {limit}x direct",
                "value": value,
                "limit": limit,
                "met": value <= limit,
            }
        )
    stdio = ratios["search"]["stdio-bare/direct"]["p50"]
    targets.append(
        {
            "name": f"overhead: stdio search p50 (bare client) <= {STDIO_TARGET}x direct",
            "value": stdio,
            "limit": STDIO_TARGET,
            "met": stdio <= STDIO_TARGET,
        }
    )
    return {
        "config": {
            "backend": "milvus-lite server child (same engine for all modes)",
            "collection_rows": b.rows,
            "dim": b.dim,
            "samples": b.repeat,
            "warmup": warmup,
            "search_limit": 10,
            "query_limit": 10,
            "insert_rows_per_call": INSERT_ROWS,
        },
        "ops": ops,
        "ratios": ratios,
        "client_validation_ms": client_validation,
        "targets": targets,
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["op", "mode", "p50 ms", "p95 ms", "p50 ratio", "p95 ratio"]
    rows = []
    for op, modes in result["ops"].items():
        for mode, s in modes.items():
            r = result["ratios"][op].get(f"{mode}/direct", {"p50": 1.0, "p95": 1.0})
            rows.append([op, mode, f"{s['p50_ms']:.2f}", f"{s['p95_ms']:.2f}", f"{r['p50']:.2f}x", f"{r['p95']:.2f}x"])
        validation = result.get("client_validation_ms", {}).get(op)
        if validation is not None:
            rows.append([op, "(client schema check)", f"{validation:.2f}", "", "", ""])
    return head, rows
