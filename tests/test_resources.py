"""Resources and the server's instructions, through a real MCP client in both client modes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_server_milvus.config import Settings
from mcp_server_milvus.guides import FILTER_EXAMPLES, FILTERS
from mcp_server_milvus.server import INSTRUCTIONS, MilvusServer, build_server
from tests.conftest import make_docs, ok

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]
TEMPLATES = {"milvus://collections{?database}", "milvus://collections/{name}{?database}"}
GUIDES = {"milvus://guides/filters", "milvus://guides/indexes"}


@pytest.fixture(params=MODES)
async def each(server: MilvusServer, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """A client of `server` in each client mode."""
    async with Client(server, mode=request.param, raise_exceptions=True) as c:
        yield c


async def read(client: Client, uri: str) -> str:
    result = await client.read_resource(uri)
    assert len(result.contents) == 1
    return result.contents[0].text


async def read_json(client: Client, uri: str) -> dict[str, Any]:
    return json.loads(await read(client, uri))


async def refused(client: Client, uri: str) -> str:
    """Read `uri`, which must fail as a protocol error; return its message."""
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    return str(caught.value)


async def test_lists_the_guides_and_the_collection_templates(each: Client) -> None:
    listed = (await each.list_resources()).resources
    assert {str(r.uri) for r in listed} == GUIDES
    templates = (await each.list_resource_templates()).resource_templates
    assert {t.uri_template for t in templates} == TEMPLATES
    assert all(t.mime_type == "application/json" for t in templates)


async def test_guides_read_as_markdown(each: Client) -> None:
    filters = await read(each, "milvus://guides/filters")
    for _, expr in FILTER_EXAMPLES:
        assert expr in filters
    indexes = await read(each, "milvus://guides/indexes")
    assert "AUTOINDEX" in indexes and "COSINE" in indexes and "Lite" in indexes


async def test_no_subscriptions_are_advertised(each: Client) -> None:
    resources = each.server_capabilities.resources
    assert resources is not None
    assert not resources.subscribe and not resources.list_changed


async def test_collections_lists_names_counts_and_load_states(each: Client) -> None:
    await make_docs(each, n=3)
    await make_docs(each, n=0, name="empty")
    await ok(each, "milvus_release_collection", collection_name="empty")
    for uri in ("milvus://collections", "milvus://collections?database=default"):
        listed = await read_json(each, uri)  # the second is the first kept: nothing changed, so still exact
        assert listed["database"] == "default" and listed["total"] == 2
        assert listed["collections"] == [
            {"name": "docs", "row_count": 3, "load_state": "Loaded"},
            {"name": "empty", "row_count": 0, "load_state": "NotLoad"},
        ]


async def test_a_collection_reads_as_its_description_with_a_sample_row(each: Client) -> None:
    await make_docs(each, n=3)
    read_back = await read_json(each, "milvus://collections/docs")
    described = await ok(each, "milvus_describe_collection", collection_name="docs")
    assert read_back["collection"]["fields"] == described["fields"]
    assert read_back["collection"]["indexes"] == described["indexes"]
    assert read_back["collection"]["partitions"] == described["partitions"] == ["_default"]
    assert read_back["collection"]["row_count"] == 3
    sample = read_back["sample_row"]
    assert set(sample) == {"id", "title"} and sample["title"] == f"t{sample['id']}"  # no vector
    await make_docs(each, n=0, name="empty")
    empty = await read_json(each, "milvus://collections/empty")
    assert "sample_row" not in empty and empty["sample_note"] == "The collection holds no rows yet."


async def test_reading_never_loads_a_collection(each: Client) -> None:
    await make_docs(each, n=3)
    await ok(each, "milvus_release_collection", collection_name="docs")
    read_back = await read_json(each, "milvus://collections/docs")
    assert read_back["collection"]["load_state"] == "NotLoad"
    assert "sample_row" not in read_back and "milvus_load_collection" in read_back["sample_note"]
    await read_json(each, "milvus://collections")
    described = await ok(each, "milvus_describe_collection", collection_name="docs")
    assert described["load_state"] == "NotLoad"


async def test_an_unknown_collection_or_database_is_a_protocol_error_naming_it(each: Client) -> None:
    await make_docs(each, n=1)
    message = await refused(each, "milvus://collections/doc")
    assert "Collection 'doc' does not exist in database 'default'. Did you mean 'docs'?" in message
    message = await refused(each, "milvus://collections/docs?database=nodb")
    assert "Database 'nodb' does not exist." in message
    assert "Database 'nodb' does not exist." in await refused(each, "milvus://collections?database=nodb")
    assert "does not exist" not in await refused(each, "milvus://collections/..")


@pytest.mark.parametrize("mode", MODES)
async def test_a_hidden_collection_is_absent_and_unreadable(client: Client, db_path: str, mode: str) -> None:
    await make_docs(client, n=2, name="docs_a")
    await make_docs(client, n=1, name="secret")
    agent_server = build_server(Settings(uri=db_path, embedding_provider="none", collections=("docs*",)))
    async with Client(agent_server, mode=mode, raise_exceptions=True) as agent:
        listed = await read_json(agent, "milvus://collections")
        assert [c["name"] for c in listed["collections"]] == ["docs_a"] and listed["total"] == 1
        hidden = await refused(agent, "milvus://collections/secret")
        missing = await refused(agent, "milvus://collections/nosuch")
        assert hidden.replace("secret", "nosuch") == missing
        assert "Collection 'secret' does not exist in database 'default'. Existing collections: 'docs_a'." in hidden
        assert (await read_json(agent, "milvus://collections/docs_a"))["collection"]["row_count"] == 2


def test_instructions_are_compact_and_teach_each_filter_form() -> None:
    size = len(INSTRUCTIONS.encode())
    assert size < 1536, size
    for _, expr in FILTER_EXAMPLES:
        assert f"`{expr}`" in INSTRUCTIONS
    for word in ("milvus_describe_collection", "milvus_query", "offset", "next_cursor", "truncated", "32 KB"):
        assert word in INSTRUCTIONS


async def test_read_only_instructions_name_no_write_tool(db_path: str) -> None:
    server = build_server(Settings(uri=db_path, embedding_provider="none", read_only=True))
    text = server.instructions or ""
    assert "read-only" in text and "milvus_create_collection" not in text and "milvus_insert" not in text
    assert 'text_match(title, "vector")' in text


MADE_ELSEWHERE = """
import sys
from pymilvus import DataType, MilvusClient

