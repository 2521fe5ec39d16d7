"""Operator controls: --read-only, --tools / --exclude-tools, and the --collections / --databases allow-lists.

Each restricted server runs beside an unrestricted one (the `client` fixture, the "admin") on the same Milvus
Lite database, through real MCP clients: the admin makes what the restricted agent must not see, and checks
afterwards that the agent's refused calls changed nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client
from typer.testing import CliRunner

from mcp_server_milvus.cli import app
from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from mcp_server_milvus.toolset import ToolChoiceError
from tests.conftest import fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio

READ_ONLY = {
    "milvus_list_collections",
    "milvus_describe_collection",
    "milvus_list_partitions",
    "milvus_list_aliases",
    "milvus_query",
    "milvus_count",
    "milvus_search",
    "milvus_hybrid_search",
    "milvus_server_info",
}


@asynccontextmanager
async def serving(db_path: str, **operator: Any) -> AsyncIterator[Client]:
    """A client of a server on `db_path` with the operator's settings."""
    server = build_server(Settings(uri=db_path, embedding_provider="none", **operator))
    async with Client(server, raise_exceptions=True) as c:
        yield c


async def tool_names(client: Client) -> set[str]:
    return {t.name for t in (await client.list_tools()).tools}


async def test_read_only_offers_exactly_the_read_only_tools_and_load(client: Client, db_path: str) -> None:
    every = (await client.list_tools()).tools
    annotated = {t.name for t in every if t.annotations and t.annotations.read_only_hint}
    assert annotated == READ_ONLY
    await make_docs(client, n=3)
    await ok(client, "milvus_release_collection", collection_name="docs")  # released by the admin, not the agent

    async with serving(db_path, read_only=True) as agent:
        assert await tool_names(agent) == READ_ONLY | {"milvus_load_collection"}
        assert "read-only" in (agent.instructions or "")
        assert "milvus_create_collection" not in (agent.instructions or "")
        assert (await ok(agent, "milvus_count", collection_name="docs"))["count"] == 3  # loaded on demand
        message = await fails(agent, "milvus_insert", collection_name="docs", rows=rows(1, start=10))
        assert message.startswith("milvus_insert is turned off on this server by its operator.")
        assert (await ok(agent, "milvus_load_collection", collection_name="docs"))["load_state"] == "Loaded"


async def test_tools_and_exclude_tools_take_names_and_groups(db_path: str) -> None:
    async with serving(db_path, tools="search, milvus_count") as agent:
        assert await tool_names(agent) == {"milvus_search", "milvus_hybrid_search", "milvus_count"}
        message = await fails(agent, "milvus_list_collections")
        assert "turned off" in message and "'milvus_count'" in message
    async with serving(db_path, exclude_tools=["databases", "milvus_drop_collection", "server"]) as agent:
        names = await tool_names(agent)
        assert len(names) == 26 - 4
        assert not names & {
            "milvus_create_database",
            "milvus_drop_database",
            "milvus_drop_collection",
            "milvus_server_info",
        }
    async with serving(
        db_path, tools="collections,aliases", exclude_tools="milvus_drop_alias", read_only=True
    ) as agent:
        assert await tool_names(agent) == {
            "milvus_list_collections",
            "milvus_describe_collection",
            "milvus_load_collection",
            "milvus_list_aliases",
        }


def test_contradictory_or_empty_choices_are_refused(db_path: str) -> None:
    with pytest.raises(ToolChoiceError, match="--tools names 'milvus_insert', which --read-only turns off"):
        build_server(Settings(uri=db_path, tools="query,milvus_insert", read_only=True))
    with pytest.raises(ToolChoiceError, match="leave no tool"):
        build_server(Settings(uri=db_path, tools="server", exclude_tools="milvus_server_info"))
    with pytest.raises(ToolChoiceError, match=r"Unknown tool or group 'serch' in --tools\. Did you mean 'search'\?"):
        build_server(Settings(uri=db_path, tools="serch"))


