"""The HTTP transports, secure by default: the real server as a child process on a free loopback port,
real HTTP requests (httpx2, as the SDK's clients use) and a real MCP client.

Bearer tokens on every MCP endpoint, token rotation on SIGHUP, Host and Origin checks, refusals to
start beyond loopback unprotected, /healthz, the request-size cap, the audit log, and no secret in any
log line, error or tool result.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from typer.testing import CliRunner

from mcp_server_milvus.cli import app
from mcp_server_milvus.config import Settings
from mcp_server_milvus.sessions import tls_options
from tests.children import HOST, free_port, stop, wait_listening
from tests.conftest import fails, ok, rows
from tests.test_staleness import MILVUS_LITE
from tests.test_transports import SERVER, TEST_TIMEOUT, child_env, http_server, wait_exit

pytestmark = pytest.mark.subprocess

TOKEN = "mcp-token-5f3a9c1e7b"
OTHER_TOKEN = "mcp-token-rotated-42d8"
WRONG = "mcp-token-guessed-0000"
MILVUS_PASSWORD = "MilvusSecret-7c1d"
URI_PASSWORD = "UriSecret-93be"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
JSON_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def post_initialize(port: int, headers: dict[str, str] | None = None, path: str = "/mcp") -> httpx2.Response:
    return httpx2.post(
        f"http://{HOST}:{port}{path}", json=INITIALIZE, headers={**JSON_HEADERS, **(headers or {})}, timeout=10
    )


def authed_client(port: int, token: str) -> Client:
    http = create_mcp_http_client(headers=bearer(token))
    return Client(streamable_http_client(f"http://{HOST}:{port}/mcp", http_client=http))


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_refused(response: httpx2.Response, wrong: bool) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert ('error="invalid_token"' in challenge) is wrong
    assert "bearer token" in response.json()["error"]


# --- bearer tokens ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_streamable_http_needs_a_current_token_and_audits(tmp_path: Path) -> None:
    """Every method of /mcp (and any other path) is refused without the token or with a wrong one; the
    right one opens a real MCP session. The audit log has a line for each refusal, write and drop, with
    counts and outcomes, and neither the tokens nor any row value."""
    audit = tmp_path / "audit.jsonl"
    env = {"MILVUS_MCP_AUTH_TOKEN": TOKEN}
    with http_server(tmp_path, tmp_path / "a.db", "streamable-http", "--audit-log", str(audit), env=env) as s:
        proc, port, log = s
        url = f"http://{HOST}:{port}/mcp"
        for method in ("POST", "GET", "DELETE"):
            assert_refused(httpx2.request(method, url, headers=JSON_HEADERS, json=INITIALIZE), wrong=False)
            assert_refused(httpx2.request(method, url, headers={**JSON_HEADERS, **bearer(WRONG)}), wrong=True)
        assert_refused(httpx2.post(url, headers={**JSON_HEADERS, "authorization": TOKEN}), wrong=False)  # no scheme
        assert_refused(httpx2.get(f"http://{HOST}:{port}/elsewhere"), wrong=False)
        assert post_initialize(port, {"authorization": f"bearer {TOKEN}"}).status_code == 200  # scheme: any case

        with anyio.fail_after(TEST_TIMEOUT):
            async with authed_client(port, TOKEN) as client:
                await ok(client, "milvus_create_collection", collection_name="docs", dimension=4)
                inserted = await ok(client, "milvus_insert", collection_name="docs", rows=rows(3))
                assert inserted["insert_count"] == 3
                await fails(client, "milvus_insert", collection_name="nowhere", rows=rows(1))
                await ok(client, "milvus_count", collection_name="docs")
                await ok(client, "milvus_drop_collection", collection_name="docs", confirm_name="docs")
        assert proc.poll() is None

    lines = audit_lines(audit)
    refused = [line for line in lines if line["audit"] == "auth_refused"]
    assert len(refused) == 8
    assert {line["reason"] for line in refused} == {"missing_token", "wrong_token"}
    assert all(line["client"] == HOST for line in refused)
    calls = [(line["tool"], line["kind"], line["outcome"]) for line in lines if line["audit"] == "tool_call"]
    assert calls == [
        ("milvus_create_collection", "write", "ok"),
        ("milvus_insert", "write", "ok"),
        ("milvus_insert", "write", "error"),
        ("milvus_drop_collection", "destructive", "ok"),
    ], "a read (milvus_count) is not audited; every write and the drop are"
    insert = next(line for line in lines if line.get("tool") == "milvus_insert")
    assert (insert["database"], insert["collection"], insert["insert_count"]) == ("default", "docs", 3)
    text = audit.read_text()
    for secret_or_value in (TOKEN, WRONG, '"t1"', "vector"):
        assert secret_or_value not in text
    stderr = log.read_text()
    assert TOKEN not in stderr and WRONG not in stderr
    assert '"audit"' not in stderr, "audit lines went to the file, not stderr"


@pytest.mark.anyio
async def test_sse_endpoints_need_the_token(tmp_path: Path) -> None:
    """Legacy SSE: the event stream and the message endpoint both refuse a request without the token;
    a client sending it works. Without --audit-log the audit lines go to stderr."""
    with http_server(tmp_path, tmp_path / "s.db", "sse", env={"MILVUS_MCP_AUTH_TOKEN": TOKEN}) as (_, port, log):
        base = f"http://{HOST}:{port}"
        assert_refused(httpx2.get(f"{base}/sse"), wrong=False)
        assert_refused(httpx2.get(f"{base}/sse", headers=bearer(WRONG)), wrong=True)
        assert_refused(httpx2.post(f"{base}/messages/?session_id=0123", json=INITIALIZE), wrong=False)
        assert_refused(httpx2.post(f"{base}/messages/?session_id=0123", json=INITIALIZE, headers=bearer(WRONG)), True)
        with anyio.fail_after(TEST_TIMEOUT):
            async with (
                sse_client(f"{base}/sse", headers=bearer(TOKEN)) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                await ok(session, "milvus_create_collection", collection_name="docs", dimension=4)
    stderr = log.read_text()
    audited = [json.loads(line) for line in stderr.splitlines() if line.startswith('{"ts"')]
    refused = [line["reason"] for line in audited if line["audit"] == "auth_refused"]
    assert refused == ["missing_token", "wrong_token"] * 2
    assert [line["tool"] for line in audited if line["audit"] == "tool_call"] == ["milvus_create_collection"]
    assert TOKEN not in stderr and WRONG not in stderr


def test_token_file_is_read_again_on_sighup(tmp_path: Path) -> None:
    """Rotation without a restart: after the file is rewritten and SIGHUP sent, the old token is refused
    and the new one works. A file that becomes unreadable keeps the tokens in force."""
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN}\n\n{WRONG}\n")
    with http_server(tmp_path, tmp_path / "r.db", "streamable-http", "--auth-token-file", str(tokens)) as s:
        proc, port, log = s
        assert post_initialize(port, bearer(TOKEN)).status_code == 200
        assert post_initialize(port, bearer(WRONG)).status_code == 200, "every line is a token"
        assert post_initialize(port, bearer(OTHER_TOKEN)).status_code == 401

        tokens.write_text(f"{OTHER_TOKEN}\n")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while post_initialize(port, bearer(TOKEN)).status_code != 401:
            assert time.monotonic() < deadline, "the old token still works 10 s after SIGHUP"
            time.sleep(0.1)
        assert post_initialize(port, bearer(WRONG)).status_code == 401
        assert post_initialize(port, bearer(OTHER_TOKEN)).status_code == 200

        tokens.unlink()
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "Kept the current auth tokens" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert post_initialize(port, bearer(OTHER_TOKEN)).status_code == 200
        proc.send_signal(signal.SIGTERM)
        code, _ = wait_exit(proc)
    assert code == 0, "SIGTERM still ends the server cleanly"
    stderr = log.read_text()
    for token in (TOKEN, OTHER_TOKEN, WRONG):
        assert token not in stderr


# --- Host and Origin -------------------------------------------------------------------------------


def test_bad_origin_and_host_are_refused(tmp_path: Path) -> None:
    """DNS rebinding: a foreign Origin gets 403 and a foreign Host 421, token or not; the hosts and
    origins given are allowed as well as loopback's (a host without a port matches any port)."""
    env = {"MILVUS_MCP_AUTH_TOKEN": TOKEN}
    extra = ["--allowed-hosts", "mcp.test, other.test:9", "--allowed-origins", "https://app.test"]
    with http_server(tmp_path, tmp_path / "o.db", "streamable-http", *extra, env=env) as (_, port, _log):
        auth = bearer(TOKEN)
        assert post_initialize(port, auth).status_code == 200
        assert post_initialize(port, {**auth, "origin": "http://evil.test"}).status_code == 403
        assert post_initialize(port, {**auth, "origin": f"http://localhost:{port}"}).status_code == 200
        assert post_initialize(port, {**auth, "origin": "https://app.test"}).status_code == 200
        assert post_initialize(port, {**auth, "host": "evil.test"}).status_code == 421
        assert post_initialize(port, {**auth, "host": f"evil.test:{port}"}).status_code == 421
        assert post_initialize(port, {**auth, "host": f"mcp.test:{port}"}).status_code == 200
        assert post_initialize(port, {**auth, "host": "other.test:9"}).status_code == 200
        assert post_initialize(port, {**auth, "host": f"other.test:{port}"}).status_code == 421
        assert post_initialize(port, {"origin": "http://evil.test"}).status_code == 401, "the token comes first"


