"""Reads tell the truth: paging never loops or stops early, a cursor walks any collection, lookups by
id honour limit and offset, and warnings name what is misspelled. Through a real MCP client, against a
real Milvus Lite database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.conftest import fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio


async def walk(client: Client, name: str, **arguments: Any) -> list[Any]:
    """Every id a cursor walk returns, in order."""
    seen: list[Any] = []
    cursor = None
    for _ in range(10_000):
        page = await ok(client, "milvus_query", collection_name=name, cursor=cursor, **arguments)
        seen.extend(row["id"] for row in page["rows"])
        cursor = page.get("next_cursor")
        if cursor is None:
            return seen
    raise AssertionError("the walk did not end")


async def test_a_cursor_walks_every_row_exactly_once(client: Client) -> None:
    await make_docs(client, n=0)
    ids = list(range(1, 5001))
    shuffled = ids[2500:] + ids[:2500]  # inserted out of key order
    for start in range(0, len(shuffled), 1000):
        chunk = [{"id": i, "vector": [float(i), 1.0, 2.0, 3.0]} for i in shuffled[start : start + 1000]]
        await ok(client, "milvus_insert", collection_name="docs", rows=chunk)
    seen = await walk(client, "docs", limit=700, output_fields=["id"])
    assert seen == ids
    middle = await walk(client, "docs", limit=333, filter="id > 1000 and id <= 4000", output_fields=["id"])
    assert middle == ids[1000:4000]


async def test_next_offset_is_there_exactly_when_rows_remain(client: Client) -> None:
    await make_docs(client, n=25)
    pages = []
    offset: int | None = 0
    while offset is not None:
        page = await ok(client, "milvus_query", collection_name="docs", limit=5, offset=offset, output_fields=["id"])
        pages.append([r["id"] for r in page["rows"]])
        offset = page.get("next_offset")
    assert pages == [list(range(k, k + 5)) for k in range(0, 25, 5)]
    last = await ok(client, "milvus_query", collection_name="docs", limit=10, offset=20)
    assert len(last["rows"]) == 5 and "next_offset" not in last and "next_cursor" not in last


async def test_the_offset_window_points_at_the_cursor(client: Client) -> None:
    await make_docs(client, n=3)
    message = await fails(client, "milvus_query", collection_name="docs", offset=16380, limit=10)
    assert "at most 16384" in message and "next_cursor" in message
    message = await fails(client, "milvus_query", collection_name="docs", offset=1, cursor="abc")
    assert "leave offset and ids out" in message
    message = await fails(client, "milvus_query", collection_name="docs", cursor="not-a-cursor")
    assert "cursor is not one milvus_query gave" in message


async def test_paging_moves_on_past_a_row_larger_than_the_budget(tmp_path: Path) -> None:
    server = build_server(Settings(uri=str(tmp_path / "small.db"), max_result_bytes=1024))
    async with Client(server) as client:
        await make_docs(client, n=0)
        wide = [
            {"id": i, "vector": [1.0, 2.0, 3.0, float(i)], **{f"f{k}": "x" * 900 for k in range(4)}} for i in range(3)
        ]
        await ok(client, "milvus_insert", collection_name="docs", rows=wide)
        offset: int | None = 0
        seen = []
        while offset is not None:
            page = await ok(client, "milvus_query", collection_name="docs", limit=10, offset=offset)
            assert page["truncated"] is True and len(page["rows"]) == 1
            assert "cut" in str(page["rows"][0])
            seen.append(page["rows"][0]["id"])
            assert page.get("next_offset") is None or page["next_offset"] > offset
            offset = page.get("next_offset")
        assert seen == [0, 1, 2]
        found = await ok(client, "milvus_search", collection_name="docs", vector=[1.0, 2.0, 3.0, 1.0], limit=3)
        assert found["truncated"] is True and len(found["hits"]) >= 1 and "cut" in str(found["hits"][0]["entity"])
        assert "offset=" in found["hint"]
        described = await client.call_tool("milvus_describe_collection", {"collection_name": "docs"})
        assert len(described.content[0].text.encode()) <= 1024


async def test_lookups_by_id_honour_limit_and_offset(client: Client) -> None:
    await make_docs(client, n=5)
    page = await ok(client, "milvus_query", collection_name="docs", ids=[3, 1, 2], limit=1, offset=1)
    assert [r["id"] for r in page["rows"]] == [1] and page["next_offset"] == 2
    page = await ok(client, "milvus_query", collection_name="docs", ids=[3, 1, 2], limit=5, offset=2)
    assert [r["id"] for r in page["rows"]] == [2] and "next_offset" not in page


async def test_range_bounds_must_be_finite(client: Client) -> None:
    await make_docs(client, n=3)
    vector = rows(1)[0]["vector"]
    for bad in ("nan", "-inf", "inf"):
        message = await fails(client, "milvus_search", collection_name="docs", vector=vector, radius=bad)
        assert "radius" in message
        message = await fails(
            client, "milvus_search", collection_name="docs", vector=vector, radius=0.1, range_filter=bad
        )
        assert "range_filter" in message


async def test_string_keys_with_any_characters_are_fetched_and_deleted(client: Client) -> None:
    await ok(client, "milvus_create_collection", collection_name="words", dimension=4, id_type="string")
    keys = ["ключ", "é", "it's", 'dq"x', "back\\slash", "emoji😀"]
    await ok(
        client,
        "milvus_insert",
        collection_name="words",
        rows=[{"id": k, "vector": [1.0, 2.0, 3.0, float(i + 1)]} for i, k in enumerate(keys)],
    )
    got = await ok(client, "milvus_query", collection_name="words", ids=keys, limit=10)
    assert [r["id"] for r in got["rows"]] == keys
    deleted = await ok(client, "milvus_delete", collection_name="words", ids=keys[:4])
    assert deleted["delete_count"] == 4
    assert (await ok(client, "milvus_count", collection_name="words"))["count"] == 2


async def test_misspelled_fields_are_warned_about_on_every_filtered_tool(client: Client) -> None:
    await make_docs(client, n=3)  # dynamic: 'title' is a dynamic key
    await ok(
        client,
        "milvus_create_collection",
        collection_name="years",
        fields=[
            {"name": "id", "type": "INT64", "is_primary": True},
            {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
            {"name": "year", "type": "INT64"},
        ],
        enable_dynamic_field=True,
    )
    await ok(client, "milvus_insert", collection_name="years", rows=[{"id": 1, "vector": [1, 2, 3, 4], "year": 2001}])
    for tool, extra in (("milvus_query", {}), ("milvus_count", {}), ("milvus_delete", {})):
        result = await ok(client, tool, collection_name="years", filter="yaer > 2000", **extra)
        assert "did you mean 'year'?" in result["warning"], (tool, result)
    found = await ok(client, "milvus_query", collection_name="docs", output_fields=["titel"])
    assert "Did you mean 'title'?" in found["warning"]


async def test_a_delete_result_fits_the_budget(tmp_path: Path) -> None:
    server = build_server(Settings(uri=str(tmp_path / "small.db"), max_result_bytes=1024))
    async with Client(server) as client:
        await ok(client, "milvus_create_collection", collection_name="words", dimension=4, id_type="string")
        missing = [f"missing-{i:04d}-" + "x" * 40 for i in range(200)]
        result = await client.call_tool("milvus_delete", {"collection_name": "words", "ids": missing})
        assert not result.is_error and len(result.content[0].text.encode()) <= 1024
        assert result.structured_content["delete_count"] == 0 and result.structured_content["truncated"] is True
