"""Guards: what "nothing silently wrong" costs, measured apart from the work it guards.

- Existence check: `milvus_insert` refuses ids that already exist, with one Strong `pk in [...]` query per
  1,000 ids before the first row is written. Timed directly (`AsyncMilvusClient.query`) against the
  direct insert of the same 1,000 rows, and as `milvus_insert` against `milvus_upsert` (which has no
  check) through the in-memory client, on fresh ids each time.
- Error path: one `milvus_query` with a malformed 1 MB filter, against Milvus's own refusal of the same
  filter (a direct query), and the two linear pieces of ours on it (redaction, reading the filter's names).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from mcp import Client

from benchmarks.harness import Bench, call, create_collection, drop_collection, make_rows, ratio, summarize, timed

BATCH = 1000
LONG_FILTER = "a" * 1_000_000


async def run(b: Bench) -> dict[str, Any]:
    from pymilvus import AsyncMilvusClient

    from mcp_server_milvus import filters, redact
    from mcp_server_milvus.config import Settings
    from mcp_server_milvus.schema_cache import CollectionInfo, FieldInfo
    from mcp_server_milvus.server import build_server

    rounds = b.pick(10, 3)
    names = {"direct": "guard_direct", "insert": "guard_insert", "upsert": "guard_upsert"}
    for name in names.values():
        await create_collection(b.lite_uri, name, b.dim, 0)
    direct = AsyncMilvusClient(uri=b.lite_uri)
    server = build_server(Settings(uri=b.lite_uri))
    lat: dict[str, list[float]] = {"check": [], "direct insert": [], "milvus_insert": [], "milvus_upsert": []}
    errors: dict[str, list[float]] = {"milvus_query, 1 MB bad filter": [], "direct query, same filter": []}
    pieces: dict[str, list[float]] = {"redact": [], "filter names": []}
    try:
        async with Client(server) as mem:
            for r in range(rounds):
                rows = make_rows(BATCH, b.dim, start=r * BATCH, seed=b.seed + r)
                ids = [row["id"] for row in rows]
                lat["check"].append(
                    await timed(
                        lambda ids=ids: direct.query(
                            names["direct"],
                            filter=f"id in {ids}",
                            output_fields=["id"],
                            limit=len(ids),
                            consistency_level="Strong",
                        )
                    )
                )
                lat["direct insert"].append(await timed(lambda rows=rows: direct.insert(names["direct"], rows)))
                for tool, key in (("milvus_insert", "insert"), ("milvus_upsert", "upsert")):
                    arguments = {"collection_name": names[key], "rows": rows}
                    lat[tool].append(await timed(lambda tool=tool, arguments=arguments: call(mem, tool, arguments)))
            for _ in range(b.pick(5, 2)):
                started = time.perf_counter()
                result = await mem.call_tool(
                    "milvus_query", {"collection_name": names["insert"], "filter": LONG_FILTER}
                )
                errors["milvus_query, 1 MB bad filter"].append(time.perf_counter() - started)
                assert result.is_error
                started = time.perf_counter()
                with contextlib.suppress(Exception):  # Milvus refuses it: its refusal is what is timed
                    await direct.query(names["insert"], filter=LONG_FILTER, limit=10)
                errors["direct query, same filter"].append(time.perf_counter() - started)
        info = CollectionInfo(
            name="c",
            database="default",
            fields=(FieldInfo("id", "INT64", is_primary=True),),
            indexes=(),
            functions=(),
            enable_dynamic_field=True,
            description="",
            loaded=True,
        )
        for _ in range(b.pick(20, 5)):
            pieces["redact"].append(await timed(_async(lambda: redact.redact(LONG_FILTER))))
            pieces["filter names"].append(await timed(_async(lambda: filters.unknown_names(LONG_FILTER, info))))
    finally:
        await direct.close()
        for name in names.values():
            await drop_collection(b.lite_uri, name)
    stats = {k: summarize(v) for k, v in {**lat, **errors, **pieces}.items()}
    return {
        "config": {"rows_per_call": BATCH, "rounds": rounds, "dim": b.dim, "filter_chars": len(LONG_FILTER)},
        "latency": stats,
        "ratios": {
            "check/direct insert": ratio(stats["check"]["p50_ms"], stats["direct insert"]["p50_ms"]),
            "milvus_insert/milvus_upsert": ratio(stats["milvus_insert"]["p50_ms"], stats["milvus_upsert"]["p50_ms"]),
            "bad filter: ours/direct": ratio(
                stats["milvus_query, 1 MB bad filter"]["p50_ms"], stats["direct query, same filter"]["p50_ms"]
            ),
        },
        "targets": [],
    }


def _async(fn: Any) -> Any:
    async def run() -> Any:
        return fn()

    return run


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["measure", "p50 ms", "p95 ms", "n"]
    rows = [[k, f"{s['p50_ms']:.1f}", f"{s['p95_ms']:.1f}", str(s["n"])] for k, s in result["latency"].items()]
    rows += [[f"ratio {k}", f"{v:.2f}x", "", ""] for k, v in result["ratios"].items()]
    return head, rows
