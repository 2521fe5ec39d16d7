"""What the connected Milvus can do, learned from its version at first contact.

Production clusters often run versions older than the newest, and Milvus Lite is its own backend with
its own feature list. A tool that needs a feature the backend lacks says so plainly: what is missing,
the version that has it, and what to do instead, rather than passing on a cryptic RPC failure.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Literal

from mcp.server.mcpserver.exceptions import ToolError

Feature = Literal[
    "bm25",
    "sparse_vectors",
    "multi_vector",
    "nullable_default",
    "group_by",
    "partition_load",
    "partition_key",
    "embedding_functions",
]

SINCE: dict[Feature, tuple[int, int, int]] = {
    "sparse_vectors": (2, 4, 0),
    "multi_vector": (2, 4, 0),
    "group_by": (2, 4, 0),
    "nullable_default": (2, 5, 0),
    "bm25": (2, 5, 0),
    "partition_load": (2, 2, 0),
    "partition_key": (2, 2, 9),
    "embedding_functions": (2, 6, 0),
}
"""The first Milvus server version with each feature (major, minor, patch): the partition key came in a
patch release."""

DESCRIPTION: dict[Feature, str] = {
    "bm25": "BM25 full-text search functions",
    "sparse_vectors": "sparse vectors (SPARSE_FLOAT_VECTOR)",
    "multi_vector": "several vector fields in one collection (and hybrid search)",
    "nullable_default": "nullable fields and default values",
    "group_by": "grouping search (group_by_field)",
    "partition_load": "loading single partitions",
    "partition_key": "partition keys (partition_key_field, is_partition_key)",
    "embedding_functions": "server-side embedding functions",
}

INSTEAD: dict[Feature, str] = {
    "bm25": "compute sparse vectors in your own code, or use dense embeddings",
    "sparse_vectors": "use a FLOAT_VECTOR field with dense embeddings",
    "multi_vector": "use one vector field per collection (or one collection per vector field)",
    "nullable_default": "give every field a value in every row",
    "group_by": "search with a larger limit and keep the best hit per group yourself",
    "partition_load": "load the whole collection with milvus_load_collection",
    "partition_key": "keep the tenant in a scalar field and filter on it, or give each tenant a partition",
    "embedding_functions": "embed texts in your own code and pass vectors",
}

LITE_LACKS: frozenset[Feature] = frozenset({"partition_load", "embedding_functions"})
"""Measured on Milvus Lite 3.2 (see the project notes): everything else works."""


@dataclass(frozen=True)
class Capabilities:
    backend: Literal["milvus-lite", "milvus-server"]
    version: str
    bm25: bool
    sparse_vectors: bool
    multi_vector: bool
    nullable_default: bool
    group_by: bool
    partition_load: bool
    partition_key: bool
    embedding_functions: bool

    def as_dict(self) -> dict[str, bool]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, bool)}

    def require(self, feature: Feature) -> None:
        """Raise a `ToolError` that explains the gap when the backend lacks `feature`."""
        if getattr(self, feature):
            return
        since = ".".join(str(n) for n in SINCE[feature]).removesuffix(".0")
        backend = (
            f"Milvus Lite ({self.version})" if self.backend == "milvus-lite" else f"This Milvus server ({self.version})"
        )
        raise ToolError(
            f"{backend} does not support {DESCRIPTION[feature]}; a Milvus server {since} or newer does. "
            f"Instead: {INSTEAD[feature]}."
        )


def parse_version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) from a version string such as "v2.3.5"; patch 0 when it is not given."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)) if match else None


def from_version(version: str) -> Capabilities:
    """Capabilities for what `get_server_version()` answered."""
    if version.startswith("milvus_lite"):
        flags = {feature: feature not in LITE_LACKS for feature in SINCE}
        return Capabilities(backend="milvus-lite", version=version, **flags)
    parsed = parse_version(version)
    # An unrecognized version string (a cloud build, say) is taken for the newest: let Milvus judge.
    flags = {feature: parsed is None or parsed >= since for feature, since in SINCE.items()}
    return Capabilities(backend="milvus-server", version=version, **flags)
