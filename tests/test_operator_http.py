"""The operator's command line from issue 10, end to end over real HTTP: a token, a public bind with its
allowed host, read-only, and one family of collections. What an agent can and cannot do is exactly that."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.children import HOST
from tests.conftest import fails, make_docs, ok
from tests.test_http_security import TOKEN, WRONG, bearer, post_initialize
from tests.test_transports import http_server

pytestmark = [pytest.mark.anyio, pytest.mark.subprocess]

PUBLIC_NAME = "milvus-mcp.internal"


def client(port: int, token: str, host: str = PUBLIC_NAME) -> Client:
    http = create_mcp_http_client(headers={**bearer(token), "host": host})
    return Client(streamable_http_client(f"http://{HOST}:{port}/mcp", http_client=http))


async def test_the_operator_command_line_gives_exactly_the_power_intended(tmp_path: Path) -> None:
    db = tmp_path / "milvus.db"
    async with Client(build_server(Settings(uri=str(db), embedding_provider="none"))) as setup:
        await make_docs(setup, n=2, name="docs_a")
        await make_docs(setup, n=1, name="secrets")
    options = ["--host", "0.0.0.0", "--allowed-hosts", PUBLIC_NAME, "--read-only", "--collections", "docs_*"]
    env = {"MILVUS_MCP_AUTH_TOKEN": TOKEN, "MILVUS_MCP_EMBEDDING_PROVIDER": "none"}
    with http_server(tmp_path, db, "streamable-http", *options, env=env) as (_, port, log):
        assert post_initialize(port, {"host": PUBLIC_NAME}).status_code == 401
        assert post_initialize(port, {"host": PUBLIC_NAME, **bearer(WRONG)}).status_code == 401
        assert post_initialize(port, {"host": "attacker.test", **bearer(TOKEN)}).status_code in (400, 421)
        async with client(port, TOKEN) as agent:
            offered = {t.name for t in (await agent.list_tools()).tools}
            assert "milvus_search" in offered and "milvus_load_collection" in offered
            assert not offered & {"milvus_insert", "milvus_delete", "milvus_drop_collection", "milvus_create_index"}
            listed = await ok(agent, "milvus_list_collections")
            assert [c["name"] for c in listed["collections"]] == ["docs_a"]
            assert (await ok(agent, "milvus_count", collection_name="docs_a"))["count"] == 2
            hidden = await fails(agent, "milvus_count", collection_name="secrets")
            missing = await fails(agent, "milvus_count", collection_name="nothing")
            assert hidden.replace("secrets", "X") == missing.replace("nothing", "X")
            refused = await fails(agent, "milvus_insert", collection_name="docs_a", rows=[{"id": 9}])
            assert "milvus_insert" in refused
        assert TOKEN not in log.read_text()
