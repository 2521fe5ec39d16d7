"""Stall: how much a fast call slows down while N slow searches are in flight, over stdio.

Two stdio servers run side by side, one per Milvus Lite mode — the default engine process ("engine")
and `--lite-in-process` ("in-process") — each on a fresh .db holding an UNFLUSHED `slow` collection
(15k x 64 by default: Milvus Lite searches unflushed rows slowly) in a database `stall`, and a flushed
10-row `tiny` collection in `default`. With N = 0, 1, 3 workers keeping limit-100 searches of `slow` in
flight without pause, the fast calls (milvus_list_collections of `default`, and
milvus_describe_collection, milvus_count and a limit-3 milvus_search on `tiny`) are timed one after
another. The ratio is a fast call's latency at N over its idle (N = 0) latency in the same server. The
search on `tiny` shows that a cheap search does not queue behind the costly ones (see `engine.host_lanes`).

A third row, "engine, direct", puts the same load on the engine process of the "engine" server with
`AsyncMilvusClient` alone (the fast calls become the RPCs list_collections, describe_collection, a
count(*) query and a search): the stall left in the engine itself, below any MCP server in front of it.

Rounds interleave the modes (each round measures every N in every mode, in rotating order), so that
load from other programs on the machine lands on all of them alike.

`slow` lives in its own database because milvus_list_collections counts the rows of every collection
it lists, and on Milvus Lite counting unflushed rows is itself slow (measured separately, idle, as
`list_collections_of_slow_db`). The client is `procs.RawStdio`, a bare JSON-RPC client, so that the
benchmark process spends little CPU per answer (the SDK client validates every 100-hit result against
the output schema) and does not delay the fast calls it is timing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from benchmarks.harness import Bench, BenchError, ratio, summarize, vectors
from benchmarks.procs import RawStdio, engine_state, raw_stdio, reap_engine, settle

IN_FLIGHT = (0, 1, 3)
MODES = ("engine", "engine, direct", "in-process")
SLOW_DB = "stall"
SLOW_DIM = 64
SLOW_LIMIT = 100
TARGET_RATIO = 3.0
KEEP_UNFLUSHED = ("--lite-auto-flush-seconds", "0")
"""`slow` must stay unflushed: the engine would otherwise flush it 2 s after the last insert (see the flush
benchmark for auto-flush itself)."""
FAST: dict[str, dict[str, Any]] = {
    "milvus_list_collections": {},
    "milvus_describe_collection": {"collection_name": "tiny"},
    "milvus_count": {"collection_name": "tiny"},
    "milvus_search": {"collection_name": "tiny", "vector": [0.5] * 8, "limit": 3},
}

Fast = dict[str, Callable[[], Awaitable[Any]]]
Slow = Callable[[int], Awaitable[Any]]
Samples = dict[str, list[float]]
"""Fast-call name (and "slow_search") -> latencies in seconds."""


async def _prepare(client: RawStdio, slow_rows: int, seed: int) -> None:
    await client.call("milvus_create_database", {"database_name": SLOW_DB})
    slow = {"collection_name": "slow", "database": SLOW_DB}
    await client.call("milvus_create_collection", {**slow, "dimension": SLOW_DIM})
    for start in range(0, slow_rows, 1000):
        n = min(1000, slow_rows - start)
        rows = [{"id": start + i, "vector": v} for i, v in enumerate(vectors(n, SLOW_DIM, seed + start))]
        await client.call("milvus_insert", {**slow, "rows": rows})
    await client.call("milvus_create_collection", {"collection_name": "tiny", "dimension": 8})
    tiny = [{"id": i, "vector": v} for i, v in enumerate(vectors(10, 8, seed))]
    await client.call("milvus_insert", {"collection_name": "tiny", "rows": tiny})
    await client.call("milvus_flush", {"collection_name": "tiny"})


async def _under_load(fast: Fast, slow: Slow, n: int, samples: int, into: Samples) -> None:
    """Time `samples` rounds of the fast calls while `n` slow searches are kept in flight."""
    stop = anyio.Event()

    async def searcher(k: int) -> None:
        i = k
        while not stop.is_set():
            started = anyio.current_time()
            await slow(i)
            into["slow_search"].append(anyio.current_time() - started)
            i += n

    async with anyio.create_task_group() as tg:
        for k in range(n):
            tg.start_soon(searcher, k)
        if n:
            await anyio.sleep(0.3)  # let every searcher's first request reach the engine
        names = list(fast)
        for s in range(samples):
            for j in range(len(names)):
                name = names[(s + j) % len(names)]
                started = anyio.current_time()
                await fast[name]()
                into[name].append(anyio.current_time() - started)
                await anyio.sleep(0.01)
        stop.set()


def _mcp_calls(client: RawStdio, queries: list[list[float]]) -> tuple[Fast, Slow]:
    fast: Fast = {name: (lambda n=name, a=args: client.call(n, a)) for name, args in FAST.items()}

    def slow(i: int) -> Awaitable[Any]:
        args = {"collection_name": "slow", "database": SLOW_DB, "vector": queries[i % len(queries)]}
        return client.call("milvus_search", {**args, "limit": SLOW_LIMIT})

    return fast, slow


def _direct_calls(client: Any, searcher: Any, queries: list[list[float]]) -> tuple[Fast, Slow]:
    """The same requests the server sends, straight to the engine with `AsyncMilvusClient`."""
    fast: Fast = {
        "milvus_list_collections": lambda: client.list_collections(timeout=60),
        "milvus_describe_collection": lambda: client.describe_collection("tiny", timeout=60),
        "milvus_count": lambda: client.query("tiny", filter="", output_fields=["count(*)"], timeout=60),
        "milvus_search": lambda: client.search(
            "tiny", data=[[0.5] * 8], anns_field="vector", limit=3, output_fields=["*"], timeout=60
        ),
    }

    def slow(i: int) -> Awaitable[Any]:
        return searcher.search(
            "slow",
            data=[queries[i % len(queries)]],
            anns_field="vector",
            filter="",
            limit=SLOW_LIMIT,
            offset=0,
            output_fields=["*"],
            search_params={"metric_type": "COSINE", "params": {}},
            timeout=60,
        )

    return fast, slow


async def _measure(loads: dict[str, tuple[Fast, Slow]], samples: int, rounds: int) -> dict[str, Any]:
    """Every mode's fast calls (each mode may name its own) at every N, in interleaved rounds."""
    raw: dict[str, dict[int, Samples]] = {
        mode: {n: {name: [] for name in [*fast, "slow_search"]} for n in IN_FLIGHT} for mode, (fast, _) in loads.items()
    }
    for fast, slow in loads.values():  # warm connections, schema caches and the collections
        for fn in fast.values():
            await fn()
        await slow(0)
    per_round = max(1, round(samples / rounds))
    modes = list(loads)
    for r in range(rounds):
        for n in IN_FLIGHT:
            for k in range(len(modes)):
                mode = modes[(r + k) % len(modes)]
                await _under_load(*loads[mode], n, per_round, raw[mode][n])
    out: dict[str, Any] = {}
    for mode in modes:
        names = list(loads[mode][0])
        idle = {name: summarize(raw[mode][0][name]) for name in names}
        out[mode] = {}
        for n in IN_FLIGHT:
            fast = {name: summarize(raw[mode][n][name]) for name in names}
            for name, s in fast.items():
                s["p50_ratio"] = ratio(s["p50_ms"], idle[name]["p50_ms"])
                s["p95_ratio"] = ratio(s["p95_ms"], idle[name]["p95_ms"])
            out[mode][str(n)] = {"fast": fast, "slow_search": summarize(raw[mode][n]["slow_search"])}
    return out


