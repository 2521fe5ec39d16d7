"""What the backend can do, from its version, and the plain answer when it cannot."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus.capabilities import from_version
from tests.conftest import make_docs, ok


def test_old_server_lacks_newer_features_and_says_what_to_do() -> None:
    caps = from_version("v2.3.5")
    assert caps.backend == "milvus-server"
    assert caps.as_dict() == {
        "bm25": False,
        "sparse_vectors": False,
        "multi_vector": False,
        "nullable_default": False,
        "group_by": False,
        "partition_load": True,
        "partition_key": True,
        "embedding_functions": False,
    }
    with pytest.raises(ToolError) as raised:
        caps.require("sparse_vectors")
    message = str(raised.value)
    assert message.startswith("This Milvus server (v2.3.5) does not support sparse vectors")
    assert "a Milvus server 2.4 or newer does" in message
    assert "Instead: use a FLOAT_VECTOR field" in message


def test_a_feature_of_a_patch_release() -> None:
    assert from_version("v2.2.9").partition_key and from_version("2.3").partition_key
    with pytest.raises(ToolError, match=r"partition keys .* a Milvus server 2\.2\.9 or newer does"):
        from_version("v2.2.8").require("partition_key")
    with pytest.raises(ToolError, match=r"a Milvus server 2\.5 or newer does"):
        from_version("v2.2.8").require("bm25")


def test_newer_and_unknown_versions() -> None:
    assert all(from_version("2.6.3").as_dict().values())
    assert not from_version("v2.5.10").embedding_functions and from_version("v2.5.10").bm25
    assert all(from_version("zilliz-cloud-build").as_dict().values())


def test_milvus_lite_is_its_own_backend() -> None:
    caps = from_version("milvus_lite-3.2.2")
    assert caps.backend == "milvus-lite"
    assert caps.bm25 and caps.sparse_vectors and caps.multi_vector and caps.group_by
    with pytest.raises(ToolError, match=r"Milvus Lite \(milvus_lite-3\.2\.2\) does not support loading single"):
        caps.require("partition_load")


@pytest.mark.anyio
async def test_server_info_reports_capabilities_and_reads_take_consistency(client: Client) -> None:
    info = await ok(client, "milvus_server_info")
    assert info["capabilities"]["bm25"] is True and info["capabilities"]["partition_load"] is False
    await make_docs(client, n=3)
    for level in ("Strong", "Bounded", "Session", "Eventually"):
        assert (await ok(client, "milvus_count", collection_name="docs", consistency_level=level))["count"] == 3
    hits = await ok(client, "milvus_search", collection_name="docs", vector=[1, 2, 3, 4], consistency_level="Bounded")
    assert len(hits["hits"]) == 3
