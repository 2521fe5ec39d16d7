"""A Milvus server (standalone, cluster or Zilliz Cloud): where it differs from Milvus Lite.

Measured against Milvus 2.3.5 through pymilvus 3.0.2; newer servers keep these codes.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from mcp_server_milvus.backends.base import Backend, partition_stats_total
from mcp_server_milvus.failures import Failure, Op, common, milvus_code

DATABASE_NOT_FOUND = 800
INDEX_NOT_FOUND = 700
UNEXPECTED = 65535
"""The server's catch-all. For a read it is a bad filter once every other argument was checked here; for
create_index it covers an existing index and bad parameters alike (the schema is refetched instead)."""

_CODES: dict[tuple[Op | None, int], Failure] = {
    (Op.READ, UNEXPECTED): Failure.BAD_FILTER,
    (Op.DROP_INDEX, INDEX_NOT_FOUND): Failure.INDEX_MISSING,
    (Op.DESCRIBE_INDEX, INDEX_NOT_FOUND): Failure.INDEX_MISSING,
}


class ServerBackend(Backend):
    kind: ClassVar[Literal["milvus-server"]] = "milvus-server"
    lists_load_states: ClassVar[bool] = False

    def _classify(self, exc: BaseException, op: Op | None) -> Failure | None:
        code = milvus_code(exc)
        if code == DATABASE_NOT_FOUND:
            return Failure.DATABASE_MISSING
        return None if code is None else _CODES.get((op, code))

    async def row_count(self, client: Any, collection: str, timeout: float) -> int:
        """A server's collection statistics count flushed segments only, so a loaded collection is
        counted with a Strong count(*) query; one that is not loaded falls back to the statistics."""
        found = await _loaded_count(client, collection, None, timeout)
        if found is not None:
            return found
        stats = await client.get_collection_stats(collection, timeout=timeout)
        return int(stats.get("row_count", 0))

    async def partition_row_count(self, client: Any, collection: str, partitions: list[str], timeout: float) -> int:
        """As `row_count`, within `partitions`: a Strong count(*) while loaded, else the sum of the
        partitions' statistics."""
        found = await _loaded_count(client, collection, partitions, timeout)
        return found if found is not None else await partition_stats_total(client, collection, partitions, timeout)

    async def list_collections(self, client: Any, timeout: float) -> tuple[list[str], dict[str, str]]:
        """A server keeps no load percentages for a plain listing: the caller asks for each state."""
        return list(await client.list_collections(timeout=timeout)), {}


async def _loaded_count(client: Any, collection: str, partitions: list[str] | None, timeout: float) -> int | None:
    """A Strong count(*) over the collection (or `partitions`), or None when it is not loaded."""
    try:
        found = await client.query(
            collection,
            filter="",
            output_fields=["count(*)"],
            partition_names=partitions,
            consistency_level="Strong",
            timeout=timeout,
        )
    except Exception as exc:
        if common(exc) is not Failure.NOT_LOADED:
            raise
        return None
    return int(found[0]["count(*)"])
