"""milvus_search with like_ids ("more like this") on Milvus Lite, through the MCP client."""

from __future__ import annotations

import math

import pytest
from mcp import Client

from tests.conftest import fails, ok

pytestmark = pytest.mark.anyio

ANGLES = {0: 0, 1: 10, 2: 30, 3: 70, 4: 150}
"""Unit vectors at these angles (degrees): under COSINE, neighbours are ordered by the angle between."""


def unit(degrees: float) -> list[float]:
    return [math.cos(math.radians(degrees)), math.sin(math.radians(degrees))]


def by_angle(source: int) -> list[int]:
    """The other rows, nearest first."""
    others = [i for i in ANGLES if i != source]
    return sorted(others, key=lambda i: abs(ANGLES[i] - ANGLES[source]))


async def make_angles(client: Client, name: str = "angles") -> None:
    await ok(client, "milvus_create_collection", collection_name=name, dimension=2)
    rows = [{"id": i, "vector": unit(a), "kind": "even" if i % 2 == 0 else "odd"} for i, a in ANGLES.items()]
    await ok(client, "milvus_insert", collection_name=name, rows=rows)


def ids_of(result: dict) -> list:
    return [h["id"] for h in result["hits"]]


async def test_nearest_neighbour_of_a_row_without_the_row_itself(client: Client) -> None:
    await make_angles(client)
    found = await ok(client, "milvus_search", collection_name="angles", like_ids=[0], output_fields=["kind"])
    assert found["anns_field"] == "vector" and "hits" not in found
    (result,) = found["results"]
    assert result["id"] == 0
    assert ids_of(result) == by_angle(0) == [1, 2, 3, 4]
    assert result["hits"][0]["entity"] == {"kind": "odd"}
    scores = [h["score"] for h in result["hits"]]
    assert scores == sorted(scores, reverse=True)


async def test_the_row_stays_out_of_its_hits_with_offset_and_filter(client: Client) -> None:
    await make_angles(client)
    whole = by_angle(2)  # [1, 0, 3, 4]: the row itself would come first
    for offset in range(len(whole)):
        page = await ok(client, "milvus_search", collection_name="angles", like_ids=[2], limit=2, offset=offset)
        assert ids_of(page["results"][0]) == whole[offset : offset + 2], offset
    kept = await ok(client, "milvus_search", collection_name="angles", like_ids=[2], filter='kind == "even"')
    assert ids_of(kept["results"][0]) == [0, 4]
    beyond = await ok(
        client, "milvus_search", collection_name="angles", like_ids=[2], filter='kind == "even" or id > 0', offset=1
    )
    assert ids_of(beyond["results"][0]) == [0, 3, 4]


async def test_several_ids_give_results_in_their_order(client: Client) -> None:
    await make_angles(client)
    found = await ok(client, "milvus_search", collection_name="angles", like_ids=[3, 0, "2"], limit=1)
    assert [r["id"] for r in found["results"]] == [3, 0, 2]
    assert [ids_of(r) for r in found["results"]] == [[2], [1], [1]]
    # a source row may well be another source's neighbour
    pair = await ok(client, "milvus_search", collection_name="angles", like_ids=[0, 1], limit=1)
    assert [ids_of(r) for r in pair["results"]] == [[1], [0]]


async def test_unknown_ids_are_named(client: Client) -> None:
    await make_angles(client)
    message = await fails(client, "milvus_search", collection_name="angles", like_ids=[0, 998, 999])
    assert "'998', '999'" in message and "1 of 3 found" in message and "milvus_query" in message


async def test_ids_of_the_wrong_type_or_twice_are_refused(client: Client) -> None:
    await make_angles(client)
    message = await fails(client, "milvus_search", collection_name="angles", like_ids=[0, "zero"])
    assert "is INT64" in message and "'zero'" in message
    message = await fails(client, "milvus_search", collection_name="angles", like_ids=[0, 999, str(2**63)])
    assert "is INT64" in message and "not found" not in message  # checked before the rows are read
    message = await fails(client, "milvus_search", collection_name="angles", like_ids=[1, "1"])
    assert "twice" in message
    message = await fails(client, "milvus_search", collection_name="angles", like_ids=[])
    assert "like_ids" in message


