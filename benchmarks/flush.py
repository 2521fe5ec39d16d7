"""Flush: cheap metadata calls over unflushed data, and auto-flush on Milvus Lite (stdio, engine process).

Listing. One server with `--lite-auto-flush-seconds 0` holds 3 collections of 15k x 128 UNFLUSHED rows in
one database (the agent's case: Lite's statistics walk every unflushed row). Timed one after another:
milvus_list_collections (its row counts are kept by `row_counts` after the first listing),
milvus_describe_collection and milvus_server_info, idle; then the listing again with 3 workers keeping
limit-100 searches of those collections in flight and 5 listings in flight at once, in rounds that
alternate idle and loaded samples (load from other programs lands on both alike). Targets: listing p50
<= 10 ms idle, and <= 3x that idle figure under the load, in the same run. The first listing (which counts)
is reported on its own line.

Auto-flush. Two fresh servers, auto-flush at 2 s and off, each take an agent-style ingest (10 calls of
1,000 x 128 rows into one collection), then searches (limit 10). While the auto-flush server flushes,
milvus_describe_collection is called every 20 ms: its latencies during the flush show what a quick call
waits for. The flush's own cost is read from the engine log ("Auto-flushed ... in N ms"). Last, explicit
flushes of 1k, 5k and 15k unflushed rows, each timed with the quick calls made meanwhile: the size that
keeps the wait short is `engine.autoflush.FLUSH_ROWS`.

Figures under load (other programs on the machine) are noisy: the JSON says when they were taken.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anyio

from benchmarks.harness import Bench, ratio, summarize, vectors
from benchmarks.procs import RawStdio, engine_state, raw_stdio, reap_engine, settle

DIM = 128
COLLECTIONS = ("a", "b", "c")
SLOW_LIMIT = 100
LISTINGS_IN_FLIGHT = 5
SEARCHERS = 3
IDLE_TARGET_MS = 10.0
LOAD_TARGET = 3.0
FLUSH_SIZES = (1000, 5000, 15000)
QUICK_EVERY = 0.02
FLUSHED = re.compile(r"Auto-flushed \S+ in (\d+) ms")


async def _ingest(client: RawStdio, collection: str, rows: int, seed: int, batch: int = 1000) -> None:
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        data = [{"id": start + i, "vector": v} for i, v in enumerate(vectors(n, DIM, seed + start))]
        await client.call("milvus_insert", {"collection_name": collection, "rows": data})


async def _times(fn: Any, samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        started = anyio.current_time()
        await fn()
        out.append(anyio.current_time() - started)
        await anyio.sleep(0.005)
    return out


async def _listing(b: Bench, rows: int, samples: int, rounds: int) -> dict[str, Any]:
    db = b.path("flush-listing.db")
    pid = None
    queries = vectors(32, DIM, b.seed + 11)
    try:
        async with raw_stdio(b.tmp, "--uri", str(db), "--lite-auto-flush-seconds", "0", log_name="flush-list") as c:
            for k, name in enumerate(COLLECTIONS):
                await c.call("milvus_create_collection", {"collection_name": name, "dimension": DIM})
                await _ingest(c, name, rows, b.seed + 1000 * k)
            state = engine_state(db)
            pid = state[0] if state else None
            await settle([p for p in (pid, c.process.pid) if p])
            started = anyio.current_time()
            await c.call("milvus_list_collections", {})
            first = anyio.current_time() - started
            calls = {
                "milvus_list_collections": lambda: c.call("milvus_list_collections", {}),
                "milvus_describe_collection": lambda: c.call("milvus_describe_collection", {"collection_name": "a"}),
                "milvus_server_info": lambda: c.call("milvus_server_info", {}),
            }
            # Idle and loaded rounds alternate, so that load from other programs lands on both alike.
            idle_raw: dict[str, list[float]] = {name: [] for name in calls}
            loaded: list[float] = []
            quiet: list[float] = []
            slow: list[float] = []
            per_round = max(2, samples // rounds)
            for _ in range(rounds):
                for name, fn in calls.items():
                    idle_raw[name] += await _times(fn, per_round)
                more_loaded, more_slow = await _listings_under_load(c, queries, per_round, SEARCHERS)
                loaded += more_loaded
                slow += more_slow
                quiet += (await _listings_under_load(c, queries, per_round, 0))[0]
            idle = {name: summarize(times) for name, times in idle_raw.items()}
    finally:
        await anyio.to_thread.run_sync(reap_engine, db, pid)
    list_idle = idle["milvus_list_collections"]["p50_ms"]
    under = summarize(loaded)
    under["p50_ratio"] = ratio(under["p50_ms"], list_idle)
    in_flight = summarize(quiet)
    in_flight["p50_ratio"] = ratio(in_flight["p50_ms"], list_idle)
    return {
        "first_listing_ms": round(first * 1000, 1),
        "idle": idle,
        "under_load": under,
        "in_flight_only": in_flight,
        "slow_search": summarize(slow),
        "targets": [
            {
                "name": f"flush: listing p50 idle <= {IDLE_TARGET_MS} ms (3 x {rows} unflushed)",
                "value": list_idle,
                "limit": IDLE_TARGET_MS,
                "met": list_idle <= IDLE_TARGET_MS,
            },
            {
                "name": f"flush: listing p50, {SEARCHERS} slow searches + {LISTINGS_IN_FLIGHT} listings in flight, "
                f"<= {LOAD_TARGET}x idle",
                "value": under["p50_ratio"],
                "limit": LOAD_TARGET,
                "met": under["p50_ratio"] <= LOAD_TARGET,
            },
        ],
    }


async def _listings_under_load(
    c: RawStdio, queries: list[list[float]], samples: int, searchers: int
) -> tuple[list[float], list[float]]:
    """Listing latencies with LISTINGS_IN_FLIGHT listers at once, beside `searchers` slow searches (0: the
    control, which shows what the listings in flight cost each other), and the searches' latencies."""
    stop = anyio.Event()
    listings: list[float] = []
    slow: list[float] = []

    async def searcher(k: int) -> None:
        i = k
        while not stop.is_set():
            args = {"collection_name": COLLECTIONS[i % 3], "vector": queries[i % len(queries)], "limit": SLOW_LIMIT}
            started = anyio.current_time()
            await c.call("milvus_search", args)
            slow.append(anyio.current_time() - started)
            i += searchers

    async def lister() -> None:
        while len(listings) < samples:
            started = anyio.current_time()
            await c.call("milvus_list_collections", {})
            listings.append(anyio.current_time() - started)
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        for k in range(searchers):
            tg.start_soon(searcher, k)
        await anyio.sleep(0.5 if searchers else 0)
        async with anyio.create_task_group() as listers:
            for _ in range(LISTINGS_IN_FLIGHT):
                listers.start_soon(lister)
        stop.set()
    return listings, slow


