"""Destructive tools ask the user through elicitation where the client can be asked; `confirm_name` alone
where it cannot. Both client modes: up to 2025-11-25 the question is a request mid-call, after that an
input-required round."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client
from mcp_types import ElicitRequestParams, ElicitResult

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.conftest import fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]


class User:
    """An elicitation callback that answers every question the same way and remembers them."""

    def __init__(self, action: str, confirm: bool = True) -> None:
        self.action = action
        self.confirm = confirm
        self.asked: list[str] = []

    async def __call__(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        content = {"confirm": self.confirm} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)


async def connect(db_path: str, mode: str, user: User | None, **settings: Any) -> AsyncIterator[Client]:
    server = build_server(Settings(uri=db_path, embedding_provider="none", **settings))
    async with Client(server, raise_exceptions=True, mode=mode, elicitation_callback=user) as c:
        yield c


async def names(client: Client) -> list[str]:
    return [c["name"] for c in (await ok(client, "milvus_list_collections"))["collections"]]


@pytest.mark.parametrize("mode", MODES)
async def test_accepted_drop_collection(db_path: str, mode: str) -> None:
    user = User("accept")
    async for client in connect(db_path, mode, user):
        await make_docs(client, n=2)
        got = await ok(client, "milvus_drop_collection", collection_name="docs", confirm_name="docs")
        assert got["dropped"] == "docs"
        assert user.asked == ["Drop collection 'docs' and all its data, for good?"]
        assert "docs" not in await names(client)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", [User("decline"), User("cancel"), User("accept", confirm=False)])
async def test_declined_drop_collection_keeps_it(db_path: str, mode: str, answer: User) -> None:
    user = User(answer.action, answer.confirm)
    async for client in connect(db_path, mode, user):
        await make_docs(client, n=2)
        text = await fails(client, "milvus_drop_collection", collection_name="docs", confirm_name="docs")
        assert text.startswith("The user declined: collection 'docs' was not dropped."), text
        assert len(user.asked) == 1
        assert "docs" in await names(client)
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 2


@pytest.mark.parametrize("mode", MODES)
async def test_no_elicitation_capability_confirm_name_alone(db_path: str, mode: str) -> None:
    async for client in connect(db_path, mode, None):
        await make_docs(client, n=2)
        await ok(client, "milvus_create_partition", collection_name="docs", partition_name="p1")
        await ok(client, "milvus_drop_partition", collection_name="docs", partition_name="p1", confirm_name="p1")
        await ok(client, "milvus_drop_collection", collection_name="docs", confirm_name="docs")
        assert "docs" not in await names(client)
        await ok(client, "milvus_create_database", database_name="d2")
        await ok(client, "milvus_drop_database", database_name="d2", confirm_name="d2")


@pytest.mark.parametrize("mode", MODES)
async def test_wrong_confirm_name_asks_nobody(db_path: str, mode: str) -> None:
    user = User("accept")
    async for client in connect(db_path, mode, user):
        await make_docs(client, n=2)
        text = await fails(client, "milvus_drop_collection", collection_name="docs", confirm_name="doc")
        assert "does not match" in text
        assert user.asked == []
        assert "docs" in await names(client)


@pytest.mark.parametrize("mode", MODES)
async def test_drop_partition_and_database_ask(db_path: str, mode: str) -> None:
    user = User("decline")
    async for client in connect(db_path, mode, user):
        await make_docs(client, n=2)
        await ok(client, "milvus_create_partition", collection_name="docs", partition_name="p1")
        text = await fails(
            client, "milvus_drop_partition", collection_name="docs", partition_name="p1", confirm_name="p1"
        )
        assert "partition 'p1' was not dropped" in text
        listed = await ok(client, "milvus_list_partitions", collection_name="docs")
        assert "p1" in [p["name"] for p in listed["partitions"]]
        await ok(client, "milvus_create_database", database_name="d2")
        text = await fails(client, "milvus_drop_database", database_name="d2", confirm_name="d2")
        assert "database 'd2' was not dropped" in text
        assert "d2" in (await ok(client, "milvus_server_info"))["databases"]
        assert user.asked == [
            "Drop partition 'p1' of collection 'docs' and all its rows, for good?",
            "Drop database 'd2', for good?",
        ]
    user.action = "accept"
    async for client in connect(db_path, mode, user):
        await ok(client, "milvus_drop_partition", collection_name="docs", partition_name="p1", confirm_name="p1")
        await ok(client, "milvus_drop_database", database_name="d2", confirm_name="d2")
        assert "d2" not in (await ok(client, "milvus_server_info"))["databases"]


@pytest.mark.parametrize("mode", MODES)
async def test_delete_by_filter_asks_over_threshold(db_path: str, mode: str) -> None:
    user = User("decline")
    async for client in connect(db_path, mode, user, confirm_delete_over=3):
        await make_docs(client, n=0)
        await ok(client, "milvus_insert", collection_name="docs", rows=rows(6))
        # At the threshold: nobody is asked.
        got = await ok(client, "milvus_delete", collection_name="docs", filter="id < 3")
        assert got["delete_count"] == 3 and user.asked == []
        # By ids: nobody is asked, however many.
        await ok(client, "milvus_insert", collection_name="docs", rows=rows(3))
        got = await ok(client, "milvus_delete", collection_name="docs", ids=[0, 1, 2, 3])
        assert got["delete_count"] == 4 and user.asked == []
        await ok(client, "milvus_insert", collection_name="docs", rows=rows(4))
        text = await fails(client, "milvus_delete", collection_name="docs", filter="id >= 0")
        assert text.startswith("The user declined: no rows of 'docs' were deleted."), text
        assert user.asked == ["Delete 6 rows of 'docs' matching 'id >= 0', for good?"]
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 6
        user.action = "accept"
        got = await ok(client, "milvus_delete", collection_name="docs", filter="id >= 0")
        assert got["delete_count"] == 6
        assert len(user.asked) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_delete_by_filter_without_capability(db_path: str, mode: str) -> None:
    async for client in connect(db_path, mode, None, confirm_delete_over=1):
        await make_docs(client, n=5)
        got = await ok(client, "milvus_delete", collection_name="docs", filter="id >= 0")
        assert got["delete_count"] == 5
