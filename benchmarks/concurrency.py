"""Concurrency: 1, 4, 16 and 64 concurrent milvus_search calls over streamable HTTP and stdio, and the same
load issued directly with `AsyncMilvusClient`, all against the one shared Milvus Lite engine.

Closed loop: N workers share one client (one MCP session, or one gRPC channel) and each issues its next
search as soon as the last one answers, until the level's quota of calls is done. Throughput is calls
over wall time; latency is per call. CPU time per call is read from /proc for the three processes
involved — this benchmark process (the client), the MCP server child, and the Milvus Lite engine — since
on 2 cores the CPU they need between them, not waiting, is what bounds throughput.

Over stdio twice: through the SDK's client ("stdio") and through a bare JSON-RPC client ("stdio-bare",
`procs.RawStdio`), which parses each answer with `json.loads` and nothing more, so the difference is
the SDK client's own work rather than the server's. Level 1 with the bare client is also the stdio
search p50 of `overhead` back to back: there each mode's calls are interleaved with the others', so every
stdio call wakes a server process that has been idle for several calls. To see what such a pause costs,
level 1 runs once more, direct and with the bare client, with a 20 ms sleep after each answer (calls/s
then counts the sleeps), and the stdio server's CPU is read while it is idle.

Then level 64 once more with the processes pinned ("pinned"): the engine on one CPU, this process and the
MCP server child on another. The engine serves searches from one interpreter, so it can use one core at
most; unpinned, the OS runs the MCP server, the client and the engine's threads wherever a core is free,
and the engine loses time to the others. Pinned, that competition is gone, so the pinned ratio against
direct is what the MCP path costs once it no longer competes with the engine for a core. Skipped with
fewer than 2 CPUs.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from benchmarks.harness import CALL_TIMEOUT, HOST, Bench, call, direct_search, ratio, summarize, vectors
from benchmarks.overhead import STDIO_TARGET
from benchmarks.procs import cpu_seconds, http_server, only_server_child, raw_stdio, stdio_session

LEVELS = (1, 4, 16, 64)
TRANSPORTS = ("direct", "http", "stdio", "stdio-bare")
PINNED_LEVEL = 64
PAUSE = 0.02
"""Seconds a paused caller sleeps after each answer."""
IDLE = 2.0
"""Seconds the stdio server's CPU is read for while it is idle."""
ONE_AT_A_TIME = 0.8
"""Target: calls/s of one caller, one search at a time, against the direct client's."""
CONCURRENT = 0.95
"""Target: calls/s of 64 concurrent callers against the direct client's."""

Search = Callable[[int], Awaitable[Any]]


async def closed_loop(search: Search, concurrency: int, total: int, pause: float = 0.0) -> tuple[list[float], float]:
    """Latencies of `total` calls made by `concurrency` workers, and the wall time they took. With `pause`,
    each worker sleeps that many seconds after each answer, as an agent does between calls."""
    quota: Iterator[int] = iter(range(total))
    latencies: list[float] = []

    async def worker() -> None:
        for i in quota:  # shared: each index is taken by exactly one worker
            started = anyio.current_time()
            await search(i)
            latencies.append(anyio.current_time() - started)
            if pause:
                await anyio.sleep(pause)

    started = anyio.current_time()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return latencies, anyio.current_time() - started


async def _measure(
    search: Search, b: Bench, server_pid: int | None, levels: tuple[int, ...] = LEVELS, pause: float = 0.0
) -> dict[str, dict[str, Any]]:
    minimum = b.pick(64, 16)
    await closed_loop(search, 4, 12)  # warm-up: connections, schema cache, first index touches
    pids = {"client": os.getpid(), "engine": b.lite_pid}
    if server_pid is not None:
        pids["server"] = server_pid
    out: dict[str, dict[str, Any]] = {}
    for level in levels:
        total = max(minimum, (8 if not b.quick else 2) * level)
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        latencies, wall = await closed_loop(search, level, total, pause)
        cpu = {name: round((cpu_seconds(pid) - before[name]) / total * 1000, 2) for name, pid in pids.items()}
        out[str(level)] = {
            "calls": total,
            "throughput_rps": round(total / wall, 2),
            "cpu_ms_per_call": cpu,
            **summarize(latencies),
        }
    return out


