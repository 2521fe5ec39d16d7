"""Builds the MCP server: instructions, lifespan, and the tool families."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from mcp_server_milvus import __version__, completions, prompts, resources
from mcp_server_milvus.arguments import describe_validation_error
from mcp_server_milvus.config import Settings
from mcp_server_milvus.embeddings import create_provider
from mcp_server_milvus.errors import did_you_mean, excerpt, names, unexpected
from mcp_server_milvus.guides import instructions
from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.stdio import ParsedLine, serve_stdio
from mcp_server_milvus.surrogates import lone_surrogate_at
from mcp_server_milvus.tools import (
    ToolFn,
    aliases,
    build,
    collections,
    create,
    data,
    databases,
    hybrid,
    indexes,
    partitions,
    query,
    search,
    transfer,
)
from mcp_server_milvus.toolset import select

GROUPS: dict[str, tuple[ToolFn[...], ...]] = {
    "collections": (*collections.TOOLS, *create.TOOLS),
    "partitions": partitions.TOOLS,
    "aliases": aliases.TOOLS,
    "indexes": indexes.TOOLS,
    "data": data.TOOLS,
    "query": query.TOOLS,
    "search": (*search.TOOLS, *hybrid.TOOLS),
    "databases": tuple(fn for fn in databases.TOOLS if fn is not databases.milvus_server_info),
    "server": (databases.milvus_server_info,),
    "import": transfer.TOOLS,
}
"""The group of every tool, the one place it is said: `--tools` and `--exclude-tools` take these names."""

TOOLS = tuple(fn for group in GROUPS.values() for fn in group)
"""Every tool, in the order `tools/list` gives them."""
_ALL_NAMES = frozenset(fn.__name__ for fn in TOOLS)
INSTRUCTIONS = instructions(_ALL_NAMES, read_only=False)
"""The instructions of a server with every tool and the default limits."""


class MilvusServer(MCPServer[Runtime]):
    """An `MCPServer` whose argument errors read as one sentence an agent can act on."""

    def __init__(self, runtime: Runtime) -> None:
        s = runtime.settings
        offered = select(
            GROUPS, read_only=s.read_only, include=s.tools, exclude=s.exclude_tools, absent=transfer.unavailable(s)
        )
        tools = build(offered)

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
            instructions=instructions([t.name for t in tools], s.read_only, s.max_result_bytes, s.max_limit),
            lifespan=lifespan,
            log_level=runtime.settings.log_level,
            tools=tools,
            subscriptions=False,  # no resource update notices are sent: advertise no subscriptions
        )
        resources.register(self)
        self.runtime = runtime
        self.offered = frozenset(t.name for t in tools)
        """The names of the tools this server offers: prompts name no other."""
        for prompt in prompts.build():
            self.add_prompt(prompt)
        self.completion()(completions.handler(runtime))
        self._argument_models = {t.name: t.fn_metadata.arg_model for t in tools}

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Runtime, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        if name not in self._argument_models:
            known = list(self._argument_models)
            if name in _ALL_NAMES:
                raise ToolError(
                    f"{name} is turned off on this server by its operator. Tools: {names(known, limit=40)}."
                )
            raise ToolError(
                f"Unknown tool '{excerpt(name, 60)}'.{did_you_mean(name, known)} Tools: {names(known, limit=40)}."
            )
        where = None if _parsed(context) else lone_surrogate_at(arguments)
        if where is not None:
            raise ToolError(
                f"Argument '{where.encode('utf-8', 'backslashreplace').decode()}' of {name} is not valid text: it "
                "holds a lone UTF-16 surrogate (such as \\ud800), which UTF-8 cannot carry; send valid Unicode."
            )
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as exc:  # an argument check of ours crashed: still name the cause
            raise unexpected(name, exc.__cause__ or exc) from exc
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                model = self._argument_models[name]
                raise ToolError(describe_validation_error(name, exc.__cause__, model)) from exc.__cause__
            prefix = f"Error executing tool {name}: "
            message = str(exc)
            if message.startswith(prefix):
                raise ToolError(message.removeprefix(prefix)) from exc.__cause__
            raise

    async def run_stdio_async(self) -> None:
        """Serve stdio through our reader, which answers the lines the SDK's reader would drop unanswered."""
        await serve_stdio(self._lowlevel_server)


def build_server(settings: Settings) -> MilvusServer:
    """A server for `settings`, with the tools its operator chose (a bad choice is a `ToolChoiceError`).
    Nothing here touches Milvus, nor loads an embedding model (that happens on the first text that needs it)."""
    embedder = create_provider(settings.embedding_provider, settings.embedding_model, settings.embedding_base_url)
    return MilvusServer(Runtime(settings, embedder))


def _parsed(context: Context[Runtime, Any] | None) -> bool:
    """Whether the call was read by our stdio reader, whose JSON parser already refused lone surrogates.
    Every other call is scanned: an in-process client hands strings over as they are."""
    if context is None:
        return False
    try:
        return isinstance(context.request_context.request, ParsedLine)
    except ValueError:  # a Context made outside a request has none
        return False
