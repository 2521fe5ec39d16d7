"""Profile: the server's own CPU per call for milvus_search, milvus_query and milvus_insert, and where it goes.

CPU, not wall time, because the wall time of a call is mostly the engine's and the machine may be busy:
CPU seconds of this process (all its threads, `time.process_time`) per call, with the engine in its own
process (the shared `milvus-lite server` child), for four callers of the same request:

- "direct": `AsyncMilvusClient` alone: pymilvus building the request and parsing the answer.
- "tool-layer": `server.call_tool(...)`: the tool (argument model, checks, pymilvus, result shaping) and
  the SDK's tool manager, no protocol.
- "in-memory": `mcp.Client(server)`: adds the SDK's JSON-RPC dispatch on both sides and the client's
  output-schema check (measured on its own, `client_check`, and subtracted for `server` below).
- "stdio" (server process): CPU of the `python -m mcp_server_milvus` child per call, from /proc.

`server tax` = tool-layer - direct: what the server itself adds to pymilvus. The engine's CPU per call
(the `milvus-lite server` child, from /proc) is shown for scale. Then cProfile over the tool layer names
the top functions (by own time, and cumulative ones of this package and the SDK), once for the tool layer
and once through `mcp.Client(server)`.

Standalone: `python -m benchmarks.profile [--rows N] [--calls N] [--top N]` starts its own engine and
collection; `python -m benchmarks.run --only profile` runs it with the others.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from mcp import Client

from benchmarks.harness import (
    SERVER_READ,
    Bench,
    BenchError,
    create_collection,
    direct_search,
    make_rows,
    tool_context,
    vectors,
)
from benchmarks.procs import cpu_seconds, only_server_child, stdio_session

OPS = ("search", "query", "insert")
MODES = ("direct", "tool-layer", "in-memory", "stdio")
INSERT_ROWS = 1000
SCRATCH = "bench_profile_insert"
TARGET_MS = 1.0
"""The server's own CPU per 10-hit search (tool-layer minus direct), in milliseconds."""

Caller = Callable[[int], Awaitable[Any]]


def _calls(b: Bench, n: int) -> dict[str, Callable[[int], tuple[str, dict[str, Any]]]]:
    queries = vectors(n, b.dim, b.seed + 11)
    starts = np.random.default_rng(b.seed).integers(0, max(1, b.rows - 10), n).tolist()
    batches = [make_rows(INSERT_ROWS, b.dim, seed=b.seed + i, with_id=False) for i in range(min(n, 8))]
    return {
        "search": lambda i: ("milvus_search", {"collection_name": b.collection, "vector": queries[i], "limit": 10}),
        "query": lambda i: (
            "milvus_query",
            {"collection_name": b.collection, "filter": f"id >= {starts[i]}", "limit": 10},
        ),
        "insert": lambda i: ("milvus_insert", {"collection_name": SCRATCH, "rows": batches[i % len(batches)]}),
    }


def _direct(client: Any, op: str, arguments: dict[str, Any]) -> Awaitable[Any]:
    if op == "search":
        return direct_search(client, arguments["collection_name"], arguments["vector"])
    if op == "query":
        return client.query(
            arguments["collection_name"], filter=arguments["filter"], **SERVER_READ, limit=10, offset=0, timeout=30
        )
    return client.insert(SCRATCH, arguments["rows"], timeout=30)


async def _checked(result: Any, tool: str) -> Any:
    if result.is_error:
        raise BenchError(f"{tool} failed: {result.content}")
    return result


async def _cpu(fn: Caller, n: int, engine_pid: int, server_pid: int | None = None) -> dict[str, float]:
    """CPU milliseconds per call of this process, the engine and (if given) a server child over n calls."""
    for i in range(min(3, n)):
        await fn(i)
    before = (time.process_time(), cpu_seconds(engine_pid), cpu_seconds(server_pid) if server_pid else 0.0)
    for i in range(n):
        await fn(i)
    after = (time.process_time(), cpu_seconds(engine_pid), cpu_seconds(server_pid) if server_pid else 0.0)
    per = [round((a - s) / n * 1000, 3) for a, s in zip(after, before, strict=True)]
    return {"this_process_ms": per[0], "engine_ms": per[1], "server_process_ms": per[2]}


async def _client_check(client: Client, tool: str, arguments: dict[str, Any], rounds: int = 50) -> float:
    """Milliseconds of CPU the SDK client spends validating one result against the tool's outputSchema."""
    result = await client.call_tool(tool, arguments)
    started = time.process_time()
    for _ in range(rounds):
        await client.session.validate_tool_result(tool, result)
    return round((time.process_time() - started) / rounds * 1000, 3)


