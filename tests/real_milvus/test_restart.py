"""The real Milvus 2.3.5 SIGKILLed and started again under a running MCP server, and `check` with a bad
token against a Milvus that requires authentication.

Both restart the suite's Milvus ($MILVUS_REAL_RESTART, from .ci/real_milvus.sh: about 5-10 s each), so
they run after every other test (the `restarts_milvus` marker) and leave Milvus as they found it:
running, on the same data, without authentication.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from mcp_server_milvus.failures import COLLECTION_NOT_LOADED
from tests.real_milvus.conftest import RESTART, URI, Oracle, eventually, fails, mcp_child, ok, real_milvus, rows
from tests.real_milvus.test_check import check

pytestmark = [
    *real_milvus,
    pytest.mark.restarts_milvus,
    pytest.mark.skipif(not RESTART, reason="needs MILVUS_REAL_RESTART: run `bash .ci/real_milvus.sh`"),
]

TIMEOUT = 30.0
"""--timeout of the MCP server here (its default): a call while Milvus is down must fail well within it."""
RECOVERY = 60.0
"""Seconds Milvus 2.3.5 may take after a restart to serve a loaded collection again. It answers "collection
not loaded" to everyone until the killed instance's sessions expire in its etcd (common.session.ttl, 30 s):
measured 26 s after the restart, for a fresh pymilvus client as for us."""
TOKEN = "restart-user:s3cr3t-Restart-T0ken"
"""Sent by the MCP server to a Milvus without authentication, which ignores it; it must never show."""


def restart(*args: str) -> None:
    """$MILVUS_REAL_RESTART with `args` (`--stop`: kill only; `--auth`: start requiring a login)."""
    done = subprocess.run(
        [*shlex.split(RESTART), *args], capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout.strip().splitlines()[-1])


async def serves(oracle: Oracle, database: str) -> bool:
    """Whether Milvus answers a Strong count of `docs` (to a client of its own, not through us)."""
    try:
        oracle.count("docs", database)
    except Exception as exc:
        if getattr(exc, "code", None) != COLLECTION_NOT_LOADED:
            raise
        return False
    return True


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp")


@pytest.fixture(scope="module")
async def mcp(workdir: Path) -> AsyncIterator[Client]:
    """This module's MCP server child: a short timeout, and a Milvus token that must never be echoed."""
    async with mcp_child(workdir, "--timeout", str(TIMEOUT), env={"MILVUS_TOKEN": TOKEN}) as client:
        yield client


async def test_milvus_killed_and_restarted_under_a_running_server(mcp: Client, db: str, workdir: Path) -> None:
    """Acknowledged inserts, then Milvus SIGKILLed: calls fail clearly within the timeout, naming no
    secret; Milvus started again on the same data: the very next call works without restarting the MCP
    server, and every acknowledged row is there (by the oracle, Strong)."""
    await ok(mcp, "milvus_create_collection", collection_name="docs", dimension=4, database=db)
    for start in (0, 1_000):
        got = await ok(mcp, "milvus_insert", collection_name="docs", rows=rows(50, start=start), database=db)
        assert got["insert_count"] == 50

    restart("--stop")
    try:
        for tool, arguments in [("milvus_count", {}), ("milvus_search", {"vector": [1, 2, 3, 4]})]:
            started = time.monotonic()
            message = await fails(mcp, tool, collection_name="docs", database=db, **arguments)
            assert time.monotonic() - started < TIMEOUT, tool
            assert message.startswith(f"Cannot reach Milvus at {URI}"), message
            assert "s3cr3t" not in message and "Traceback" not in message, message
    finally:
        restart()
    # The first call once Milvus listens again: a read that needs no collection, on the connection the
    # server held to the killed Milvus.
    listed = await ok(mcp, "milvus_list_collections", database=db)
    assert [c["name"] for c in listed["collections"]] == ["docs"]
    oracle = Oracle()  # fresh clients: the session's oracle connected to the Milvus before the restart
    try:
        waited = await eventually(lambda: serves(oracle, db), timeout=RECOVERY)
        print(f"Milvus served the collection again {waited:.1f} s after the restart")
        # The very next call through the MCP server works, and sees every acknowledged row.
        assert (await ok(mcp, "milvus_count", collection_name="docs", database=db))["count"] == 100
        got = await ok(mcp, "milvus_insert", collection_name="docs", rows=rows(50, start=2_000), database=db)
        assert got["insert_count"] == 50
        hits = await ok(mcp, "milvus_search", collection_name="docs", vector=[1, 2, 3, 4], limit=3, database=db)
        assert len(hits["hits"]) == 3

        assert oracle.count("docs", db) == 150
        for start in (0, 1_000, 2_000):
            assert oracle.count("docs", db, f"id >= {start} and id < {start + 50}") == 50
    finally:
        oracle.close()
    assert "s3cr3t" not in (workdir / "server.stderr").read_text()


def test_check_refuses_a_bad_token(tmp_path: Path) -> None:
    """Against a Milvus that requires authentication, `check` with a wrong token (or none) exits 1 with one
    line saying the credentials were refused, without the token; the right one passes, so authentication
    really was on."""
    wrong = tmp_path / "token"
    wrong.write_text("root:Wr0ng-Passw0rd-Zq9\n")
    restart("--auth")
    try:
        for done in (check("--token-file", str(wrong)), check()):
            assert done.returncode == 1, done.stdout + done.stderr
            assert done.stdout == "" and "Wr0ng-Passw0rd" not in done.stderr
            assert len(done.stderr.splitlines()) == 1, done.stderr
            assert done.stderr.startswith(f"Error: Milvus at {URI} refused the credentials ("), done.stderr
            assert done.stderr.rstrip().endswith(
                "Give the right token (user:password or an API key) by MILVUS_TOKEN or --token-file."
            ), done.stderr
        right = check(env={"MILVUS_TOKEN": "root:Milvus"})  # the default superuser of Milvus 2.3
        assert right.returncode == 0, right.stderr
        assert right.stdout.splitlines()[-1] == "OK"
    finally:
        restart()