async def _transports(b: Bench, levels: tuple[int, ...]) -> dict[str, dict[str, dict[str, Any]]]:
    """Every transport at `levels`, one after another, against the shared engine."""
    from pymilvus import AsyncMilvusClient

    queries = vectors(4096, b.dim, b.seed + 100)
    c = b.collection

    def arguments(i: int) -> dict[str, Any]:
        return {"collection_name": c, "vector": queries[i % 4096], "limit": 10}

    results: dict[str, dict[str, dict[str, Any]]] = {}
    direct = AsyncMilvusClient(uri=b.lite_uri)
    try:
        results["direct"] = await _measure(lambda i: direct_search(direct, c, queries[i % 4096]), b, None, levels)
    finally:
        await direct.close()
    with http_server(b.tmp, "--uri", b.lite_uri) as (port, pid):
        async with Client(f"http://{HOST}:{port}/mcp", read_timeout_seconds=CALL_TIMEOUT) as client:
            results["http"] = await _measure(lambda i: call(client, "milvus_search", arguments(i)), b, pid, levels)
    async with stdio_session(b.tmp, "--uri", b.lite_uri, log_name="concurrency") as client:
        results["stdio"] = await _measure(
            lambda i: call(client, "milvus_search", arguments(i)), b, only_server_child(), levels
        )
    async with raw_stdio(b.tmp, "--uri", b.lite_uri, log_name="concurrency-bare") as bare:
        results["stdio-bare"] = await _measure(
            lambda i: bare.call("milvus_search", arguments(i)), b, only_server_child(), levels
        )
    return results


def _ratios(results: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, float]]]:
    return {
        t: {
            level: {
                "throughput": ratio(results[t][level]["throughput_rps"], results["direct"][level]["throughput_rps"]),
                "p95": ratio(results[t][level]["p95_ms"], results["direct"][level]["p95_ms"]),
            }
            for level in results[t]
        }
        for t in results
        if t != "direct"
    }


def _threads(pid: int) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return []


@contextmanager
def pinned(engine_pid: int) -> Iterator[None]:
    """Every thread of the engine on the first CPU this process may use, every thread of this process on
    the second (children started meanwhile inherit it); each thread's own set back on the way out."""
    cpus = sorted(os.sched_getaffinity(0))
    saved: dict[int, set[int]] = {}
    try:
        for pid, cpu in ((engine_pid, cpus[0]), (os.getpid(), cpus[1])):
            for tid in _threads(pid):
                with suppress(ProcessLookupError):  # a thread that ended meanwhile
                    saved[tid] = os.sched_getaffinity(tid)
                    os.sched_setaffinity(tid, {cpu})
        yield
    finally:
        for tid, was in saved.items():
            with suppress(ProcessLookupError):
                os.sched_setaffinity(tid, was)


async def _paused(b: Bench) -> dict[str, Any]:
    """One caller, one search at a time with PAUSE seconds after each answer, direct and over stdio with the
    bare client; and the stdio server's CPU while nothing is asked of it for IDLE seconds."""
    from pymilvus import AsyncMilvusClient

    queries = vectors(4096, b.dim, b.seed + 200)
    c = b.collection
    out: dict[str, Any] = {}
    direct = AsyncMilvusClient(uri=b.lite_uri)
    try:
        out["direct"] = (await _measure(lambda i: direct_search(direct, c, queries[i]), b, None, (1,), PAUSE))["1"]
    finally:
        await direct.close()
    async with raw_stdio(b.tmp, "--uri", b.lite_uri, log_name="concurrency-paused") as bare:
        pid = only_server_child()

        def search(i: int) -> Awaitable[Any]:
            return bare.call("milvus_search", {"collection_name": c, "vector": queries[i], "limit": 10})

        out["stdio-bare"] = (await _measure(search, b, pid, (1,), PAUSE))["1"]
        if pid is not None:
            before = cpu_seconds(pid)
            await anyio.sleep(IDLE)
            out["server_idle_cpu_ms_per_s"] = round((cpu_seconds(pid) - before) / IDLE * 1000, 2)
    return out


