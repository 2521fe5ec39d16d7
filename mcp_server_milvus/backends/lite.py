"""Milvus Lite (the embedded default, `milvus_lite` 3.2): where it differs from a Milvus server.

Each difference was measured with pymilvus 3.0.2 and milvus-lite 3.2.2 (../shared/notes/milvus-lite.md).
"""

from __future__ import annotations

import importlib.util
import json
import logging
from typing import Any, ClassVar, Literal

from mcp_server_milvus import DISTRIBUTION
from mcp_server_milvus.backends.base import Backend, partition_stats_total
from mcp_server_milvus.compat import INTERNALS, wait_for_index
from mcp_server_milvus.failures import Failure, Op, grpc_status, milvus_code
from mcp_server_milvus.schema_cache import CollectionInfo

logger = logging.getLogger(__name__)

VECTOR_INDEXES = frozenset(
    {"AUTOINDEX", "FLAT", "HNSW", "HNSW_SQ", "IVF_FLAT", "IVF_SQ8", "SPARSE_INVERTED_INDEX", "SPARSE_WAND"}
)
"""Vector index types Lite builds. It also accepts DISKANN, SCANN, IVF_PQ and any other name at
create_index, and then cannot load the collection after a flush ("reserved for a future phase")."""

FIELD_TYPES_LACKING = frozenset({"BINARY_VECTOR", "FLOAT16_VECTOR", "BFLOAT16_VECTOR", "INT8_VECTOR"})

ANALYZERS: dict[str, dict[str, Any]] = {"standard": {"type": "standard"}, "chinese": {"tokenizer": "jieba"}}
"""Lite's analyzers: its tokenizers are 'standard' and 'jieba' ("unknown tokenizer type: 'english'
(supported: 'standard', 'jieba')", code 6, for {"type": "english"} or {"type": "chinese"}). The jieba
tokenizer imports the `jieba` package in the process that runs Lite, and without it create_collection
fails (code 1) after nothing was created."""

KEY_PARTITIONS = 16
"""Lite gives a partition key 16 partitions (`_pk_0` to `_pk_15`, beside `_default`) whatever
num_partitions asks, and describe_collection counts all 17. It keeps to the key otherwise: rows go by
their key, a filter on it finds them, a row without it is refused, and create_partition and
drop_partition are refused (code 6). It accepts `partition_name` on insert, upsert and delete, which a
Milvus server refuses; this server refuses it on both."""

DELETE_BATCH = 1000
"""Keys per delete when a partition's rows are deleted by key."""

_CODES: dict[tuple[Op | None, int], Failure] = {
    (Op.DESCRIBE, 6): Failure.DATABASE_MISSING,
    (Op.LIST_COLLECTIONS, 1): Failure.DATABASE_MISSING,
    (Op.READ, 6): Failure.BAD_FILTER,
    (Op.CREATE_INDEX, 35): Failure.INDEX_EXISTS,
    (Op.DROP_INDEX, 700): Failure.INDEX_MISSING,
    (Op.DESCRIBE_INDEX, 700): Failure.INDEX_MISSING,
}
"""Lite reuses codes: 6 is a bad filter for a read but a missing database for a describe (and a wrong
dimension, an over-long VARCHAR or a full database elsewhere); 1 covers "already exists", invalid names
and unsupported index types."""


