"""milvus_export and milvus_import against a real Milvus server: the cursor walks past one page in
primary-key order (INT64 and VARCHAR keys), and what was exported imports back whole."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from tests.real_milvus.conftest import Oracle, mcp_child, ok, real_milvus, rows

pytestmark = real_milvus


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("files")


@pytest.fixture(scope="module")
async def mover(tmp_path_factory: pytest.TempPathFactory, files: Path) -> AsyncIterator[Client]:
    """A server that may read and write `files` (directories given through the environment)."""
    env = {"MILVUS_MCP_IMPORT_DIR": str(files), "MILVUS_MCP_EXPORT_DIR": str(files)}
    async with mcp_child(tmp_path_factory.mktemp("mover"), env=env) as client:
        yield client


async def test_export_walks_every_page_and_imports_back(
    mover: Client, mcp: Client, db: str, oracle: Oracle, files: Path
) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="src", dimension=4, database=db)
    await ok(mcp, "milvus_insert", collection_name="src", rows=rows(2300), database=db)
    got = await ok(
        mover,
        "milvus_export",
        collection_name="src",
        path="src.parquet",
        format="parquet",
        include_vectors=True,
        database=db,
    )
    assert got["rows_written"] == 2300
    await ok(mcp, "milvus_create_collection", collection_name="dst", dimension=4, database=db)
    assert (await ok(mover, "milvus_import", collection_name="dst", path="src.parquet", database=db))[
        "inserted"
    ] == 2300
    assert oracle.count("dst", db) == 2300
    some = await ok(mover, "milvus_export", collection_name="dst", path="some.jsonl", filter="id >= 2290", database=db)
    assert some["rows_written"] == 10
    assert [json.loads(x)["id"] for x in (files / "some.jsonl").read_text().splitlines()] == list(range(2290, 2300))


async def test_varchar_keys_page_in_order(mover: Client, mcp: Client, db: str, files: Path) -> None:
    fields = [
        {"name": "id", "type": "VARCHAR", "is_primary": True, "max_length": 16},
        {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
        {"name": "title", "type": "VARCHAR", "max_length": 16},
    ]
    await ok(mcp, "milvus_create_collection", collection_name="named", fields=fields, database=db)
    named = [{**r, "id": f"k{r['id']:05d}"} for r in rows(1500)]
    await ok(mcp, "milvus_insert", collection_name="named", rows=named, database=db)
    got = await ok(mover, "milvus_export", collection_name="named", path="named.jsonl", database=db)
    assert got["rows_written"] == 1500
    ids = [json.loads(x)["id"] for x in (files / "named.jsonl").read_text().splitlines()]
    assert ids == sorted(r["id"] for r in named)
