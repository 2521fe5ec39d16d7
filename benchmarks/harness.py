"""Shared pieces: statistics, the benchmark context, test data and collections, and MCP call helpers.

Child processes (servers, engines) and the clients that talk to them over pipes live in `procs`.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from mcp import Client

HOST = "127.0.0.1"
SERVER = [sys.executable, "-m", "mcp_server_milvus"]
START_TIMEOUT = 60.0
"""Seconds a child (Milvus Lite server, HTTP MCP server) may take to listen."""
CALL_TIMEOUT = 120.0
"""Seconds an MCP client waits for one answer."""


class BenchError(RuntimeError):
    """A benchmark could not run as designed (a tool failed, a child did not start)."""


# --- statistics ----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default."""
    if not values:
        return math.nan
    return float(np.percentile(np.asarray(values, dtype=float), q))


def summarize(seconds: list[float]) -> dict[str, float]:
    """n, p50, p95, mean, min and max of latencies given in seconds, reported in milliseconds."""
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "mean_ms": round(sum(ms) / len(ms), 3) if ms else math.nan,
        "min_ms": round(min(ms), 3) if ms else math.nan,
        "max_ms": round(max(ms), 3) if ms else math.nan,
    }


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else math.nan


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    """Seconds one awaited call took."""
    started = time.perf_counter()
    await fn()
    return time.perf_counter() - started


# --- the benchmark context -----------------------------------------------------------------------


@dataclass
class Bench:
    """Sizes chosen on the command line, and the shared backend every family may use."""

    tmp: Path
    rows: int = 10_000
    """Rows of the shared search collection (and rows per ingest measurement)."""
    dim: int = 128
    repeat: int = 200
    """Samples per operation and mode (overhead)."""
    quick: bool = False
    lite_uri: str = ""
    """http://127.0.0.1:PORT of the shared `milvus-lite server` child (empty until started)."""
    lite_pid: int = 0
    collection: str = "bench"
    """A flushed, indexed, loaded collection of `rows` x `dim` on `lite_uri`."""
    seed: int = 7
    scale_sizes: tuple[int, ...] = ()
    """Collection sizes of the scale benchmark (`--scale-sizes`; run.py fills in the default)."""

    def pick(self, default: int, quick: int) -> int:
        return quick if self.quick else default

    def path(self, name: str) -> Path:
        return self.tmp / name


# --- data ----------------------------------------------------------------------------------------


def vectors(n: int, dim: int, seed: int) -> list[list[float]]:
    """n random unit-ish float32 vectors as plain lists (what an agent sends as JSON)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, dim), dtype=np.float32).tolist()  # type: ignore[no-any-return]


def make_rows(n: int, dim: int, start: int = 0, seed: int = 0, with_id: bool = True) -> list[dict[str, Any]]:
    out = []
    for i, v in enumerate(vectors(n, dim, seed)):
        row: dict[str, Any] = {"vector": v, "title": f"doc {start + i}", "year": 1990 + (start + i) % 35}
        if with_id:
            row["id"] = start + i
        out.append(row)
    return out


SERVER_READ = {"output_fields": ["id", "title", "year"], "consistency_level": "Strong"}
"""What the MCP server sends with a search or query that names no output fields, on these collections."""


def direct_search(client: Any, collection: str, vector: list[float]) -> Awaitable[Any]:
    """The search the MCP server sends for `milvus_search` with only a vector and limit 10, made directly."""
    return client.search(
        collection,
        data=[vector],
        anns_field="vector",
        filter="",
        limit=10,
        offset=0,
        **SERVER_READ,
        search_params={"metric_type": "COSINE", "params": {}},
        timeout=30,
    )


async def create_collection(
    uri: str,
    name: str,
    dim: int,
    n: int,
    *,
    flush: bool = True,
    auto_id: bool = False,
    seed: int = 1,
    db_name: str = "default",
) -> None:
    """(Re)create `name` in database `db_name` (which must exist) with id INT64, vector FLOAT_VECTOR(dim)
    AUTOINDEX COSINE, title VARCHAR, year INT64; insert n rows in batches of 1000; flush; load.

    With `AsyncMilvusClient`: the synchronous `MilvusClient` shares one channel per address across
    instances, and after about 30 s idle Milvus Lite's gRPC server closes it (GOAWAY "too_many_pings",
    pymilvus pings every 10 s); the next `MilvusClient` then fails to reconnect. Async clients recover.
    """
    from pymilvus import AsyncMilvusClient, DataType, MilvusClient

    client = AsyncMilvusClient(uri=uri, db_name=db_name)
    try:
        if await client.has_collection(name):
            await client.drop_collection(name)
        schema = MilvusClient.create_schema(auto_id=auto_id, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True, auto_id=auto_id)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("title", DataType.VARCHAR, max_length=64)
        schema.add_field("year", DataType.INT64)
        await client.create_collection(name, schema=schema)
        await _create_index(client, name)
        for start in range(0, n, 1000):
            batch = make_rows(min(1000, n - start), dim, start, seed=seed + start, with_id=not auto_id)
            await client.insert(name, batch)
        if flush and n:
            await client.flush(name)
        await client.load_collection(name)
    finally:
        await client.close()


async def _create_index(client: Any, name: str) -> None:
    """AUTOINDEX on `vector`. pymilvus 3.0.2's async create_index raises UNIMPLEMENTED on Milvus Lite after
    the index is made (see the notes on Milvus Lite); then wait for the index through describe_index."""
    from pymilvus import MilvusClient

    index = MilvusClient.prepare_index_params()
    index.add_index(field_name="vector", index_name="vector", index_type="AUTOINDEX", metric_type="COSINE")
    try:
        await client.create_index(name, index)
        return
    except Exception as exc:
        if "UNIMPLEMENTED" not in repr(exc).upper():
            raise
    with anyio.fail_after(START_TIMEOUT):
        while str((await client.describe_index(name, "vector") or {}).get("state", "Finished")) != "Finished":
            await anyio.sleep(0.1)


async def drop_collection(uri: str, name: str) -> None:
    from pymilvus import AsyncMilvusClient

    client = AsyncMilvusClient(uri=uri)
    try:
        if await client.has_collection(name):
            await client.drop_collection(name)
    finally:
        await client.close()


# --- MCP calls -----------------------------------------------------------------------------------


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool that must succeed; its structured content."""
    result = await client.call_tool(tool, arguments)
    if result.is_error or result.structured_content is None:
        text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
        raise BenchError(f"{tool} failed: {text}")
    return result.structured_content


def wire_bytes(model: Any) -> int:
    """Bytes of a protocol result as compact JSON, the way it travels inside a JSON-RPC response."""
    data = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def tool_context(server: Any) -> Any:
    """A request context for `server.call_tool` outside the protocol: the tools read the server's runtime
    from it (the lifespan must be running, e.g. inside `mcp.Client(server)`)."""
    from mcp.server.context import ServerRequestContext
    from mcp.server.mcpserver import Context

    request = ServerRequestContext(
        session=None,  # type: ignore[arg-type]  # no tool of a plain call talks back to the client
        lifespan_context=server.runtime,
        protocol_version="2025-11-25",
        method="tools/call",
    )
    return Context(request_context=request, mcp_server=server)
