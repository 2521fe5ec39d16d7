"""Text collections: which fields hold a collection's text, its BM25 vectors and its dense embeddings.

A collection made with `text_field` records how it was built in the property `mcp_server_milvus.text`.
A collection built by hand has no record: its BM25 function, found in the schema, names the text and
sparse fields, whatever they are called. Search and insert ask this module, never a fixed field name.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus.embeddings.base import Embedded, EmbeddingError, Provider
from mcp_server_milvus.records import TEXT_PROPERTY
from mcp_server_milvus.schema_cache import CollectionInfo


@dataclass(frozen=True)
class TextSetup:
    """How a collection holds text: the VARCHAR field, and the vector fields made from it."""

    text_field: str
    sparse_field: str | None = None
    """Filled by a BM25 function from `text_field`."""
    dense_field: str | None = None
    """Filled by this server's embedding provider from `text_field`."""
    provider: str | None = None
    model: str | None = None
    dim: int | None = None

    def as_property(self) -> dict[str, str]:
        return {TEXT_PROPERTY: json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))}

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def recorded(info: CollectionInfo) -> TextSetup | None:
    """What this server recorded at create, if the fields it names are still there."""
    try:
        found = json.loads(info.properties.get(TEXT_PROPERTY) or "null")
    except (TypeError, ValueError):
        return None
    if not isinstance(found, dict) or not isinstance(found.get("text_field"), str):
        return None
    known = {k: found.get(k) for k in TextSetup.__dataclass_fields__}
    setup = TextSetup(**known)
    names = set(info.field_names)
    if setup.text_field not in names:
        return None
    sparse = setup.sparse_field if setup.sparse_field in names else None
    dense = setup.dense_field if setup.dense_field in names else None
    return TextSetup(setup.text_field, sparse, dense, setup.provider, setup.model, setup.dim)


def bm25_fields(info: CollectionInfo) -> list[tuple[str, str]]:
    """(text field, sparse field) for each BM25 function in the schema."""
    return [
        (fn["input_field_names"][0], fn["output_field_names"][0])
        for fn in info.functions
        if fn.get("type") == "BM25" and fn.get("input_field_names") and fn.get("output_field_names")
    ]


def setup_of(info: CollectionInfo) -> TextSetup | None:
    """The collection's text setup: the recorded one, else the first BM25 function's fields."""
    found = recorded(info)
    if found is not None:
        return found
    functions = bm25_fields(info)
    if not functions:
        return None
    text_field, sparse_field = functions[0]
    return TextSetup(text_field=text_field, sparse_field=sparse_field)


def _refusal(exc: EmbeddingError) -> ToolError:
    return ToolError(str(exc))


async def embedding_dimension(provider: Provider) -> int:
    """The provider's dimension (which may start its model), its failure said to the agent."""
    try:
        return await provider.dimension()
    except EmbeddingError as exc:
        raise _refusal(exc) from None


async def embed(provider: Provider, texts: list[str]) -> Embedded:
    """Vectors for `texts`, its failure said to the agent."""
    try:
        return await provider.embed(texts)
    except EmbeddingError as exc:
        raise _refusal(exc) from None


def dense_provider(setup: TextSetup, provider: Provider | None, collection: str) -> Provider:
    """The provider that may fill or query `setup.dense_field`: the one configured, with the model the
    field was made with (vectors of two models are not comparable, even of one dimension)."""
    if provider is None:
        raise ToolError(
            f"'{setup.dense_field}' of '{collection}' holds embeddings of {setup.provider or 'an embedding'} model "
            f"{setup.model or '(unknown)'}, and this server has no embedding provider; start it with "
            "--embedding-provider (and --embedding-model) to match, or pass vectors."
        )
    if setup.model is not None and (setup.provider, setup.model) != (provider.name, provider.model):
        raise ToolError(
            f"'{setup.dense_field}' of '{collection}' was made with {setup.provider} model '{setup.model}', but "
            f"this server embeds with {provider.name} model '{provider.model}'; start it with that model, or "
            "pass vectors."
        )
    return provider


async def fill_embeddings(
    setup: TextSetup, provider: Provider | None, collection: str, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str | None]:
    """Rows with their dense field filled from their text (rows that bring a vector keep it), and a
    warning naming the rows whose text was longer than the model reads."""
    dense, text = setup.dense_field, setup.text_field
    assert dense is not None
    todo = [i for i, row in enumerate(rows) if dense not in row and isinstance(row.get(text), str)]
    if not todo:
        return rows, None
    model = dense_provider(setup, provider, collection)
    embedded = await embed(model, [rows[i][text] for i in todo])
    filled = list(rows)
    for i, vector in zip(todo, embedded.vectors, strict=True):
        filled[i] = {**rows[i], dense: vector}
    if not embedded.cut:
        return filled, None
    cut = [todo[j] for j in embedded.cut]
    window = f"its first {embedded.max_tokens} tokens" if embedded.max_tokens else "its beginning"
    shown = ", ".join(str(i) for i in cut[:20]) + (", ..." if len(cut) > 20 else "")
    return filled, (
        f"{len(cut)} texts (rows {shown}) are longer than model '{model.model}' reads: its embedding covers only "
        f"{window}, while keyword search sees all of it. Split long texts into several rows to search them whole."
    )
