"""A listing and a description are kept while the Milvus Lite engine's published count of changes stands
(`engine.changes`): they then ask the engine nothing, and any server's change ends them."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.engine.changes import Changes, published
from mcp_server_milvus.engine.rundir import pid_alive
from mcp_server_milvus.row_counts import RowCounts
from mcp_server_milvus.server import MilvusServer, build_server
from mcp_server_milvus.single_flight import SingleFlight
from tests.conftest import make_docs, ok, rows
from tests.test_engine import wait_until
from tests.test_row_counts import listed

pytestmark = pytest.mark.anyio


async def test_kept_answers_ask_a_frozen_engine_nothing(server: MilvusServer) -> None:
    async with Client(server, raise_exceptions=True) as client:
        await make_docs(client, n=3)
        first = await listed(client)
        described = await ok(client, "milvus_describe_collection", collection_name="docs")
        engine = server.runtime.sessions.engine
        assert engine is not None and engine.pid is not None
        os.kill(engine.pid, signal.SIGSTOP)
        try:
            with anyio.fail_after(5):  # the engine answers nothing while stopped
                assert await listed(client) == first
                assert await ok(client, "milvus_describe_collection", collection_name="docs") == described
        finally:
            os.kill(engine.pid, signal.SIGCONT)
        assert first == {"docs": {"name": "docs", "row_count": 3, "load_state": "Loaded"}}
        assert described["row_count"] == 3 and "row_count_exact" not in described


ELSEWHERE = """
import sys
from pymilvus import MilvusClient

client = MilvusClient(uri=sys.argv[1])
client.create_collection("elsewhere", dimension=2)
client.close()
"""


async def test_a_listing_is_not_kept_past_its_engine(server: MilvusServer, db_path: str) -> None:
    """Once the engine is gone its database is unlocked: a program may open it and change it unseen."""
    async with Client(server) as client:
        await make_docs(client, n=1)
        assert list(await listed(client)) == ["docs"]
        engine = server.runtime.sessions.engine
        assert engine is not None and engine.pid is not None
        pid = engine.pid
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: not pid_alive(pid))
        await anyio.run_process([sys.executable, "-c", ELSEWHERE, db_path])
        first = await client.call_tool("milvus_list_collections", {})
        # the call that finds the engine gone fails and restarts it; a listing kept from before would succeed
        assert first.is_error, first.structured_content
        assert sorted(await listed(client)) == ["docs", "elsewhere"]


async def test_every_servers_changes_end_a_kept_listing(db_path: str) -> None:
    settings = Settings(uri=db_path, embedding_provider="none")
    async with Client(build_server(settings)) as mine, Client(build_server(settings)) as theirs:
        await make_docs(mine, n=3)
        assert list(await listed(mine)) == ["docs"]
        await make_docs(theirs, n=2, name="more")
        assert {n: c["row_count"] for n, c in (await listed(mine)).items()} == {"docs": 3, "more": 2}
        await ok(theirs, "milvus_release_collection", collection_name="more")
        assert (await listed(mine))["more"]["load_state"] == "NotLoad"
        await ok(theirs, "milvus_load_collection", collection_name="more")
        assert (await listed(mine))["more"]["load_state"] == "Loaded"
        await ok(theirs, "milvus_rename_collection", collection_name="more", new_name="renamed")
        assert sorted(await listed(mine)) == ["docs", "renamed"]
        await ok(theirs, "milvus_insert", collection_name="docs", rows=rows(2, start=10))
        docs = (await listed(mine))["docs"]
        assert docs["row_count"] == 5 or docs["row_count_exact"] is False  # not the kept, exact-looking 3
        await ok(theirs, "milvus_drop_collection", collection_name="renamed", confirm_name="renamed")
        assert list(await listed(mine)) == ["docs"]


async def test_every_servers_changes_end_a_kept_description(db_path: str) -> None:
    settings = Settings(uri=db_path, embedding_provider="none")
    async with Client(build_server(settings)) as mine, Client(build_server(settings)) as theirs:

        async def described(name: str = "docs") -> dict:
            return await ok(mine, "milvus_describe_collection", collection_name=name)

        await make_docs(mine, n=3)
        assert (await described())["row_count"] == 3
        await ok(theirs, "milvus_release_collection", collection_name="docs")
        assert (await described())["load_state"] == "NotLoad"
        await ok(theirs, "milvus_load_collection", collection_name="docs")
        assert (await described())["load_state"] == "Loaded"
        await ok(theirs, "milvus_insert", collection_name="docs", rows=rows(2, start=10))
        docs = await described()
        assert docs["row_count"] == 5 or docs["row_count_exact"] is False  # not the kept, exact-looking 3
        await ok(theirs, "milvus_create_alias", collection_name="docs", alias="books")
        assert (await described("books"))["name"] == "docs"
        await ok(theirs, "milvus_drop_collection", collection_name="docs", confirm_name="docs")
        await make_docs(theirs, n=1, dim=8)
        again = await described()
        assert again["vector_fields"][0]["dim"] == 8  # the new schema, not a kept one
        assert again["row_count"] == 1 or again["row_count_exact"] is False


def test_the_published_count_is_the_running_engines(tmp_path: Path) -> None:
    changes = Changes(tmp_path)
    start = published(tmp_path, os.getpid())
    assert start is not None and start.endswith(".0")
    changes.bump()
    after = published(tmp_path, os.getpid())
    assert after is not None and after != start and after.endswith(".1")
    assert published(tmp_path, os.getpid() + 1) is None  # a link another engine left: not this one's
    assert published(tmp_path / "absent", os.getpid()) is None


async def test_a_kept_answer_serves_only_its_own_version() -> None:
    flights: SingleFlight[int] = SingleFlight()
    reads = 0

    async def read() -> int:
        nonlocal reads
        reads += 1
        return reads

    assert await flights.run("db", (0, "a"), read, keep=lambda n: True) == 1
    assert await flights.run("db", (0, "a"), read, keep=lambda n: True) == 1  # kept
    assert await flights.run("db", (0, "b"), read, keep=lambda n: n > 5) == 2  # a change: read again
    assert await flights.run("db", (0, "b"), read) == 3  # answer 2 was not worth keeping
    assert await flights.run("db", (1, "a"), read) == 4


async def test_a_count_is_exact_while_the_changes_it_began_at_stand() -> None:
    counts = RowCounts(ttl=0.5)
    release = anyio.Event()
    key = ("e", "db", "docs")

    async def slow() -> int:
        await release.wait()
        return 7

    async def fresh() -> int:
        return 8

    answers: dict[str, tuple[int, bool]] = {}

    async def ask(who: str, changes: str) -> None:
        answers[who] = await counts.get(key, fresh, changes)

    async def leader() -> None:
        answers["leader"] = await counts.get(key, slow, "1.a.1")

    async with anyio.create_task_group() as tg:
        tg.start_soon(leader)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(ask, "joined after a change", "1.a.2")  # the count may predate that change
        tg.start_soon(ask, "joined", "1.a.1")
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert answers == {"leader": (7, True), "joined": (7, True), "joined after a change": (7, False)}
    await anyio.sleep(0.6)  # past the TTL, but nothing changed: kept, and exact
    assert await counts.get(key, fresh, "1.a.1") == (7, True)
    assert await counts.get(key, fresh, "1.a.2") == (8, True)  # changed and past the TTL: counted again
    assert await counts.get(key, fresh) == (8, False)  # no engine to ask: kept, within the TTL
