"""Side by side with the other Milvus MCP server: zilliztech's mcp-server-milvus at commit 7d5187b.

The peer runs from a venv of its own (`benchmarks/peer/install.sh`: its source tarball, mcp 1.25.0,
pymilvus 2.6.5 and fastmcp 2.14.1 as its uv.lock names them), started as its README starts it, over stdio:
`mcp-server-milvus --milvus-uri URI [--milvus-db DB]`. Both servers point at the run's shared
`milvus-lite server` child, so they serve the same engine, data and machine:

- **cold start**: spawn to the first tools/list answer (`coldstart.spawn_command`), interleaved, median;
  and the tools/list result's size as compact JSON (its `tools` array, as the context benchmark counts).
- **search over stdio**: p50/p95 of a 10-hit search of the shared collection, interleaved with the same
  search made directly (`harness.direct_search`). Ours is `milvus_search` with its default output fields
  (id, title, year); the peer's `milvus_vector_search` is asked for the same three (its default is the id
  only). The peer sends its own search params (`nprobe` 10, the collection's consistency level).
- **concurrency**: `concurrency._measure` (1, 4, 16 and 64 workers, closed loop) for the direct client and
  both servers, level by level in rotating order; the table shows 64.
- **stall**: `stall._measure` on a database `peer` holding an UNFLUSHED `slow` collection and a flushed
  10-row `tiny`, both servers started on that database (an agent works in one): the fast calls
  (list_collections, describe on `tiny`, count on `tiny`, a limit-3 search of `tiny`) while N = 0, 1, 3
  limit-100 searches of `slow` run through the same server.

Both servers are driven by `procs.RawStdio` (bare JSON-RPC), so neither pays for the SDK client's models.
The peer answers a failure with a successful result whose text starts with "Error:"; such an answer fails
the benchmark here, as `isError` does for ours. What the peer cannot do is reported as such, not timed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from benchmarks import concurrency, stall
from benchmarks.coldstart import spawn_command
from benchmarks.harness import (
    CALL_TIMEOUT,
    SERVER,
    Bench,
    BenchError,
    create_collection,
    direct_search,
    ratio,
    summarize,
    vectors,
)
from benchmarks.procs import RawStdio, raw_stdio, settle

PEER_COMMIT = "7d5187b"
INSTALL = Path(__file__).resolve().parent / "peer" / "install.sh"
OURS, PEER = "this server", f"zilliztech {PEER_COMMIT}"
DB = "peer"
"""The database of the stall test's collections: both servers are started on it."""
READ_FIELDS = ["id", "title", "year"]
LEVEL = "64"
CAPABILITIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "create an index on an existing collection": (
        ("milvus_create_index",),
        ("milvus_create_index",),
        "no tool (only `index_params` of milvus_create_collection)",
    ),
    "count rows": (("milvus_count",), ("milvus_count",), "no tool"),
    "describe a collection": (("milvus_describe_collection",), ("milvus_get_collection_info",), "no tool"),
    "flush": (("milvus_flush",), ("milvus_flush",), "no tool"),
}
"""Capability -> (our tools, the peer's tools, what the table says when the peer lists none of them).
Presence is read from each server's own tools/list answer."""


def install_peer() -> list[str]:
    """The command that starts the peer: its venv's python in isolated mode (`-I`: no PYTHONPATH, no
    current directory, so this repository's package of the same name cannot shadow it) running the venv's
    `mcp-server-milvus` script. Installs the venv first if needed (idempotent)."""
    done = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise BenchError(f"{INSTALL} failed ({done.returncode}): {done.stderr[-2000:]}")
    python = Path(done.stdout.strip().splitlines()[-1])
    return [str(python), "-I", str(python.with_name("mcp-server-milvus"))]


