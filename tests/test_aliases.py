"""Aliases: a second name every tool accepts, switched to another collection at once, listed, dropped.
Through a real MCP client, against a real Milvus Lite database."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.conftest import fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio


async def ids(client: Client, collection: str) -> list[int]:
    got = await ok(client, "milvus_query", collection_name=collection, limit=100)
    return [r["id"] for r in got["rows"]]


async def test_an_alias_is_read_through_and_switched_at_once(client: Client) -> None:
    await make_docs(client, n=2, name="docs_v1")
    await make_docs(client, n=0, name="docs_v2")
    await ok(client, "milvus_insert", collection_name="docs_v2", rows=rows(3, start=100))

    made = await ok(client, "milvus_create_alias", collection_name="docs_v1", alias="docs")
    assert made == {"alias": "docs", "collection_name": "docs_v1", "database": "default"}
    assert await ids(client, "docs") == [0, 1]
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 2
    described = await ok(client, "milvus_describe_collection", collection_name="docs")
    assert described["name"] == "docs_v1"
    hits = await ok(client, "milvus_search", collection_name="docs", vector=rows(1)[0]["vector"], limit=1)
    assert hits["hits"][0]["id"] == 0

    altered = await ok(client, "milvus_create_alias", collection_name="docs_v2", alias="docs", replace=True)
    assert altered["previous_collection"] == "docs_v1" and altered["collection_name"] == "docs_v2"
    assert await ids(client, "docs") == [100, 101, 102]
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 3
    assert await ids(client, "docs_v1") == [0, 1]


async def test_aliases_are_listed_with_their_collections(client: Client) -> None:
    await make_docs(client, n=1, name="a")
    await make_docs(client, n=1, name="b")
    assert (await ok(client, "milvus_list_aliases"))["aliases"] == []
    await ok(client, "milvus_create_alias", collection_name="a", alias="first")
    await ok(client, "milvus_create_alias", collection_name="a", alias="second")
    await ok(client, "milvus_create_alias", collection_name="b", alias="third")
    listed = await ok(client, "milvus_list_aliases")
    assert listed["aliases"] == [
        {"alias": "first", "collection_name": "a"},
        {"alias": "second", "collection_name": "a"},
        {"alias": "third", "collection_name": "b"},
    ]
    of_b = await ok(client, "milvus_list_aliases", collection_name="b")
    assert of_b["aliases"] == [{"alias": "third", "collection_name": "b"}]


async def test_drop_removes_the_name_and_keeps_the_collection(client: Client) -> None:
    await make_docs(client, n=2)
    await ok(client, "milvus_create_alias", collection_name="docs", alias="current")
    assert await ids(client, "current") == [0, 1]
    dropped = await ok(client, "milvus_drop_alias", alias="current")
    assert dropped == {"dropped": "current", "database": "default", "collection_name": "docs"}
    assert (await ok(client, "milvus_list_aliases"))["aliases"] == []
    message = await fails(client, "milvus_query", collection_name="current")
    assert "Collection 'current' does not exist" in message
    assert await ids(client, "docs") == [0, 1]


async def test_mistakes_are_named(client: Client) -> None:
    await make_docs(client, n=1)
    await make_docs(client, n=1, name="other")
    await ok(client, "milvus_create_alias", collection_name="docs", alias="current")
    message = await fails(client, "milvus_drop_alias", alias="curent")
    assert "Alias 'curent' does not exist" in message and "Did you mean 'current'?" in message
    message = await fails(client, "milvus_create_alias", collection_name="other", alias="nope", replace=True)
    assert "Alias 'nope' does not exist" in message and "Existing aliases: 'current'" in message
    message = await fails(client, "milvus_create_alias", collection_name="other", alias="current")
    assert message == "Alias 'current' already exists (for 'docs'); pass replace: true to point it at 'other'."
    message = await fails(client, "milvus_create_alias", collection_name="docs", alias="other")
    assert "other" in message
    message = await fails(client, "milvus_create_alias", collection_name="dosc", alias="x")
    assert "Collection 'dosc' does not exist" in message
    assert await ids(client, "current") == [0]


async def test_a_release_through_an_alias_holds_for_the_collection_and_back(client: Client) -> None:
    await make_docs(client, n=2)
    await ok(client, "milvus_create_alias", collection_name="docs", alias="current")
    await ok(client, "milvus_release_collection", collection_name="current")
    message = await fails(client, "milvus_query", collection_name="docs")
    assert "was released" in message and "milvus_load_collection" in message
    await ok(client, "milvus_load_collection", collection_name="docs")
    assert await ids(client, "current") == [0, 1]
    await ok(client, "milvus_release_collection", collection_name="docs")
    message = await fails(client, "milvus_query", collection_name="current")
    assert "was released" in message


async def test_an_index_rebuilt_through_the_collection_name_is_seen_through_its_alias(client: Client) -> None:
    await make_docs(client, n=3)
    await ok(client, "milvus_create_alias", collection_name="docs", alias="current")
    query = rows(1)[0]["vector"]
    before = await ok(client, "milvus_search", collection_name="current", vector=query, limit=1)
    assert before["metric_type"] == "COSINE"  # the alias's schema is cached now
    await ok(client, "milvus_release_collection", collection_name="docs")
    await ok(client, "milvus_drop_index", collection_name="docs", index_name="vector")
    await ok(client, "milvus_create_index", collection_name="docs", field_name="vector", metric_type="L2")
    await ok(client, "milvus_load_collection", collection_name="docs")
    after = await ok(client, "milvus_search", collection_name="current", vector=query, limit=1)
    assert after["metric_type"] == "L2", after
    assert after["hits"][0]["score"] == -after["hits"][0]["distance"]
