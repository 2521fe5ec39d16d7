"""Small, documented workarounds for known pymilvus / Milvus Lite bugs, each with its version.

Each function here exists because of one measured defect; remove it when the defect is gone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from typing import Any

import anyio

logger = logging.getLogger(__name__)


def index_params(field_name: str, index_name: str, params: dict[str, Any]) -> Any:
    """pymilvus's `IndexParams` for one index."""
    from pymilvus import MilvusClient

    built = MilvusClient.prepare_index_params()
    built.add_index(field_name=field_name, index_name=index_name, **params)
    return built


async def wait_for_index(client: Any, collection: str, index_name: str, timeout: float) -> None:
    with anyio.fail_after(timeout):
        while True:
            described = await client.describe_index(collection, index_name, timeout=timeout)
            state = str((described or {}).get("state", "Finished"))
            if state == "Failed":
                from pymilvus import MilvusException

                reason = described.get("index_state_fail_reason") or "index build failed"
                raise MilvusException(message=reason)
            if state == "Finished":
                return
            await anyio.sleep(0.1)


INTERNALS = (AttributeError, ImportError, TypeError)
"""What a change in pymilvus's internals raises here; each use falls back to the public API on it."""


async def describe_indexes(client: Any, collection: str, timeout: float) -> list[dict[str, Any]]:
    """Every index of a collection, each as `describe_index` reports it.

    pymilvus 3.0.2: `AsyncMilvusClient.list_indexes` receives every index's full description (a
    DescribeIndex with an empty index name) and returns only the names, so a schema fetch had to
    describe each index in a second round trip. `describe_indexes_at_once` keeps the descriptions;
    should pymilvus's internals change, the public calls (one per index) answer instead.
    """
    try:
        return await describe_indexes_at_once(client, collection, timeout)
    except INTERNALS as exc:
        logger.warning("Describing indexes in one call failed (%r); describing them one by one", exc)
    names = await client.list_indexes(collection, timeout=timeout)
    described = [await client.describe_index(collection, name, timeout=timeout) for name in names]
    return [d for d in described if d]


async def describe_indexes_at_once(client: Any, collection: str, timeout: float) -> list[dict[str, Any]]:
    """`describe_indexes` from one DescribeIndex RPC, through pymilvus 3.0.2 internals (tested in
    tests/test_compat.py, which fails loudly when they change), building each answer as
    `AsyncGrpcHandler.describe_index` does."""
    from pymilvus.grpc_gen import common_pb2

    conn = await client._get_connection()
    descriptions = await conn.list_indexes(collection, timeout=timeout, context=client._generate_call_context())
    indexes = []
    for d in descriptions:
        info: dict[str, Any] = {kv.key: kv.value for kv in d.params}
        if info.get("params"):
            info["params"] = json.loads(info["params"])
        info["field_name"] = d.field_name
        info["index_name"] = d.index_name
        info["total_rows"] = d.total_rows
        info["indexed_rows"] = d.indexed_rows
        info["pending_index_rows"] = d.pending_index_rows
        info["state"] = common_pb2.IndexState.Name(d.state)
        indexes.append(info)
    return indexes


def forget_pymilvus_schema(client: Any, database: str, collection: str) -> None:
    """Drop pymilvus's own cached schema for a collection.

    pymilvus 3.0.2 keeps a process-wide schema cache (`GlobalCache.schema`) that rename, create,
    drop_database and other programs' changes do not clear: after a collection is recreated elsewhere
    with a VARCHAR primary key in place of INT64, get/delete by ids fail or silently do nothing.
    """
    try:
        from pymilvus.client.cache import GlobalCache
    except ImportError:  # a pymilvus without that cache: nothing to clear
        return

    handler = getattr(client, "_handler", None)
    endpoint = getattr(handler, "server_address", None)
    if endpoint is None:
        return
    for db in {database, "", "default"}:
        GlobalCache.schema.invalidate(endpoint, db, collection)


def lite_is_locked(db_path: str) -> bool:
    """True when another process holds the Milvus Lite data directory's LOCK.

    milvus-lite 3.2.2 reports a locked directory only as "Open local milvus failed", with the real
    cause (DataDirLockedError) on stderr. Probe the advisory lock ourselves to say so plainly.
    """
    lock_path = os.path.join(db_path, "LOCK")
    if not os.path.exists(lock_path):
        return False
    import fcntl

    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
