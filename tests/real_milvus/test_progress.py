"""Index builds and loads report progress against a real Milvus 2.3.5, whose describe_index and
GetLoadingProgress answer while they run (Milvus Lite answers nothing during a build)."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

import anyio
from mcp import Client

from tests.conftest import rows
from tests.real_milvus.conftest import CALL_TIMEOUT, ok, real_milvus

pytestmark = real_milvus

Seen = list[tuple[float, float | None, str | None]]


async def watched(mcp: Client, tool: str, **arguments: Any) -> Seen:
    seen: Seen = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    with anyio.fail_after(CALL_TIMEOUT):
        result = await mcp.call_tool(tool, arguments, progress_callback=progress)
    assert not result.is_error, result.content
    assert all(a[0] < b[0] for a, b in pairwise(seen)), seen
    print(tool, seen)  # what a real server reports in between, shown with -s
    return seen


async def test_an_index_build_and_a_load_report_progress(mcp: Client, db: str) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="docs", dimension=8, database=db)
    await ok(mcp, "milvus_insert", collection_name="docs", rows=rows(3000, dim=8), database=db)
    await ok(mcp, "milvus_flush", collection_name="docs", database=db)
    await ok(mcp, "milvus_release_collection", collection_name="docs", database=db)
    await ok(mcp, "milvus_drop_index", collection_name="docs", index_name="vector", database=db)

    built = await watched(
        mcp,
        "milvus_create_index",
        collection_name="docs",
        field_name="vector",
        index_type="HNSW",
        metric_type="L2",
        database=db,
    )
    assert built[0] == (0, 100, "Building index 'vector' on 'docs'")
    assert built[-1][:2] == (100, 100)
    assert re.fullmatch(r"Index 'vector' on 'docs' is built: \d+ of 3000 rows indexed", str(built[-1][2])), built
    for _, _, message in built[1:-1]:
        assert re.fullmatch(r"\d+ of 3000 rows indexed", str(message)), built

    loaded = await watched(mcp, "milvus_load_collection", collection_name="docs", database=db)
    assert loaded[0] == (0, 100, "Loading 'docs'")
    assert loaded[-1] == (100, 100, "'docs' is loaded")
    for _, _, message in loaded[1:-1]:
        assert re.fullmatch(r"'docs' is \d+% loaded", str(message)), loaded
