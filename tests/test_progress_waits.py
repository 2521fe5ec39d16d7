"""Index builds and loads that wait report progress as they go, to a client that asked for it, in both
client modes; `waiting`'s side task stops with the wait, whatever ends it."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server_milvus import waiting
from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import MilvusServer, build_server
from tests.conftest import make_docs, ok, rows

pytestmark = pytest.mark.anyio

Seen = list[tuple[float, float | None, str | None]]


def recorder() -> tuple[Seen, waiting.Report]:
    seen: Seen = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    return seen, progress


def rising(seen: Seen) -> bool:
    return all(a[0] < b[0] for a, b in pairwise(seen))


async def unindexed_docs(client: Client, n: int, flush: bool) -> None:
    """'docs' with n rows and its vector index dropped, ready for a new build."""
    await make_docs(client, n=0)
    await ok(client, "milvus_insert", collection_name="docs", rows=rows(n))
    if flush:
        await ok(client, "milvus_flush", collection_name="docs")
    await ok(client, "milvus_release_collection", collection_name="docs")
    await ok(client, "milvus_drop_index", collection_name="docs", index_name="vector")


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("flush", [False, True])
async def test_an_index_build_reports_from_start_to_total(server: MilvusServer, mode: str, flush: bool) -> None:
    seen, progress = recorder()
    async with Client(server, raise_exceptions=True, mode=mode) as client:
        await unindexed_docs(client, 3000, flush)
        arguments = {"collection_name": "docs", "field_name": "vector", "index_type": "HNSW", "metric_type": "L2"}
        result = await client.call_tool("milvus_create_index", arguments, progress_callback=progress)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        assert result.structured_content["indexed_rows"] == 3000
    assert seen[0] == (0, 100, "Building index 'vector' on 'docs'")
    assert seen[-1] == (100, 100, "Index 'vector' on 'docs' is built: 3000 of 3000 rows indexed")
    assert rising(seen), seen


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_load_reports_from_start_to_loaded(server: MilvusServer, mode: str) -> None:
    seen, progress = recorder()
    async with Client(server, raise_exceptions=True, mode=mode) as client:
        await make_docs(client, n=2000)
        await ok(client, "milvus_flush", collection_name="docs")
        await ok(client, "milvus_release_collection", collection_name="docs")
        result = await client.call_tool(
            "milvus_load_collection", {"collection_name": "docs"}, progress_callback=progress
        )
        assert not result.is_error, result.content
        assert result.structured_content is not None and result.structured_content["load_state"] == "Loaded"
    assert seen[0] == (0, 100, "Loading 'docs'")
    assert seen[-1] == (100, 100, "'docs' is loaded")
    assert rising(seen), seen


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_without_a_progress_callback_builds_and_loads_work(server: MilvusServer, mode: str) -> None:
    async with Client(server, raise_exceptions=True, mode=mode) as client:
        await unindexed_docs(client, 1500, flush=True)
        built = await ok(
            client, "milvus_create_index", collection_name="docs", field_name="vector", metric_type="COSINE"
        )
        assert built["indexed_rows"] == 1500
        loaded = await ok(client, "milvus_load_collection", collection_name="docs")
        assert loaded["load_state"] == "Loaded"
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 1500


# The side task itself, on waits of known length (Milvus Lite builds and loads these sizes faster than one
# poll, and does not answer while it builds: the polls in between are seen against a Milvus server).


async def test_polls_in_between_rise_and_stop_with_the_wait() -> None:
    seen, progress = recorder()
    answers = iter([None, (10.0, "a"), (10.0, "same"), (5.0, "back"), (60.0, "b"), (100.0, "early end")])
    polls = 0

    async def poll() -> waiting.Step | None:
        nonlocal polls
        polls += 1
        return next(answers, (99.0, "late"))

    async def wait() -> str:
        await anyio.sleep(waiting.POLL_SECONDS * 6.5)
        return "done"

    async def end() -> str:
        return "end"

    assert await waiting.reporting(progress, "start", wait, poll, end) == "done"
    assert seen == [(0, 100, "start"), (10.0, 100, "a"), (60.0, 100, "b"), (100, 100, "end")]
    done = polls
    await anyio.sleep(waiting.POLL_SECONDS * 2)
    assert polls == done == 6


async def test_a_failed_poll_is_skipped_and_a_failed_wait_raised_as_it_was() -> None:
    seen, progress = recorder()
    calls = 0

    async def poll() -> waiting.Step | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("poll")
        return (50.0, "half")

    async def wait() -> Any:
        await anyio.sleep(waiting.POLL_SECONDS * 2.5)
        raise KeyError("the wait")

    async def end() -> str:
        raise AssertionError("no end after a failure")

    with pytest.raises(KeyError, match="the wait"):
        await waiting.reporting(progress, "start", wait, poll, end)
    assert seen == [(0, 100, "start"), (50.0, 100, "half")]


async def test_cancelling_the_wait_stops_the_polls() -> None:
    polls = 0

    async def poll() -> waiting.Step | None:
        nonlocal polls
        polls += 1
        return None

    async def wait() -> None:
        await anyio.sleep_forever()

    async def end() -> str:
        raise AssertionError("no end after a cancel")

    async def quiet(done: float, total: float | None, message: str | None) -> None:
        return None

    with anyio.move_on_after(waiting.POLL_SECONDS * 2.5):
        await waiting.reporting(quiet, "start", wait, poll, end)
    stopped = polls
    await anyio.sleep(waiting.POLL_SECONDS * 2)
    assert polls == stopped == 2


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_create_collection_reports_each_step(server: MilvusServer, mode: str) -> None:
    seen, progress = recorder()
    async with Client(server, raise_exceptions=True, mode=mode) as client:
        arguments = {
            "collection_name": "pair",
            "fields": [
                {"name": "id", "type": "INT64", "is_primary": True},
                {"name": "a", "type": "FLOAT_VECTOR", "dim": 4},
                {"name": "b", "type": "FLOAT_VECTOR", "dim": 4},
            ],
            "indexes": [
                {"field_name": "a", "index_type": "FLAT", "metric_type": "L2"},
                {"field_name": "b", "index_type": "FLAT", "metric_type": "IP"},
            ],
        }
        result = await client.call_tool("milvus_create_collection", arguments, progress_callback=progress)
        assert not result.is_error, result.content
    assert seen == [
        (1, 4, "Collection 'pair' created"),
        (2, 4, "Index on 'a' built"),
        (3, 4, "Index on 'b' built"),
        (4, 4, "'pair' is loaded"),
    ]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("tool", ["milvus_search", "milvus_query", "milvus_count"])
async def test_a_read_that_loads_on_demand_reports_the_load(db_path: str, mode: str, tool: str) -> None:
    """Another server released the collection, so this one's first read loads it and says so; a read of a
    loaded collection reports nothing."""
    settings = Settings(uri=db_path, embedding_provider="none")
    arguments: dict[str, Any] = {"collection_name": "docs"}
    if tool == "milvus_search":
        arguments["vector"] = rows(1)[0]["vector"]
    elif tool == "milvus_query":
        arguments["filter"] = "id >= 0"
    async with Client(build_server(settings), raise_exceptions=True) as other:
        await make_docs(other, n=2000)
        await ok(other, "milvus_flush", collection_name="docs")
        await ok(other, "milvus_release_collection", collection_name="docs")
    async with Client(build_server(settings), raise_exceptions=True, mode=mode) as client:
        for expected in ([(0, 100, "Loading 'docs'"), (100, 100, "'docs' is loaded")], []):
            seen, progress = recorder()
            result = await client.call_tool(tool, arguments, progress_callback=progress)
            assert not result.is_error, result.content
            assert ([seen[0], seen[-1]] if seen else seen) == expected, seen
            assert rising(seen), seen


async def test_a_second_wait_in_one_call_never_sends_progress_backwards() -> None:
    """A load retried within one call (the schema changed under it) starts again at 0: `waiting.rising`
    passes on only what is higher than the last notification sent."""
    seen, progress = recorder()
    report = waiting.rising(progress)
    for done in (0, 50, 100, 0, 50, 100):
        await report(done, 100, f"{done}")
    assert seen == [(0, 100, "0"), (50, 100, "50"), (100, 100, "100")]
