"""Writes tell the truth: a call that fails validation writes nothing, an insert never overwrites, a
failed create leaves nothing behind, and values read can be written back unchanged. Through a real MCP
client, against a real Milvus Lite database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.conftest import fails, index_of, make_docs, ok, rows

pytestmark = pytest.mark.anyio

FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "INT64", "is_primary": True},
    {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
    {"name": "title", "type": "VARCHAR", "max_length": 16},
    {"name": "tags", "type": "ARRAY", "element_type": "VARCHAR", "max_length": 16, "max_capacity": 4},
    {"name": "score", "type": "DOUBLE", "nullable": True},
    {"name": "meta", "type": "JSON", "nullable": True},
]


async def make_typed(client: Client, name: str = "typed") -> None:
    await ok(client, "milvus_create_collection", collection_name=name, fields=FIELDS)


def typed_rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"id": i, "vector": [float(i + 1), 1.0, 2.0, 3.0], "title": f"t{i}", "tags": ["a", "b"]}
        for i in range(start, start + n)
    ]


async def count(client: Client, name: str) -> int:
    return (await ok(client, "milvus_count", collection_name=name))["count"]


async def test_insert_refuses_ids_that_exist_and_never_overwrites(client: Client) -> None:
    await make_docs(client, n=5)
    new = rows(3, start=3)
    new[0]["title"] = "overwritten?"
    message = await fails(client, "milvus_insert", collection_name="docs", rows=new)
    assert "2 of these primary keys already exist in 'docs': '3', '4'" in message
    assert "use milvus_upsert" in message and "Nothing was written" in message
    assert await count(client, "docs") == 5
    kept = await ok(client, "milvus_query", collection_name="docs", ids=[3], output_fields=["title"])
    assert kept["rows"] == [{"id": 3, "title": "t3"}]
    await ok(client, "milvus_upsert", collection_name="docs", rows=new)
    assert await count(client, "docs") == 6


async def test_a_bad_row_is_named_before_ids_that_exist(client: Client) -> None:
    """The rows are checked before Milvus is asked which ids exist: a bad row decides the error, taken ids or not."""
    await make_docs(client, n=5)
    new = rows(3, start=3)
    new[2]["vector"] = [1.0, 2.0]
    message = await fails(client, "milvus_insert", collection_name="docs", rows=new)
    assert message.startswith("Row 2: ") and "dimension" in message and "already exist" not in message, message
    assert "already exist" in await fails(client, "milvus_insert", collection_name="docs", rows=rows(3, start=3))
    bad_key = [*rows(2, start=10), {**rows(1, start=0)[0], "id": "x"}]  # a key the check cannot read
    assert "Row 2: " in await fails(client, "milvus_insert", collection_name="docs", rows=bad_key)
    assert await count(client, "docs") == 5


async def test_duplicate_ids_in_one_batch_are_refused(client: Client) -> None:
    await make_docs(client, n=0)
    batch = rows(3) + rows(1, start=1)
    message = await fails(client, "milvus_insert", collection_name="docs", rows=batch)
    assert "Row 3: primary key 1 is also in row 1" in message
    assert await count(client, "docs") == 0


async def test_concurrent_inserts_of_one_id_store_it_once(client: Client) -> None:
    await make_docs(client, n=0)
    outcomes: list[bool] = []

    async def insert(title: str) -> None:
        row = {**rows(1, start=7)[0], "title": title}
        result = await client.call_tool("milvus_insert", {"collection_name": "docs", "rows": [row]})
        outcomes.append(bool(result.is_error))

    async with anyio.create_task_group() as tg:
        for title in ("a", "b", "c"):
            tg.start_soon(insert, title)
    assert sorted(outcomes) == [False, True, True]
    assert await count(client, "docs") == 1


async def test_a_near_miss_of_a_missing_field_is_refused(client: Client) -> None:
    await make_typed(client)
    row = {"id": 1, "vector": [1.0, 2.0, 3.0, 4.0], "titel": "x", "tags": []}
    message = await fails(client, "milvus_insert", collection_name="typed", rows=[row])
    assert "key 'titel' looks like the field 'title', which the row lacks" in message
    row = {"id": 1, "vector": [1.0, 2.0, 3.0, 4.0], "title": "x", "tags": [], "colour": "red"}
    await ok(client, "milvus_insert", collection_name="typed", rows=[row])
    got = await ok(client, "milvus_query", collection_name="typed", ids=[1], output_fields=["colour"])
    assert got["rows"] == [{"id": 1, "colour": "red"}]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"tags": ["ok", 7]}, "element 1 of ARRAY field 'tags' is VARCHAR"),
        ({"tags": ["x" * 17]}, "element 0 of ARRAY field 'tags' holds at most 16 bytes"),
        ({"tags": ["a"] * 5}, "holds at most 4 elements"),
        ({"title": "é" * 9}, "holds at most 16 bytes (UTF-8); got 18"),
        ({"score": 10**400}, "is DOUBLE: a finite float64 number"),
        ({"score": "1.5"}, "is DOUBLE"),
        ({"meta": {"blob": "x" * 70_000}}, "JSON field 'meta' holds at most 65536 bytes"),
        ({"vector": [10**400, 1.0, 1.0, 1.0]}, "NaN, infinity or a value beyond float32 range"),
        ({"id": 2**63}, "integers from -2^63 to 2^63-1"),
        ({"id": "12345678901234567890123456789"}, "integers from -2^63 to 2^63-1"),
    ],
)
async def test_a_bad_value_late_in_a_batch_writes_nothing(client: Client, bad: dict[str, Any], expected: str) -> None:
    """1,500 rows go in two RPCs: the bad row 1,200 must be found before the first."""
    await make_typed(client)
    batch = typed_rows(1500)
    batch[1200] = {**batch[1200], **bad}
    message = await fails(client, "milvus_insert", collection_name="typed", rows=batch)
    assert message.startswith("Row 1200") and expected in message, message
    assert await count(client, "typed") == 0


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        ({"index_type": "HNSW", "params": {"M": -1}}, "params.M of HNSW must be an integer from 2 to 2048"),
        ({"index_type": "HNSW", "params": {"M": 2**40}}, "params.M of HNSW must be an integer from 2 to 2048"),
        ({"index_type": "HNSW", "params": {"efConstrution": 64}}, "Did you mean 'efConstruction'?"),
        ({"index_type": "IVF_FLAT", "params": {"nlist": 0}}, "params.nlist of IVF_FLAT must be an integer from 1"),
        ({"index_type": "DISKANN"}, "cannot build DISKANN vector indexes"),
        ({"index_type": "SCANN"}, "cannot build SCANN vector indexes"),
        ({"index_type": "IVF_PQ"}, "cannot build IVF_PQ vector indexes"),
    ],
)
async def test_index_parameters_are_checked_before_the_build(
    client: Client, index: dict[str, Any], expected: str
) -> None:
    fields = FIELDS[:2]
    indexes = [{"field_name": "vector", "metric_type": "L2", **index}]
    message = await fails(client, "milvus_create_collection", collection_name="ix", fields=fields, indexes=indexes)
    assert expected in message
    await make_docs(client, n=3)
    await ok(client, "milvus_release_collection", collection_name="docs")
    await ok(client, "milvus_drop_index", collection_name="docs", index_name="vector")
    message = await fails(
        client, "milvus_create_index", collection_name="docs", field_name="vector", metric_type="L2", **index
    )
    assert expected in message
    assert [c["name"] for c in (await ok(client, "milvus_list_collections"))["collections"]] == ["docs"]


async def test_describe_index_shows_the_build_parameters_used(client: Client) -> None:
    indexes = [{"field_name": "vector", "index_type": "HNSW", "metric_type": "L2", "params": {"M": 16}}]
    await ok(client, "milvus_create_collection", collection_name="h", fields=FIELDS[:2], indexes=indexes)
    described = await index_of(client, "h", "vector")
    assert described["params"] == {"M": 16, "efConstruction": 200}
    await ok(client, "milvus_release_collection", collection_name="h")
    await ok(client, "milvus_drop_index", collection_name="h", index_name="vector")
    built = await ok(
        client,
        "milvus_create_index",
        collection_name="h",
        field_name="vector",
        index_type="IVF_FLAT",
        metric_type="L2",
        params={"nlist": 64},
    )
    assert built["params"] == {"nlist": 64}
    described = await index_of(client, "h", "vector")
    assert described["index_type"] == "IVF_FLAT" and described["params"] == {"nlist": 64}


async def test_a_default_value_of_the_wrong_type_creates_nothing(client: Client) -> None:
    fields = [*FIELDS[:2], {"name": "year", "type": "INT32", "default_value": "2020"}]
    message = await fails(client, "milvus_create_collection", collection_name="dv", fields=fields)
    assert "Field 'year' default_value: field 'year' is INT32" in message
    fields[2] = {"name": "tags", "type": "JSON", "default_value": {"a": 1}}
    message = await fails(client, "milvus_create_collection", collection_name="dv", fields=fields)
    assert "default_value only on non-primary BOOL, integer, FLOAT, DOUBLE and VARCHAR fields" in message
    assert (await ok(client, "milvus_list_collections"))["collections"] == []
    fields[2] = {"name": "year", "type": "INT32", "default_value": 2020}
    await ok(client, "milvus_create_collection", collection_name="dv", fields=fields)
    await ok(client, "milvus_insert", collection_name="dv", rows=[{"id": 1, "vector": [1, 2, 3, 4]}])
    got = await ok(client, "milvus_query", collection_name="dv", ids=[1], output_fields=["year"])
    assert got["rows"] == [{"id": 1, "year": 2020}]


async def test_a_cancelled_create_leaves_no_collection(client: Client) -> None:
    """The create, its index build (which waits at least half a second on Lite) and the load run in one
    call; cancelling it part-way must not leave a half-made collection behind."""
    with anyio.move_on_after(0.3) as scope:
        await client.call_tool("milvus_create_collection", {"collection_name": "gone", "dimension": 4})
    assert scope.cancelled_caught
    deadline = anyio.current_time() + 10
    while anyio.current_time() < deadline:
        listed = await ok(client, "milvus_list_collections")
        if not listed["collections"]:
            break
        await anyio.sleep(0.2)
    assert (await ok(client, "milvus_list_collections"))["collections"] == []
    await ok(client, "milvus_create_collection", collection_name="gone", dimension=4)


async def test_integers_in_json_and_dynamic_fields_round_trip(client: Client) -> None:
    big = 2**60 + 1
    await make_typed(client)
    row = {**typed_rows(1)[0], "meta": {"n": big, "list": [big, 1]}, "extra": big}
    await ok(client, "milvus_insert", collection_name="typed", rows=[row])
    got = await ok(client, "milvus_query", collection_name="typed", ids=[0], output_fields=["meta", "extra"])
    read = got["rows"][0]
    assert read == {"id": 0, "meta": {"n": big, "list": [big, 1]}, "extra": big}
    await ok(client, "milvus_upsert", collection_name="typed", rows=[{**row, **read}])
    again = await ok(client, "milvus_query", collection_name="typed", ids=[0], output_fields=["meta", "extra"])
    assert again["rows"][0] == read
    matched = await ok(client, "milvus_count", collection_name="typed", filter=f'meta["n"] == {big}')
    assert matched["count"] == 1


async def test_a_write_cancelled_part_way_logs_exactly_what_was_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Cancelled once its first batches have landed, a 30,000-row insert keeps them, and the log says
    exactly which rows were written and which batch was in flight. (30,000 rows is above the default
    --max-rows: long enough to cancel part-way, so this server allows it.)"""
    server = build_server(Settings(uri=str(tmp_path / "m.db"), embedding_provider="none", max_rows=30_000))
    async with Client(server) as client:
        await make_docs(client, n=0)
        async with anyio.create_task_group() as tg:

            async def insert() -> None:
                await client.call_tool("milvus_insert", {"collection_name": "docs", "rows": rows(30_000)})

            tg.start_soon(insert)
            with anyio.fail_after(60):
                while await count(client, "docs") < 2000:
                    await anyio.sleep(0.02)
            tg.cancel_scope.cancel()
        with anyio.fail_after(10):
            while "part-way" not in caplog.text:
                await anyio.sleep(0.1)
        logged = [r.getMessage() for r in caplog.records if "part-way" in r.getMessage()]
        assert len(logged) == 1 and "was cancelled" in logged[0], logged
        done = int(logged[0].split("(")[1].split(" rows")[0])
        assert done >= 2000 and done % 1000 == 0
        assert f"rows 0 to {done - 1} ({done} rows) were inserted into default.docs" in logged[0]
        assert f"rows {done} to {done + 999} (in flight) may or may not have been inserted" in logged[0]
        await anyio.sleep(0.5)
        assert await count(client, "docs") in (done, done + 1000)
