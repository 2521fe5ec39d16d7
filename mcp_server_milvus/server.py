"""Builds the MCP server: instructions, lifespan, and the tool families."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from mcp_server_milvus import __version__
from mcp_server_milvus.arguments import describe_validation_error
from mcp_server_milvus.config import Settings
from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.tools import collections, data, databases, indexes, query, search

INSTRUCTIONS = """\
Milvus vector database tools. Typical flow: milvus_list_collections → milvus_describe_collection \
(fields, vector dims, indexes) → milvus_search / milvus_query. To start fresh: milvus_create_collection \
(creates, indexes and loads) → milvus_insert → milvus_search. Vectors are omitted from results unless \
named in output_fields; long results say truncated and how to get the rest. Every tool takes an \
optional `database`."""

FAMILIES = (collections, indexes, data, query, search, databases)


class MilvusServer(MCPServer[Runtime]):
    """An `MCPServer` whose argument errors read as one sentence an agent can act on."""

    def __init__(self, runtime: Runtime) -> None:
        @asynccontextmanager
        async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
            # Legacy SSE enters the lifespan once per connection: only the last one out closes Milvus.
            self._users += 1
            try:
                yield runtime
            finally:
                self._users -= 1
                if self._users == 0:
                    await runtime.close()

        self._users = 0

        super().__init__(
            "milvus",
            title="Milvus",
            version=__version__,
            instructions=INSTRUCTIONS,
            lifespan=lifespan,
            log_level=runtime.settings.log_level,
        )
        self.runtime = runtime

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Runtime, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(describe_validation_error(name, exc.__cause__)) from exc.__cause__
            prefix = f"Error executing tool {name}: "
            message = str(exc)
            if message.startswith(prefix):
                raise ToolError(message.removeprefix(prefix)) from exc.__cause__
            raise


def build_server(settings: Settings) -> MilvusServer:
    """A server for `settings`, every tool family registered. Nothing here touches Milvus."""
    server = MilvusServer(Runtime(settings))
    for family in FAMILIES:
        family.register(server, server.runtime)
    return server