async def _quick_calls_until(c: RawStdio, collection: str, done: Any, into: list[tuple[float, float]]) -> None:
    """(start time, latency) of a describe every QUICK_EVERY seconds until `done()`."""
    while not done():
        started = anyio.current_time()
        await c.call("milvus_describe_collection", {"collection_name": collection})
        into.append((started, anyio.current_time() - started))
        await anyio.sleep(QUICK_EVERY)


def _engine_flushes(db: Path) -> list[int]:
    try:
        text = (Path(str(db) + ".engine") / "engine.log").read_text()
    except OSError:
        return []
    return [int(ms) for ms in FLUSHED.findall(text)]


async def _ingest_then_search(b: Bench, seconds: str, samples: int) -> dict[str, Any]:
    db = b.path(f"flush-ingest-{seconds}.db")
    pid = None
    queries = vectors(32, DIM, b.seed + 21)
    quick: list[tuple[float, float]] = []
    try:
        async with raw_stdio(b.tmp, "--uri", str(db), "--lite-auto-flush-seconds", seconds, log_name="flush-ing") as c:
            await c.call("milvus_create_collection", {"collection_name": "ingest", "dimension": DIM})
            state = engine_state(db)
            pid = state[0] if state else None
            started = anyio.current_time()
            await _ingest(c, "ingest", 10_000, b.seed + 3)
            ingest_s = anyio.current_time() - started
            before = len(_engine_flushes(db))
            if seconds != "0":  # quick calls until the quiet-time flush is logged (or 30 s), and 1 s after
                deadline = anyio.current_time() + 30

                until: list[float] = []

                def flushed() -> bool:  # and 1 s more: Lite builds the new segment's index after the flush
                    if not until and (len(_engine_flushes(db)) > before or anyio.current_time() > deadline):
                        until.append(anyio.current_time() + 1.0)
                    return bool(until) and anyio.current_time() > until[0]

                await _quick_calls_until(c, "ingest", flushed, quick)
            await settle([p for p in (pid, c.process.pid) if p])
            search = await _times(
                lambda: c.call("milvus_search", {"collection_name": "ingest", "vector": queries[0], "limit": 10}),
                samples,
            )
    finally:
        await anyio.to_thread.run_sync(reap_engine, db, pid)
    out: dict[str, Any] = {
        "ingest_s": round(ingest_s, 2),
        "search": summarize(search),
        "engine_flush_ms": _engine_flushes(db),
    }
    if quick:
        out["quick_calls_until_flushed"] = summarize([q for _, q in quick])
    return out


