"""Results respect an agent's context: no vectors unless asked, cut strings, a byte budget, safe integers."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.results import MAX_STRING_CHARS, clean
from mcp_server_milvus.server import build_server
from tests.conftest import make_docs, ok, rows

pytestmark = pytest.mark.anyio


def wire_size(result: dict) -> int:
    return len(json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode())


async def test_vectors_only_when_named(client: Client) -> None:
    await make_docs(client, n=3)
    plain = await ok(client, "milvus_query", collection_name="docs", limit=3)
    assert all("vector" not in r for r in plain["rows"])
    star = await ok(client, "milvus_query", collection_name="docs", output_fields=["*"], limit=3)
    assert all("vector" not in r and "title" in r for r in star["rows"])
    named = await ok(client, "milvus_query", collection_name="docs", output_fields=["vector"], ids=[2])
    assert named["rows"][0]["vector"] == pytest.approx(rows(3)[2]["vector"])
    hits = await ok(client, "milvus_search", collection_name="docs", vector=rows(3)[0]["vector"])
    assert all("vector" not in h["entity"] for h in hits["hits"])
    with_vectors = await ok(
        client, "milvus_search", collection_name="docs", vector=rows(3)[0]["vector"], output_fields=["vector", "title"]
    )
    assert all(len(h["entity"]["vector"]) == 4 for h in with_vectors["hits"])


async def test_long_strings_are_cut_with_a_marker(client: Client) -> None:
    await make_docs(client, n=0)
    text = "x" * 5000
    await ok(client, "milvus_insert", collection_name="docs", rows=[{"id": 1, "vector": [1, 2, 3, 4], "body": text}])
    got = await ok(client, "milvus_query", collection_name="docs", ids=[1], output_fields=["body"])
    body = got["rows"][0]["body"]
    assert body.startswith("x" * MAX_STRING_CHARS) and body.endswith(f"…[cut {5000 - MAX_STRING_CHARS} chars]")


async def test_query_over_budget_is_cut_and_says_how_to_continue(db_path: str) -> None:
    budget = 4096
    server = build_server(Settings(uri=db_path, max_result_bytes=budget))
    async with Client(server) as client:
        await make_docs(client, n=0)
        data = [{"id": i, "vector": [1, 2, 3, i + 1], "body": f"{i:04d}" + "y" * 400} for i in range(40)]
        await ok(client, "milvus_insert", collection_name="docs", rows=data)
        first = await ok(client, "milvus_query", collection_name="docs", limit=40, output_fields=["body"])
        assert first["truncated"] is True
        assert wire_size(first) <= budget
        n = len(first["rows"])
        assert 0 < n < 40 and first["next_offset"] == n
        assert f"offset={n}" in first["hint"]
        seen = {r["id"] for r in first["rows"]}
        offset = first["next_offset"]
        while offset is not None:
            page = await ok(
                client, "milvus_query", collection_name="docs", limit=40 - offset, offset=offset, output_fields=["body"]
            )
            assert wire_size(page) <= budget
            seen |= {r["id"] for r in page["rows"]}
            offset = page.get("next_offset") if page["truncated"] else None
        assert seen == set(range(40))


async def test_search_over_budget_is_cut(db_path: str) -> None:
    budget = 2048
    server = build_server(Settings(uri=db_path, max_result_bytes=budget))
    async with Client(server) as client:
        await make_docs(client, n=0)
        data = [{"id": i, "vector": [1, 2, 3, i + 1], "body": "z" * 300} for i in range(20)]
        await ok(client, "milvus_insert", collection_name="docs", rows=data)
        hits = await ok(client, "milvus_search", collection_name="docs", vector=[1, 2, 3, 4], limit=20)
        assert hits["truncated"] is True and 0 < len(hits["hits"]) < 20
        assert wire_size(hits) <= budget
        assert "lower limit" in hits["hint"]


async def test_big_int64_values_travel_as_strings(client: Client) -> None:
    big = 2**60 + 7
    await make_docs(client, n=0)
    await ok(client, "milvus_insert", collection_name="docs", rows=[{"id": big, "vector": [1, 2, 3, 4], "n": big}])
    got = await ok(client, "milvus_query", collection_name="docs", ids=[str(big)], output_fields=["n"])
    assert got["rows"] == [{"id": str(big), "n": big}]  # INT64 fields as strings; dynamic values exact
    hits = await ok(client, "milvus_search", collection_name="docs", vector=[1, 2, 3, 4])
    assert hits["hits"][0]["id"] == str(big)
    assert (await ok(client, "milvus_delete", collection_name="docs", ids=[str(big)]))["delete_count"] == 1


def test_clean_keeps_safe_values_and_cuts_the_rest() -> None:
    assert clean({"a": [1, 2.5, True, None], "b": 2**53 - 1}) == {"a": [1, 2.5, True, None], "b": 2**53 - 1}
    assert clean(-(2**53)) == str(-(2**53))
    assert clean(float("nan")) == "nan"
    assert clean(b"\x00\x01") == "<2 bytes>"
