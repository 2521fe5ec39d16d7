"""Prompts: short, exact walkthroughs an agent (or its user) picks for a task, one module per prompt.

A prompt that names a collection is filled from the live schema through the runtime, with the operator's
visibility rules: a hidden collection is refused in the very words a missing one gets. A prompt never tells
the agent to call a tool this server does not offer (a read-only server has no insert).
"""

from __future__ import annotations

from mcp.server.mcpserver.prompts import Prompt

from mcp_server_milvus.prompts import design, diagnose, explore, filters, ingest

PROMPTS = (
    design.design_collection,
    ingest.ingest_documents,
    explore.explore_collection,
    filters.write_filter,
    diagnose.diagnose_search,
)


def build() -> list[Prompt]:
    """The SDK's `Prompt` for each prompt function; the docstring's first line is its description."""
    return [
        Prompt.from_function(fn, description=(fn.__doc__ or "").split("\n\n")[0].replace("\n", " ")) for fn in PROMPTS
    ]
