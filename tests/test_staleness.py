"""Another program changes a collection behind the server's back: the multi-process case.

A standalone `milvus-lite server` runs in its own process; the MCP server (in memory, default schema
cache TTL of 60 s) talks to it over gRPC, and a second process (a small script using pymilvus's sync
`MilvusClient`) drops and recreates collections, or adds rows. The server must notice a stale schema
(one refetch on a mismatch, with pymilvus's own schema cache cleared) and answer from what Milvus
really holds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import MilvusServer
from tests.children import free_port, stop, wait_listening
from tests.conftest import fails, index_of, ok, rows

pytestmark = pytest.mark.anyio

MILVUS_LITE = Path(sys.executable).with_name("milvus-lite")
START_TIMEOUT = 30.0
SCRIPT_TIMEOUT = 60.0

SECOND_PROCESS = """
import sys
from pymilvus import DataType, MilvusClient

uri, name, action = sys.argv[1:4]
key = sys.argv[4] if len(sys.argv) > 4 else "k1"
client = MilvusClient(uri=uri)
if action == "recreate-varchar":
    client.drop_collection(name)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=4)
    client.create_collection(name, schema=schema)
    index = MilvusClient.prepare_index_params()
    index.add_index(field_name="vector", index_type="AUTOINDEX", metric_type="COSINE")
    client.create_index(name, index)
    client.load_collection(name)
    client.insert(name, [{"id": key, "vector": [0.1, 0.2, 0.3, 0.4], "title": "from elsewhere"}])
elif action == "drop":
    client.drop_collection(name)
elif action == "rebuild-index-l2":
    client.release_collection(name)
    client.drop_index(name, "vector")
    index = MilvusClient.prepare_index_params()
    index.add_index(field_name="vector", index_type="HNSW", metric_type="L2", params={"M": 8, "efConstruction": 64})
    client.create_index(name, index)
    client.load_collection(name)
elif action == "row-in-partition":
    client.create_partition(name, "elsewhere")
    client.insert(name, [{"id": int(key), "vector": [0.5, 0.5, 0.5, 0.5]}], partition_name="elsewhere")
elif action == "add-rows":
    client.insert(name, [{"id": 500 + i, "vector": [1.0, 0.5, 0.25, float(i + 1)]} for i in range(3)])
else:
    raise SystemExit(f"unknown action {action}")
client.close()
"""


@pytest.fixture(scope="module")
def milvus_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A standalone Milvus Lite server in its own process, shared by this module's tests."""
    base = tmp_path_factory.mktemp("milvus-server")
    port = free_port()
    log = base / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(MILVUS_LITE), "server", "--data-dir", str(base / "data"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_listening(port, proc, log, START_TIMEOUT)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.send_signal(signal.SIGCONT)  # in case a test left it stopped
        stop(proc, signal.SIGTERM)


@pytest.fixture
def milvus_uri(milvus_process: tuple[str, subprocess.Popen[bytes]]) -> str:
    return milvus_process[0]


@pytest.fixture
def settings(milvus_uri: str) -> Settings:
    """Overrides conftest's: the `server` and `client` fixtures talk to the separate process."""
    return Settings(uri=milvus_uri)


def second_process(uri: str, collection: str, action: str, *args: str) -> None:
    """Run SECOND_PROCESS in another interpreter: another program changing Milvus."""
    env = {k: v for k, v in os.environ.items() if k != "MILVUS_URI"}
    done = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, uri, collection, action, *args],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT,
        env=env,
    )
    assert done.returncode == 0, f"second process failed ({action}):\n{done.stderr[-3000:]}"


async def count(client: Client, name: str) -> int:
    return (await ok(client, "milvus_count", collection_name=name))["count"]