async def run(b: Bench) -> dict[str, Any]:
    results = await _transports(b, LEVELS)
    paused = await _paused(b)
    ratios = _ratios(results)
    pinned_results: dict[str, dict[str, dict[str, Any]]] = {}
    if len(os.sched_getaffinity(0)) >= 2 and Path(f"/proc/{b.lite_pid}/task").is_dir():
        with pinned(b.lite_pid):
            pinned_results = await _transports(b, (PINNED_LEVEL,))
    pinned_ratios = _ratios(pinned_results) if pinned_results else {}
    targets = []
    for t in TRANSPORTS[1:]:
        for level, limit, what in ((1, ONE_AT_A_TIME, "one search at a time"), (64, CONCURRENT, "64 concurrent")):
            got = ratios[t][str(level)]["throughput"]
            name = f"concurrency: {what} over {t}, calls/s >= {limit}x direct"
            value = f"{got:.2f}x"
            if level == PINNED_LEVEL and t in pinned_ratios:
                value += f" (pinned: {pinned_ratios[t][str(level)]['throughput']:.2f}x)"
            targets.append({"name": name, "value": value, "met": got >= limit})
    one = {t: results[t]["1"]["p50_ms"] for t in ("direct", "stdio-bare")}
    back_to_back = ratio(one["stdio-bare"], one["direct"])
    after_pause = {t: paused[t]["p50_ms"] for t in ("direct", "stdio-bare")}
    targets.append(
        {
            "name": f"overhead, back to back: stdio milvus_search p50 <= {STDIO_TARGET}x direct, bare client (level 1)",
            "value": f"{back_to_back:.2f}x ({one['direct']:.2f} -> {one['stdio-bare']:.2f} ms); with "
            f"{PAUSE * 1000:g} ms after each call {ratio(after_pause['stdio-bare'], after_pause['direct']):.2f}x "
            f"({after_pause['direct']:.2f} -> {after_pause['stdio-bare']:.2f} ms)",
            "met": back_to_back <= STDIO_TARGET,
        }
    )
    return {
        "config": {"levels": list(LEVELS), "collection_rows": b.rows, "dim": b.dim, "limit": 10},
        "transports": results,
        "ratios": ratios,
        "pinned": pinned_results,
        "pinned_ratios": pinned_ratios,
        "paused": paused,
        "targets": targets,
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
    sections = (("", result["transports"], result["ratios"]), (", pinned", result["pinned"], result["pinned_ratios"]))
    for suffix, transports, ratios in sections:
        for level in (str(x) for x in result["config"]["levels"]):
            for t, by_level in transports.items():
                if level not in by_level:
                    continue
                s = by_level[level]
                r = ratios.get(t, {}).get(level, {"throughput": 1.0, "p95": 1.0})
                rows.append(
                    [
                        level,
                        t + suffix,
                        f"{s['throughput_rps']:.1f}",
                        f"{s['p50_ms']:.1f}",
                        f"{s['p95_ms']:.1f}",
                        f"{r['throughput']:.2f}x",
                        f"{r['p95']:.2f}x",
                        _cpu(s.get("cpu_ms_per_call", {})),
                    ]
                )
    idle = result["paused"].get("server_idle_cpu_ms_per_s")
    for t in ("direct", "stdio-bare"):
        s = result["paused"][t]
        label = f"{t}, {PAUSE * 1000:g} ms pause"
        if t != "direct" and idle is not None:
            label += f" (server idle: {idle:g} ms CPU/s)"
        rows.append(
            [
                "1",
                label,
                f"{s['throughput_rps']:.1f}",
                f"{s['p50_ms']:.1f}",
                f"{s['p95_ms']:.1f}",
                "",
                "",
                _cpu(s.get("cpu_ms_per_call", {})),
            ]
        )
    return head, rows


def _cpu(cpu: dict[str, float]) -> str:
    parts = [f"{cpu[k]:.1f}" if k in cpu else "-" for k in ("client", "server", "engine")]
    return " + ".join(parts) + (f" = {sum(cpu.values()):.1f}" if cpu else "")
