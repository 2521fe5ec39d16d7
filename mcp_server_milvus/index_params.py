"""Build parameters each index type needs, filled in when an agent leaves them out.

Milvus Lite builds an HNSW index from {"M": 8} alone; Milvus 2.3 refuses it ("efConstruction out of
range"). Filling in the usual defaults makes the same call work on both.
"""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, dict[str, Any]] = {
    "HNSW": {"M": 16, "efConstruction": 200},
    "HNSW_SQ": {"M": 16, "efConstruction": 200},
    "HNSW_PQ": {"M": 16, "efConstruction": 200},
    "HNSW_PRQ": {"M": 16, "efConstruction": 200},
    "IVF_FLAT": {"nlist": 128},
    "IVF_SQ8": {"nlist": 128},
    "IVF_PQ": {"nlist": 128},
    "BIN_IVF_FLAT": {"nlist": 128},
}


def index_defaults(index_type: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` with the defaults of `index_type` under it: what the agent gave wins."""
    return {**DEFAULTS.get(index_type.upper(), {}), **params}