async def test_an_index_rebuilt_elsewhere_with_another_metric_is_used(client: Client, milvus_uri: str) -> None:
    """Searches once sent the cached metric until the TTL ran out (and Milvus Lite took it silently)."""
    await ok(client, "milvus_create_collection", collection_name="m", dimension=4)  # COSINE
    far_same_way = {"id": 1, "vector": [10.0, 0.0, 0.0, 0.0]}
    near_other_way = {"id": 2, "vector": [0.8, 0.6, 0.0, 0.0]}
    await ok(client, "milvus_insert", collection_name="m", rows=[far_same_way, near_other_way])
    query = [1.0, 0.0, 0.0, 0.0]
    cosine = await ok(client, "milvus_search", collection_name="m", vector=query, limit=2)
    assert cosine["metric_type"] == "COSINE" and cosine["hits"][0]["id"] == 1
    second_process(milvus_uri, "m", "rebuild-index-l2")
    l2 = await ok(client, "milvus_search", collection_name="m", vector=query, limit=2)
    assert l2["hits"][0]["id"] == 2  # nearest by L2: the index's own metric, not the cached one
    told = await ok(client, "milvus_search", collection_name="m", vector=query, limit=2, metric_type="L2")
    assert told["metric_type"] == "L2" and [h["id"] for h in told["hits"]] == [2, 1]
    assert told["hits"][0]["score"] > told["hits"][1]["score"]
    described = await index_of(client, "m", "vector")
    assert described["index_type"] == "HNSW" and described["params"] == "unknown"  # built elsewhere, on Lite


async def test_insert_refuses_an_id_that_exists_in_another_partition(client: Client, milvus_uri: str) -> None:
    await make_int64_collection(client, "parts")
    second_process(milvus_uri, "parts", "row-in-partition", "77")
    message = await fails(client, "milvus_insert", collection_name="parts", rows=rows(1, start=77))
    assert "1 of these primary keys already exist in 'parts': '77'" in message
    got = await ok(client, "milvus_query", collection_name="parts", ids=[77], output_fields=["id"])
    assert got["rows"] == [{"id": 77}]


async def make_int64_collection(client: Client, name: str) -> None:
    """Through the tools: INT64 primary key, three rows, queried by id (the INT64 schema is cached)."""
    created = await ok(client, "milvus_create_collection", collection_name=name, dimension=4)
    assert created["primary_key"] == "id"
    await ok(client, "milvus_insert", collection_name=name, rows=rows(3))
    found = await ok(client, "milvus_query", collection_name=name, ids=[0, 2], output_fields=["title"])
    assert sorted(r["id"] for r in found["rows"]) == [0, 2]
    assert await count(client, name) == 3


async def test_recreated_with_varchar_key_query_then_delete(
    server: MilvusServer, client: Client, milvus_uri: str
) -> None:
    await make_int64_collection(client, "c")
    second_process(milvus_uri, "c", "recreate-varchar")

    # Our cache still says INT64: "ids must be integers" is a SchemaMismatch, refetched once.
    before = server.runtime.cache.fetches
    found = await ok(client, "milvus_query", collection_name="c", ids=["k1"], output_fields=["title"])
    assert [r["id"] for r in found["rows"]] == ["k1"]
    assert found["rows"][0]["title"] == "from elsewhere"
    assert server.runtime.cache.fetches - before == 1

    deleted = await ok(client, "milvus_delete", collection_name="c", ids=["k1"])
    assert deleted["delete_count"] == 1
    assert not deleted.get("not_found")
    assert await count(client, "c") == 0
    found = await ok(client, "milvus_query", collection_name="c", ids=["k1"])
    assert found["rows"] == []


async def test_recreated_with_varchar_key_delete_first(server: MilvusServer, client: Client, milvus_uri: str) -> None:
    """The first call after the change is the delete itself: it must not report work it did not do."""
    await make_int64_collection(client, "c2")
    second_process(milvus_uri, "c2", "recreate-varchar")

    deleted = await ok(client, "milvus_delete", collection_name="c2", ids=["k1"])
    assert deleted["delete_count"] == 1
    assert await count(client, "c2") == 0


