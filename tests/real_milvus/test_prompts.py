"""Prompts and completions against a real Milvus 2.3.5: the sample query, the load state and the listings
go through the server backend, whose answers differ from Milvus Lite's."""

from __future__ import annotations

from mcp import Client
from mcp_types import PromptReference

from tests.real_milvus.conftest import ok, real_milvus

pytestmark = real_milvus


async def text_of(mcp: Client, name: str, **arguments: str) -> str:
    return (await mcp.get_prompt(name, arguments)).messages[0].content.text  # type: ignore[union-attr]


async def test_explore_samples_a_loaded_collection_and_never_loads_one(mcp: Client, db: str) -> None:
    rows = [{"id": i, "vector": [i + 1.0, 1.0, 2.0, 3.0], "title": f"t{i}"} for i in range(2)]
    await ok(mcp, "milvus_create_collection", collection_name="docs", dimension=4, database=db)
    await ok(mcp, "milvus_insert", collection_name="docs", rows=rows, database=db)
    text = await text_of(mcp, "explore_collection", collection="docs", database=db)
    assert f"Collection 'docs' in database '{db}' (loaded). About 2 rows." in text, text
    assert '"title": "t0"' in text and "- vector: AUTOINDEX, metric COSINE" in text, text
    await ok(mcp, "milvus_release_collection", collection_name="docs", database=db)
    released = await text_of(mcp, "explore_collection", collection="docs", database=db)
    assert "not shown, the collection is not loaded" in released, released
    state = await ok(mcp, "milvus_describe_collection", collection_name="docs", database=db)
    assert state["load_state"] == "NotLoad"
    explore = PromptReference(name="explore_collection")
    names = await mcp.complete(explore, {"name": "collection", "value": "d"}, {"database": db})
    assert names.completion.values == ["docs"]
    fields = await mcp.complete(explore, {"name": "field", "value": ""}, {"database": db, "collection": "docs"})
    assert set(fields.completion.values) == {"id", "vector"}
    databases = await mcp.complete(explore, {"name": "database", "value": db})
    assert databases.completion.values == [db]
