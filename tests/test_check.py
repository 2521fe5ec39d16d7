"""`mcp-server-milvus check`, and the command line as a group whose default still serves, each run as a real
child process (`python -m mcp_server_milvus`) the way an operator or a health probe runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.children import free_port
from tests.conftest import make_docs, ok

pytestmark = [pytest.mark.anyio, pytest.mark.subprocess]

REPO = str(Path(__file__).resolve().parents[1])
"""Put first on the child's path, so that it runs this checkout's package, whatever is installed."""


def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MILVUS_", "MCP_"))}
    return {**clean, "XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONPATH": REPO}


def cli(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_server_milvus", *args],
        capture_output=True,
        text=True,
        env=env(tmp_path),
        cwd=tmp_path,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


async def test_check_reports_a_lite_database(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    async with Client(build_server(Settings(uri=str(db), embedding_provider="none"))) as client:
        await make_docs(client, n=2, name="docs")
        await make_docs(client, n=0, name="empty")
        await ok(client, "milvus_release_collection", collection_name="empty")
    done = cli(tmp_path, "check", "--uri", str(db), "--embedding-provider", "none")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Milvus:      milvus-lite milvus_lite-3.") and lines[0].endswith(
        f"at {db} (engine process)"
    )
    assert lines[1:3] == ["Database:    default", "Collections: 2"]
    assert lines[3].split()[0] == "docs" and lines[4].split() == ["empty", "NotLoad"]
    assert lines[3].split()[1] in ("Loaded", "NotLoad")  # Lite forgets load states when its engine stops
    assert lines[5:] == ["Embedding:   none (text search by keywords only)", "OK"]


async def test_check_fails_in_one_line_when_milvus_cannot_be_reached(tmp_path: Path) -> None:
    port = free_port()
    started = time.monotonic()
    done = cli(tmp_path, "check", "--uri", f"http://127.0.0.1:{port}", "--timeout", "3")
    assert time.monotonic() - started < 30
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"Error: Cannot reach Milvus at http://127.0.0.1:{port}"), done.stderr


async def test_check_fails_for_a_missing_database_or_file_and_creates_neither(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    async with Client(build_server(Settings(uri=str(db), embedding_provider="none"))) as client:
        await make_docs(client, n=1)
    done = cli(tmp_path, "check", "--uri", str(db), "--db", "nope")
    assert done.returncode == 1 and done.stderr.startswith("Error: Database 'nope' does not exist."), done.stderr
    missing = tmp_path / "typo.db"
    done = cli(tmp_path, "check", "--uri", str(missing))
    assert done.returncode == 1 and f"No Milvus Lite database at {missing}" in done.stderr
    assert not missing.exists()
    done = cli(tmp_path, "check", "--uri", str(tmp_path / "not-a-db"))
    assert done.returncode == 2 and "must end in '.db'" in done.stderr


async def test_check_names_a_lite_database_locked_by_another_process(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from pymilvus import MilvusClient; MilvusClient({str(db)!r}); print(1, flush=True); input()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env(tmp_path),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
        done = cli(tmp_path, "check", "--uri", str(db), "--timeout", "5", timeout=90)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert done.returncode == 1 and done.stderr.startswith(f"Error: The Milvus Lite database {db} is locked")


async def test_help_is_the_whole_help_with_check_listed(tmp_path: Path) -> None:
    done = cli(tmp_path, "--help")
    assert done.returncode == 0
    for words in ("Serve the Milvus vector database", "milvus.db", "--uri http://localhost:19530", "MILVUS_URI"):
        assert words in done.stdout, words
    assert "check" in done.stdout.split("Commands:")[1]
    done = cli(tmp_path, "check", "--help")
    assert done.returncode == 0 and "Test the connection" in done.stdout and "MILVUS_TOKEN" in done.stdout


async def test_the_old_invocation_without_a_command_still_serves(tmp_path: Path) -> None:
    """`python -m mcp_server_milvus --uri X ...` (the configs in examples/) serves over stdio, every
    option reaching the server."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server_milvus", "--uri", str(tmp_path / "m.db"), "--transport", "stdio", "--max-rows", "7"],
        env={"XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONPATH": REPO, "MILVUS_MCP_MAX_LIMIT": "9"},
        cwd=str(tmp_path),
    )
    with (tmp_path / "stdio.stderr").open("a") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert {"milvus_insert", "milvus_search", "milvus_server_info"} <= tools
            info = await ok(client, "milvus_server_info")
            assert (info["limits"]["max_rows"], info["limits"]["max_limit"]) == (7, 9)


async def test_options_before_the_command_name_count_and_the_command_line_beats_the_environment(
    tmp_path: Path,
) -> None:
    """`mcp-server-milvus --uri X check` (what `docker run IMAGE --uri X check` runs) checks X, not the
    default database; `check --uri Y` beats MILVUS_URI and a --uri before the command name."""
    db = tmp_path / "m.db"
    async with Client(build_server(Settings(uri=str(db), embedding_provider="none"))) as client:
        await make_docs(client, n=1, name="only_here")
    done = cli(tmp_path, "--uri", str(db), "--embedding-provider", "none", "check")
    assert done.returncode == 0 and "only_here" in done.stdout, done.stderr
    run = env(tmp_path) | {"MILVUS_URI": str(tmp_path / "elsewhere.db")}
    argv = [sys.executable, "-m", "mcp_server_milvus", "--uri", str(tmp_path / "other.db"), "check", "--uri", str(db)]
    done = subprocess.run(argv, capture_output=True, text=True, env=run, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and "only_here" in done.stdout, done.stderr
    done = subprocess.run([*argv[:-3], "check"], capture_output=True, text=True, env=run, cwd=tmp_path, timeout=60)
    assert done.returncode == 1 and f"No Milvus Lite database at {tmp_path / 'other.db'}" in done.stderr
