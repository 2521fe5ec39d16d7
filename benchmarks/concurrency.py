"""Concurrency: 1, 4, 16 and 64 concurrent milvus_search calls over streamable HTTP and stdio, and the same
load issued directly with `AsyncMilvusClient`, all against the one shared Milvus Lite engine.

Closed loop: N workers share one client (one MCP session, or one gRPC channel) and each issues its next
search as soon as the last one answers, until the level's quota of calls is done. Throughput is calls
over wall time; latency is per call. CPU time per call is read from /proc for the three processes
involved — this benchmark process (the client), the MCP server child, and the Milvus Lite engine — since
on 2 cores the CPU they need between them, not waiting, is what bounds throughput.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
from mcp import Client

from benchmarks.harness import CALL_TIMEOUT, HOST, Bench, call, direct_search, ratio, summarize, vectors
from benchmarks.procs import cpu_seconds, http_server, server_children, stdio_session

LEVELS = (1, 4, 16, 64)
TRANSPORTS = ("direct", "http", "stdio")

Search = Callable[[int], Awaitable[Any]]


async def closed_loop(search: Search, concurrency: int, total: int) -> tuple[list[float], float]:
    """Latencies of `total` calls made by `concurrency` workers, and the wall time they took."""
    quota: Iterator[int] = iter(range(total))
    latencies: list[float] = []

    async def worker() -> None:
        for i in quota:  # shared: each index is taken by exactly one worker
            started = anyio.current_time()
            await search(i)
            latencies.append(anyio.current_time() - started)

    started = anyio.current_time()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return latencies, anyio.current_time() - started


async def _measure(
    search: Search, b: Bench, server_pid: int | None, levels: tuple[int, ...] = LEVELS
) -> dict[str, dict[str, Any]]:
    minimum = b.pick(64, 16)
    await closed_loop(search, 4, 12)  # warm-up: connections, schema cache, first index touches
    pids = {"client": os.getpid(), "engine": b.lite_pid}
    if server_pid is not None:
        pids["server"] = server_pid
    out: dict[str, dict[str, Any]] = {}
    for level in levels:
        total = max(minimum, (4 if not b.quick else 2) * level)
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        latencies, wall = await closed_loop(search, level, total)
        cpu = {name: round((cpu_seconds(pid) - before[name]) / total * 1000, 2) for name, pid in pids.items()}
        out[str(level)] = {
            "calls": total,
            "throughput_rps": round(total / wall, 2),
            "cpu_ms_per_call": cpu,
            **summarize(latencies),
        }
    return out


async def run(b: Bench) -> dict[str, Any]:
    from pymilvus import AsyncMilvusClient

    queries = vectors(4096, b.dim, b.seed + 100)
    c = b.collection

    def mcp_search(client: Client) -> Search:
        return lambda i: call(client, "milvus_search", {"collection_name": c, "vector": queries[i % 4096], "limit": 10})

    results: dict[str, dict[str, dict[str, Any]]] = {}
    direct = AsyncMilvusClient(uri=b.lite_uri)
    try:
        results["direct"] = await _measure(lambda i: direct_search(direct, c, queries[i % 4096]), b, None)
    finally:
        await direct.close()
    with http_server(b.tmp, "--uri", b.lite_uri) as (port, pid):
        async with Client(f"http://{HOST}:{port}/mcp", read_timeout_seconds=CALL_TIMEOUT) as client:
            results["http"] = await _measure(mcp_search(client), b, pid)
    async with stdio_session(b.tmp, "--uri", b.lite_uri, log_name="concurrency") as client:
        children = server_children(os.getpid())
        results["stdio"] = await _measure(mcp_search(client), b, children[0] if len(children) == 1 else None)
    ratios = {
        t: {
            level: {
                "throughput": ratio(results[t][level]["throughput_rps"], results["direct"][level]["throughput_rps"]),
                "p95": ratio(results[t][level]["p95_ms"], results["direct"][level]["p95_ms"]),
            }
            for level in results[t]
        }
        for t in TRANSPORTS[1:]
    }
    return {
        "config": {"levels": list(LEVELS), "collection_rows": b.rows, "dim": b.dim, "limit": 10},
        "transports": results,
        "ratios": ratios,
        "targets": [],
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = [
        "concurrency",
        "transport",
        "calls/s",
        "p50 ms",
        "p95 ms",
        "calls/s vs direct",
        "p95 vs direct",
        "CPU ms/call client+server+engine",
    ]
    rows = []
    for level in (str(x) for x in result["config"]["levels"]):
        for t, by_level in result["transports"].items():
            s = by_level[level]
            r = result["ratios"].get(t, {}).get(level, {"throughput": 1.0, "p95": 1.0})
            rows.append(
                [
                    level,
                    t,
                    f"{s['throughput_rps']:.1f}",
                    f"{s['p50_ms']:.1f}",
                    f"{s['p95_ms']:.1f}",
                    f"{r['throughput']:.2f}x",
                    f"{r['p95']:.2f}x",
                    _cpu(s.get("cpu_ms_per_call", {})),
                ]
            )
    return head, rows


def _cpu(cpu: dict[str, float]) -> str:
    parts = [f"{cpu[k]:.1f}" if k in cpu else "-" for k in ("client", "server", "engine")]
    return " + ".join(parts) + (f" = {sum(cpu.values()):.1f}" if cpu else "")
