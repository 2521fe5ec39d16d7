"""Completions for prompt arguments and resource-template variables, chosen by the argument's name.

The SDK calls one handler for every completion, with (ref, argument, context) and no request context, so
the handler is a closure over the server's `Runtime`. Names come through the runtime and its visibility
rules: a hidden collection or database is never offered. Completing is a convenience: when Milvus cannot
answer (a missing database, an unknown collection) the answer is an empty list, not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, get_args

from mcp_types import Completion, CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.tools.create import MetricType

logger = logging.getLogger(__name__)

MAX_VALUES = 100
"""The most values one completion may carry (the MCP specification's limit)."""

METRIC_TYPES: tuple[str, ...] = get_args(get_args(MetricType)[0])
INDEX_TYPES = (
    "AUTOINDEX",
    "FLAT",
    "HNSW",
    "HNSW_SQ",
    "HNSW_PQ",
    "HNSW_PRQ",
    "IVF_FLAT",
    "IVF_SQ8",
    "IVF_PQ",
    "DISKANN",
    "SCANN",
    "BIN_FLAT",
    "BIN_IVF_FLAT",
    "SPARSE_INVERTED_INDEX",
    "SPARSE_WAND",
    "INVERTED",
    "STL_SORT",
    "TRIE",
    "BITMAP",
)
"""Vector and scalar index types Milvus knows (Milvus Lite builds fewer: its refusal names them)."""

COLLECTION_ARGS = frozenset({"collection", "collection_name", "name"})
"""`name` is the collection variable of the template milvus://collections/{name}{?database}."""
FIELD_ARGS = frozenset({"field", "field_name", "anns_field"})
PARTITION_ARGS = frozenset({"partition", "partition_name"})

Ref = PromptReference | ResourceTemplateReference
Handler = Callable[[Ref, CompletionArgument, CompletionContext | None], Awaitable[Completion | None]]


def handler(rt: Runtime) -> Handler:
    """The completion handler of a server whose shared state is `rt`."""

    async def complete(ref: Ref, argument: CompletionArgument, context: CompletionContext | None) -> Completion | None:
        given: dict[str, Any] = dict(context.arguments or {}) if context else {}
        name, prefix = argument.name, argument.value
        database = given.get("database") or None
        collection = next((given[a] for a in COLLECTION_ARGS if given.get(a)), None)
        if name in COLLECTION_ARGS:
            found = await _ask(rt, database, rt.collections)
        elif name == "database":
            found = await _ask(rt, None, lambda s: _databases(rt, s))
        elif name in FIELD_ARGS and collection:
            found = await _ask(rt, database, lambda s: _fields(rt, s, collection))
        elif name in PARTITION_ARGS and collection:
            found = await _ask(rt, database, lambda s: _partitions(rt, s, collection))
        elif name in ("metric_type", "metric"):
            found = list(METRIC_TYPES)
        elif name == "index_type":
            found = list(INDEX_TYPES)
        else:
            return None
        return matching(found, prefix)

    return complete


def matching(values: list[str], prefix: str) -> Completion:
    """The values that start with `prefix` (case-insensitively), at most `MAX_VALUES` of them."""
    hits = [v for v in values if v.lower().startswith(prefix.lower())]
    return Completion(values=hits[:MAX_VALUES], total=len(hits), has_more=len(hits) > MAX_VALUES)


async def _ask(rt: Runtime, database: str | None, op: Callable[[Session], Awaitable[list[str]]]) -> list[str]:
    try:
        return await rt.run(database, "complete an argument", op)
    except Exception:
        logger.debug("No completion: Milvus could not answer", exc_info=True)
        return []


async def _databases(rt: Runtime, session: Session) -> list[str]:
    return rt.visibility.visible_databases(await session.client.list_databases(timeout=rt.timeout))


async def _fields(rt: Runtime, session: Session, collection: str) -> list[str]:
    info, _ = await rt.schema(session, collection)
    return info.field_names


async def _partitions(rt: Runtime, session: Session, collection: str) -> list[str]:
    info, _ = await rt.schema(session, collection)  # a hidden collection is refused here
    return list(await session.client.list_partitions(info.name, timeout=rt.timeout))