async def test_recreated_with_varchar_key_numeric_string_ids(client: Client, milvus_uri: str) -> None:
    """ids=["123"] fit the stale INT64 schema too (numeric strings are accepted for INT64 keys), so
    nothing signals the change: the server must still not say the row is missing."""
    await make_int64_collection(client, "c6")
    second_process(milvus_uri, "c6", "recreate-varchar", "123")

    found = await ok(client, "milvus_query", collection_name="c6", ids=["123"])
    assert [r["id"] for r in found["rows"]] == ["123"]
    deleted = await ok(client, "milvus_delete", collection_name="c6", ids=["123"])
    assert deleted["delete_count"] == 1
    assert await count(client, "c6") == 0


async def test_recreated_collection_described_and_searched(client: Client, milvus_uri: str) -> None:
    await make_int64_collection(client, "c3")
    second_process(milvus_uri, "c3", "recreate-varchar")

    # A search does not look at the id type, but its hits come from the new collection.
    hits = (await ok(client, "milvus_search", collection_name="c3", vector=[0.1, 0.2, 0.3, 0.4]))["hits"]
    assert [h["id"] for h in hits] == ["k1"]
    described = await ok(client, "milvus_describe_collection", collection_name="c3")
    assert described["primary_key"]["type"] == "VARCHAR"
    # An insert with the old INT64 ids is refused against the new schema, writing nothing.
    message = await fails(client, "milvus_insert", collection_name="c3", rows=rows(1, start=9))
    assert "VARCHAR" in message
    assert await count(client, "c3") == 1


async def test_rows_added_elsewhere_are_counted(client: Client, milvus_uri: str) -> None:
    await make_int64_collection(client, "c4")
    second_process(milvus_uri, "c4", "add-rows")
    assert await count(client, "c4") == 6
    found = await ok(client, "milvus_query", collection_name="c4", ids=[500, 501, 502])
    assert sorted(r["id"] for r in found["rows"]) == [500, 501, 502]


async def test_dropped_elsewhere_gives_a_clean_error(client: Client, milvus_uri: str) -> None:
    await make_int64_collection(client, "c5")
    await ok(client, "milvus_search", collection_name="c5", vector=[1.0, 2.0, 3.0, 4.0])  # cached and loaded
    second_process(milvus_uri, "c5", "drop")

    message = await fails(client, "milvus_search", collection_name="c5", vector=[1.0, 2.0, 3.0, 4.0])
    assert "'c5' does not exist" in message
    for tool, arguments in [
        ("milvus_query", {"ids": [1]}),
        ("milvus_count", {}),
        ("milvus_insert", {"rows": rows(1)}),
        ("milvus_delete", {"ids": [1]}),
    ]:
        message = await fails(client, tool, collection_name="c5", **arguments)
        assert "'c5' does not exist" in message, (tool, message)


async def test_abandoned_call_does_not_break_calls_sharing_its_fetch(
    server: MilvusServer, client: Client, milvus_process: tuple[str, subprocess.Popen[bytes]]
) -> None:
    """Call A leads a schema fetch and is abandoned by its client (read timeout → notifications/cancelled);
    call B waits on the same fetch. B was not cancelled: it must still get its answer."""
    _, proc = milvus_process
    await make_int64_collection(client, "c7")
    server.runtime.cache.invalidate((server.runtime.sessions.endpoint, "default", "c7"))
    outcome: dict[str, Any] = {}

    async def abandoned() -> None:
        with pytest.raises(MCPError, match="Timed out"):
            await client.call_tool("milvus_count", {"collection_name": "c7"}, read_timeout_seconds=0.5)

    async def waiting() -> None:
        await anyio.sleep(0.1)  # A leads the fetch; B joins it
        try:
            result = await client.call_tool("milvus_count", {"collection_name": "c7"})
        except BaseException as exc:
            outcome["b"] = repr(exc)
            raise
        outcome["b"] = result.structured_content

    async def resume() -> None:
        await anyio.sleep(1.5)
        proc.send_signal(signal.SIGCONT)

    proc.send_signal(signal.SIGSTOP)  # Milvus stalls: the schema fetch hangs until SIGCONT
    try:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(abandoned)
                tg.start_soon(waiting)
                tg.start_soon(resume)
    finally:
        proc.send_signal(signal.SIGCONT)
    assert outcome.get("b") == {"count": 3}
    with anyio.fail_after(5):
        assert await count(client, "c7") == 3
