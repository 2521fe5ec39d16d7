"""The Dockerfile's entrypoint, run as a child process as far as a machine without a Docker engine can:
its command line and environment are read from the Dockerfile itself, so the test follows any change."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.children import free_port, stop, wait_listening
from tests.test_check import REPO
from tests.test_http_security import TOKEN, authed_client

pytestmark = [pytest.mark.anyio, pytest.mark.subprocess]

DOCKERFILE = Path(REPO) / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments left out."""
    joined, out = "", []
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        joined += line.rstrip().removesuffix("\\")
        if not line.rstrip().endswith("\\"):
            word, _, rest = joined.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            joined = ""
    return out


def entrypoint() -> tuple[list[str], dict[str, str]]:
    """The exec-form ENTRYPOINT + CMD and the ENV the image sets."""
    command: list[str] = []
    env: dict[str, str] = {}
    for word, rest in instructions():
        if word in ("ENTRYPOINT", "CMD"):
            command += json.loads(rest)  # exec form: no shell between Docker and the server
        elif word == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(rest))
    return command, env


def test_the_image_installs_this_package_and_serves_streamable_http_on_all_interfaces() -> None:
    command, env = entrypoint()
    assert command[0] == "mcp-server-milvus"
    assert command[command.index("--transport") + 1] == "streamable-http"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    steps = instructions()
    assert ("EXPOSE", port) in steps and steps[0][1].startswith("python:3.11-slim")
    for word, rest in steps:
        if word == "COPY":
            for source in rest.split()[:-1]:
                assert (Path(REPO) / source).exists(), source
    assert any(word == "RUN" and "pip install" in rest for word, rest in steps)
    assert env["XDG_DATA_HOME"] == "/data" and ("USER", "mcp") in steps
    assert not any(k.startswith("MILVUS_MCP_AUTH") or "TOKEN" in k for k in env)  # secrets come from `docker run`


async def test_the_entrypoint_command_line_starts_and_answers_mcp(tmp_path: Path) -> None:
    """The entrypoint as the image runs it (only the port and the data directory moved for a shared test
    machine), with the README's `docker run` additions (a token in the environment, --allowed-hosts),
    reached over streamable HTTP on loopback: initialize and tools/list answer. Without a token it refuses
    to start, since it listens on every interface."""
    command, image_env = entrypoint()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILVUS_", "MCP_"))}
    env.update(image_env, XDG_DATA_HOME=str(tmp_path / "data"), PYTHONPATH=REPO)
    argv = [sys.executable, "-m", "mcp_server_milvus", *command[1:], "--port", str(port)]  # the last --port wins
    argv += ["--allowed-hosts", "127.0.0.1"]
    refused = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert refused.returncode == 2 and "MILVUS_MCP_AUTH_TOKEN" in refused.stderr, refused.stderr
    env["MILVUS_MCP_AUTH_TOKEN"] = TOKEN
    log = tmp_path / "server.stderr"
    with log.open("wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        wait_listening(port, proc, log, 30)
        async with authed_client(port, TOKEN) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert {"milvus_list_collections", "milvus_insert"} <= tools
            listed = await client.call_tool("milvus_list_collections", {})
            assert not listed.is_error, listed.content
        assert "on 0.0.0.0:" in log.read_text() and (tmp_path / "data" / "mcp-server-milvus" / "milvus.db").exists()
    finally:
        stop(proc, signal.SIGTERM)


def test_check_runs_after_the_entrypoint_options(tmp_path: Path) -> None:
    """`docker run IMAGE check` appends `check` to the entrypoint: the server's options come first."""
    command, image_env = entrypoint()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILVUS_", "MCP_"))}
    env.update(image_env, XDG_DATA_HOME=str(tmp_path / "data"), PYTHONPATH=REPO)
    env["MILVUS_URI"] = str(tmp_path / "nothing-here.db")
    argv = [sys.executable, "-m", "mcp_server_milvus", *command[1:], "check"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and done.stderr.startswith("Error: No Milvus Lite database at"), done.stderr
