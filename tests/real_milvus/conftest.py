"""Fixtures for the suite against a REAL Milvus server (the C++ Milvus 2.3.5 standalone).

`bash .ci/real_milvus.sh` starts that server inside a private network namespace and runs this package
with MILVUS_REAL_URI set (http://127.0.0.1:PORT). Without it every test here is skipped, so the normal
`python -m pytest` run is unaffected.

Each test module talks to ONE `python -m mcp_server_milvus --uri MILVUS_REAL_URI` child process over
stdio, the way an MCP client does. Most tests work in a database of their own (`db`), created for the
test and dropped after it, so that the collections one test makes never show up in another's listing.

Reads through our server are checked against an independent oracle: pymilvus talking straight to
Milvus with Strong consistency.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests import conftest as base

URI = os.environ.get("MILVUS_REAL_URI", "")
CHECKOUT = Path(__file__).resolve().parents[2]
CALL_TIMEOUT = 60.0
"""Seconds for one tool call (index builds and loads on a 2-core machine included)."""

RESTART = os.environ.get("MILVUS_REAL_RESTART", "")
"""The command line that SIGKILLs the suite's Milvus and starts it again (see .ci/real_milvus.sh)."""

real_milvus = [
    pytest.mark.real_milvus,
    pytest.mark.anyio,
    pytest.mark.skipif(
        not URI, reason="needs a real Milvus server: set MILVUS_REAL_URI, or run `bash .ci/real_milvus.sh`"
    ),
]
"""`pytestmark` for every module of this package."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_milvus: runs against a real Milvus server at MILVUS_REAL_URI (bash .ci/real_milvus.sh)"
    )
    config.addinivalue_line("markers", "restarts_milvus: kills and restarts the suite's Milvus; runs last")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart Milvus run after all others, whose clients (the session's `oracle` among them)
    never see a Milvus go away under them."""
    items.sort(key=lambda item: item.get_closest_marker("restarts_milvus") is not None)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module scope, so that one MCP server process serves a whole module."""
    return "asyncio"


@asynccontextmanager
async def mcp_child(workdir: Path, *args: str, env: dict[str, str] | None = None) -> AsyncIterator[Client]:
    """Our MCP server as a child process over stdio, pointed at the real Milvus, with extra `args` and
    `env`; its stderr goes to `workdir`/server.stderr (the path is printed when a test fails)."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server_milvus", "--uri", URI, *args],
        # PYTHONPATH: the checkout under test, not whichever one the virtualenv's editable install points at
        env={
            "XDG_DATA_HOME": str(workdir / "xdg"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(CHECKOUT),
            **(env or {}),
        },
        cwd=str(workdir),
    )
    print(f"MCP server log: {workdir / 'server.stderr'}")
    with (workdir / "server.stderr").open("a") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client


@pytest.fixture(scope="module")
async def mcp(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    """One MCP server child for the module (see `mcp_child`)."""
    async with mcp_child(tmp_path_factory.mktemp("mcp")) as client:
        yield client


class Oracle:
    """pymilvus straight to Milvus (one synchronous client per database): the ground truth, read with
    Strong consistency."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}

    def client(self, database: str = "default") -> Any:
        if database not in self.clients:
            from pymilvus import MilvusClient

            self.clients[database] = MilvusClient(URI, db_name=database, timeout=30)
        return self.clients[database]

    def count(self, collection: str, database: str = "default", expr: str = "") -> int:
        """The true number of rows matching `expr`."""
        got = self.client(database).query(
            collection, filter=expr, output_fields=["count(*)"], consistency_level="Strong"
        )
        return int(got[0]["count(*)"])

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture(scope="session")
def oracle() -> Iterator[Oracle]:
    truth = Oracle()
    yield truth
    truth.close()


@pytest.fixture
async def db(mcp: Client, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A fresh database for one test, dropped (with its collections) afterwards."""
    name = "t_" + re.sub(r"\W", "_", request.node.name)[:50]
    await ok(mcp, "milvus_create_database", database_name=name)
    yield name
    listed = await ok(mcp, "milvus_list_collections", database=name)
    for c in listed["collections"]:
        await ok(mcp, "milvus_drop_collection", collection_name=c["name"], confirm_name=c["name"], database=name)
    await ok(mcp, "milvus_drop_database", database_name=name, confirm_name=name)


async def ok(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """`tests.conftest.ok` with a bounded wait."""
    with anyio.fail_after(CALL_TIMEOUT):
        return await base.ok(client, tool, **arguments)


async def fails(client: Client, tool: str, **arguments: Any) -> str:
    """`tests.conftest.fails` with a bounded wait."""
    with anyio.fail_after(CALL_TIMEOUT):
        return await base.fails(client, tool, **arguments)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> float:
    """Poll `check` until it holds; return how long that took. Fails the test after `timeout`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"still not true after {timeout} s")
        await anyio.sleep(0.25)
    return time.monotonic() - started


rows = base.rows
