"""Every anticipated failure is an isError result an agent can act on: what went wrong, and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.children import free_port
from tests.conftest import fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio

STRICT_FIELDS = [
    {"name": "id", "type": "INT64", "is_primary": True},
    {"name": "title", "type": "VARCHAR", "max_length": 16},
    {"name": "year", "type": "INT32"},
    {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
]


async def make_strict(client: Client) -> None:
    await ok(
        client, "milvus_create_collection", collection_name="strict", fields=STRICT_FIELDS, enable_dynamic_field=False
    )


async def test_unknown_collection_suggests_close_names(client: Client) -> None:
    await make_docs(client, n=1)
    for tool, extra in [
        ("milvus_search", {"vector": [1, 2, 3, 4]}),
        ("milvus_query", {}),
        ("milvus_insert", {"rows": rows(1)}),
        ("milvus_describe_collection", {}),
    ]:
        message = await fails(client, tool, collection_name="doc", **extra)
        assert message.startswith("Collection 'doc' does not exist in database 'default'."), message
        assert "Did you mean 'docs'?" in message
    message = await fails(client, "milvus_count", collection_name="zzz")
    assert "Existing collections: 'docs'" in message


async def test_unknown_collection_in_empty_database_says_how_to_create(client: Client) -> None:
    message = await fails(client, "milvus_count", collection_name="docs")
    assert "has no collections yet" in message and "milvus_create_collection" in message


async def test_unknown_fields_list_the_valid_names(client: Client) -> None:
    await make_strict(client)
    message = await fails(client, "milvus_query", collection_name="strict", output_fields=["titel"])
    assert "Unknown output field 'titel'" in message and "Did you mean 'title'?" in message
    assert "'id', 'title', 'year', 'vector'" in message
    message = await fails(client, "milvus_query", collection_name="strict", output_fields=["count(*)"])
    assert message == "Use milvus_count to count rows; output_fields takes field names."
    message = await fails(client, "milvus_search", collection_name="strict", vector=[1, 2, 3, 4], anns_field="vec")
    assert "Unknown anns_field 'vec'" in message and "Did you mean 'vector'?" in message
    message = await fails(client, "milvus_search", collection_name="strict", vector=[1, 2, 3, 4], group_by_field="yaer")
    assert "group_by_field 'yaer' is not a field" in message and "Did you mean 'year'?" in message
    assert "Groupable fields: 'id', 'title', 'year'." in message  # only those: not the vector
    row = {"id": 1, "title": "a", "year": 2000, "vector": [1, 2, 3, 4], "colour": "red"}
    message = await fails(client, "milvus_insert", collection_name="strict", rows=[row])
    assert "Row 0" in message and "'colour'" in message and "does not accept dynamic fields" in message


async def test_wrong_vector_dimension_says_expected_and_got(client: Client) -> None:
    await make_docs(client, n=1)
    message = await fails(client, "milvus_insert", collection_name="docs", rows=[{"id": 5, "vector": [1, 2, 3]}])
    assert message == "Row 0: vector field 'vector' expects dimension 4, got 3."
    message = await fails(client, "milvus_search", collection_name="docs", vector=[1, 2, 3, 4, 5])
    assert "expects dimension 4, got 5" in message
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 1


async def test_wrong_id_type(client: Client) -> None:
    await make_docs(client, n=1)
    message = await fails(client, "milvus_query", collection_name="docs", ids=["abc"])
    assert "INT64" in message and "'abc'" in message
    message = await fails(client, "milvus_insert", collection_name="docs", rows=[{"id": "x1", "vector": [1, 2, 3, 4]}])
    assert "INT64" in message
    await ok(client, "milvus_create_collection", collection_name="s", dimension=2, id_type="string")
    message = await fails(client, "milvus_delete", collection_name="s", ids=[1])
    assert "VARCHAR" in message and "strings" in message


async def test_int64_ids_accepted_as_numeric_strings(client: Client) -> None:
    await make_docs(client, n=3)
    got = await ok(client, "milvus_query", collection_name="docs", ids=["1", 2])
    assert sorted(r["id"] for r in got["rows"]) == [1, 2]


async def test_missing_vector_or_required_field(client: Client) -> None:
    await make_docs(client, n=0)
    message = await fails(client, "milvus_insert", collection_name="docs", rows=[{"id": 1, "title": "no vector"}])
    assert message == "Row 0: required vector field 'vector' (dimension 4) is missing."
    message = await fails(client, "milvus_insert", collection_name="docs", rows=[{"vector": [1, 2, 3, 4]}])
    assert "primary key 'id'" in message and "missing" in message
    await make_strict(client)
    message = await fails(client, "milvus_insert", collection_name="strict", rows=[{"id": 1, "vector": [1, 2, 3, 4]}])
    assert "required field 'title' (VARCHAR) is missing" in message


async def test_scalar_type_and_length_checks(client: Client) -> None:
    await make_strict(client)
    base = {"id": 1, "title": "ok", "year": 2000, "vector": [1, 2, 3, 4]}
    assert "INT32" in await fails(client, "milvus_insert", collection_name="strict", rows=[{**base, "year": "2000"}])
    message = await fails(client, "milvus_insert", collection_name="strict", rows=[{**base, "title": "x" * 40}])
    assert "at most 16 bytes" in message
    message = await fails(client, "milvus_insert", collection_name="strict", rows=[{**base, "vector": [1e40, 0, 0, 0]}])
    assert "beyond float32 range" in message
    assert (await ok(client, "milvus_count", collection_name="strict"))["count"] == 0


async def test_function_outputs_are_not_given(client: Client) -> None:
    fields = [
        {"name": "id", "type": "INT64", "is_primary": True},
        {"name": "text", "type": "VARCHAR", "max_length": 200, "enable_analyzer": True},
        {"name": "sparse", "type": "SPARSE_FLOAT_VECTOR"},
    ]
    functions = [{"name": "bm25", "input_field_names": ["text"], "output_field_names": ["sparse"]}]
    await ok(client, "milvus_create_collection", collection_name="t", fields=fields, functions=functions)
    message = await fails(
        client, "milvus_insert", collection_name="t", rows=[{"id": 1, "text": "a", "sparse": {"1": 0.5}}]
    )
    assert message == "Row 0: field 'sparse' is computed by a function from 'text'; leave it out."
    message = await fails(client, "milvus_search", collection_name="t", vector=[0.1, 0.2])
    assert message == "vector: 'sparse' is filled by a BM25 function from 'text'; search it with text, not a vector."


async def test_malformed_filter_gives_milvus_words_and_an_example(client: Client) -> None:
    await make_strict(client)
    message = await fails(client, "milvus_query", collection_name="strict", filter="year = 2000")
    assert message.startswith("Invalid filter 'year = 2000'")
    assert "did you mean '=='?" in message and "Fix: use '==' to compare, not '='" in message
    assert "A valid filter for 'strict' looks like: id in [1, 2, 3] and title like \"abc%\"" in message
    message = await fails(client, "milvus_search", collection_name="strict", vector=[1, 2, 3, 4], filter="id >>> 1")
    assert message.startswith("Invalid filter 'id >>> 1'")
    assert "Invalid filter" in await fails(client, "milvus_delete", collection_name="strict", filter="title ==")


async def test_released_collection_says_to_load_it(client: Client) -> None:
    await make_docs(client, n=2)
    await ok(client, "milvus_release_collection", collection_name="docs")
    for tool, extra in [("milvus_search", {"vector": [1, 2, 3, 4]}), ("milvus_query", {}), ("milvus_count", {})]:
        message = await fails(client, tool, collection_name="docs", **extra)
        assert "call milvus_load_collection first" in message, message
    await ok(client, "milvus_load_collection", collection_name="docs")
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 2


async def test_unreachable_milvus_names_the_redacted_uri() -> None:
    port = free_port()
    server = build_server(Settings(uri=f"http://admin:s3cr3tpass@127.0.0.1:{port}", timeout=5))
    async with Client(server) as client:
        message = await fails(client, "milvus_list_collections")
    assert f"Cannot reach Milvus at http://***@127.0.0.1:{port}" in message
    assert "s3cr3tpass" not in message and "--uri" in message


async def test_lite_database_locked_by_another_process(tmp_path: Path) -> None:
    path = str(tmp_path / "locked.db")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pymilvus import MilvusClient; MilvusClient(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(60)",
            path,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        async with Client(build_server(Settings(uri=path))) as client:
            message = await fails(client, "milvus_list_collections")
        assert f"The Milvus Lite database {path} is locked by another process" in message
        assert "--uri" in message
    finally:
        holder.kill()
        holder.wait(timeout=10)


async def test_argument_errors_are_one_sentence(client: Client) -> None:
    message = await fails(client, "milvus_query", collection_name="docs", limit="lots")
    assert message.startswith("Argument 'limit' of milvus_query is invalid: input should be a valid integer")
    assert "\n" not in message and "pydantic" not in message
    message = await fails(client, "milvus_search", vector=[1, 2])
    assert message == "Missing required argument 'collection_name' for milvus_search."
    message = await fails(client, "milvus_query", collection_name="docs", limit=0)
    assert "'limit'" in message and "greater than or equal to 1" in message


async def test_empty_filtered_read_warns_about_unknown_field(client: Client) -> None:
    await make_docs(client, n=2)  # dynamic fields on: Milvus takes an unknown name for a dynamic key
    await ok(client, "milvus_insert", collection_name="docs", rows=[{"id": 9, "vector": [1, 2, 3, 4], "year": 2000}])
    got = await ok(client, "milvus_query", collection_name="docs", filter="yaer > 0")
    assert got["rows"] == []
    assert "'yaer'" in got["warning"] and "dynamic keys" in got["warning"]
    counted = await ok(client, "milvus_count", collection_name="docs", filter='titel == "t1"')
    assert counted["count"] == 0 and "'titel'" in counted["warning"]
    fine = await ok(client, "milvus_query", collection_name="docs", filter="year > 5")
    assert len(fine["rows"]) == 1 and "warning" not in fine
    await make_strict(client)  # no dynamic fields: the same typo is an error naming the field
    message = await fails(client, "milvus_query", collection_name="strict", filter="yaer > 0")
    assert message.startswith("Invalid filter 'yaer > 0'") and "'year'" in message


async def test_dynamic_output_field_typo_is_flagged(client: Client) -> None:
    await make_docs(client, n=2)
    got = await ok(client, "milvus_query", collection_name="docs", output_fields=["titel"])
    assert "'titel'" in got["warning"] and "no returned row has it" in got["warning"]


async def test_search_arguments_checked_against_the_index(client: Client) -> None:
    await make_docs(client, n=3)
    message = await fails(client, "milvus_search", collection_name="docs", vector=[1, 2, 3, 4], metric_type="L2")
    assert "indexed with metric COSINE" in message
    message = await fails(
        client, "milvus_search", collection_name="docs", vector=[1, 2, 3, 4], search_params={"nprobe": 8}
    )
    assert "do not apply to the AUTOINDEX index" in message and "'ef'" in message
    message = await fails(
        client, "milvus_search", collection_name="docs", vector=[1, 2, 3, 4], limit=20, search_params={"ef": 5}
    )
    assert "ef must be an integer from limit (20)" in message
    message = await fails(
        client, "milvus_search", collection_name="docs", vector=[1, 2, 3, 4], radius=0.9, range_filter=0.5
    )
    assert "range_filter must be above radius" in message
    assert "range_filter needs radius" in await fails(
        client, "milvus_search", collection_name="docs", vector=[1, 2, 3, 4], range_filter=0.5
    )


async def test_unknown_database(client: Client) -> None:
    message = await fails(client, "milvus_list_collections", database="nope")
    assert "Database 'nope' does not exist" in message and "'default'" in message
    assert "milvus_create_database" in message


async def test_create_collection_mistakes(client: Client) -> None:
    message = await fails(client, "milvus_create_collection", collection_name="x")
    assert "Give one of dimension" in message
    message = await fails(
        client,
        "milvus_create_collection",
        collection_name="x",
        fields=[{"name": "id", "type": "INT64"}, {"name": "v", "type": "FLOAT_VECTOR", "dim": 2}],
    )
    assert "exactly one primary key" in message
    message = await fails(
        client,
        "milvus_create_collection",
        collection_name="x",
        fields=[{"name": "id", "type": "INT64", "is_primary": True}, {"name": "v", "type": "BINARY_VECTOR", "dim": 8}],
    )
    assert "Milvus Lite (milvus_lite-3.2.2) does not support BINARY_VECTOR" in message
    await make_docs(client, n=1)
    message = await fails(client, "milvus_create_collection", collection_name="docs", dimension=4)
    assert "already exists (1 rows)" in message
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 1
    message = await fails(client, "milvus_drop_collection", collection_name="docs", confirm_name="doc")
    assert "does not match" in message
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 1


async def test_timeout_says_how_to_wait_longer(db_path: str) -> None:
    async with Client(build_server(Settings(uri=db_path))) as client:
        await make_docs(client, n=3)
    async with Client(build_server(Settings(uri=db_path, timeout=0.0001))) as client:
        message = await fails(client, "milvus_count", collection_name="docs")
    assert message.startswith("Milvus did not answer within 0.0001 s.") and "--timeout" in message
