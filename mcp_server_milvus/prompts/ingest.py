"""ingest_documents: load documents for retrieval, step by step, into a text collection."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from mcp_server_milvus.prompts.common import here


async def ingest_documents(
    ctx: Context,
    documents: Annotated[str, Field(description="What the documents are and where they come from.")],
    collection: Annotated[str | None, Field(description="Collection to create or fill (default: 'documents').")] = None,
) -> str:
    """Ingest documents for retrieval, step by step: a text collection, chunked inserts, a flush, a test search."""
    h = here(ctx)
    name = collection or "documents"
    writes = [t for t in ("milvus_create_collection", "milvus_insert", "milvus_flush") if not h.offers(t)]
    if writes:
        return (
            f"Documents to ingest: {documents}\n\nThis server cannot write: its operator turned writes off. "
            f"Check with milvus_describe_collection whether '{name}' already holds them, and say that ingesting "
            "needs a server that allows writes."
        )
    embedder = h.runtime.embedder
    if embedder is not None:
        kind = (
            f"a text collection: this server embeds text_field with {embedder.name} model {embedder.model} and "
            "adds BM25 keyword search, so rows carry only text and metadata"
        )
        query = "milvus_search with the question as text (hybrid dense + keyword)"
    else:
        kind = (
            "a BM25 text collection (no embedding provider is configured: keyword search only; for semantic "
            "search, give dense vectors of your own in the rows)"
        )
        query = "milvus_search with the question as text (BM25)"
    from_file = (
        " Chunks already in a JSONL, CSV or Parquet file in the import directory go in with one milvus_import "
        "call instead (field_map renames columns)."
        if h.offers("milvus_import")
        else ""
    )
    return (
        f"Ingest these documents for retrieval: {documents}\n\n"
        f"1. milvus_list_collections: if '{name}' exists, milvus_describe_collection it and reuse it.\n"
        f"2. Otherwise milvus_create_collection collection_name='{name}', text_field='text': {kind}.\n"
        "3. Split each document into chunks of a few hundred words; keep source and position as fields of "
        "each row (dynamic fields are on).\n"
        f"4. milvus_insert the rows in batches of at most a few hundred; check each result's count.{from_file}\n"
        "5. milvus_flush once after the last batch.\n"
        f"6. Test: {query}, and milvus_count to confirm every chunk arrived."
    )