def test_sse_checks_origin_too(tmp_path: Path) -> None:
    with http_server(tmp_path, tmp_path / "so.db", "sse", env={"MILVUS_MCP_AUTH_TOKEN": TOKEN}) as (_, port, _log):
        headers = {**bearer(TOKEN), "origin": "http://evil.test"}
        assert httpx2.get(f"http://{HOST}:{port}/sse", headers=headers, timeout=10).status_code == 403


# --- refusals to start -----------------------------------------------------------------------------


def start_fails(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the server expecting it to refuse to start (exit 2) before it binds; its stderr."""
    done = subprocess.run(
        [*SERVER, "--uri", str(tmp_path / "x.db"), "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=child_env(tmp_path, **(env or {})),
        cwd=tmp_path,
    )
    assert done.returncode == 2, (done.returncode, done.stderr)
    return done.stderr


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
def test_beyond_loopback_needs_a_token_and_allowed_hosts(tmp_path: Path, transport: str) -> None:
    wide = ["--transport", transport, "--host", "0.0.0.0"]
    stderr = start_fails(tmp_path, *wide)
    assert "needs a bearer token" in stderr
    assert "MILVUS_MCP_AUTH_TOKEN" in stderr and "--allow-unauthenticated" in stderr
    stderr = start_fails(tmp_path, *wide, "--allow-unauthenticated")
    assert "needs --allowed-hosts" in stderr and "--allow-any-host" in stderr
    stderr = start_fails(tmp_path, *wide, env={"MILVUS_MCP_AUTH_TOKEN": TOKEN})
    assert "needs --allowed-hosts" in stderr
    assert TOKEN not in stderr


def test_token_options_that_cannot_both_hold(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN}\n")
    stderr = start_fails(
        tmp_path,
        "--transport",
        "streamable-http",
        "--auth-token-file",
        str(tokens),
        env={"MILVUS_MCP_AUTH_TOKEN": TOKEN},
    )
    assert "not both" in stderr
    empty = tmp_path / "empty"
    empty.write_text("\n  \n")
    assert "holds no token" in start_fails(tmp_path, "--transport", "streamable-http", "--auth-token-file", str(empty))
    missing = tmp_path / "missing"
    assert "cannot read" in start_fails(tmp_path, "--transport", "sse", "--auth-token-file", str(missing))
    assert TOKEN not in stderr
    stderr = start_fails(tmp_path, "--transport", "sse", env={"MILVUS_MCP_AUTH_TOKEN": "short-secret"})
    assert "MILVUS_MCP_AUTH_TOKEN: 1 auth token(s) shorter than 16 characters" in stderr
    assert "short-secret" not in stderr
    stderr = start_fails(tmp_path, "--transport", "sse", "--audit-log", str(tmp_path / "no" / "such" / "dir.log"))
    assert "--audit-log: cannot open" in stderr


def test_help_names_the_security_options() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for word in (
        "MILVUS_MCP_AUTH_TOKEN",
        "--auth-token-file",
        "SIGHUP",
        "--allow-unauthenticated",
        "--allowed-hosts",
        "--allowed-origins",
        "--allow-any-host",
        "--max-request-bytes",
        "--audit-log",
        "--token-file",
        "MILVUS_TOKEN_FILE",
        "--tls-ca",
        "--tls-cert",
        "--tls-key",
        "--tls-server-name",
    ):
        assert word in result.output, word


def test_milvus_token_on_the_command_line_warns(tmp_path: Path) -> None:
    """--token still works but says why not to; the token itself is not echoed."""
    stderr = start_fails(tmp_path, "--token", MILVUS_PASSWORD, "--transport", "sse", "--host", "0.0.0.0")
    assert "Warning: --token on the command line is visible" in stderr
    assert MILVUS_PASSWORD not in stderr
    stderr = start_fails(tmp_path, "--transport", "sse", "--host", "0.0.0.0", env={"MILVUS_TOKEN": MILVUS_PASSWORD})
    assert "Warning" not in stderr, "from the environment, the token is where it should be"
    token_file = tmp_path / "milvus-token"
    token_file.write_text(MILVUS_PASSWORD)
    stderr = start_fails(tmp_path, "--token", MILVUS_PASSWORD, "--token-file", str(token_file))
    assert "not two" in stderr


# --- size cap and health ---------------------------------------------------------------------------


def test_oversize_request_is_refused_with_the_limit(tmp_path: Path) -> None:
    env = {"MILVUS_MCP_AUTH_TOKEN": TOKEN}
    with http_server(tmp_path, tmp_path / "big.db", "streamable-http", "--max-request-bytes", "2048", env=env) as s:
        _, port, _log = s
        url = f"http://{HOST}:{port}/mcp"
        big = {**INITIALIZE, "params": {**INITIALIZE["params"], "padding": "x" * 4000}}
        refused = httpx2.post(url, json=big, headers={**JSON_HEADERS, **bearer(TOKEN)}, timeout=10)
        assert refused.status_code == 413
        message = refused.json()["error"]["message"]
        assert "2048 bytes" in message and "--max-request-bytes" in message and "fewer rows" in message

        def chunks() -> Iterator[bytes]:  # no Content-Length: the SDK counts the body as it comes
            body = json.dumps(big).encode()
            for i in range(0, len(body), 500):
                yield body[i : i + 500]

        chunked = httpx2.post(url, content=chunks(), headers={**JSON_HEADERS, **bearer(TOKEN)}, timeout=10)
        assert chunked.status_code == 413
        assert httpx2.post(url, json=big, headers=JSON_HEADERS, timeout=10).status_code == 401
        assert post_initialize(port, bearer(TOKEN)).status_code == 200, "a request under the cap still works"


@contextmanager
def milvus_lite_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A standalone Milvus Lite server on a free loopback port: a Milvus reached by URI and token."""
    port = free_port()
    log = tmp_path / "milvus-lite.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(MILVUS_LITE), "server", "--data-dir", str(tmp_path / "data"), "--host", HOST, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_listening(port, proc, log)
        yield f"http://{HOST}:{port}", proc
    finally:
        stop(proc)


def test_healthz_says_only_whether_milvus_answers(tmp_path: Path) -> None:
    """No token needed; 200 while Milvus answers, 503 within the timeout once it is gone."""
    env = {"MILVUS_MCP_AUTH_TOKEN": TOKEN}
    with (
        milvus_lite_server(tmp_path) as (uri, milvus),
        http_server(tmp_path, uri, "streamable-http", "--timeout", "2", env=env) as (_, port, _log),
    ):
        # The first answer also builds the Milvus client (pymilvus import, connect): on a busy machine that
        # alone can pass the 2 s timeout, so wait for the first 200 rather than expect it at once.
        deadline = time.monotonic() + 60
        while True:
            health = httpx2.get(f"http://{HOST}:{port}/healthz", timeout=10)
            if health.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert (health.status_code, health.json()) == (200, {"milvus": "reachable"})
        stop(milvus)
        started = time.monotonic()
        health = httpx2.get(f"http://{HOST}:{port}/healthz", timeout=10)
        assert (health.status_code, health.json()) == (503, {"milvus": "unreachable"})
        assert time.monotonic() - started < 5


# --- secrets ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_no_token_in_logs_errors_or_server_info(tmp_path: Path) -> None:
    """Against a Milvus reached with a user:password token (from MILVUS_TOKEN), credentials in its URI and
    an MCP token: none appears in milvus_server_info, in the error once Milvus is gone, or anywhere on the real
    subprocess's stderr (DEBUG logging, so every library speaks)."""
    env = {"MILVUS_MCP_AUTH_TOKEN": TOKEN, "MILVUS_TOKEN": f"root:{MILVUS_PASSWORD}"}
    with milvus_lite_server(tmp_path) as (plain_uri, milvus):
        uri = plain_uri.replace("http://", f"http://reader:{URI_PASSWORD}@")
        extra = ["--timeout", "3", "--log-level", "DEBUG"]
        with http_server(tmp_path, uri, "streamable-http", *extra, env=env) as (_, port, log):
            with anyio.fail_after(TEST_TIMEOUT):
                async with authed_client(port, TOKEN) as client:
                    info = await ok(client, "milvus_server_info")
                    await ok(client, "milvus_create_collection", collection_name="docs", dimension=4)
                    stop(milvus)
                    error = await fails(client, "milvus_list_collections")
            assert httpx2.get(f"http://{HOST}:{port}/healthz", timeout=10).status_code == 503
            stderr = log.read_text()
    masked = plain_uri.replace("http://", "http://***@")
    assert info["uri"] == masked
    assert error.startswith(f"Cannot reach Milvus at {masked}"), error
    for place in (json.dumps(info), error, stderr):
        for secret in (TOKEN, MILVUS_PASSWORD, URI_PASSWORD):
            assert secret not in place
    assert "DEBUG" in stderr, "the log ran at DEBUG level"


# --- TLS to Milvus (passed to pymilvus; not tested against a TLS server) ---------------------------


def test_tls_options_reach_pymilvus_as_it_names_them(tmp_path: Path) -> None:
    server = "https://milvus.example:19530"
    assert tls_options(Settings(uri=server)) == {}
    assert tls_options(Settings(uri=server, tls_ca=Path("/ca.pem"), tls_server_name="milvus.internal")) == {
        "secure": True,
        "server_pem_path": "/ca.pem",
        "server_name": "milvus.internal",
    }
    mutual = Settings(uri=server, tls_ca=Path("/ca.pem"), tls_cert=Path("/c.pem"), tls_key=Path("/k.pem"))
    assert tls_options(mutual) == {
        "secure": True,
        "ca_pem_path": "/ca.pem",
        "client_pem_path": "/c.pem",
        "client_key_path": "/k.pem",
    }
    with pytest.raises(ValueError, match="go together"):
        Settings(uri=server, tls_ca=Path("/ca.pem"), tls_cert=Path("/c.pem"))
    with pytest.raises(ValueError, match="needs --tls-ca"):
        Settings(uri=server, tls_cert=Path("/c.pem"), tls_key=Path("/k.pem"))
    with pytest.raises(ValueError, match="Milvus Lite"):
        Settings(uri=str(tmp_path / "x.db"), tls_ca=Path("/ca.pem"))


# --- audit, in process -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_audit_names_the_database_a_call_acts_on(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    """Database tools are audited under the database they name; a refused drop is a destructive call
    that failed; reads leave no line."""
    caplog.set_level("INFO", logger="mcp_server_milvus.audit")
    await ok(client, "milvus_create_database", database_name="shop")
    await fails(client, "milvus_drop_database", database_name="shop", confirm_name="shops")
    await ok(client, "milvus_server_info")
    await ok(client, "milvus_create_collection", collection_name="docs", dimension=4, database="shop")
    await ok(client, "milvus_insert", collection_name="docs", rows=rows(2), database="shop")
    await ok(client, "milvus_delete", collection_name="docs", ids=[0], database="shop")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mcp_server_milvus.audit"]
    assert [(x["tool"], x["kind"], x["database"], x["collection"], x["outcome"]) for x in lines] == [
        ("milvus_create_database", "write", "shop", None, "ok"),
        ("milvus_drop_database", "destructive", "shop", None, "error"),
        ("milvus_create_collection", "write", "shop", "docs", "ok"),
        ("milvus_insert", "write", "shop", "docs", "ok"),
        ("milvus_delete", "destructive", "shop", "docs", "ok"),
    ]
    assert lines[3]["insert_count"] == 2 and lines[4]["delete_count"] == 1
