"""`mcp-server-milvus check` against the real Milvus server: what it reports, and a missing database."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.real_milvus.conftest import CHECKOUT, URI, real_milvus

pytestmark = real_milvus


def check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`mcp-server-milvus check` against the suite's Milvus, seeing no MILVUS_ variable but those of `env`."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("MILVUS_", "MCP_"))}
    return subprocess.run(
        [sys.executable, "-m", "mcp_server_milvus", "check", "--uri", URI, "--embedding-provider", "none", *args],
        capture_output=True,
        text=True,
        env={**inherited, **(env or {}), "PYTHONPATH": str(CHECKOUT)},
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_check_reports_the_server() -> None:
    done = check()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Milvus:      milvus-server v2.") and lines[0].endswith(f"at {URI}"), lines[0]
    assert lines[1] == "Database:    default" and lines[-1] == "OK"


def test_check_names_a_missing_database() -> None:
    done = check("--db", "no_such_db_for_check")
    assert done.returncode == 1 and done.stderr.startswith("Error: Database 'no_such_db_for_check' does not exist")
