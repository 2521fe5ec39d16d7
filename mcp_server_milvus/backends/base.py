"""What every backend does the same way, and the small interface where Milvus Lite and a Milvus server
differ. Tools never ask which backend they talk to: they call the session's `Backend`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

from mcp_server_milvus.capabilities import Capabilities
from mcp_server_milvus.compat import index_params
from mcp_server_milvus.failures import Failure, Op, common, is_backend_error
from mcp_server_milvus.schema_cache import CollectionInfo, IndexInfo

LOWER_IS_BETTER = frozenset({"L2", "HAMMING", "JACCARD"})

ANALYZERS: dict[str, dict[str, Any]] = {
    "standard": {"type": "standard"},
    "english": {"type": "english"},
    "chinese": {"type": "chinese"},
}
"""The analyzers a text field may name, and the `analyzer_params` a Milvus server (2.5 and newer, the
versions with BM25) knows them by: its built-in analyzers of those names."""


class Backend(ABC):
    """One kind of Milvus, chosen once from the version it reports at first contact."""

    kind: ClassVar[Literal["milvus-lite", "milvus-server"]]
    lists_load_states: ClassVar[bool]
    """Whether `list_collections` answers with every collection's load state."""
    answers_during_builds: ClassVar[bool] = True
    """Whether `describe_index` answers while an index builds, so that a build can report its progress."""

    def __init__(self, capabilities: Capabilities) -> None:
        self.capabilities = capabilities

    @property
    def version(self) -> str:
        return self.capabilities.version

    # Failures ---------------------------------------------------------------------------------------

    def classify(self, exc: BaseException, op: Op | None) -> Failure | None:
        """What `exc` means, raised by `op`; None when it is no backend failure (a defect of ours)."""
        if not is_backend_error(exc):
            return None
        return common(exc) or self._classify(exc, op) or Failure.REFUSED

    @abstractmethod
    def _classify(self, exc: BaseException, op: Op | None) -> Failure | None:
        """The backend's own codes, where `common` has no answer."""

    # Counting and listing ---------------------------------------------------------------------------

    @abstractmethod
    async def row_count(self, client: Any, collection: str, timeout: float) -> int:
        """Rows in the collection, unflushed ones included."""

    @abstractmethod
    async def partition_row_count(self, client: Any, collection: str, partitions: list[str], timeout: float) -> int:
        """Rows in these partitions of the collection, unflushed ones included."""

    @abstractmethod
    async def list_collections(self, client: Any, timeout: float) -> tuple[list[str], dict[str, str]]:
        """The collection names, and the load states that came with the listing (maybe none)."""

    # Search -----------------------------------------------------------------------------------------

    def score(self, metric: str | None, distance: float) -> float:
        """Higher is better, whatever the metric."""
        return -distance if metric in LOWER_IS_BETTER else distance

    def hit_id(self, hit: dict[str, Any], primary: str) -> Any:
        """The primary key of one search hit."""
        value = hit.get(primary)
        return hit.get("id") if value is None else value

    def unsupported_search_params(self, params: dict[str, Any]) -> str | None:
        """Why this backend cannot search with `params` (already valid for the index), or None when it can."""
        return None

    def ordered_scan(self) -> dict[str, Any]:
        """Extra query arguments that make rows come back in primary-key order."""
        return {}

    # Changes ----------------------------------------------------------------------------------------

    async def create_index(
        self, client: Any, collection: str, field_name: str, params: dict[str, Any], index_name: str, timeout: float
    ) -> None:
        """Create one index and wait until it is built.

        Indexes are created one call each: with several in one `IndexParams`, Milvus Lite creates only
        the first."""
        await client.create_index(collection, index_params(field_name, index_name, params), timeout=timeout)

    async def delete(self, client: Any, info: CollectionInfo, expr: str, partition: str | None, timeout: float) -> None:
        """Delete the rows matching `expr`, in every partition or only in `partition`."""
        await client.delete(info.name, filter=expr, partition_name=partition, timeout=timeout)

    async def drop_partition(self, client: Any, collection: str, partition: str, timeout: float) -> None:
        """Drop a partition. A server refuses to drop a loaded partition, so it is released first."""
        await client.release_partitions(collection, [partition], timeout=timeout)
        await client.drop_partition(collection, partition, timeout=timeout)

    async def after_rename(self, client: Any, new_name: str, was_loaded: bool, timeout: float) -> None:  # noqa: B027
        """Whatever the backend needs so that a renamed collection is as it was (a server: nothing)."""

    def unsupported_index(self, index_type: str) -> str | None:
        """Why this backend cannot serve `index_type`, or None when it can."""
        return None

    def unsupported_field_type(self, type_name: str) -> str | None:
        """Why this backend cannot store a field of `type_name`, or None when it can."""
        return None

    def analyzer_params(self, name: str) -> dict[str, Any] | str:
        """The `analyzer_params` of analyzer `name` (one of ANALYZERS), or why this backend has no such analyzer."""
        return ANALYZERS[name]

    def unsupported_num_partitions(self, num_partitions: int) -> str | None:
        """Why this backend cannot make `num_partitions` partitions for a partition key, or None when it can."""
        return None

    def key_partitions(self, reported: int | None) -> int | None:
        """The partitions a partition key routes to, from describe_collection's `num_partitions`."""
        return reported

    @property
    def describe_keeps_params(self) -> bool:
        """Whether describes return the parameters things were made with (an index's build parameters,
        an ARRAY field's element max_length); where not, this server records the ones it used."""
        return True

    def flush_pending(self, indexes: tuple[IndexInfo, ...]) -> bool | None:
        """Whether rows wait for a flush to be indexed; None when the backend does not tell."""
        pending = [i.pending_rows for i in indexes if i.pending_rows is not None]
        return any(p > 0 for p in pending) if pending else None


async def partition_stats_total(client: Any, collection: str, partitions: list[str], timeout: float) -> int:
    """The rows the partitions' statistics count, summed."""
    total = 0
    for partition in partitions:
        stats = await client.get_partition_stats(collection, partition, timeout=timeout)
        total += int(stats.get("row_count", 0))
    return total
