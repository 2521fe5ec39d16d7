"""diagnose_search: why a collection's search results are poor, from its live state."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from mcp_server_milvus.embeddings.base import Provider
from mcp_server_milvus.prompts.common import (
    CollectionArg,
    DatabaseArg,
    fields_block,
    header,
    here,
    indexes_block,
    on_session,
    schema,
)
from mcp_server_milvus.schema_cache import CollectionInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.text import setup_of


async def diagnose_search(
    ctx: Context,
    collection: CollectionArg,
    problem: Annotated[str | None, Field(description="What is wrong with the results, in words.")] = None,
    database: DatabaseArg = None,
) -> str:
    """Diagnose poor search results: index, metric, load state, unflushed data, filters, embedding model."""
    h = here(ctx)
    rt = h.runtime

    async def op(session: Session) -> CollectionInfo:
        return await schema(rt, session, collection)

    info = await on_session(rt, database, f"describe collection '{collection}'", op)
    checks = [
        "Index and metric above: a metric other than the embedding model's (usually COSINE) ranks wrongly; "
        "a vector field with NO INDEX cannot be searched.",
        "Load state: "
        + ("loaded." if info.loaded else "not loaded; searches load it on demand unless it was released."),
        "Unflushed rows: milvus_describe_collection shows flush_pending; "
        + ("milvus_flush seals them." if h.offers("milvus_flush") else "this server cannot flush: ask its operator."),
        "Filters: run the filter alone with milvus_count; zero or few matches starve the search.",
        "Query vectors: same model, dimension and normalization as the stored ones.",
    ]
    setup = setup_of(info)
    if setup is not None:
        checks.append(embedding_check(setup.model, setup.provider, setup.dense_field, rt.embedder))
    numbered = "\n".join(f"{i}. {c}" for i, c in enumerate(checks, 1))
    return (
        f"Diagnose poor search results on '{info.name}'" + (f": {problem}" if problem else ".") + "\n\n"
        f"{header(info)}\nFields:\n{fields_block(info)}\nVector indexes:\n{indexes_block(info)}\n\n"
        f"Check in order:\n{numbered}\nName the likeliest cause and the fix."
    )


def embedding_check(model: str | None, provider: str | None, dense: str | None, embedder: Provider | None) -> str:
    """What the recorded text setup says about the model that made the stored vectors."""
    if dense is None or model is None:
        return "Text: BM25 keyword search only; words absent from the text never match (no semantic search)."
    current = embedder.model if embedder is not None else None
    if current is None:
        return f"Text: '{dense}' was embedded with {provider} model {model}; this server has no provider configured."
    if current != model:
        return (
            f"Embedding model mismatch: '{dense}' was embedded with {model}, this server embeds queries with "
            f"{current}; the scores are meaningless."
        )
    return f"Text: '{dense}' was embedded with {model}, the model this server uses: no mismatch."
