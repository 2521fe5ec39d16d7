"""Failures are classified by what they are and always reach the agent with their cause: never the SDK's
bare "Error executing tool", never a guess from the words of a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.conftest import fails, make_docs, ok, rows
from tests.test_arguments import SAMPLE

pytestmark = pytest.mark.anyio


async def test_a_missing_partition_is_named_whatever_it_is_called(client: Client) -> None:
    """A missing partition named `connection_2024` once read as "Cannot reach Milvus" (its message is the
    partition's name alone on Milvus Lite) and made the server throw its client away."""
    await make_docs(client, n=2)
    message = await fails(
        client, "milvus_insert", collection_name="docs", rows=rows(1, start=9), partition_name="connection_2024"
    )
    assert (
        message == "Partition 'connection_2024' does not exist in collection 'docs'. Existing partitions: '_default'."
    )
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 2
    await ok(client, "milvus_insert", collection_name="docs", rows=rows(1, start=9), partition_name="_default")


@pytest.mark.parametrize("in_process", [False, True])
async def test_every_tool_names_a_cause_nothing_anticipated(tmp_path: Path, in_process: bool) -> None:
    """A database path under a regular file cannot be created: no handler expects that, and each tool
    must still say what went wrong."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    dirs = (tmp_path,)  # milvus_import and milvus_export offered too
    settings = Settings(uri=str(blocker / "milvus.db"), lite_in_process=in_process, import_dirs=dirs, export_dirs=dirs)
    server = build_server(settings)
    async with Client(server) as client:
        tools = (await client.list_tools()).tools
        assert {"milvus_import", "milvus_export"} <= {t.name for t in tools}
        for t in tools:
            arguments = {name: SAMPLE[name] for name in t.input_schema.get("required", []) if name in SAMPLE}
            arguments.update(
                {
                    "milvus_create_collection": {"dimension": 4},
                    "milvus_delete": {"ids": [1]},
                    "milvus_drop_database": {"confirm_name": "other"},
                    "milvus_drop_partition": {"confirm_name": SAMPLE["partition_name"]},
                    "milvus_search": {"vector": SAMPLE["vector"]},
                    "milvus_hybrid_search": {"text": "solar power"},
                }.get(t.name, {})
            )
            message = await fails(client, t.name, **arguments)
            assert "Error" in message and "Error executing tool" not in message, (t.name, message)
            assert str(blocker) in message, (t.name, message)
