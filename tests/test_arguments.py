"""Strict arguments: unknown names are refused, a string means the string, and no name reaches the
file system. Through a real MCP client, against a real Milvus Lite database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from tests.conftest import fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio

NAME_ARGUMENTS = {
    "collection_name",
    "new_name",
    "confirm_name",
    "database",
    "database_name",
    "partition_name",
    "alias",
    "index_name",
    "field_name",
    "anns_field",
    "group_by_field",
}
TRAVERSALS = ["..", "../victim", "../../victim", "a/b", "a\\b", "a\x00b", "/tmp/victim", "..\\victim"]

SAMPLE: dict[str, Any] = {
    "collection_name": "docs",
    "confirm_name": "docs",
    "rows": rows(1),
    "vector": [0.1, 0.2, 0.3, 0.4],
    "field_name": "vector",
    "index_name": "vector",
    "database_name": "other",
    "new_name": "renamed",
    "partition_name": "part",
    "alias": "docs_alias",
    "path": "rows.jsonl",
}


@pytest.fixture
def settings(db_path: str, tmp_path: Path) -> Settings:
    """Every tool offered, milvus_import and milvus_export included (they need a directory each)."""
    return Settings(uri=db_path, embedding_provider="none", import_dirs=(tmp_path,), export_dirs=(tmp_path,))


async def test_unknown_argument_names_are_refused_with_the_valid_ones(client: Client) -> None:
    await make_docs(client, n=5)
    message = await fails(client, "milvus_count", collection_name="docs", where="id < 3")
    assert "does not take 'where'" in message and "Did you mean 'filter'?" in message
    assert "'consistency_level'" in message and "pydantic" not in message
    message = await fails(client, "milvus_query", collection_name="docs", expr="id < 3")
    assert "Did you mean 'filter'?" in message
    message = await fails(client, "milvus_search", collection_name="docs", vector=rows(1)[0]["vector"], top_k=2)
    assert "Did you mean 'limit'?" in message
    message = await fails(client, "milvus_count", collection_name="docs", filtr="id < 3")
    assert "Did you mean 'filter'?" in message
    assert (await ok(client, "milvus_count", collection_name="docs", filter="id < 3"))["count"] == 3


async def test_unknown_keys_inside_argument_objects_are_refused(client: Client) -> None:
    fields = [
        {"name": "id", "type": "INT64", "primary": True},
        {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
    ]
    message = await fails(client, "milvus_create_collection", collection_name="strict", fields=fields)
    assert "'fields[0]' of milvus_create_collection does not take 'primary'" in message
    assert "Did you mean 'is_primary'?" in message
    indexes = [{"field_name": "vector", "index_type": "HNSW", "metrics": "L2"}]
    fields[0] = {"name": "id", "type": "INT64", "is_primary": True}
    message = await fails(client, "milvus_create_collection", collection_name="strict", fields=fields, indexes=indexes)
    assert "does not take 'metrics'" in message and "'metric_type'" in message
    assert (await ok(client, "milvus_list_collections"))["collections"] == []


async def test_input_schemas_forbid_extra_keys_but_free_form_maps_stay_open(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    for name, t in tools.items():
        assert t.input_schema.get("additionalProperties") is False, name
    create = tools["milvus_create_collection"].input_schema["properties"]
    for spec in ("fields", "indexes", "functions"):
        assert create[spec]["items"]["additionalProperties"] is False, spec
    assert create["indexes"]["items"]["properties"]["params"].get("additionalProperties") is not False
    insert = tools["milvus_insert"].input_schema
    assert insert["properties"]["rows"]["items"].get("additionalProperties") is not False
    search = tools["milvus_search"].input_schema["properties"]["search_params"]
    assert search["type"] == "object" and search.get("additionalProperties") is not False


async def test_a_string_argument_means_the_string(client: Client) -> None:
    await make_docs(client, n=3)
    message = await fails(client, "milvus_count", collection_name="docs", database="null")
    assert "Database 'null' does not exist" in message
    message = await fails(client, "milvus_query", collection_name="docs", filter="null")
    assert "Invalid filter 'null'" in message
    # Lists sent as JSON text (some clients do) still read as lists.
    found = await ok(client, "milvus_query", collection_name="docs", ids="[1, 2]", output_fields='["title"]')
    assert sorted(r["title"] for r in found["rows"]) == ["t1", "t2"]


async def test_an_unknown_tool_is_named_with_the_closest(client: Client) -> None:
    result = await client.call_tool("milvus_countt", {"collection_name": "docs"})
    assert result.is_error and "Did you mean 'milvus_count'?" in result.content[0].text


async def test_no_name_reaches_the_file_system(client: Client, db_path: str, tmp_path: Path) -> None:
    """Every name argument of every tool refuses each traversal form before any RPC."""
    await make_docs(client, n=1)
    victims = [tmp_path / "victim", Path(db_path) / "victim", Path(db_path).parent.parent / "victim"]
    for victim in victims:
        victim.mkdir(exist_ok=True)
    tools = (await client.list_tools()).tools
    checked = set()
    for t in tools:
        properties = t.input_schema["properties"]
        required = t.input_schema.get("required", [])
        base = {name: SAMPLE[name] for name in required if name in SAMPLE}
        if t.name == "milvus_create_collection":
            base["dimension"] = 4
        for argument in NAME_ARGUMENTS & set(properties):
            for bad in TRAVERSALS:
                arguments = {**base, argument: bad}
                if argument == "collection_name" and "confirm_name" in properties:
                    arguments["confirm_name"] = bad
                if argument == "database_name" and "confirm_name" in properties:
                    arguments["confirm_name"] = bad
                message = await fails(client, t.name, **arguments)
                assert "cannot name a" in message or "is not a valid" in message, (t.name, argument, bad, message)
                assert "'/', a backslash, '..' or NUL" in message or "letters, digits and underscores" in message
            checked.add((t.name, argument))
    assert ("milvus_drop_collection", "collection_name") in checked
    assert ("milvus_insert", "partition_name") in checked
    assert ("milvus_drop_database", "database_name") in checked
    assert len(checked) >= 40
    assert all(victim.is_dir() for victim in victims)
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 1


async def test_new_names_follow_milvus_naming_rules(client: Client) -> None:
    message = await fails(client, "milvus_create_collection", collection_name="bad name!", dimension=4)
    assert "is not a valid collection name" in message and "'bad_name_'" in message
    message = await fails(client, "milvus_create_collection", collection_name="1abc", dimension=4)
    assert "'_1abc'" in message
    fields = [
        {"name": "id", "type": "INT64", "is_primary": True},
        {"name": "my vector", "type": "FLOAT_VECTOR", "dim": 4},
    ]
    message = await fails(client, "milvus_create_collection", collection_name="ok", fields=fields)
    assert "'my vector' is not a valid field name" in message
    await make_docs(client, n=1)
    message = await fails(client, "milvus_rename_collection", collection_name="docs", new_name="bad name!")
    assert "is not a valid collection name" in message
    assert [c["name"] for c in (await ok(client, "milvus_list_collections"))["collections"]] == ["docs"]
    message = await fails(client, "milvus_create_index", collection_name="docs", field_name="title", index_name="a-b")
    assert "is not a valid index name" in message


async def test_non_ascii_database_names_are_refused_up_front(client: Client) -> None:
    message = await fails(client, "milvus_create_database", database_name="db_é")
    assert "is not a valid database name" in message
    message = await fails(client, "milvus_list_collections", database="db_é")
    assert "database names are ASCII" in message
    assert (await ok(client, "milvus_server_info"))["databases"] == ["default"]


async def test_database_names_with_control_characters_are_refused_up_front(client: Client) -> None:
    """Found by the fuzzer: a control character passed the ASCII check and failed inside pymilvus mid-request
    (gRPC refuses it as request metadata): "Milvus refused to count: Unexpected error ... execute_batch"."""
    await make_docs(client, n=1)
    for name in ("\x01", "db\x7f", "a\tb"):
        message = await fails(client, "milvus_count", collection_name="docs", database=name)
        assert "cannot name a database: database names are ASCII, without control characters" in message, message
        message = await fails(client, "milvus_drop_alias", alias="a", database=name)
        assert "without control characters" in message, message
