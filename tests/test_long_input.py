"""One call cannot take the server down: 1 MB arguments get a short answer, quickly.

The bound is a hang guard, generous on purpose (the cost itself is measured in benchmarks/): before
the error path was made linear, one malformed 1 MB filter held the event loop for over 25 minutes.
"""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from tests.conftest import fails, make_docs
from tests.test_arguments import NAME_ARGUMENTS, SAMPLE

pytestmark = pytest.mark.anyio

MB = 1_000_000
HANG_GUARD_SECONDS = 10.0
LONG_FILTERS = {
    "letters": "a" * MB,
    "unterminated string with URIs": 'title == "' + "tcp://user" * (MB // 10),
}
FILTER_TOOLS = {
    "milvus_query": {},
    "milvus_count": {},
    "milvus_delete": {},
    "milvus_search": {"vector": [0.1, 0.2, 0.3, 0.4]},
}


@pytest.mark.parametrize("form", list(LONG_FILTERS))
async def test_a_1mb_filter_gets_a_short_answer_from_every_tool(client: Client, form: str) -> None:
    await make_docs(client, n=3)
    for tool, extra in FILTER_TOOLS.items():
        with anyio.fail_after(HANG_GUARD_SECONDS):
            message = await fails(client, tool, collection_name="docs", filter=LONG_FILTERS[form], **extra)
        assert "Invalid filter" in message, (tool, message[:300])
        assert len(message) < 2000, (tool, len(message))


async def test_a_1mb_name_gets_a_short_answer_from_every_tool(client: Client) -> None:
    tools = (await client.list_tools()).tools
    long_name = "n" * MB
    for t in tools:
        properties = t.input_schema["properties"]
        base = {name: SAMPLE[name] for name in t.input_schema.get("required", []) if name in SAMPLE}
        for argument in NAME_ARGUMENTS & set(properties):
            with anyio.fail_after(HANG_GUARD_SECONDS):
                message = await fails(client, t.name, **{**base, argument: long_name})
            assert "at most 255 characters" in message, (t.name, argument, message[:300])
            assert len(message) < 2000, (t.name, argument, len(message))