async def _list_slow_db(client: RawStdio) -> dict[str, float]:
    latencies = []
    for _ in range(5):
        started = anyio.current_time()
        await client.call("milvus_list_collections", {"database": SLOW_DB})
        latencies.append(anyio.current_time() - started)
    return summarize(latencies)


async def run(b: Bench) -> dict[str, Any]:
    from pymilvus import AsyncMilvusClient

    slow_rows = b.pick(15_000, 8_000)
    samples, rounds = b.pick(30, 6), b.pick(5, 2)
    queries = vectors(64, SLOW_DIM, b.seed + 5)
    engine_db, inproc_db = b.path("stall-engine.db"), b.path("stall-in-process.db")
    pid: int | None = None
    try:
        async with (
            raw_stdio(b.tmp, "--uri", str(engine_db), *KEEP_UNFLUSHED, log_name="stall-engine") as engine,
            raw_stdio(b.tmp, "--uri", str(inproc_db), "--lite-in-process", log_name="stall-in-process") as inproc,
        ):
            await _prepare(engine, slow_rows, b.seed)
            await _prepare(inproc, slow_rows, b.seed)
            state = engine_state(engine_db)
            if state is None:
                raise BenchError(f"no engine process found for {engine_db}")
            pid, uri = state
            await settle([pid, inproc.process.pid])
            direct = AsyncMilvusClient(uri=uri)
            searcher = AsyncMilvusClient(uri=uri, db_name=SLOW_DB)
            try:
                loads = {
                    "engine": _mcp_calls(engine, queries),
                    "engine, direct": _direct_calls(direct, searcher, queries),
                    "in-process": _mcp_calls(inproc, queries),
                }
                modes = await _measure(loads, samples, rounds)
            finally:
                await direct.close()
                await searcher.close()
            listing = {"engine": await _list_slow_db(engine), "in-process": await _list_slow_db(inproc)}
    finally:
        await anyio.to_thread.run_sync(reap_engine, engine_db, pid)
    worst = max(s["p50_ratio"] for s in modes["engine"]["3"]["fast"].values())
    return {
        "config": {
            "transport": "stdio",
            "client": "RawStdio (bare JSON-RPC over the child's stdio)",
            "slow_collection": f"{slow_rows} x {SLOW_DIM}, unflushed, in database '{SLOW_DB}'",
            "slow_limit": SLOW_LIMIT,
            "samples_per_call": samples,
            "rounds": rounds,
            "in_flight": list(IN_FLIGHT),
        },
        "modes": modes,
        "list_collections_of_slow_db_idle": listing,
        "targets": [
            {
                "name": f"stall: engine process, N=3, every fast call p50 <= {TARGET_RATIO}x idle",
                "value": worst,
                "limit": TARGET_RATIO,
                "met": worst <= TARGET_RATIO,
            }
        ],
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["mode", "N slow", "fast call", "p50 ms", "p95 ms", "p50 / idle", "p95 / idle", "slow search p50 ms"]
    rows = []
    for mode, by_n in result["modes"].items():
        for n, block in by_n.items():
            for name, s in block["fast"].items():
                slow = f"{block['slow_search']['p50_ms']:.0f}" if int(n) else "-"
                short = name.removeprefix("milvus_")
                rows.append(
                    [
                        mode,
                        n,
                        short if mode != "engine, direct" else f"({short} RPC)",
                        f"{s['p50_ms']:.1f}",
                        f"{s['p95_ms']:.1f}",
                        f"{s['p50_ratio']:.2f}x",
                        f"{s['p95_ratio']:.2f}x",
                        slow,
                    ]
                )
    for mode, s in result.get("list_collections_of_slow_db_idle", {}).items():
        label = f"list_collections of '{SLOW_DB}'"
        rows.append([mode, "0", label, f"{s['p50_ms']:.1f}", f"{s['p95_ms']:.1f}", "", "", ""])
    return head, rows
