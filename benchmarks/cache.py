"""Schema cache: schema fetches and latency for 1000 searches and 100 inserts, TTL at its default vs 0.

Two in-memory servers on the shared engine, one per TTL, take turns call by call (so background load
hits both alike). `server.runtime.cache.fetches` counts schema fetches (a describe_collection,
list_indexes, describe_index and get_load_state round each). Each server first lists collections,
which opens its Milvus client without fetching a schema; every search and insert is then counted.
"""

from __future__ import annotations

from typing import Any

import anyio
from mcp import Client

from benchmarks.harness import Bench, call, create_collection, make_rows, ratio, summarize, vectors

INSERT_ROWS = 10


async def run(b: Bench) -> dict[str, Any]:
    from mcp_server_milvus.config import Settings
    from mcp_server_milvus.server import build_server

    default_ttl = float(Settings.model_fields["schema_cache_ttl"].default)
    ttls = (default_ttl, 0.0)
    n_search, n_insert = b.pick(1000, 200), b.pick(100, 20)
    queries = vectors(n_search, b.dim, b.seed + 21)
    batches = [make_rows(INSERT_ROWS, b.dim, seed=b.seed + i, with_id=False) for i in range(n_insert)]
    scratch = {ttl: f"bench_cache_{int(ttl)}" for ttl in ttls}
    for name in scratch.values():
        await create_collection(b.lite_uri, name, b.dim, 0, auto_id=True)
    servers = {ttl: build_server(Settings(uri=b.lite_uri, schema_cache_ttl=ttl)) for ttl in ttls}
    lat: dict[float, dict[str, list[float]]] = {ttl: {"search": [], "insert": []} for ttl in ttls}
    fetches: dict[float, dict[str, int]] = {ttl: {} for ttl in ttls}
    async with Client(servers[ttls[0]]) as first, Client(servers[ttls[1]]) as second:
        clients = {ttls[0]: first, ttls[1]: second}
        for client in clients.values():
            await call(client, "milvus_list_collections", {})
        base = {ttl: servers[ttl].runtime.cache.fetches for ttl in ttls}
        for i in range(n_search):
            for ttl in ttls if i % 2 else ttls[::-1]:
                args = {"collection_name": b.collection, "vector": queries[i], "limit": 10}
                started = anyio.current_time()
                await call(clients[ttl], "milvus_search", args)
                lat[ttl]["search"].append(anyio.current_time() - started)
        for ttl in ttls:
            fetches[ttl]["search"] = servers[ttl].runtime.cache.fetches - base[ttl]
            base[ttl] = servers[ttl].runtime.cache.fetches
        for i in range(n_insert):
            for ttl in ttls if i % 2 else ttls[::-1]:
                args = {"collection_name": scratch[ttl], "rows": batches[i]}
                started = anyio.current_time()
                await call(clients[ttl], "milvus_insert", args)
                lat[ttl]["insert"].append(anyio.current_time() - started)
        for ttl in ttls:
            fetches[ttl]["insert"] = servers[ttl].runtime.cache.fetches - base[ttl]
    out: dict[str, dict[str, Any]] = {}
    for ttl in ttls:
        out[f"{ttl:g}"] = {
            op: {"calls": len(lat[ttl][op]), "schema_fetches": fetches[ttl][op], **summarize(lat[ttl][op])}
            for op in ("search", "insert")
        }
    on, off = out[f"{ttls[0]:g}"], out[f"{ttls[1]:g}"]
    return {
        "config": {"ttls": [f"{t:g}" for t in ttls], "searches": n_search, "inserts": n_insert, "rows_per_insert": 10},
        "ttl": out,
        "ratios": {op: {"p50 ttl0/ttl_default": ratio(off[op]["p50_ms"], on[op]["p50_ms"])} for op in on},
        "targets": [],
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["schema_cache_ttl", "op", "calls", "schema fetches", "p50 ms", "p95 ms"]
    rows = []
    for ttl, ops in result["ttl"].items():
        for op, s in ops.items():
            rows.append(
                [ttl, op, str(s["calls"]), str(s["schema_fetches"]), f"{s['p50_ms']:.2f}", f"{s['p95_ms']:.2f}"]
            )
    return head, rows
