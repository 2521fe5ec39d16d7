"""design_collection: a schema for a described dataset, in the terms milvus_create_collection takes."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from mcp_server_milvus.prompts.common import here


async def design_collection(
    ctx: Context,
    dataset: Annotated[str, Field(description="The data to store and how it will be searched.")],
) -> str:
    """Design a Milvus collection for a described dataset: fields, vector or text fields, index, metric, partitions."""
    h = here(ctx)
    embedder = h.runtime.embedder
    if embedder is not None:
        text = (
            f"For text, prefer text_field: this server embeds it with {embedder.name} model {embedder.model} "
            "(dense vectors) and, by default, adds BM25 keyword search; rows then carry plain text."
        )
    else:
        text = (
            "For text, text_field gives a BM25 keyword-search collection (no embedding provider is configured, "
            "so dense vectors must come with the rows)."
        )
    if h.offers("milvus_create_collection"):
        finish = "Then create it with milvus_create_collection (quick setup, text_field, or fields + indexes)."
    else:
        finish = (
            "This server cannot create collections: give the design as fields, indexes and settings for its operator."
        )
    return (
        f"Design a Milvus collection for this dataset:\n{dataset}\n\n"
        "Decide and justify briefly:\n"
        "1. Primary key: INT64 (auto_id) or VARCHAR for ids the data already has.\n"
        "2. Scalar fields to filter on (BOOL, INT*, FLOAT/DOUBLE, VARCHAR with max_length, JSON, ARRAY).\n"
        "3. Vector fields: FLOAT_VECTOR with the embedding model's dimension; SPARSE_FLOAT_VECTOR for sparse.\n"
        f"   {text}\n"
        "4. Index and metric: AUTOINDEX or HNSW; COSINE for normalized text embeddings, L2 or IP when the model "
        "says so; BM25 for sparse text. Milvus Lite builds only FLAT, IVF_FLAT, IVF_SQ8, HNSW, HNSW_SQ, "
        "AUTOINDEX and sparse indexes.\n"
        "5. Partitions: a partition_key_field (e.g. tenant) when most searches filter on one value of it; "
        "otherwise none.\n"
        f"{finish}"
    )