async def _flush_sizes(b: Bench) -> dict[str, Any]:
    """Explicit flushes of growing size, each with describes timed meanwhile: what a quick call waits."""
    db = b.path("flush-sizes.db")
    pid = None
    out: dict[str, Any] = {}
    try:
        async with raw_stdio(b.tmp, "--uri", str(db), "--lite-auto-flush-seconds", "0", log_name="flush-sizes") as c:
            for size in FLUSH_SIZES:
                name = f"s{size}"
                await c.call("milvus_create_collection", {"collection_name": name, "dimension": DIM})
                await _ingest(c, name, size, b.seed + size)
                state = engine_state(db)
                pid = state[0] if state else None
                await settle([p for p in (pid, c.process.pid) if p])
                quick: list[tuple[float, float]] = []
                done = anyio.Event()
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_quick_calls_until, c, name, done.is_set, quick)
                    await anyio.sleep(0.1)
                    started = anyio.current_time()
                    await c.call("milvus_flush", {"collection_name": name})
                    flush_s = anyio.current_time() - started
                    await anyio.sleep(0.5)  # Lite builds the segment's index after the flush returns
                    done.set()
                out[str(size)] = {"flush_ms": round(flush_s * 1000, 1), "quick_calls": summarize([q for _, q in quick])}
    finally:
        await anyio.to_thread.run_sync(reap_engine, db, pid)
    return out


async def run(b: Bench) -> dict[str, Any]:
    rows = b.pick(15_000, 4_000)
    samples = b.pick(60, 15)
    listing = await _listing(b, rows, samples, b.pick(5, 2))
    on = await _ingest_then_search(b, "2", samples)
    off = await _ingest_then_search(b, "0", samples)
    sizes = await _flush_sizes(b)
    return {
        "config": {
            "transport": "stdio",
            "client": "RawStdio (bare JSON-RPC over the child's stdio)",
            "listing_collections": f"{len(COLLECTIONS)} x {rows} x {DIM}, unflushed, auto-flush off",
            "ingest": f"10 calls of 1,000 x {DIM} rows, then limit-10 searches",
            "samples": samples,
            "note": "timings taken while other programs ran are noisy",
        },
        "listing": {k: v for k, v in listing.items() if k != "targets"},
        "ingest_auto_flush_2s": on,
        "ingest_auto_flush_off": off,
        "search_p50_ratio_off_vs_on": ratio(off["search"]["p50_ms"], on["search"]["p50_ms"]),
        "flush_sizes": sizes,
        "targets": listing["targets"],
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["measure", "p50 ms", "p95 ms", "max ms", "note"]
    rows: list[list[str]] = []

    def add(label: str, s: dict[str, Any], note: str = "") -> None:
        rows.append([label, f"{s['p50_ms']:.1f}", f"{s['p95_ms']:.1f}", f"{s['max_ms']:.1f}", note])

    listing = result["listing"]
    rows.append(["first listing (counts rows)", f"{listing['first_listing_ms']:.1f}", "", "", ""])
    for name, s in listing["idle"].items():
        add(f"{name.removeprefix('milvus_')}, idle", s)
    under = listing["under_load"]
    add(
        f"list_collections, {SEARCHERS} slow searches + {LISTINGS_IN_FLIGHT} listings in flight",
        under,
        f"{under['p50_ratio']:.2f}x idle",
    )
    add("  the slow searches", listing["slow_search"])
    if "in_flight_only" in listing:
        quiet = listing["in_flight_only"]
        add(
            f"list_collections, {LISTINGS_IN_FLIGHT} listings in flight, no searches",
            quiet,
            f"{quiet['p50_ratio']:.2f}x idle",
        )
    for label, key in (("auto-flush 2 s", "ingest_auto_flush_2s"), ("auto-flush off", "ingest_auto_flush_off")):
        block = result[key]
        add(f"search after ingest, {label}", block["search"], f"ingest {block['ingest_s']} s")
        if "quick_calls_until_flushed" in block:
            flushes = ", ".join(str(ms) for ms in block["engine_flush_ms"])
            add("  describe during the auto-flush", block["quick_calls_until_flushed"], f"flushes (ms): {flushes}")
    for size, block in result["flush_sizes"].items():
        add(f"describe during a flush of {size} rows", block["quick_calls"], f"flush {block['flush_ms']:.0f} ms")
    return head, rows
