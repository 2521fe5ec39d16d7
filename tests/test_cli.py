"""The command line: settings from options and environment, secrets kept out of logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from typer.testing import CliRunner

from mcp_server_milvus.cli import app
from mcp_server_milvus.config import Settings, default_uri
from mcp_server_milvus.redact import RedactingFilter, redact, register_secret
from tests.conftest import ok
from tests.test_check import REPO

runner = CliRunner()


def test_default_uri_follows_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/data/x")
    assert default_uri() == "/data/x/mcp-server-milvus/milvus.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_uri().endswith("/.local/share/mcp-server-milvus/milvus.db")


def test_settings_validate_the_uri() -> None:
    assert Settings(uri="relative.db").is_lite
    assert Settings(uri="relative.db").uri.startswith("/")
    assert not Settings(uri="https://example.zillizcloud.com:443").is_lite
    with pytest.raises(ValueError, match=r"must end in '\.db'"):
        Settings(uri="/tmp/data")


def test_bad_option_is_one_line_on_stderr() -> None:
    result = runner.invoke(app, ["--uri", "/tmp/nodb", "--transport", "stdio"])
    assert result.exit_code == 2
    assert "must end in '.db'" in result.output
    result = runner.invoke(app, ["--transport", "carrier-pigeon"])
    assert result.exit_code == 2 and "transport" in result.output


def test_help_explains_options_and_env_vars() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for word in (
        "--uri",
        "MILVUS_URI",
        "--token",
        "MILVUS_TOKEN",
        "--db",
        "MILVUS_DB",
        "--transport",
        "MILVUS_MCP_TRANSPORT",
        "--max-result-bytes",
        "--schema-cache-ttl",
        "--timeout",
        "--log-level",
        "--stateless",
        "--version",
    ):
        assert word in result.output, word


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("mcp-server-milvus ")


def test_redaction_masks_tokens_and_userinfo() -> None:
    register_secret("root:Milvus-pass")
    assert redact("http://root:Milvus-pass@host:19530") == "http://***@host:19530"
    assert redact("token=root:Milvus-pass, again Milvus-pass") == "token=***, again ***"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "connecting with %s", ("Milvus-pass",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "connecting with ***"


def test_import_survives_milvus_uri_holding_a_lite_path(tmp_path) -> None:
    """pymilvus fails at import when MILVUS_URI is a Lite path; the CLI takes it out first."""
    code = (
        "import os, sys; from mcp_server_milvus.cli import app; "
        "from typer.testing import CliRunner; import mcp_server_milvus.cli as cli; "
        "seen = {}; cli.run = lambda s: seen.update(uri=s.uri, env=os.environ.get('MILVUS_URI')); "
        "r = CliRunner().invoke(app, []); import pymilvus; print(seen['uri'], seen['env'], r.exit_code)"
    )
    env = {"MILVUS_URI": str(tmp_path / "x.db"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(tmp_path / "x.db"), "None", "0"]


def test_asking_for_the_local_model_without_the_extra_names_the_extra(tmp_path) -> None:
    """`sys.modules[name] = None` is how Python itself marks a module as not importable: the process below
    sees no sentence-transformers, whatever this environment has installed."""
    code = (
        "import sys; sys.modules['sentence_transformers'] = None; "
        "from typer.testing import CliRunner; from mcp_server_milvus.cli import app; "
        f"r = CliRunner().invoke(app, ['--uri', {str(tmp_path / 'x.db')!r}, '--embedding-provider', 'local']); "
        "print(r.exit_code); print(r.output)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    code_line, message = out.stdout.split("\n", 1)
    assert code_line == "2", out.stdout
    assert "pip install 'milvus-agent-mcp[embeddings]'" in message and "--embedding-provider" in message
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def _help(tmp_path, *args: str) -> str:
    """The help as a user reads it: a child process, this checkout's package, a clean environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILVUS_", "MCP_"))}
    env |= {"XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONPATH": REPO, "COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-m", "mcp_server_milvus", *args, "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.subprocess
def test_help_of_the_group_and_of_serve_explains_everything(tmp_path) -> None:
    """What it does, where the default database lives, the environment variables (secrets included) and an
    example server URI, in `--help` and `serve --help` alike; the group lists both commands."""
    for args in ((), ("serve",)):
        out = _help(tmp_path, *args)
        assert out.startswith(f"Usage: mcp-server-milvus {'serve ' if args else ''}[OPTIONS]"), out[:80]
        assert "Serve the Milvus vector database to AI agents over MCP." in out
        assert str(tmp_path / "xdg" / "mcp-server-milvus" / "milvus.db") in out.replace("\n", "").replace(" ", "")
        assert "mcp-server-milvus --uri http://localhost:19530 --transport streamable-http" in out
        for var in ("MILVUS_URI", "MILVUS_TOKEN", "MILVUS_MCP_TRANSPORT", "MILVUS_MCP_AUTH_TOKEN ("):
            assert var in out, var
        assert "MILVUS_MCP_EMBEDDING_API_KEY" in out.replace("\n", "").replace(" ", "")
    commands = _help(tmp_path).split("Commands:")[1].split()
    assert {"serve", "check"} <= set(commands)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--transport", "streamable-http", "--port", "9001"], ("default.db", "streamable-http", 9001)),
        (["serve", "--transport", "streamable-http", "--port", "9001"], ("default.db", "streamable-http", 9001)),
        (["--uri", "a.db", "--port", "9001", "serve"], ("a.db", "stdio", 9001)),
        (["--uri", "a.db", "--port", "9001", "serve", "--port", "9002"], ("a.db", "stdio", 9002)),
        (["serve"], ("default.db", "stdio", 8000)),
    ],
    ids=["old-form", "serve", "group-options-before-serve", "serve-options-win", "serve-bare"],
)
def test_serve_is_the_default_and_options_before_it_count(monkeypatch, tmp_path, argv, expected) -> None:
    """Old configs name no command; `docker run IMAGE serve` puts the entrypoint's options before `serve`."""
    import mcp_server_milvus.cli as cli

    seen: list[Settings] = []
    monkeypatch.setattr(cli, "run", seen.append)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MILVUS_URI", str(tmp_path / "default.db"))
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert len(seen) == 1
    settings = seen[0]
    assert (Path(settings.uri).name, settings.transport, settings.port) == expected


@pytest.mark.anyio
@pytest.mark.subprocess
async def test_serve_command_serves_over_stdio(tmp_path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server_milvus", "--max-rows", "7", "serve", "--uri", str(tmp_path / "m.db")],
        env={"XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONPATH": REPO, "MILVUS_MCP_EMBEDDING_PROVIDER": "none"},
        cwd=str(tmp_path),
    )
    with (tmp_path / "stdio.stderr").open("a") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            info = await ok(client, "milvus_server_info")
            assert info["limits"]["max_rows"] == 7
    assert (tmp_path / "m.db").exists() and not (tmp_path / "xdg").exists()
