"""Text collections with the local embedding model: search by meaning, hybrid-free, with no vector in sight.

Marked `local_model`: they need the [embeddings] extra and load all-MiniLM-L6-v2 from its PyPI package."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.conftest import fails, ok

pytest.importorskip("sentence_transformers")
pytestmark = [pytest.mark.anyio, pytest.mark.local_model]

DOCS = [
    "The kitten curled up on the sofa and purred.",
    "Quarterly earnings beat analysts' expectations and the shares rallied.",
    "Heavy rain flooded the streets of the old town overnight.",
    "She practised the violin for hours before the concert.",
]
MEANING = {  # queries sharing no word with their neighbour
    "a small cat resting on a couch": 0,
    "company profits exceeded forecasts": 1,
    "storm water covered roads": 2,
    "musician rehearsing an instrument": 3,
}


@pytest.fixture(scope="module")
def model_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("dense") / "milvus.db")


@pytest.fixture
async def dense_client(model_db: str) -> AsyncIterator[Client]:
    server = build_server(Settings(uri=model_db, embedding_provider="local"))
    async with Client(server, raise_exceptions=True) as c:
        yield c


async def test_search_by_meaning_with_text_only(dense_client: Client) -> None:
    created = await ok(dense_client, "milvus_create_collection", collection_name="mem", text_field="text")
    assert {v["name"] for v in created["vector_fields"]} == {"text_sparse", "text_dense"}
    described = await ok(dense_client, "milvus_describe_collection", collection_name="mem")
    assert described["text"] == {
        "text_field": "text",
        "sparse_field": "text_sparse",
        "dense_field": "text_dense",
        "provider": "local",
        "model": "all-MiniLM-L6-v2",
        "dim": 384,
    }
    long_text = " ".join(["word"] * 600)
    rows = [{"text": t, "n": i} for i, t in enumerate(DOCS)] + [{"text": long_text, "n": 99}]
    inserted = await ok(dense_client, "milvus_insert", collection_name="mem", rows=rows)
    assert inserted["insert_count"] == 5
    assert "rows 4" in inserted["warning"] and "Split long texts" in inserted["warning"]
    for query, expected in MEANING.items():
        found = await ok(dense_client, "milvus_search", collection_name="mem", text=query, limit=2, output_fields=["n"])
        assert (found["anns_field"], found["metric_type"]) == ("text_dense", "COSINE")
        assert found["hits"][0]["entity"]["n"] == expected, (query, found["hits"])
    keywords = await ok(
        dense_client, "milvus_search", collection_name="mem", text="violin concert", anns_field="text_sparse"
    )
    assert keywords["metric_type"] == "BM25"
    info = await ok(dense_client, "milvus_server_info")
    assert info["embedding"] == {"provider": "local", "model": "all-MiniLM-L6-v2", "dimension": 384}


async def test_text_search_without_the_provider_falls_back_to_keywords_or_names_the_model(model_db: str) -> None:
    server = build_server(Settings(uri=model_db, embedding_provider="none"))
    async with Client(server, raise_exceptions=True) as c:
        found = await ok(c, "milvus_search", collection_name="mem", text="violin concert", output_fields=["n"])
        assert found["anns_field"] == "text_sparse" and found["hits"][0]["entity"]["n"] == 3
        message = await fails(c, "milvus_search", collection_name="mem", text="violin", anns_field="text_dense")
        assert "all-MiniLM-L6-v2" in message and "--embedding-provider" in message
        message = await fails(c, "milvus_insert", collection_name="mem", rows=[{"text": "new"}])
        assert "all-MiniLM-L6-v2" in message


async def test_like_ids_uses_the_stored_embeddings_without_the_provider(model_db: str) -> None:
    server = build_server(Settings(uri=model_db, embedding_provider="none"))
    async with Client(server, raise_exceptions=True) as c:
        rows = (await ok(c, "milvus_query", collection_name="mem", filter="n < 99", limit=10))["rows"]
        key = {r["n"]: r["id"] for r in rows}
        found = await ok(c, "milvus_search", collection_name="mem", like_ids=[key[3]], output_fields=["n"])
        assert (found["anns_field"], found["metric_type"]) == ("text_dense", "COSINE")
        hits = found["results"][0]["hits"]
        assert sorted(h["entity"]["n"] for h in hits) == [0, 1, 2, 99]  # every other row, not the row itself
        words = await ok(c, "milvus_search", collection_name="mem", like_ids=[key[3]], anns_field="text_sparse")
        assert words["metric_type"] == "BM25" and key[3] not in [h["id"] for h in words["results"][0]["hits"]]


async def test_the_event_loop_stays_responsive_while_the_model_loads() -> None:
    """The model's import (torch: seconds under the GIL) happens in its own process."""
    import anyio

    from mcp_server_milvus.embeddings.local import LocalProvider

    provider = LocalProvider()
    gaps: list[float] = []

    async def tick() -> None:
        last = anyio.current_time()
        while True:
            await anyio.sleep(0.01)
            now = anyio.current_time()
            gaps.append(now - last)
            last = now

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        started = anyio.current_time()
        assert await provider.dimension() == 384
        loading = anyio.current_time() - started
        tg.cancel_scope.cancel()
    await provider.aclose()
    assert loading > 0.5  # a real load happened while the ticker ran
    assert max(gaps) < 0.25, (max(gaps), loading)


async def test_a_listing_answers_while_the_first_text_call_loads_the_model(tmp_path) -> None:
    """Through MCP: while a fresh server's first text call starts the model (seconds of imports), listings
    keep answering. A model loaded in the server's own process would hold every listing for the load."""
    import time

    import anyio

    server = build_server(Settings(uri=str(tmp_path / "m.db"), embedding_provider="local"))
    async with Client(server, raise_exceptions=True) as c:
        await ok(c, "milvus_list_collections")
        done = anyio.Event()
        took: list[float] = []
        loading: list[float] = []

        async def first_text_call() -> None:
            started = time.perf_counter()
            await ok(c, "milvus_create_collection", collection_name="t", text_field="text")
            loading.append(time.perf_counter() - started)
            done.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(first_text_call)
            while not done.is_set():
                started = time.perf_counter()
                await ok(c, "milvus_list_collections")
                took.append(time.perf_counter() - started)
                await anyio.sleep(0.05)
    assert loading[0] > 1.0, loading  # the model really loaded meanwhile
    assert len(took) >= 5 and max(took) < 1.0, (loading, took)


async def test_a_row_may_bring_its_own_embedding(tmp_path) -> None:
    server = build_server(Settings(uri=str(tmp_path / "m.db"), embedding_provider="local"))
    async with Client(server, raise_exceptions=True) as c:
        await ok(c, "milvus_create_collection", collection_name="t", text_field="text", enable_dynamic_field=False)
        own = [0.0] * 384
        own[0] = 1.0
        inserted = await ok(
            c, "milvus_insert", collection_name="t", rows=[{"text": "mine", "text_dense": own}, {"text": "filled"}]
        )
        assert inserted["insert_count"] == 2
        got = await ok(c, "milvus_query", collection_name="t", output_fields=["text", "text_dense"])
        vectors = {r["text"]: r["text_dense"] for r in got["rows"]}
        assert vectors["mine"][:2] == [1.0, 0.0] and vectors["filled"] != vectors["mine"]
        message = await fails(c, "milvus_insert", collection_name="t", rows=[{"text": "x", "text_dense": [1.0]}])
        assert "Row 0" in message and "384" in message
