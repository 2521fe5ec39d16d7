"""Scale and memory: insert rows/s, search p50 and resident memory at 10k, 100k (and, on request, 1M) rows on
Milvus Lite, through the server's default path.

Each size gets a fresh database and a fresh `python -m mcp_server_milvus --uri <size>.db` over stdio, which
starts its own Milvus Lite engine process (`mcp_server_milvus.engine`): that is what an agent gets by
default, and the engine is where the data and the memory live. The client is `procs.RawStdio`, so the
benchmark process adds little CPU to what it times on a shared machine. Per size:

1. `milvus_create_collection` with a full schema: id INT64, vector FLOAT_VECTOR(dim) (AUTOINDEX, COSINE),
   title VARCHAR, year INT64 (a schema field, so the filter below is not a JSON lookup).
2. `milvus_insert` of 1,000 rows per call (explicit ids): rows/s = rows over the summed call time; the
   rows of a call are made just before it, so the benchmark never holds all of them.
3. `milvus_flush` (Lite builds each segment's index at flush), then `milvus_describe_collection` until no row
   is pending, then `procs.settle` until the engine is idle: after the flush Lite compacts the segments in
   the background and builds the compacted segment's HNSW index again, for a minute or more at 100k rows,
   and searches meanwhile are many times slower. That wait is reported ("busy after flush").
   Before that wait, a few searches are timed as an agent would send them right after the flush.
4. Interleaved `milvus_search` of 10 hits, unfiltered and with `FILTER` (one row in 35 matches), after
   warm-up calls.

The resident memory (VmRSS from /proc/<pid>/status) of the server and of the engine (its pid from
`milvus_server_info`) is read after each step, their peak (VmHWM) at the end, and the database's size on
disk. Each step is timed, and the whole size too (start of the server to the last search).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio

from benchmarks.harness import Bench, BenchError, make_rows, summarize, vectors
from benchmarks.procs import RawStdio, raw_stdio, reap_engine, settle

DEFAULT_SIZES = (10_000, 100_000)
"""Collection sizes of the default run; `--scale-sizes 10000,100000,1000000` adds 1M (a slow run)."""
BATCH = 1_000
"""Rows per milvus_insert call, as an agent would send them (the server's limit is 10,000)."""
FILTER = "year == 2000"
"""Matches one row in 35 (`year` cycles through 1990..2024)."""
COLLECTION = "scale"
INDEX_WAIT = 3_600.0
"""Seconds the index may take to finish after the flush."""
EARLY_SEARCHES = 10
"""Searches timed right after the flush, before the engine has gone idle (`--quick`: 5)."""
SETTLE_PER_ROW = 0.005
"""Seconds per row the engine may stay busy after the flush before searches start anyway: Lite compacts
the flushed segments in the background and rebuilds their HNSW index (`Collection._bg_compact_and_index`),
while milvus_describe_collection already says Finished; searches in that window are many times slower. Idle
means under 5% of a core over 2 s: under load a starved build dipped below the runner's usual 10% over
0.5 s, and the searches after it still met the build, at up to 15 s each."""
SECONDS_PER_ROW = 0.01
"""Budget per row on top of the runner's per-benchmark timeout (1M rows: about 2.8 hours more)."""


def extra_timeout(b: Bench) -> float:
    """Seconds this benchmark may take beyond the runner's per-benchmark timeout: 1M rows is slow."""
    return sum(b.scale_sizes) * SECONDS_PER_ROW


def memory(pid: int) -> dict[str, float]:
    """Resident (VmRSS) and peak resident (VmHWM) memory of a process in MiB, from /proc/<pid>/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)  # kB
    return {"rss_mib": out["VmRSS"], "peak_mib": out["VmHWM"]}


def disk_mib(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return round(total / 2**20, 1)


SCHEMA = {
    "collection_name": COLLECTION,
    "fields": [
        {"name": "id", "type": "INT64", "is_primary": True},
        {"name": "vector", "type": "FLOAT_VECTOR", "dim": 0},
        {"name": "title", "type": "VARCHAR", "max_length": 64},
        {"name": "year", "type": "INT64"},
    ],
    "enable_dynamic_field": False,
}


async def _until_indexed(client: RawStdio) -> dict[str, Any]:
    """Poll milvus_describe_collection until the vector index has finished and no row is pending; the last
    answer about that index."""
    with anyio.fail_after(INDEX_WAIT):
        while True:
            described = await client.call("milvus_describe_collection", {"collection_name": COLLECTION})
            index = next(i for i in described["indexes"] if i["field_name"] == "vector")
            if not index.get("pending_index_rows") and str(index.get("state", "Finished")) == "Finished":
                return index
            await anyio.sleep(0.5)


async def _right_after_flush(client: RawStdio, b: Bench) -> dict[str, float]:
    """What an agent that searches as soon as milvus_flush has answered sees: a few 10-hit searches while
    Lite still compacts and re-indexes in the background."""
    queries = vectors(EARLY_SEARCHES, b.dim, b.seed + 13)
    latencies = []
    for vector in queries[: b.pick(EARLY_SEARCHES, 5)]:
        started = anyio.current_time()
        await client.call("milvus_search", {"collection_name": COLLECTION, "vector": vector, "limit": 10})
        latencies.append(anyio.current_time() - started)
    return summarize(latencies)


async def _searches(client: RawStdio, b: Bench) -> dict[str, Any]:
    queries = vectors(64, b.dim, b.seed + 11)
    kinds = {"search": {}, "filtered search": {"filter": FILTER}}

    def args(kind: str, i: int) -> dict[str, Any]:
        return {"collection_name": COLLECTION, "vector": queries[i % len(queries)], "limit": 10, **kinds[kind]}

    for i in range(3):  # warm-up: the schema cache, index pages, the heavy lane's first cost
        for kind in kinds:
            await client.call("milvus_search", args(kind, i))
    latencies: dict[str, list[float]] = {kind: [] for kind in kinds}
    hits: dict[str, int] = {}
    names = list(kinds)
    for i in range(b.pick(60, 15)):
        for k in range(len(names)):
            kind = names[(i + k) % len(names)]
            started = anyio.current_time()
            result = await client.call("milvus_search", args(kind, i))
            latencies[kind].append(anyio.current_time() - started)
            hits[kind] = len(result.get("hits") or result.get("results") or [])
    return {kind: {**summarize(latencies[kind]), "hits": hits[kind]} for kind in kinds}


async def one_size(b: Bench, rows: int) -> dict[str, Any]:
    db = b.path(f"scale-{rows}.db")
    engine_pid: int | None = None
    started = anyio.current_time()
    steps: dict[str, float] = {}
    mem: dict[str, dict[str, Any]] = {}
    try:
        async with raw_stdio(b.tmp, "--uri", str(db), log_name=f"scale-{rows}") as client:
            server_pid = client.process.pid
            info = await client.call("milvus_server_info", {})
            engine_pid = info.get("engine_pid")
            if not engine_pid:
                raise BenchError(f"the server on {db} reports no engine process (lite_mode {info.get('lite_mode')})")

            def snapshot(step: str) -> None:
                """Memory after a step, and a progress line (a 1M run takes long)."""
                mem[step] = {"server": memory(server_pid), "engine": memory(engine_pid)}  # type: ignore[arg-type]
                spent = anyio.current_time() - started
                engine = mem[step]["engine"]["rss_mib"]
                print(
                    f"   scale {rows:,}: {step} at {spent:.0f} s, engine RSS {engine} MiB", file=sys.stderr, flush=True
                )

            snapshot("started")
            schema = {**SCHEMA, "fields": [dict(f) for f in SCHEMA["fields"]]}  # type: ignore[union-attr]
            schema["fields"][1]["dim"] = b.dim  # type: ignore[index]
            await client.call("milvus_create_collection", schema)

            calls: list[float] = []
            phase = anyio.current_time()
            for start in range(0, rows, BATCH):
                chunk = make_rows(min(BATCH, rows - start), b.dim, start, seed=b.seed + start)
                t = anyio.current_time()
                await client.call("milvus_insert", {"collection_name": COLLECTION, "rows": chunk})
                calls.append(anyio.current_time() - t)
            steps["insert"] = anyio.current_time() - phase
            snapshot("inserted")

            phase = anyio.current_time()
            await client.call("milvus_flush", {"collection_name": COLLECTION})
            steps["flush"] = anyio.current_time() - phase
            phase = anyio.current_time()
            index = await _until_indexed(client)
            steps["index wait"] = anyio.current_time() - phase
            phase = anyio.current_time()
            early = await _right_after_flush(client, b)
            await settle([engine_pid], window=2.0, busy=0.05, timeout=max(60.0, rows * SETTLE_PER_ROW))
            steps["busy after flush"] = anyio.current_time() - phase
            count = (await client.call("milvus_count", {"collection_name": COLLECTION})).get("count")
            if count != rows:
                raise BenchError(f"{rows} rows inserted but milvus_count says {count}")
            snapshot("indexed")

            phase = anyio.current_time()
            search = await _searches(client, b)
            steps["searches"] = anyio.current_time() - phase
            snapshot("searched")
            total = anyio.current_time() - started
            disk = disk_mib(db)
    finally:
        await anyio.to_thread.run_sync(reap_engine, db, engine_pid)
    return {
        "rows": rows,
        "insert": {"rows_per_s": round(rows / sum(calls), 1), "calls": len(calls), **summarize(calls)},
        "index": {k: index.get(k) for k in ("index_type", "state", "indexed_rows", "pending_index_rows")},
        "search": search,
        "search_right_after_flush": early,
        "memory_mib": mem,
        "disk_mib": disk,
        "seconds": {**{k: round(v, 1) for k, v in steps.items()}, "total": round(total, 1)},
    }


async def run(b: Bench) -> dict[str, Any]:
    sizes = {}
    for rows in b.scale_sizes:
        sizes[str(rows)] = await one_size(b, rows)
    return {
        "config": {
            "sizes": list(b.scale_sizes),
            "dim": b.dim,
            "batch": BATCH,
            "filter": FILTER,
            "searches_per_kind": b.pick(60, 15),
            "transport": "stdio, RawStdio client; Milvus Lite engine process (the default)",
            "pid": os.getpid(),
        },
        "sizes": sizes,
        "targets": [],
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = [
        "rows",
        "insert rows/s",
        "flush s",
        "busy after flush s",
        "search right after flush p50 / max ms",
        "search p50 / p95 ms",
        "filtered p50 / p95 ms",
        "server RSS MiB",
        "engine RSS MiB (peak)",
        "disk MiB",
        "total s",
    ]
    out = []
    for rows, r in result["sizes"].items():
        s, f = r["search"]["search"], r["search"]["filtered search"]
        mem, sec = r["memory_mib"]["searched"], r["seconds"]
        out.append(
            [
                f"{int(rows):,}",
                f"{r['insert']['rows_per_s']:.0f}",
                f"{sec['flush'] + sec['index wait']:.1f}",
                f"{sec['busy after flush']:.0f}",
                f"{r['search_right_after_flush']['p50_ms']:.0f} / {r['search_right_after_flush']['max_ms']:.0f}",
                f"{s['p50_ms']:.1f} / {s['p95_ms']:.1f}",
                f"{f['p50_ms']:.1f} / {f['p95_ms']:.1f}",
                f"{mem['server']['rss_mib']:.0f}",
                f"{mem['engine']['rss_mib']:.0f} ({mem['engine']['peak_mib']:.0f})",
                f"{r['disk_mib']:.0f}",
                f"{sec['total']:.0f}",
            ]
        )
    return head, out