async def checked(client: RawStdio, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tools/call that must succeed: neither `isError` nor (the peer's way) text starting with "Error:"."""
    result = await client.request("tools/call", {"name": tool, "arguments": arguments})
    text = "".join(str(c.get("text", "")) for c in result.get("content", []))
    if result.get("isError") or text.startswith("Error"):
        raise BenchError(f"{tool} failed: {text[:500]}")
    return result


def compact(data: Any) -> int:
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


# --- cold start and tools/list ------------------------------------------------------------------------


def _coldstart(b: Bench, commands: dict[str, list[str]]) -> dict[str, Any]:
    tmp = b.path("peer-coldstart")
    tmp.mkdir(exist_ok=True)
    listings = {name: spawn_command(command, tmp)[1] for name, command in commands.items()}  # warm-up
    times: dict[str, list[float]] = {name: [] for name in commands}
    for r in range(b.pick(7, 3)):
        for k in range(len(commands)):
            name = list(commands)[(r + k) % len(commands)]
            times[name].append(spawn_command(commands[name], tmp)[0])
    return {
        name: {
            "median_s": round(statistics.median(times[name]), 3),
            "runs_s": [round(t, 3) for t in times[name]],
            "tools": sorted(t["name"] for t in listings[name]["tools"]),
            "tools_list_bytes": compact({"tools": listings[name]["tools"]}),
        }
        for name in commands
    }


# --- search over stdio, and concurrency ---------------------------------------------------------------

Search = Callable[[int], Awaitable[Any]]


def _searches(ours: RawStdio, peer: RawStdio, direct: Any, b: Bench, queries: list[list[float]]) -> dict[str, Search]:
    c, n = b.collection, len(queries)
    return {
        "direct": lambda i: direct_search(direct, c, queries[i % n]),
        OURS: lambda i: checked(ours, "milvus_search", {"collection_name": c, "vector": queries[i % n], "limit": 10}),
        PEER: lambda i: checked(
            peer,
            "milvus_vector_search",
            {"collection_name": c, "vector": queries[i % n], "limit": 10, "output_fields": READ_FIELDS},
        ),
    }


async def _search_p50(searches: dict[str, Search], repeat: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = {name: [] for name in searches}
    names = list(searches)
    for i in range(5):  # warm-up: connections, schema caches, index pages
        for fn in searches.values():
            with anyio.fail_after(CALL_TIMEOUT):  # the direct client's own timeout may be retried
                await fn(i)
    for r in range(repeat):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            started = anyio.current_time()
            with anyio.fail_after(CALL_TIMEOUT):
                await searches[name](r)
            samples[name].append(anyio.current_time() - started)
    out = {name: summarize(s) for name, s in samples.items()}
    for s in out.values():
        s["p50_ratio"] = ratio(s["p50_ms"], out["direct"]["p50_ms"])
    return out


async def _stdio_part(b: Bench, peer_command: list[str]) -> dict[str, Any]:
    """Search p50 and concurrency. Each direct client is `dedicated` and made just before its use: pymilvus
    3.0.2 shares one connection per address between clients, health-checks it after 30 s idle, and when
    Milvus Lite's gRPC server has meanwhile sent a GOAWAY ("too_many_pings"), that check never returns."""
    from pymilvus import AsyncMilvusClient

    queries = vectors(4096, b.dim, b.seed + 200)
    async with (
        raw_stdio(b.tmp, "--uri", b.lite_uri, log_name="peer-ours") as ours,
        raw_stdio(b.tmp, "--milvus-uri", b.lite_uri, log_name="peer-peer", command=peer_command) as peer,
    ):
        direct = AsyncMilvusClient(uri=b.lite_uri, dedicated=True)
        try:
            searches = _searches(ours, peer, direct, b, queries)
            sizes = {OURS: compact(await searches[OURS](0)), PEER: compact(await searches[PEER](0))}
            p50 = await _search_p50(searches, b.repeat)
        finally:
            await direct.close()
        pids = {"direct": None, OURS: ours.process.pid, PEER: peer.process.pid}
        levels: dict[str, dict[str, Any]] = {name: {} for name in searches}
        names = list(searches)
        for r, level in enumerate(concurrency.LEVELS):  # level by level, in rotating order
            for k in range(len(names)):
                name = names[(r + k) % len(names)]
                await settle([b.lite_pid])
                direct = AsyncMilvusClient(uri=b.lite_uri, dedicated=True)
                try:
                    search = _searches(ours, peer, direct, b, queries)[name]
                    levels[name] |= await concurrency._measure(search, b, pids[name], (level,))
                finally:
                    await direct.close()
    return {"search": p50, "search_result_bytes": sizes, "concurrency": levels}


# --- stall ----------------------------------------------------------------------------------------------


async def _prepare_stall_db(b: Bench, slow_rows: int) -> None:
    from pymilvus import AsyncMilvusClient

    client = AsyncMilvusClient(uri=b.lite_uri, dedicated=True)
    try:
        if DB not in await client.list_databases():
            await client.create_database(DB)
    finally:
        await client.close()
    await create_collection(b.lite_uri, "slow", stall.SLOW_DIM, slow_rows, flush=False, db_name=DB, seed=b.seed)
    await create_collection(b.lite_uri, "tiny", 8, 10, db_name=DB, seed=b.seed)


async def _drop_stall_db(b: Bench) -> None:
    """Drop the stall database; once more after a second if the first try fails. The Lite server ends a
    connection whose keepalive pings it finds too frequent (GOAWAY "too_many_pings") after the long stall
    calls, and a new client's first call on the same address can fail with it (seen once, 2026-12-06)."""
    from pymilvus import AsyncMilvusClient

    for attempt in range(2):
        client = AsyncMilvusClient(uri=b.lite_uri, db_name=DB, dedicated=True)
        try:
            for name in await client.list_collections():
                await client.drop_collection(name)
            await client.use_database("default")
            await client.drop_database(DB)
            return
        except Exception:
            if attempt:
                raise
            await anyio.sleep(1)
        finally:
            await client.close()


def _stall_loads(ours: RawStdio, peer: RawStdio, queries: list[list[float]]) -> dict[str, tuple[Any, Any]]:
    tiny = {"collection_name": "tiny"}
    probe = {"vector": [0.5] * 8, "limit": 3}
    n = len(queries)

    def call(client: RawStdio, tool: str, arguments: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
        return lambda: checked(client, tool, arguments)

    ours_fast = {
        "list_collections": call(ours, "milvus_list_collections", {}),
        "describe_collection": call(ours, "milvus_describe_collection", tiny),
        "count": call(ours, "milvus_count", tiny),
        "search": call(ours, "milvus_search", {**tiny, **probe}),
    }
    peer_fast = {
        "list_collections": call(peer, "milvus_list_collections", {}),
        "describe_collection": call(peer, "milvus_get_collection_info", tiny),
        "search": call(peer, "milvus_vector_search", {**tiny, **probe, "output_fields": READ_FIELDS}),
    }

    def ours_slow(i: int) -> Awaitable[Any]:
        args = {"collection_name": "slow", "vector": queries[i % n], "limit": stall.SLOW_LIMIT}
        return checked(ours, "milvus_search", args)

    def peer_slow(i: int) -> Awaitable[Any]:
        args = {"collection_name": "slow", "vector": queries[i % n], "limit": stall.SLOW_LIMIT}
        return checked(peer, "milvus_vector_search", {**args, "output_fields": READ_FIELDS})

    return {OURS: (ours_fast, ours_slow), PEER: (peer_fast, peer_slow)}


async def _stall_part(b: Bench, peer_command: list[str], slow_rows: int) -> dict[str, Any]:
    await _prepare_stall_db(b, slow_rows)
    try:
        async with (
            raw_stdio(b.tmp, "--uri", b.lite_uri, "--db", DB, log_name="peer-stall-ours") as ours,
            raw_stdio(
                b.tmp,
                "--milvus-uri",
                b.lite_uri,
                "--milvus-db",
                DB,
                log_name="peer-stall-peer",
                command=peer_command,
            ) as peer,
        ):
            await settle([b.lite_pid])
            loads = _stall_loads(ours, peer, vectors(64, stall.SLOW_DIM, b.seed + 5))
            return await stall._measure(loads, b.pick(30, 6), b.pick(5, 2))  # type: ignore[no-any-return]
    finally:
        await _drop_stall_db(b)


async def run(b: Bench) -> dict[str, Any]:
    peer_command = await anyio.to_thread.run_sync(install_peer)
    commands = {
        OURS: [*SERVER, "--uri", b.lite_uri],
        PEER: [*peer_command, "--milvus-uri", b.lite_uri],
    }
    cold = await anyio.to_thread.run_sync(_coldstart, b, commands)
    stdio = await _stdio_part(b, peer_command)
    slow_rows = b.pick(15_000, 8_000)
    stalled = await _stall_part(b, peer_command, slow_rows)
    return {
        "config": {
            "peer": f"zilliztech/mcp-server-milvus at {PEER_COMMIT} (mcp 1.25.0, pymilvus 2.6.5, fastmcp 2.14.1)",
            "peer_command": "mcp-server-milvus --milvus-uri URI [--milvus-db peer] (stdio)",
            "ours_command": f"{os.path.basename(sys.executable)} -m mcp_server_milvus --uri URI [--db peer] (stdio)",
            "client": "RawStdio (bare JSON-RPC over the child's stdio) for both",
            "search": f"10 hits of {b.collection} ({b.rows} x {b.dim}), output fields {READ_FIELDS}",
            "stall": f"slow: {slow_rows} x {stall.SLOW_DIM} unflushed, tiny: 10 x 8, both in database '{DB}'",
            "repeat": b.repeat,
        },
        "coldstart": cold,
        **stdio,
        "stall": stalled,
        "targets": [],
    }


# --- the table ------------------------------------------------------------------------------------------


def _pair(fn: Callable[[str], str]) -> list[str]:
    return [fn(OURS), fn(PEER)]


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["measure", OURS, PEER]
    cold, search, conc, st = result["coldstart"], result["search"], result["concurrency"], result["stall"]
    rows = [
        ["tools listed", *_pair(lambda s: str(len(cold[s]["tools"])))],
        ["spawn → first tools/list (median)", *_pair(lambda s: f"{cold[s]['median_s']:.3f} s")],
        [
            "tools/list bytes (compact JSON) ≈ tokens",
            *_pair(lambda s: f"{cold[s]['tools_list_bytes']} ≈ {round(cold[s]['tools_list_bytes'] / 4)}"),
        ],
        [
            f"search p50 over stdio (direct {search['direct']['p50_ms']:.2f} ms)",
            *_pair(lambda s: f"{search[s]['p50_ms']:.2f} ms ({search[s]['p50_ratio']:.2f}x direct)"),
        ],
        ["search p95 over stdio", *_pair(lambda s: f"{search[s]['p95_ms']:.2f} ms")],
        ["10-hit search result bytes (wire)", *_pair(lambda s: str(result["search_result_bytes"][s]))],
    ]
    direct64 = conc["direct"][LEVEL]["throughput_rps"]
    rows.append(
        [
            f"{LEVEL} concurrent searches, calls/s (direct {direct64:.0f})",
            *_pair(
                lambda s: (
                    f"{conc[s][LEVEL]['throughput_rps']:.0f} ({ratio(conc[s][LEVEL]['throughput_rps'], direct64):.2f}x)"
                ),
            ),
        ]
    )
    for call in st[OURS]["3"]["fast"]:

        def cell(s: str, call: str = call) -> str:
            f = st[s]["3"]["fast"].get(call)
            if f is None:
                return "cannot (no tool)"
            return f"{f['p50_ms']:.1f} ms, {f['p50_ratio']:.2f}x idle ({st[s]['0']['fast'][call]['p50_ms']:.1f} ms)"

        rows.append([f"stall: {call} p50 with 3 slow searches", *_pair(cell)])
    rows.append(["stall: slow search p50 at N = 3", *_pair(lambda s: f"{st[s]['3']['slow_search']['p50_ms']:.0f} ms")])
    for capability, (ours_tools, peer_tools, missing) in CAPABILITIES.items():
        ours, peer = _listed(cold[OURS]["tools"], ours_tools), _listed(cold[PEER]["tools"], peer_tools)
        rows.append([capability, ours or "no tool", peer or missing])
    return head, rows


def _listed(tools: list[str], wanted: tuple[str, ...]) -> str:
    """The wanted tools that a server's tools/list named, or "" for none."""
    return ", ".join(t for t in wanted if t in tools)
