"""Text collections on a real Milvus 2.3.5: what it lacks (BM25, sparse vectors) is explained before
anything is created, and what it has (one dense vector field) carries search by meaning from plain text.

The MCP server child runs with `--embedding-provider auto`: the local model when the [embeddings] extra
is installed (CI installs it), else none."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.real_milvus.conftest import fails, ok, real_milvus
from tests.real_milvus.test_features import assert_nothing_created, plain

pytestmark = real_milvus

DOCS = [
    "The kitten curled up on the sofa and purred.",
    "Quarterly earnings beat analysts' expectations and the shares rallied.",
    "Heavy rain flooded the streets of the old town overnight.",
]


async def provider(mcp: Client) -> str | None:
    info = await ok(mcp, "milvus_server_info")
    return (info.get("embedding") or {}).get("provider")


async def test_a_keyword_text_collection_is_explained(mcp: Client, db: str) -> None:
    message = await fails(mcp, "milvus_create_collection", collection_name="notes", text_field="text", database=db)
    plain(message, "BM25")
    await assert_nothing_created(mcp, db)


async def test_a_text_collection_of_embeddings_alone_searches_by_meaning(mcp: Client, db: str) -> None:
    if await provider(mcp) != "local":
        pytest.skip("the server has no local embedding model (the [embeddings] extra is not installed)")
    created = await ok(
        mcp, "milvus_create_collection", collection_name="notes", text_field="text", full_text=False, database=db
    )
    assert [v["name"] for v in created["vector_fields"]] == ["text_dense"]
    rows = [{"text": t, "n": i} for i, t in enumerate(DOCS)]
    inserted = await ok(mcp, "milvus_insert", collection_name="notes", rows=rows, database=db)
    assert inserted["insert_count"] == 3
    found = await ok(
        mcp,
        "milvus_search",
        collection_name="notes",
        text="a small cat resting on a couch",
        limit=1,
        output_fields=["n"],
        database=db,
    )
    assert (found["anns_field"], found["metric_type"]) == ("text_dense", "COSINE")
    assert found["hits"][0]["entity"]["n"] == 0, found


async def test_a_text_search_on_a_vector_collection_says_what_to_create(mcp: Client, db: str) -> None:
    await ok(mcp, "milvus_create_collection", collection_name="vecs", dimension=2, database=db)
    message = await fails(mcp, "milvus_search", collection_name="vecs", text="lava", database=db)
    assert "no field a text can search" in message and "text_field" in message
