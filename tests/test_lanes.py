"""The engine's heavy lane: costly reads run on a low-priority thread and answer as before.

How much the lane keeps quick calls quick is measured, not asserted here: `python -m benchmarks.run
--only stall`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from mcp_server_milvus.server import MilvusServer
from tests.conftest import make_docs, ok, rows

pytestmark = pytest.mark.anyio


def thread_nices(pid: int) -> list[int]:
    """The nice value of every thread of a process (field 19 of /proc/PID/task/TID/stat)."""
    nices = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        nices.append(int(fields[16]))
    return nices


async def reads(client: Client) -> list[object]:
    """One of each scanning read: search, filtered query, count and a get by id."""
    hits = await ok(client, "milvus_search", collection_name="docs", vector=rows(1, start=3)[0]["vector"], limit=3)
    found = await ok(client, "milvus_query", collection_name="docs", filter="id >= 2", output_fields=["title"])
    count = await ok(client, "milvus_count", collection_name="docs")
    got = await ok(client, "milvus_query", collection_name="docs", ids=[4], output_fields=["title"])
    return [[h["id"] for h in hits["hits"]], sorted(r["title"] for r in found["rows"]), count["count"], got["rows"]]


@pytest.mark.parametrize("nice", [10, 0])
async def test_heavy_reads_run_on_a_low_priority_lane_and_answer_the_same(
    monkeypatch: pytest.MonkeyPatch, server: MilvusServer, db_path: str, nice: int
) -> None:
    monkeypatch.setenv("MILVUS_MCP_ENGINE_HEAVY_CPU_SECONDS", "0")  # every scanning read counts as heavy
    monkeypatch.setenv("MILVUS_MCP_ENGINE_HEAVY_NICE", str(nice))
    async with Client(server) as client:
        await make_docs(client, n=6)
        first = await reads(client)  # the ordinary pool: costs learned
        assert first[0][0] == 3 and first[2] == 6
        assert await reads(client) == first  # the heavy lane
        pid = (await ok(client, "milvus_server_info"))["engine_pid"]
        assert set(thread_nices(pid)) == {0, nice}, "only the heavy lane runs at the configured nice"
    log = (Path(db_path + ".engine") / "engine.log").read_text()
    assert "Search on default.docs took" in log and "the next one runs on the heavy lane" in log
