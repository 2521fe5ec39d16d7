"""The pymilvus internals this server reaches into (pinned to pymilvus 3.0): each is called here
directly, without its fallback, so a pymilvus that changes them fails this test loudly rather than
quietly making every schema fetch or listing slower."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_server_milvus import compat
from mcp_server_milvus.backends.lite import show_collections
from mcp_server_milvus.server import MilvusServer
from tests.conftest import make_docs, ok

pytestmark = pytest.mark.anyio


async def test_the_internal_paths_answer_as_the_public_ones(server: MilvusServer, client: Client) -> None:
    await make_docs(client, n=3)
    await make_docs(client, n=0, name="idle")
    await ok(client, "milvus_release_collection", collection_name="idle")
    direct = (await server.runtime.sessions.get("default")).client
    at_once = await compat.describe_indexes_at_once(direct, "docs", 10)
    names = await direct.list_indexes("docs", timeout=10)
    one_by_one = [await direct.describe_index("docs", n, timeout=10) for n in names]
    shape = [(i["index_name"], i["index_type"], i["metric_type"], i["state"]) for i in at_once]
    assert shape == [(i["index_name"], i["index_type"], i["metric_type"], i["state"]) for i in one_by_one]
    assert await show_collections(direct, 10) == {"docs": "Loaded", "idle": "NotLoad"}
    from pymilvus.client.cache import GlobalCache

    assert callable(GlobalCache.schema.invalidate)
    assert getattr(direct._handler, "server_address", None)