def _top(profile: cProfile.Profile, calls: int, top: int) -> dict[str, list[list[Any]]]:
    """The top functions by own time, and this package's by cumulative time, in ms per call."""
    stats = pstats.Stats(profile, stream=io.StringIO())
    rows = []
    for (path, line, name), (_cc, _nc, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        short = path.split("site-packages/")[-1].split("wt-tax/")[-1].split("/work/main/")[-1]
        rows.append([f"{short}:{line}({name})", round(tottime / calls * 1000, 3), round(cumtime / calls * 1000, 3)])
    own = sorted(rows, key=lambda r: -r[1])[:top]
    ours = sorted((r for r in rows if r[0].startswith(("mcp_server_milvus", "mcp/"))), key=lambda r: -r[2])[:top]
    return {"tottime": own, "cumulative_ours": ours}


async def run(b: Bench, calls: int | None = None, top: int = 15, ops: tuple[str, ...] = OPS) -> dict[str, Any]:
    from pymilvus import AsyncMilvusClient

    from mcp_server_milvus.config import Settings
    from mcp_server_milvus.server import build_server

    n = calls or b.pick(300, 60)
    await create_collection(b.lite_uri, SCRATCH, b.dim, 0, auto_id=True)
    plans = _calls(b, n)
    direct = AsyncMilvusClient(uri=b.lite_uri)
    cpu: dict[str, dict[str, Any]] = {}
    profiles: dict[str, Any] = {}
    try:
        server = build_server(Settings(uri=b.lite_uri))
        async with Client(server) as mem, stdio_session(b.tmp, "--uri", b.lite_uri, log_name="profile") as stdio:
            ctx = tool_context(server)
            stdio_pid = only_server_child()
            for op in ops:
                count = n if op != "insert" else max(10, n // 10)

                def plan(i: int, op: str = op) -> tuple[str, dict[str, Any]]:
                    return plans[op](i)

                modes: dict[str, Caller] = {
                    "direct": lambda i, op=op: _direct(direct, op, plan(i)[1]),
                    "tool-layer": lambda i: server.call_tool(*plan(i), ctx),
                    "in-memory": lambda i: mem.call_tool(*plan(i)),
                }
                cpu[op] = {m: await _cpu(fn, count, b.lite_pid) for m, fn in modes.items()}
                if stdio_pid:
                    cpu[op]["stdio"] = await _cpu(lambda i: stdio.call_tool(*plan(i)), count, b.lite_pid, stdio_pid)
                if op != "insert":
                    cpu[op]["client_check_ms"] = await _client_check(mem, *plan(0))
                profile = cProfile.Profile()
                profile.enable()
                for i in range(count):
                    await _checked(await server.call_tool(*plan(i), ctx), plan(i)[0])
                profile.disable()
                profiles[op] = _top(profile, count, top)
                profile = cProfile.Profile()  # the same through the SDK, both sides of it, in memory
                profile.enable()
                for i in range(count):
                    await _checked(await mem.call_tool(*plan(i)), plan(i)[0])
                profile.disable()
                profiles[f"{op} in-memory"] = _top(profile, count, top)
    finally:
        await direct.close()
        await create_collection(b.lite_uri, SCRATCH, b.dim, 0, auto_id=True)  # empty again for other runs
    per_call = {}
    for op, modes_cpu in cpu.items():
        d = modes_cpu["direct"]["this_process_ms"]
        row = {
            "direct_ms": d,
            "tool_layer_ms": modes_cpu["tool-layer"]["this_process_ms"],
            "server_tax_ms": round(modes_cpu["tool-layer"]["this_process_ms"] - d, 3),
            "in_memory_ms": modes_cpu["in-memory"]["this_process_ms"],
            "client_check_ms": modes_cpu.get("client_check_ms"),
            "engine_ms": modes_cpu["direct"]["engine_ms"],
        }
        if "stdio" in modes_cpu:
            row["stdio_server_process_ms"] = modes_cpu["stdio"]["server_process_ms"]
        per_call[op] = row
    tax = per_call["search"]["server_tax_ms"] if "search" in per_call else math.nan
    return {
        "config": {"calls": n, "insert_rows_per_call": INSERT_ROWS, "collection_rows": b.rows, "dim": b.dim},
        "cpu_ms_per_call": per_call,
        "profiles": profiles,
        "targets": [
            {
                "name": f"profile: server's own CPU per 10-hit search < {TARGET_MS} ms (tool-layer - direct)",
                "value": tax,
                "limit": TARGET_MS,
                "met": tax < TARGET_MS,
            }
        ],
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["op", "direct", "tool-layer", "server tax", "in-memory", "client check", "stdio server", "engine"]
    rows = []
    for op, r in result["cpu_ms_per_call"].items():
        check = r.get("client_check_ms")
        stdio = r.get("stdio_server_process_ms")
        rows.append(
            [
                op,
                f"{r['direct_ms']:.2f}",
                f"{r['tool_layer_ms']:.2f}",
                f"{r['server_tax_ms']:.2f}",
                f"{r['in_memory_ms']:.2f}",
                "" if check is None else f"{check:.2f}",
                "" if stdio is None else f"{stdio:.2f}",
                f"{r['engine_ms']:.2f}",
            ]
        )
    return head, rows


def report(result: dict[str, Any]) -> str:
    """The CPU table (ms per call) and the top functions per tool."""
    head, rows = table(result)
    out = ["CPU ms per call (this process unless named)", "  ".join(head)]
    out.extend("  ".join(r) for r in rows)
    for op, tops in result["profiles"].items():
        out.append(f"\n{op}: top functions by own time (ms per call: own, cumulative)")
        out.extend(f"  {own:7.3f} {cum:7.3f}  {name}" for name, own, cum in tops["tottime"])
        out.append(f"{op}: this package and the SDK (mcp/) by cumulative time")
        out.extend(f"  {own:7.3f} {cum:7.3f}  {name}" for name, own, cum in tops["cumulative_ours"])
    return "\n".join(out)


async def _standalone(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from benchmarks.procs import lite_server, settle

    b = Bench(tmp=tmp, rows=args.rows)
    with lite_server(tmp / "engine-data") as (uri, pid):
        b.lite_uri, b.lite_pid = uri, pid
        await create_collection(uri, b.collection, b.dim, b.rows)
        await settle([pid])
        return await run(b, calls=args.calls, top=args.top, ops=tuple(args.ops.split(",")))


def main(argv: list[str] | None = None) -> int:
    import logging
    import shutil

    os.environ.pop("MILVUS_URI", None)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=300, help="calls per mode (insert: a tenth, at least 10)")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--ops", default=",".join(OPS), help="comma-separated: search, query, insert")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import pymilvus  # noqa: F401

    logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)
    tmp = Path(tempfile.mkdtemp(prefix="mcp-milvus-profile-"))
    try:
        result = anyio.run(_standalone, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
