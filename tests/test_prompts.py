"""Prompts and completions, through a real MCP client in both protocol modes, on a real Milvus Lite.

Each prompt is checked for the facts it states about a real collection (its fields, types, index, metric,
load state, sample rows, recorded embedding model), and for naming only tools the server offers.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, PromptReference, ResourceTemplateReference

from mcp_server_milvus.config import Settings
from mcp_server_milvus.embeddings.base import Embedded, Provider
from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.server import MilvusServer, build_server
from tests.conftest import ok

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]
WRITE_TOOLS = ("milvus_insert", "milvus_create_collection", "milvus_flush", "milvus_delete", "milvus_upsert")
TEMPLATE = ResourceTemplateReference(uri="milvus://collections/{name}{?database}")


class Hashed(Provider):
    """A deterministic embedding provider: vectors from a hash of the text, no model to load."""

    name = "hashed"

    def __init__(self, model: str) -> None:
        self.model = model

    async def dimension(self) -> int:
        return 8

    async def embed(self, texts: list[str]) -> Embedded:
        return Embedded([[b / 255 + 0.01 for b in hashlib.sha256(t.encode()).digest()[:8]] for t in texts])

    async def aclose(self) -> None:
        pass


@asynccontextmanager
async def serving(db_path: str, mode: str, embedder: Provider | None = None, **operator: Any) -> AsyncIterator[Client]:
    settings = Settings(uri=db_path, embedding_provider="none", **operator)
    server = MilvusServer(Runtime(settings, embedder)) if embedder else build_server(settings)
    async with Client(server, raise_exceptions=True, mode=mode) as c:  # type: ignore[arg-type]
        yield c


async def make_books(client: Client, rows: int = 2) -> None:
    """'books': VARCHAR key, INT32 year, JSON meta, ARRAY tags, a 4-d vector with HNSW/L2."""
    await ok(
        client,
        "milvus_create_collection",
        collection_name="books",
        fields=[
            {"name": "isbn", "type": "VARCHAR", "is_primary": True, "max_length": 32},
            {"name": "year", "type": "INT32"},
            {"name": "meta", "type": "JSON"},
            {"name": "tags", "type": "ARRAY", "element_type": "VARCHAR", "max_capacity": 8, "max_length": 16},
            {"name": "embedding", "type": "FLOAT_VECTOR", "dim": 4},
        ],
        indexes=[{"field_name": "embedding", "index_type": "HNSW", "metric_type": "L2"}],
    )
    if rows:
        await ok(
            client,
            "milvus_insert",
            collection_name="books",
            rows=[
                {
                    "isbn": f"isbn-{i}",
                    "year": 1990 + i,
                    "meta": {"lang": "en"},
                    "tags": ["sf"],
                    "embedding": [i + 1.0] * 4,
                    "publisher": "acme",
                }
                for i in range(rows)
            ],
        )


async def text_of(client: Client, name: str, **arguments: str) -> str:
    result = await client.get_prompt(name, arguments)
    assert len(result.messages) == 1 and result.messages[0].role == "user"
    return result.messages[0].content.text  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", MODES)
async def test_every_prompt_is_listed_with_its_arguments(db_path: str, mode: str) -> None:
    async with serving(db_path, mode) as client:
        listed = {
            p.name: {a.name: a.required for a in p.arguments or []} for p in (await client.list_prompts()).prompts
        }
        assert listed == {
            "design_collection": {"dataset": True},
            "ingest_documents": {"documents": True, "collection": False},
            "explore_collection": {"collection": True, "database": False},
            "write_filter": {"collection": True, "goal": True, "field": False, "database": False},
            "diagnose_search": {"collection": True, "problem": False, "database": False},
        }
        capabilities = client.server_capabilities
        assert capabilities is not None and capabilities.completions is not None and capabilities.prompts is not None


@pytest.mark.parametrize("mode", MODES)
async def test_write_filter_names_the_real_fields_and_types(db_path: str, mode: str) -> None:
    async with serving(db_path, mode) as client:
        await make_books(client)
        text = await text_of(client, "write_filter", collection="books", goal="books after 1990 in English")
        assert "selects: books after 1990 in English" in text
        for line in (
            "- isbn: VARCHAR(max_length 32) [primary key]",
            "- year: INT32",
            "- meta: JSON",
            "- tags: ARRAY(max_length 16, of VARCHAR)",
            "- embedding: FLOAT_VECTOR(dim 4)",
            "(dynamic fields are on",
        ):
            assert line in text, line
        assert 'isbn in ["a", "b"] and year > 10' in text  # the example uses this collection's own fields
        focused = await text_of(client, "write_filter", collection="books", goal="recent", field="year")
        assert "(mostly on field 'year')" in focused
        with pytest.raises(MCPError) as caught:
            await client.get_prompt("write_filter", {"collection": "books", "goal": "x", "field": "yeer"})
        assert caught.value.code == INVALID_PARAMS and "Did you mean 'year'?" in caught.value.error.message


@pytest.mark.parametrize("mode", MODES)
async def test_explore_shows_samples_only_from_a_loaded_collection(db_path: str, mode: str) -> None:
    async with serving(db_path, mode) as client:
        await make_books(client, rows=2)
        await ok(client, "milvus_flush", collection_name="books")
        text = await text_of(client, "explore_collection", collection="books")
        assert "Collection 'books' in database 'default' (loaded). About 2 rows." in text
        assert "- embedding: HNSW, metric L2" in text
        assert '"isbn": "isbn-0"' in text and '"year": 1990' in text and '"tags": ["sf"]' in text
        assert '"publisher": "acme"' in text  # a dynamic key
        assert "embedding" not in text.split("Sample rows")[1]  # vectors left out
        await ok(client, "milvus_release_collection", collection_name="books")
        released = await text_of(client, "explore_collection", collection="books")
        assert "(not loaded)" in released and "not shown, the collection is not loaded" in released
        assert "isbn-0" not in released
        state = await ok(client, "milvus_describe_collection", collection_name="books")
        assert state["load_state"] == "NotLoad"  # rendering did not load it


@pytest.mark.parametrize("mode", MODES)
async def test_diagnose_states_index_metric_load_state_and_flush(db_path: str, mode: str) -> None:
    async with serving(db_path, mode) as client:
        await make_books(client, rows=0)
        text = await text_of(client, "diagnose_search", collection="books", problem="irrelevant hits")
        assert text.startswith("Diagnose poor search results on 'books': irrelevant hits")
        assert "- embedding: HNSW, metric L2" in text and "Load state: loaded." in text
        assert "milvus_flush seals them." in text
        assert "embedded with" not in text  # no text setup recorded: no model to compare


@pytest.mark.parametrize("mode", MODES)
async def test_diagnose_names_an_embedding_model_mismatch(db_path: str, mode: str) -> None:
    async with serving(db_path, mode, embedder=Hashed("hash-a")) as client:
        await ok(client, "milvus_create_collection", collection_name="notes", text_field="body")
        same = await text_of(client, "diagnose_search", collection="notes")
        assert "embedded with hash-a, the model this server uses: no mismatch" in same
    async with serving(db_path, mode, embedder=Hashed("hash-b")) as client:
        text = await text_of(client, "diagnose_search", collection="notes")
        assert "Embedding model mismatch:" in text and "with hash-a" in text and "queries with hash-b" in text
    async with serving(db_path, mode) as client:
        text = await text_of(client, "diagnose_search", collection="notes")
        assert "embedded with hashed model hash-a; this server has no provider configured" in text


@pytest.mark.parametrize("mode", MODES)
async def test_design_and_ingest_follow_the_embedding_provider(db_path: str, mode: str) -> None:
    async with serving(db_path, mode) as client:
        design = await text_of(client, "design_collection", dataset="support tickets with a product id")
        assert "support tickets with a product id" in design
        assert "BM25 keyword-search collection (no embedding provider is configured" in design
        ingest = await text_of(client, "ingest_documents", documents="the product manuals")
        assert "collection_name='documents', text_field='text': a BM25 text collection" in ingest
        assert "milvus_insert" in ingest and "milvus_flush" in ingest
    async with serving(db_path, mode, embedder=Hashed("hash-a")) as client:
        design = await text_of(client, "design_collection", dataset="tickets")
        assert "this server embeds it with hashed model hash-a" in design
        ingest = await text_of(client, "ingest_documents", documents="manuals", collection="manuals")
        assert "collection_name='manuals', text_field='text': a text collection" in ingest
        assert "hashed model hash-a" in ingest


@pytest.mark.parametrize("mode", MODES)
async def test_read_only_prompts_name_no_write_tool(db_path: str, mode: str) -> None:
    async with serving(db_path, mode) as admin:
        await make_books(admin)
    async with serving(db_path, mode, read_only=True) as client:
        offered = {t.name for t in (await client.list_tools()).tools}
        texts = {
            "design_collection": await text_of(client, "design_collection", dataset="tickets"),
            "ingest_documents": await text_of(client, "ingest_documents", documents="manuals"),
            "explore_collection": await text_of(client, "explore_collection", collection="books"),
            "write_filter": await text_of(client, "write_filter", collection="books", goal="old books"),
            "diagnose_search": await text_of(client, "diagnose_search", collection="books"),
        }
        for name, text in texts.items():
            named = {w for w in (word.strip(".,:;()'`") for word in text.split()) if w.startswith("milvus_")}
            assert named <= offered, (name, text)
            assert not any(w in text for w in WRITE_TOOLS), (name, text)
        assert "This server cannot write" in texts["ingest_documents"]
        assert "This server cannot create collections" in texts["design_collection"]
        assert "this server cannot flush" in texts["diagnose_search"]


@pytest.mark.parametrize("mode", MODES)
async def test_hidden_or_unknown_collection_is_a_protocol_error(db_path: str, mode: str) -> None:
    async with serving(db_path, mode) as admin:
        await make_books(admin, rows=0)
        await ok(admin, "milvus_create_collection", collection_name="secret", dimension=4)
    async with serving(db_path, mode, collections=["books"]) as client:
        for name in ("secret", "nope"):
            for prompt in ("explore_collection", "write_filter", "diagnose_search"):
                with pytest.raises(MCPError) as caught:
                    extra = {"goal": "x"} if prompt == "write_filter" else {}
                    await client.get_prompt(prompt, {"collection": name, **extra})
                message = caught.value.error.message
                assert caught.value.code == INVALID_PARAMS
                assert message.startswith(f"Collection '{name}' does not exist in database 'default'."), message
                assert "secret" not in message.replace(f"'{name}'", "")  # the hidden one is never listed


@pytest.mark.parametrize("mode", MODES)
async def test_completions(db_path: str, mode: str) -> None:
    async with serving(db_path, mode) as admin:
        await make_books(admin, rows=0)
        await ok(admin, "milvus_create_collection", collection_name="blogs", dimension=4)
        await ok(admin, "milvus_create_collection", collection_name="secret", dimension=4)
        await ok(admin, "milvus_create_partition", collection_name="books", partition_name="y2020")
    async with serving(db_path, mode, collections=["b*"]) as client:
        explore = PromptReference(name="explore_collection")

        async def values(ref: Any, name: str, value: str, **given: str) -> list[str]:
            result = await client.complete(ref, {"name": name, "value": value}, given or None)
            return result.completion.values

        assert sorted(await values(explore, "collection", "")) == ["blogs", "books"]  # 'secret' is hidden
        assert await values(explore, "collection", "bo") == ["books"]
        assert await values(TEMPLATE, "name", "bl") == ["blogs"]
        assert await values(explore, "collection", "s") == []
        filt = PromptReference(name="write_filter")
        assert await values(filt, "field", "", collection="books") == ["isbn", "year", "meta", "tags", "embedding"]
        assert await values(filt, "field", "y", collection="books") == ["year"]
        assert await values(filt, "field", "", collection="secret") == []  # hidden: nothing to complete
        assert await values(filt, "field", "") == []  # no collection given yet
        assert await values(explore, "database", "") == ["default"]
        assert await values(TEMPLATE, "database", "d") == ["default"]
        assert set(await values(explore, "partition", "", collection="books")) == {"_default", "y2020"}
        design = PromptReference(name="design_collection")
        assert await values(design, "metric_type", "") == ["COSINE", "L2", "IP", "BM25", "HAMMING", "JACCARD"]
        assert await values(design, "metric_type", "c") == ["COSINE"]
        assert "HNSW" in await values(design, "index_type", "h")
        assert await values(design, "dataset", "") == []


@pytest.mark.parametrize("mode", MODES)
async def test_hidden_database_is_neither_rendered_nor_completed(db_path: str, mode: str) -> None:
    async with serving(db_path, mode) as admin:
        await ok(admin, "milvus_create_database", database_name="private")
        await ok(admin, "milvus_create_collection", collection_name="books", dimension=4, database="private")
        assert (await admin.complete(TEMPLATE, {"name": "database", "value": "p"})).completion.values == ["private"]
    async with serving(db_path, mode, databases=["default"]) as client:
        with pytest.raises(MCPError) as caught:
            await client.get_prompt("explore_collection", {"collection": "books", "database": "private"})
        assert caught.value.code == INVALID_PARAMS
        assert caught.value.error.message.startswith("Database 'private' does not exist."), caught.value.error.message
        assert (await client.complete(TEMPLATE, {"name": "database", "value": ""})).completion.values == ["default"]
        given = {"database": "private"}
        completed = await client.complete(TEMPLATE, {"name": "name", "value": ""}, given)
        assert completed.completion.values == []