client = MilvusClient(uri=sys.argv[1])
schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
schema.add_field("id", DataType.INT64, is_primary=True)
schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
schema.add_field("title", DataType.VARCHAR, max_length=200, enable_analyzer=True, enable_match=True)
schema.add_field("year", DataType.INT64, nullable=True)
schema.add_field("tags", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=8, max_length=32)
schema.add_field("meta", DataType.JSON)
index = MilvusClient.prepare_index_params()
index.add_index(field_name="vector", index_type="AUTOINDEX", metric_type="COSINE")
client.create_collection("books", schema=schema, index_params=index)
client.insert("books", [
    {"id": 1, "vector": [1, 0], "title": "milvus vector database", "year": 2020, "tags": ["ai", "db"],
     "meta": {"lang": "en"}},
    {"id": 2, "vector": [0, 1], "title": "intro to search", "year": None, "tags": ["search"], "meta": {"lang": "fr"}},
    {"id": 3, "vector": [1, 1], "title": "draft", "year": 2021, "tags": [], "meta": {"lang": "en"}},
])
client.close()
"""

EXPECTED = {
    'year >= 2020 and title != "draft"': [1],
    "year in [2020, 2021]": [1, 3],
    'title like "intro%"': [2],
    'meta["lang"] == "en"': [1, 3],
    'array_contains(tags, "ai")': [1],
    "year is null": [2],
    'text_match(title, "vector")': [1],
}


async def test_every_filter_the_instructions_teach_works_on_milvus_lite(db_path: str, server: MilvusServer) -> None:
    # A collection with enable_match (which milvus_create_collection does not set), made by another program.
    subprocess.run([sys.executable, "-c", MADE_ELSEWHERE, db_path], check=True, timeout=120, capture_output=True)
    assert set(EXPECTED) == {expr for _, expr in FILTER_EXAMPLES}
    async with Client(server, raise_exceptions=True) as c:
        for _, expr in FILTER_EXAMPLES:
            found = await ok(c, "milvus_query", collection_name="books", filter=expr, output_fields=["id"])
            assert sorted(r["id"] for r in found["rows"]) == EXPECTED[expr], expr
        for expr in guide_filters():  # the guide's further forms run too
            await ok(c, "milvus_query", collection_name="books", filter=expr, output_fields=["id"])


def guide_filters() -> list[str]:
    """Every expression in the example column of the filter guide's table."""
    examples = [line.split(" | ")[1] for line in FILTERS.splitlines() if line.startswith("| ") and "`" in line]
    found = [expr for cell in examples for expr in re.findall(r"`([^`]+)`", cell)]
    assert len(found) == 14, found
    return found