def test_an_unknown_tool_stops_the_start(tmp_path) -> None:
    """The real command, as an operator runs it: exit 2, the bad name, the closest one, every valid one."""
    db = str(tmp_path / "x.db")
    out = subprocess.run(
        [sys.executable, "-m", "mcp_server_milvus", "--uri", db, "--tools", "query,serch"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 2, out.stderr
    assert "Unknown tool or group 'serch' in --tools. Did you mean 'search'?" in out.stderr
    assert "Groups: 'collections', 'partitions', 'aliases', 'indexes', 'data', 'query', 'search'" in out.stderr
    assert "'milvus_hybrid_search'" in out.stderr and out.stdout == ""
    out = subprocess.run(
        [sys.executable, "-m", "mcp_server_milvus", "--uri", db],
        env={"MILVUS_MCP_EXCLUDE_TOOLS": "milvus_insrt", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 2, out.stderr
    assert "Unknown tool or group 'milvus_insrt' in --exclude-tools. Did you mean 'milvus_insert'" in out.stderr
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def test_help_names_the_operator_options() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for word in ("--read-only", "--tools", "--exclude-tools", "--collections", "--databases", "MILVUS_MCP_READ_ONLY"):
        assert word in result.output, word


def test_the_default_database_must_be_allowed() -> None:
    result = CliRunner().invoke(app, ["--uri", "/tmp/never.db", "--databases", "team_*"])
    assert result.exit_code == 2
    assert "the default database 'default' (--db) is not in --databases ['team_*']" in result.output


async def make_in(client: Client, database: str, name: str, n: int = 1) -> None:
    await ok(client, "milvus_create_collection", collection_name=name, dimension=4, database=database)
    await ok(client, "milvus_insert", collection_name=name, rows=rows(n), database=database)


def missing(name: str, visible: str) -> str:
    return f"Collection '{name}' does not exist in database 'default'. Existing collections: {visible}."


async def test_hidden_collections_are_absent_and_refused_as_missing(client: Client, db_path: str) -> None:
    await make_docs(client, n=2, name="docs_a")
    await make_docs(client, n=1, name="docs_b")
    await make_docs(client, n=4, name="secret")
    await ok(client, "milvus_create_alias", collection_name="docs_a", alias="pub")
    await ok(client, "milvus_create_alias", collection_name="secret", alias="docs_peek")
    visible = "'docs_a', 'docs_b'"

    async with serving(db_path, collections="docs_*") as agent:
        listed = await ok(agent, "milvus_list_collections")
        assert [c["name"] for c in listed["collections"]] == ["docs_a", "docs_b"] and listed["total"] == 2
        assert (await ok(agent, "milvus_list_aliases"))["aliases"] == [{"alias": "pub", "collection_name": "docs_a"}]
        # An alias is resolved first: 'pub' opens docs_a, 'docs_peek' (matching the pattern) does not open secret.
        assert (await ok(agent, "milvus_count", collection_name="pub"))["count"] == 2
        for name in ("secret", "nosuch", "docs_peek"):
            for tool, extra in {
                "milvus_describe_collection": {},
                "milvus_count": {},
                "milvus_query": {"limit": 1},
                "milvus_search": {"vector": [1.0, 1.0, 1.0, 1.0]},
                "milvus_insert": {"rows": rows(1, start=50)},
                "milvus_list_aliases": {},
                "milvus_list_partitions": {},
                "milvus_load_collection": {},
                "milvus_flush": {},
                "milvus_drop_collection": {"confirm_name": name},
            }.items():
                message = await fails(agent, tool, collection_name=name, **extra)
                assert message == missing(name, visible), (tool, message)
        # Did-you-mean looks among the visible names only.
        assert await fails(agent, "milvus_count", collection_name="secre") == missing("secre", visible)
        assert (await fails(agent, "milvus_count", collection_name="docs_c")).endswith(
            "Did you mean 'docs_b' or 'docs_a'?"
        )
        # Aliases of hidden collections are as absent as the collections.
        gone = await fails(agent, "milvus_drop_alias", alias="docs_peek")
        assert gone.startswith("Alias 'docs_peek' does not exist in database 'default'.") and "secret" not in gone
        assert "Alias 'docs_peek' does not exist" in await fails(
            agent, "milvus_create_alias", collection_name="docs_a", alias="docs_peek", replace=True
        )
        # A name taken by an alias of a hidden collection says no more than that.
        taken = await fails(agent, "milvus_create_collection", collection_name="docs_peek", dimension=4)
        assert taken == "The name 'docs_peek' is taken; choose another collection_name."
        assert await fails(agent, "milvus_create_alias", collection_name="secret", alias="docs_s") == missing(
            "secret", visible
        )

    # Nothing the agent was refused happened.
    assert (await ok(client, "milvus_count", collection_name="docs_peek"))["count"] == 4
    assert {"alias": "docs_peek", "collection_name": "secret"} in (await ok(client, "milvus_list_aliases"))["aliases"]
    assert (await ok(client, "milvus_count", collection_name="docs_a"))["count"] == 2


async def test_new_names_must_match_the_allow_list(client: Client, db_path: str) -> None:
    await make_docs(client, n=1, name="secret")
    async with serving(db_path, collections=["docs_*", "notes"]) as agent:
        refused = "This server may only make collections named like 'docs_*', 'notes' (--collections)"
        for name in ("secret", "other"):  # the same words whether the name is taken by a hidden one or free
            message = await fails(agent, "milvus_create_collection", collection_name=name, dimension=4)
            assert message == f"{refused}; choose a name that matches. E.g. 'docs_new'."
        await make_docs(agent, n=1, name="docs_c")
        message = await fails(agent, "milvus_rename_collection", collection_name="docs_c", new_name="secret")
        assert message.startswith(refused)
        renamed = await ok(agent, "milvus_rename_collection", collection_name="docs_c", new_name="notes")
        assert renamed["new_name"] == "notes"
        message = await fails(agent, "milvus_create_alias", collection_name="notes", alias="secret")
        assert message.startswith("This server may only make aliases named like 'docs_*', 'notes'")
        await ok(agent, "milvus_create_alias", collection_name="notes", alias="docs_current")
    assert (await ok(client, "milvus_count", collection_name="secret"))["count"] == 1
    names = [c["name"] for c in (await ok(client, "milvus_list_collections"))["collections"]]
    assert names == ["notes", "secret"]


async def test_a_database_of_hidden_collections_is_not_dropped_nor_revealed(client: Client, db_path: str) -> None:
    for db in ("only_hidden", "mixed", "empty"):
        await ok(client, "milvus_create_database", database_name=db)
    await make_in(client, "only_hidden", "secret")
    await make_in(client, "mixed", "secret")
    await make_in(client, "mixed", "docs_x")

    async with serving(db_path, collections="docs_*") as agent:
        assert (await ok(agent, "milvus_list_collections", database="only_hidden"))["collections"] == []
        message = await fails(agent, "milvus_drop_database", database_name="only_hidden", confirm_name="only_hidden")
        assert message == (
            "Database 'only_hidden' holds collections this server does not show, so it cannot be dropped through "
            "this server; ask its operator."
        )
        message = await fails(agent, "milvus_drop_database", database_name="mixed", confirm_name="mixed")
        assert "'docs_x'" in message and "secret" not in message
        await ok(agent, "milvus_drop_database", database_name="empty", confirm_name="empty")
    assert (await ok(client, "milvus_count", collection_name="secret", database="only_hidden"))["count"] == 1
    assert sorted((await ok(client, "milvus_server_info"))["databases"]) == ["default", "mixed", "only_hidden"]


async def test_hidden_databases_are_absent_and_refused_as_missing(client: Client, db_path: str) -> None:
    for db in ("team_a", "team_b", "other"):
        await ok(client, "milvus_create_database", database_name=db)
    await make_in(client, "other", "docs", n=2)
    await make_in(client, "team_a", "docs", n=3)

    async with serving(db_path, databases="default,team_*") as agent:
        assert (await ok(agent, "milvus_server_info"))["databases"] == ["default", "team_a", "team_b"]
        assert (await ok(agent, "milvus_count", collection_name="docs", database="team_a"))["count"] == 3
        for name, hint in (("other", ""), ("nowhere", ""), ("team_z", " Did you mean 'team_b' or 'team_a'?")):
            # hidden; hidden and missing; missing
            expected = (
                f"Database '{name}' does not exist.{hint} Existing databases: 'default', 'team_a', 'team_b'; "
                "create it with milvus_create_database."
            )
            assert await fails(agent, "milvus_list_collections", database=name) == expected
            assert await fails(agent, "milvus_count", collection_name="docs", database=name) == expected
            assert await fails(agent, "milvus_drop_database", database_name=name, confirm_name=name) == expected
        message = await fails(agent, "milvus_create_database", database_name="other")
        assert message == (
            "This server may only make databases named like 'default', 'team_*' (--databases); choose a name that "
            "matches. E.g. 'team_new'."
        )
        await ok(agent, "milvus_create_database", database_name="team_c")
    assert (await ok(client, "milvus_count", collection_name="docs", database="other"))["count"] == 2