async def test_like_ids_is_one_of_the_query_forms(client: Client) -> None:
    await make_angles(client)
    message = await fails(client, "milvus_search", collection_name="angles", like_ids=[0], vector=unit(5))
    assert "exactly one of" in message and "like_ids" in message
    message = await fails(client, "milvus_search", collection_name="angles", like_ids=[0], text="north")
    assert "exactly one of" in message and "'text', 'like_ids'" in message


async def test_int64_ids_beyond_2_53_travel_as_strings(client: Client) -> None:
    big = 2**53 + 1
    await ok(client, "milvus_create_collection", collection_name="big", dimension=2)
    rows = [{"id": big, "vector": unit(0)}, {"id": big + 1, "vector": unit(20)}, {"id": 1, "vector": unit(90)}]
    await ok(client, "milvus_insert", collection_name="big", rows=rows)
    found = await ok(client, "milvus_search", collection_name="big", like_ids=[str(big)])
    (result,) = found["results"]
    assert result["id"] == str(big)
    assert ids_of(result) == [str(big + 1), 1]


async def test_sources_are_read_from_any_partition(client: Client) -> None:
    await make_angles(client)
    await ok(client, "milvus_create_partition", collection_name="angles", partition_name="far")
    await ok(
        client, "milvus_insert", collection_name="angles", partition_name="far", rows=[{"id": 9, "vector": unit(40)}]
    )
    found = await ok(client, "milvus_search", collection_name="angles", like_ids=[2], partition_names=["far"])
    assert ids_of(found["results"][0]) == [9]
    found = await ok(client, "milvus_search", collection_name="angles", like_ids=[9], limit=1)
    assert ids_of(found["results"][0]) == [2]


async def test_string_primary_keys(client: Client) -> None:
    fields = [
        {"name": "key", "type": "VARCHAR", "is_primary": True, "max_length": 32},
        {"name": "vector", "type": "FLOAT_VECTOR", "dim": 2},
    ]
    await ok(client, "milvus_create_collection", collection_name="named", fields=fields)
    keys = {0: "north", 1: 'it\'s "near"', 2: "écart", 3: "12"}
    rows = [{"key": keys[i], "vector": unit(ANGLES[i])} for i in keys]
    await ok(client, "milvus_insert", collection_name="named", rows=rows)
    found = await ok(client, "milvus_search", collection_name="named", like_ids=[keys[1], "12"])
    assert [r["id"] for r in found["results"]] == [keys[1], "12"]
    assert [ids_of(r) for r in found["results"]] == [[keys[0], keys[2], keys[3]], [keys[2], keys[1], keys[0]]]
    message = await fails(client, "milvus_search", collection_name="named", like_ids=[12])
    assert "VARCHAR" in message and "strings" in message


DOCS = [
    "the red fox jumps over the lazy dog",
    "a red fox jumps high",
    "the lazy cat sleeps all day",
    "quantum physics lecture notes",
]


async def test_bm25_collection_without_a_provider_searches_with_the_rows_text(client: Client) -> None:
    await ok(client, "milvus_create_collection", collection_name="notes", text_field="text")
    inserted = await ok(
        client, "milvus_insert", collection_name="notes", rows=[{"text": t, "n": i} for i, t in enumerate(DOCS)]
    )
    ids = inserted["ids"]
    found = await ok(client, "milvus_search", collection_name="notes", like_ids=[ids[0], ids[3]], output_fields=["n"])
    assert (found["anns_field"], found["metric_type"]) == ("text_sparse", "BM25")
    fox, physics = found["results"]
    assert [h["entity"]["n"] for h in fox["hits"]] == [1, 2]  # shares "red fox jumps", then "the lazy"
    assert physics["hits"] == [] and "No other row holds any word" in physics["warning"]
