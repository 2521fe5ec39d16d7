"""Index build parameters: the defaults an agent may leave out, the checks Milvus Lite skips, and the
record of what this server built with.

- Defaults: Milvus Lite builds an HNSW index from {"M": 8} alone; Milvus 2.3 refuses it ("efConstruction
  out of range"). Filling in the usual defaults makes the same call work on both.
- Checks: Lite accepts HNSW `M: -1` or `M: 2**40` and IVF `nlist: 0` and builds something; a server
  refuses them with a catch-all code. A misspelled parameter (`efConstrution`) is ignored by both. Each is
  refused here, with the valid range, before anything is built.
(Lite's describe_index drops the build parameters: `records` keeps the ones this server used.)
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus.errors import did_you_mean, names

INT32_MAX = 2**31 - 1

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

RANGES: dict[str, tuple[int, int]] = {
    "M": (2, 2048),
    "efConstruction": (1, INT32_MAX),
    "nlist": (1, 65536),
    "m": (1, 65536),
    "nbits": (1, 16),
}
"""Milvus's documented ranges for the integer build parameters."""

PARAMS: dict[str, frozenset[str]] = {
    "FLAT": frozenset(),
    "BIN_FLAT": frozenset(),
    "IVF_FLAT": frozenset({"nlist"}),
    "IVF_SQ8": frozenset({"nlist"}),
    "BIN_IVF_FLAT": frozenset({"nlist"}),
    "IVF_PQ": frozenset({"nlist", "m", "nbits"}),
    "HNSW": frozenset({"M", "efConstruction"}),
    "HNSW_SQ": frozenset({"M", "efConstruction", "sq_type", "refine", "refine_type"}),
}
"""Build parameters of the index types checked strictly; others (AUTOINDEX, sparse, DiskANN, newer types)
go to Milvus as given."""


def index_defaults(index_type: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` with the defaults of `index_type` under it: what the agent gave wins."""
    return {**DEFAULTS.get(index_type.upper(), {}), **params}


def check_build_params(index_type: str, params: dict[str, Any]) -> None:
    """Refuse a build parameter the index type does not take, or a value out of Milvus's range."""
    allowed = PARAMS.get(index_type)
    if allowed is not None:
        for name in params:
            if name not in allowed:
                takes = f"takes {names(sorted(allowed))}" if allowed else "takes no params"
                raise ToolError(
                    f"params {name!r} does not apply to {index_type}, which {takes}.{did_you_mean(name, allowed)}"
                )
    for name, value in params.items():
        bounds = RANGES.get(name)
        if bounds is None:
            continue
        low, high = bounds
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ToolError(f"params.{name} of {index_type} must be an integer from {low} to {high}, got {value!r}.")