class LiteBackend(Backend):
    kind: ClassVar[Literal["milvus-lite"]] = "milvus-lite"
    lists_load_states: ClassVar[bool] = True
    answers_during_builds: ClassVar[bool] = False
    """Lite builds an index inside its CreateIndex call and answers no other call meanwhile: a describe_index
    sent during a 10 s HNSW build of 20,000 flushed rows waited for the build to end (unflushed rows build
    at once). So a build reports its start and its end only."""

    def _classify(self, exc: BaseException, op: Op | None) -> Failure | None:
        code = milvus_code(exc)
        return None if code is None else _CODES.get((op, code))

    async def row_count(self, client: Any, collection: str, timeout: float) -> int:
        """Lite's collection statistics count every row, unflushed ones included."""
        stats = await client.get_collection_stats(collection, timeout=timeout)
        return int(stats.get("row_count", 0))

    async def partition_row_count(self, client: Any, collection: str, partitions: list[str], timeout: float) -> int:
        """Lite's count(*) with an empty filter ignores `partition_names` and counts the whole collection;
        its partition statistics are exact, unflushed rows included."""
        return await partition_stats_total(client, collection, partitions, timeout)

    async def list_collections(self, client: Any, timeout: float) -> tuple[list[str], dict[str, str]]:
        """The names with their load states, from one ShowCollections RPC.

        Lite answers ShowCollections with each collection's `inMemory_percentages` (100 when loaded),
        which pymilvus 3.0.2's `list_collections` drops. Reading them takes pymilvus internals; should
        those change, the listing falls back to the public call and the caller asks for load states.
        """
        try:
            states = await show_collections(client, timeout)
        except INTERNALS as exc:
            logger.warning("Reading load states with the listing failed (%s); asking for them one by one", exc)
            return list(await client.list_collections(timeout=timeout)), {}
        return list(states), states

    def score(self, metric: str | None, distance: float) -> float:
        """Lite returns BM25 distances negated (the order is right): the score is their size."""
        return abs(distance) if metric == "BM25" else super().score(metric, distance)

    def unsupported_search_params(self, params: dict[str, Any]) -> str | None:
        """Lite searches sparse fields exactly: any drop_ratio_search but 0 fails with a code it also uses
        for bad filters."""
        ratio = params.get("drop_ratio_search")
        if ratio is None or ratio == 0:
            return None
        return (
            f"Milvus Lite ({self.version}) searches sparse fields only with drop_ratio_search 0 (exact); leave it "
            "out, or use a Milvus server"
        )

    def ordered_scan(self) -> dict[str, Any]:
        """Lite returns a plain `id > last` query in insertion order; these flags (strings: bools raise
        TypeError in pymilvus) make it sort by primary key, as a Milvus server always does."""
        return {"iterator": "True", "reduce_stop_for_best": "True"}

    async def create_index(
        self, client: Any, collection: str, field_name: str, params: dict[str, Any], index_name: str, timeout: float
    ) -> None:
        """pymilvus 3.0.2 + milvus-lite 3.2.2: `AsyncMilvusClient.create_index` creates the index, then fails
        with gRPC UNIMPLEMENTED from `alloc_timestamp()`, which pymilvus guards with a synchronous
        `ignore_unimplemented` decorator that cannot catch an async error. The index exists by then, so on
        UNIMPLEMENTED wait for it through `describe_index`."""
        try:
            await super().create_index(client, collection, field_name, params, index_name, timeout)
        except Exception as exc:
            if grpc_status(exc) != "UNIMPLEMENTED":
                raise
            await wait_for_index(client, collection, index_name, timeout)

    async def delete(self, client: Any, info: CollectionInfo, expr: str, partition: str | None, timeout: float) -> None:
        """Lite's delete ignores `partition_name` and deletes the matching rows of every partition. So the
        partition's matching keys are read first and deleted by key: a key is unique across a Lite
        collection (an insert of an existing key overwrites it, in whichever partition it was), so deleting
        a key deletes exactly the partition's row."""
        if partition is None:
            return await super().delete(client, info, expr, None, timeout)
        key = info.primary.name
        seen: set[Any] = set()
        while True:
            rows = await client.query(
                info.name,
                filter=expr,
                output_fields=[key],
                partition_names=[partition],
                limit=DELETE_BATCH,
                consistency_level="Strong",
                timeout=timeout,
            )
            keys = [row[key] for row in rows if row[key] not in seen]
            if not keys:  # none left, or Lite did not delete the last ones: the caller counts again
                return
            seen.update(keys)
            await client.delete(info.name, filter=f"{key} in {json.dumps(keys, ensure_ascii=False)}", timeout=timeout)

    async def drop_partition(self, client: Any, collection: str, partition: str, timeout: float) -> None:
        """Lite drops a loaded partition as it is, and has no ReleasePartitions (UNIMPLEMENTED)."""
        await client.drop_partition(collection, partition, timeout=timeout)

    async def after_rename(self, client: Any, new_name: str, was_loaded: bool, timeout: float) -> None:
        """Lite leaves a renamed collection released."""
        if was_loaded:
            await client.load_collection(new_name, timeout=timeout)

    def unsupported_index(self, index_type: str) -> str | None:
        if index_type in VECTOR_INDEXES:
            return None
        builds = ", ".join(sorted(VECTOR_INDEXES))
        return f"Milvus Lite ({self.version}) cannot build {index_type} vector indexes; it builds {builds}"

    def unsupported_field_type(self, type_name: str) -> str | None:
        if type_name not in FIELD_TYPES_LACKING:
            return None
        return f"Milvus Lite ({self.version}) does not support {type_name}; use FLOAT_VECTOR, or a Milvus server"

    def analyzer_params(self, name: str) -> dict[str, Any] | str:
        params = ANALYZERS.get(name)
        if params is None:
            return (
                f"Milvus Lite ({self.version}) has no '{name}' analyzer; it knows 'standard' and 'chinese' (its jieba "
                "tokenizer). Use one of those, or a Milvus server 2.5 or newer"
            )
        if params.get("tokenizer") == "jieba" and importlib.util.find_spec("jieba") is None:
            return (
                f"Milvus Lite's '{name}' analyzer needs the jieba package: install it "
                f"(pip install '{DISTRIBUTION}[chinese]') and restart the server"
            )
        return params

    def unsupported_num_partitions(self, num_partitions: int) -> str | None:
        if num_partitions == KEY_PARTITIONS:
            return None
        return (
            f"Milvus Lite ({self.version}) always makes {KEY_PARTITIONS} partitions for a partition key; leave "
            "num_partitions out, or use a Milvus server"
        )

    def key_partitions(self, reported: int | None) -> int | None:
        """Lite's count includes `_default`, where the key sends no row."""
        return None if reported is None else reported - 1

    @property
    def describe_keeps_params(self) -> bool:
        """Lite's describe_index drops the build parameters (HNSW M, efConstruction), and its
        describe_collection an ARRAY<VARCHAR> field's element max_length."""
        return False

    def flush_pending(self, indexes: Any) -> bool | None:
        """Lite reports no pending index rows."""
        return None


async def show_collections(client: Any, timeout: float) -> dict[str, str]:
    """Names and load states from ShowCollections, through pymilvus 3.0.2 internals (tested in
    tests/test_compat.py, which fails loudly when they change)."""
    from pymilvus.client.call_context import _api_level_md
    from pymilvus.client.prepare import Prepare
    from pymilvus.client.utils import check_status

    conn = await client._get_connection()
    response = await conn._async_stub.ShowCollections(
        Prepare.show_collections_request(),
        timeout=timeout,
        metadata=_api_level_md(client._generate_call_context()),
    )
    check_status(response.status)
    percentages = list(response.inMemory_percentages)
    return {
        name: "Loaded" if i < len(percentages) and percentages[i] >= 100 else "NotLoad"
        for i, name in enumerate(response.collection_names)
    }
