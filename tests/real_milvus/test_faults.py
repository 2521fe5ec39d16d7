"""32 concurrent mixed calls against the real C++ Milvus 2.3.5: nothing lost, counts true (checked with
`oracle`). Milvus killed and started again: test_restart.py (here) and tests/test_faults.py (on a
`milvus-lite server`)."""

from __future__ import annotations

from typing import Any

import anyio
from mcp import Client
from mcp.types import CallToolResult

from tests.real_milvus.conftest import Oracle, ok, real_milvus, rows

pytestmark = real_milvus


async def test_32_concurrent_mixed_calls_lose_nothing(mcp: Client, db: str, oracle: Oracle) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="docs", dimension=4, database=db)
    await ok(mcp, "milvus_insert", collection_name="docs", rows=rows(100), database=db)
    expected = set(range(100))
    calls: list[tuple[str, dict[str, Any]]] = []
    for n in range(4):
        for k in range(3):
            batch = rows(40, start=1_000 * (n + 1) + 100 * k)
            calls.append(("milvus_insert", {"rows": batch}))
            expected |= {row["id"] for row in batch}
        calls.append(("milvus_upsert", {"rows": rows(5, start=10 * n)}))
        calls.append(("milvus_delete", {"ids": [90 + n]}))
        expected.discard(90 + n)
        calls.append(("milvus_search", {"vector": [1, 2, 3, 4]}))
        calls.append(("milvus_query", {"filter": "id < 50"}))
        calls.append(("milvus_count", {}))
    assert len(calls) == 32
    results: list[CallToolResult | None] = [None] * len(calls)

    async def one(i: int) -> None:
        tool, arguments = calls[i]
        with anyio.fail_after(120):
            results[i] = await mcp.call_tool(tool, {"collection_name": "docs", "database": db, **arguments})

    async with anyio.create_task_group() as tg:
        for i in range(len(calls)):
            tg.start_soon(one, i)
    for (tool, _), result in zip(calls, results, strict=True):
        assert result is not None and not result.is_error, f"{tool}: {result and result.content}"
    assert oracle.count("docs", db) == len(expected)
    assert (await ok(mcp, "milvus_count", collection_name="docs", database=db))["count"] == len(expected)
    assert oracle.count("docs", db, "id in [90, 91, 92, 93]") == 0
