"""Tool families, one module each. `tool()` registers one tool the way every tool is registered.

A tool is an `async def` whose parameters are its arguments (pydantic types, so they form the
`inputSchema`) and whose return type is a pydantic model (the `outputSchema`). `tool()` sends the
model as `structuredContent`, and its compact JSON as the text content, rather than the SDK's
indented copy that would cost an agent's context twice as much.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from mcp_server_milvus.results import compact_json, dump

P = ParamSpec("P")
ToolFn = Callable[P, Awaitable[BaseModel]]


def tool(
    server: MCPServer[Any],
    *,
    title: str,
    read_only: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
) -> Callable[[ToolFn[P]], ToolFn[P]]:
    """Register the decorated function as a tool named after it, its docstring as the description."""

    def decorator(fn: ToolFn[P]) -> ToolFn[P]:
        @functools.wraps(fn)
        async def send(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
            result = await fn(*args, **kwargs)
            return CallToolResult(
                content=[TextContent(type="text", text=compact_json(result))],
                structured_content=dump(result),
            )

        annotations = ToolAnnotations(
            read_only_hint=read_only,
            destructive_hint=None if read_only else destructive,
            idempotent_hint=True if idempotent else None,
            open_world_hint=False,
        )
        server.add_tool(
            send,
            name=fn.__name__,
            title=title,
            description=inspect.cleandoc(fn.__doc__ or ""),
            annotations=annotations,
        )
        return fn

    return decorator
