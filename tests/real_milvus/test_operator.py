"""Operator allow-lists and read-only mode against a real Milvus server: a restricted server (its own child
process, as an operator starts it) beside the unrestricted one (`mcp`), which makes what the agent must not
see and cleans up after."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.real_milvus.conftest import CHECKOUT, URI, Oracle, fails, ok, real_milvus, rows

pytestmark = real_milvus


@pytest.fixture(scope="module")
async def agent(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    workdir = tmp_path_factory.mktemp("agent")
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server_milvus", "--uri", URI, "--read-only"],
        env={
            "MILVUS_MCP_COLLECTIONS": "docs_*",
            "MILVUS_MCP_DATABASES": "default,t_*",
            "XDG_DATA_HOME": str(workdir / "xdg"),
            "PYTHONPATH": str(CHECKOUT),
        },
        cwd=str(workdir),
    )
    with (workdir / "server.stderr").open("a") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client


async def test_hidden_collections_and_databases_on_a_server(
    mcp: Client, agent: Client, db: str, oracle: Oracle
) -> None:
    for name in ("docs_a", "secret"):
        await ok(mcp, "milvus_create_collection", collection_name=name, dimension=4, database=db)
        await ok(mcp, "milvus_insert", collection_name=name, rows=rows(2), database=db)
    await ok(mcp, "milvus_create_alias", collection_name="secret", alias="docs_peek", database=db)
    await ok(mcp, "milvus_create_database", database_name="op_hidden")
    try:
        assert "milvus_insert" not in {t.name for t in (await agent.list_tools()).tools}
        listed = await ok(agent, "milvus_list_collections", database=db)
        assert [c["name"] for c in listed["collections"]] == ["docs_a"]
        assert (await ok(agent, "milvus_list_aliases", database=db))["aliases"] == []
        assert (await ok(agent, "milvus_count", collection_name="docs_a", database=db))["count"] == 2
        for name in ("secret", "docs_peek", "nosuch"):
            message = await fails(agent, "milvus_count", collection_name=name, database=db)
            assert message == f"Collection '{name}' does not exist in database '{db}'. Existing collections: 'docs_a'."
        databases = (await ok(agent, "milvus_server_info"))["databases"]
        assert db in databases and "op_hidden" not in databases
        for name in ("op_hidden", "op_nowhere"):
            message = await fails(agent, "milvus_list_collections", database=name)
            assert message.startswith(f"Database '{name}' does not exist.") and "op_hidden" not in message[20:]
    finally:
        # pymilvus, as milvus_list_aliases finds no alias outside 'default' on Milvus 2.3.5
        oracle.client(db).drop_alias("docs_peek")
        await ok(mcp, "milvus_drop_database", database_name="op_hidden", confirm_name="op_hidden")
