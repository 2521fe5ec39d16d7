"""Listings under way at once share one answer (`single_flight`), but never one that predates a change
this server reported: a listing made after a create sees the new collection."""

from __future__ import annotations

from contextlib import suppress

import anyio
import pytest
from mcp import Client

from mcp_server_milvus.server import MilvusServer
from mcp_server_milvus.single_flight import SingleFlight
from mcp_server_milvus.tools.collections import CollectionList
from tests.conftest import make_docs, ok

pytestmark = pytest.mark.anyio


async def test_overlapping_reads_share_one_and_a_new_generation_reads_again() -> None:
    flights: SingleFlight[int] = SingleFlight()
    release = anyio.Event()
    reads = 0

    async def read() -> int:
        nonlocal reads
        reads += 1
        mine = reads
        await release.wait()
        return mine

    answers: list[int] = []

    async def call(generation: int) -> None:
        answers.append(await flights.run("db", generation, read))

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(call, 0)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(call, 1)  # a change ended meanwhile: not joined
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert reads == 2 and sorted(answers) == [1, 1, 1, 2]


@pytest.mark.parametrize("how", ["fails", "is cancelled"])
async def test_a_failed_or_cancelled_leader_is_not_shared(how: str) -> None:
    flights: SingleFlight[str] = SingleFlight()
    answers: list[str] = []

    async def leading() -> str:
        await anyio.sleep(0.05 if how == "fails" else 30)
        raise RuntimeError("refused")

    async def own() -> str:
        return "own read"

    leader_scope = anyio.CancelScope()

    async def leader() -> None:
        with leader_scope, suppress(RuntimeError):
            await flights.run("db", 0, leading)

    async def follower() -> None:
        answers.append(await flights.run("db", 0, own))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(leader)
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(follower)
            await anyio.wait_all_tasks_blocked()
            assert answers == []  # waiting on the leader
            if how == "is cancelled":
                leader_scope.cancel()
    assert answers == ["own read"]


async def test_a_listing_after_a_create_never_joins_an_older_one(server: MilvusServer) -> None:
    rt = server.runtime
    release = anyio.Event()
    stale = CollectionList(database="default", collections=[], total=0)
    joined: list[dict] = []

    async def slow_listing() -> CollectionList:
        await release.wait()
        return stale

    async with Client(server, raise_exceptions=True) as client:
        await make_docs(client, n=0, name="before")

        async def listing() -> None:
            joined.append(await ok(client, "milvus_list_collections"))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(rt.listings.run, "default", rt.version(), slow_listing)
                await anyio.wait_all_tasks_blocked()
                tg.start_soon(listing)  # joins the listing under way
                await anyio.wait_all_tasks_blocked()
                assert joined == []
                generation = rt.generation
                await make_docs(client, n=0, name="after")
                assert rt.generation > generation
                names = [c["name"] for c in (await ok(client, "milvus_list_collections"))["collections"]]
                assert names == ["after", "before"]  # its own read: the create ended before it began
                release.set()
        assert joined == [{"database": "default", "collections": [], "total": 0, "truncated": False}]
        reads_before = rt.generation
        await ok(client, "milvus_list_collections")
        await ok(client, "milvus_describe_collection", collection_name="after")
        await ok(client, "milvus_count", collection_name="after")
        assert rt.generation == reads_before  # reads move nothing on
