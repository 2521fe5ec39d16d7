"""Ingest: rows per second through milvus_insert (in-memory and stdio) vs `AsyncMilvusClient.insert`, at
batch sizes 100 and 1000, on the shared engine.

Each (mode, batch size) pair inserts the same rows (explicit INT64 ids, a `dim` vector, a title and a
year) into an empty collection of its own; calls are interleaved batch by batch across modes. Rows per
second is rows over the summed call time; every call's latency is kept too.
"""

from __future__ import annotations

from typing import Any

import anyio
from mcp import Client

from benchmarks.harness import Bench, call, create_collection, drop_collection, make_rows, ratio, summarize
from benchmarks.procs import stdio_session

BATCHES = (100, 1000)
MODES = ("direct", "in-memory", "stdio")


async def run(b: Bench) -> dict[str, Any]:
    from pymilvus import AsyncMilvusClient

    from mcp_server_milvus.config import Settings
    from mcp_server_milvus.server import build_server

    total = b.rows if not b.quick else min(b.rows, 3000)
    rows = make_rows(total, b.dim, seed=b.seed + 31)
    out: dict[str, dict[str, Any]] = {}
    direct = AsyncMilvusClient(uri=b.lite_uri)
    server = build_server(Settings(uri=b.lite_uri))
    try:
        async with Client(server) as mem, stdio_session(b.tmp, "--uri", b.lite_uri, log_name="ingest") as stdio:
            for batch in BATCHES:
                names = {mode: f"ingest_{mode.replace('-', '_')}_{batch}" for mode in MODES}
                for name in names.values():
                    await create_collection(b.lite_uri, name, b.dim, 0)

                async def insert(mode: str, chunk: list[dict[str, Any]], names: dict[str, str] = names) -> None:
                    if mode == "direct":
                        await direct.insert(names[mode], chunk, timeout=60)
                    else:
                        client = mem if mode == "in-memory" else stdio
                        await call(client, "milvus_insert", {"collection_name": names[mode], "rows": chunk})

                lat: dict[str, list[float]] = {m: [] for m in MODES}
                for i, start in enumerate(range(0, total, batch)):
                    chunk = rows[start : start + batch]
                    for k in range(len(MODES)):
                        mode = MODES[(i + k) % len(MODES)]
                        started = anyio.current_time()
                        await insert(mode, chunk)
                        lat[mode].append(anyio.current_time() - started)
                for name in names.values():
                    await drop_collection(b.lite_uri, name)
                out[str(batch)] = {
                    m: {"rows": total, "rows_per_s": round(total / sum(lat[m]), 1), **summarize(lat[m])} for m in MODES
                }
    finally:
        await direct.close()
    ratios = {
        batch: {f"{m}/direct": ratio(by_mode[m]["rows_per_s"], by_mode["direct"]["rows_per_s"]) for m in MODES[1:]}
        for batch, by_mode in out.items()
    }
    return {
        "config": {"rows": total, "dim": b.dim, "batches": list(BATCHES)},
        "batches": out,
        "ratios": ratios,
        "targets": [],
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["batch", "mode", "rows/s", "vs direct", "call p50 ms", "call p95 ms"]
    rows = []
    for batch, by_mode in result["batches"].items():
        for mode, s in by_mode.items():
            r = result["ratios"][batch].get(f"{mode}/direct", 1.0)
            rows.append(
                [batch, mode, f"{s['rows_per_s']:.0f}", f"{r:.2f}x", f"{s['p50_ms']:.1f}", f"{s['p95_ms']:.1f}"]
            )
    return head, rows
