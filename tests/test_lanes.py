"""The engine's heavy lane: costly reads run on a lane of their own and answer as before.

How much the lane keeps quick calls quick is measured, not asserted here: `python -m benchmarks.run
--only stall` and `--only knobs`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.conftest import ok, rows

pytestmark = pytest.mark.anyio

DIM = 64
ROWS = 10_000
"""Unflushed rows of `docs`: a search of them costs well over `HEAVY_CPU_SECONDS` of CPU (about 100 ms)."""


async def reads(client: Client) -> list[object]:
    """One of each scanning read: search, filtered query, count and a get by id."""
    vector = rows(1, dim=DIM, start=3)[0]["vector"]
    hits = await ok(client, "milvus_search", collection_name="docs", vector=vector, limit=3)
    found = await ok(client, "milvus_query", collection_name="docs", filter="id >= 9995", output_fields=["title"])
    count = await ok(client, "milvus_count", collection_name="docs")
    got = await ok(client, "milvus_query", collection_name="docs", ids=[4], output_fields=["title"])
    return [[h["id"] for h in hits["hits"]], sorted(r["title"] for r in found["rows"]), count["count"], got["rows"]]


async def test_heavy_reads_run_on_the_heavy_lane_and_answer_the_same(db_path: str) -> None:
    settings = Settings(uri=db_path, embedding_provider="none", lite_auto_flush_seconds=0)  # keep them unflushed
    async with Client(build_server(settings)) as client:
        await ok(client, "milvus_create_collection", collection_name="docs", dimension=DIM)
        for start in range(0, ROWS, 1000):
            await ok(client, "milvus_insert", collection_name="docs", rows=rows(1000, dim=DIM, start=start))
        first = await reads(client)  # the ordinary pool: costs learned
        assert first[0][0] == 3 and first[2] == ROWS
        assert await reads(client) == first  # the heavy lane
    log = (Path(db_path + ".engine") / "engine.log").read_text()
    assert "Search on default.docs took" in log and "the next one runs on the heavy lane" in log
