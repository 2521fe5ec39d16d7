"""Hybrid search earns its keep: on a labelled mini set, fusing meaning (the local model) and keywords
(BM25) finds at least as many relevant documents in the top 5 as either search alone, with either ranker.

The set holds queries of both kinds: codes and names that a small embedding model reads as noise, and
paraphrases that share no word with their documents. Marked `local_model`, as tests/test_text_dense.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.conftest import ok

pytest.importorskip("sentence_transformers")
pytestmark = [pytest.mark.anyio, pytest.mark.local_model]

DOCS = [
    "After the Tuesday maintenance window the technician swapped the fuser, noted E4021 and rebooted.",  # 0
    "Customers in the Lyon office complained all week; the log was full of E4021 until facilities came.",  # 1
    "Release notes for spring: faster scanning, new languages, and a fix for E4021 on older models.",  # 2
    "Error E4012: the toner cartridge is empty.",  # 3
    "Error E4210: the paper tray is missing.",  # 4
    "If the display shows E4201, close the front door.",  # 5
    "Firmware 3.1 fixed the E2041 scanner fault.",  # 6
    "Our plumber arrived late, grumbled about the weather, and finally fitted a ZQ7731 under the sink.",  # 7
    "Invoice 2291 lists shipping, two hours of labour and one ZQ7731 for the boiler room.",  # 8
    "Replace the ZQ7713 filter every year.",  # 9
    "The ZQ1377 hose ships in packs of five.",  # 10
    "The kitten curled up on the sofa and purred.",  # 11
    "Our cat sleeps most of the afternoon in the sun.",  # 12
    "Cats doze up to sixteen hours a day.",  # 13
    "Insulating the attic keeps warmth inside during winter.",  # 14
    "A programmable thermostat cuts energy costs when nobody is home.",  # 15
    "Sealing drafty windows reduces what you pay to warm the house.",  # 16
    "Share prices plunged as investors panicked on Wall Street.",  # 17
    "The stock index fell nine percent in a single session.",  # 18
    "Equities tumbled worldwide after the bank collapsed.",  # 19
    "Project Orchid slipped to the third quarter.",  # 20
    "The Orchid team hired two engineers.",  # 21
    "Roses and tulips bloom in the spring garden.",  # 22
    "Lava poured from the crater and ash covered nearby towns.",  # 23
    "The volcano erupted twice last week.",  # 24
    "Bake the bread until the crust is golden.",  # 25
    "The striker scored in the final minute.",  # 26
    "Flowers need sunlight and regular watering.",  # 27
    "Error E4022: the duplex unit jammed.",  # 28
    "Error E4020: the scanner lamp failed.",  # 29
    "Error E4023: the ink is low.",  # 30
    "Error E4121: the fan stopped.",  # 31
    "The ZQ7732 gasket ships in packs of twenty.",  # 32
    "Replace the ZQ7730 gasket every month.",  # 33
    "The ZQ7371 gasket ships in packs of two.",  # 34
]
RELEVANT: dict[str, set[int]] = {  # codes and names for keywords; paraphrases for meaning
    "E4021": {0, 1, 2},
    "ZQ7731": {7, 8},
    "Orchid status": {20, 21},
    "feline companions napping": {11, 12, 13},
    "cheaper home heating": {14, 15, 16},
    "stock market crash": {17, 18, 19},
    "volcanic activity": {23, 24},
}


@pytest.fixture
async def dense_client(tmp_path: Path) -> AsyncIterator[Client]:
    server = build_server(Settings(uri=str(tmp_path / "milvus.db"), embedding_provider="local"))
    async with Client(server, raise_exceptions=True) as c:
        yield c


async def recall_at_5(client: Client, tool: str, **arguments: Any) -> float:
    """Mean recall@5 over the labelled queries."""
    total = 0.0
    for query, relevant in RELEVANT.items():
        found = await ok(client, tool, collection_name="kb", text=query, limit=5, output_fields=["n"], **arguments)
        top = {h["entity"]["n"] for h in found["hits"]}
        total += len(top & relevant) / len(relevant)
    return total / len(RELEVANT)


async def test_hybrid_recall_is_at_least_that_of_each_search_alone(dense_client: Client) -> None:
    await ok(dense_client, "milvus_create_collection", collection_name="kb", text_field="text")
    await ok(
        dense_client, "milvus_insert", collection_name="kb", rows=[{"text": t, "n": i} for i, t in enumerate(DOCS)]
    )
    dense = await recall_at_5(dense_client, "milvus_search", anns_field="text_dense")
    bm25 = await recall_at_5(dense_client, "milvus_search", anns_field="text_sparse")
    assert dense < 1 and bm25 < 1, (dense, bm25)  # the set tells the searches apart: each misses something
    found = await ok(dense_client, "milvus_hybrid_search", collection_name="kb", text="E4021")
    assert found["searches"] == [
        {"anns_field": "text_dense", "metric_type": "COSINE"},
        {"anns_field": "text_sparse", "metric_type": "BM25"},
    ]
    for ranker in ("rrf", "weighted"):
        hybrid = await recall_at_5(dense_client, "milvus_hybrid_search", ranker=ranker)
        assert hybrid >= max(dense, bm25), (ranker, hybrid, dense, bm25)
