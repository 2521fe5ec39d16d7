"""Tool families, one module each, and the one way every tool is made into an MCP tool.

A tool is a module-level `async def` that takes `ctx: Context` and its arguments (pydantic types, so
they form the `inputSchema`) and returns a pydantic model (the `outputSchema`). `@tool(...)` only
records how the tool is announced; `build()` makes the SDK's `Tool`s, with what the SDK has no option for:

- Unknown argument names are refused. The SDK builds each argument model once and ignores extra keys, so
  `where=` for `filter` would run an unfiltered call and report success. `build()` replaces the model
  with a subclass that forbids extras and derives the `inputSchema` (`additionalProperties: false`) again.
- A string means the string. The SDK reads a string given for a non-`str` argument as JSON, so `"null"`
  became None (`database: "null"` silently meant the default database). Only a field that cannot take a
  string is read as JSON, and only when the text is a list or an object (clients that send lists as
  JSON text keep working).
- The result is sent as `structuredContent`, with its compact JSON as the text content rather than the
  SDK's indented copy, which would cost an agent's context twice.
- Every call takes a slot of the server's gate first (`limits.Gate`, --max-concurrency).
- A failure nobody anticipated still reaches the agent as a `ToolError` naming its cause, not as the
  SDK's bare "Error executing tool".
"""

from __future__ import annotations

import functools
import json
import logging
import types
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, PrivateAttr

from mcp_server_milvus import audit, errors, schemas
from mcp_server_milvus.results import compact, dump
from mcp_server_milvus.runtime import Runtime

logger = logging.getLogger(__name__)

P = ParamSpec("P")
ToolFn = Callable[P, Awaitable[BaseModel]]


@dataclass(frozen=True)
class Announcement:
    """How a tool is announced in `tools/list`: its behaviour hints.

    Every conversation pays for `tools/list`, so what a client can do without is left out. No `title`:
    clients show the name instead, which says the same ("milvus_list_collections", "List collections").
    No `openWorldHint`: its default (true) is the cautious reading for tools whose results carry row values
    from anywhere, which the instructions call untrusted data."""

    read_only: bool
    destructive: bool
    idempotent: bool

    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            read_only_hint=True if self.read_only else None,  # false is the protocol's default
            destructive_hint=None if self.read_only else self.destructive,
            idempotent_hint=True if self.idempotent else None,
        )


def tool(
    *, read_only: bool = False, destructive: bool = False, idempotent: bool = False
) -> Callable[[ToolFn[P]], ToolFn[P]]:
    """Mark a module-level function as a tool named after it, its docstring as the description."""

    def decorator(fn: ToolFn[P]) -> ToolFn[P]:
        fn.__mcp_tool__ = Announcement(read_only, destructive, idempotent)  # type: ignore[attr-defined]
        return fn

    return decorator


def announcement(fn: ToolFn[...]) -> Announcement:
    """How the tool `fn` (marked with `@tool`) is announced."""
    return fn.__mcp_tool__  # type: ignore[attr-defined]


def runtime(ctx: Context) -> Runtime:
    """The server's shared state, as the lifespan handed it to this request."""
    return ctx.request_context.lifespan_context


def build(functions: Iterable[ToolFn[...]]) -> list[Tool]:
    """The SDK's `Tool` for each function marked with `@tool`, strict about its arguments."""
    built = []
    for fn in functions:
        announced = announcement(fn)
        made = Tool.from_function(
            _sender(fn),
            name=fn.__name__,
            description=schemas.announced_description(fn.__doc__),
            annotations=announced.annotations(),
        )
        built.append(_strict(made))
    return built


def _sender(fn: ToolFn[P]) -> Callable[P, Awaitable[CallToolResult]]:
    announcement: Announcement = fn.__mcp_tool__  # type: ignore[attr-defined]

    async def call(*args: P.args, **kwargs: P.kwargs) -> BaseModel:
        try:
            async with runtime(kwargs["ctx"]).gate.slot():
                return await fn(*args, **kwargs)
        except ToolError:
            raise
        except Exception as exc:
            cause = errors.leaf(exc)
            if isinstance(cause, ToolError):
                raise cause from None
            logger.error("%s failed unexpectedly", fn.__name__, exc_info=cause)
            raise errors.unexpected(fn.__name__, cause) from None

    @functools.wraps(fn)
    async def send(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
        if announcement.read_only:
            result = await call(*args, **kwargs)
        else:
            kind = "destructive" if announcement.destructive else "write"
            with audit.tool_call(fn.__name__, kind, _database(kwargs), kwargs) as audited:
                result = await call(*args, **kwargs)
                audited.succeeded(result)
        structured = dump(result)  # once: the text content is its compact JSON
        return CallToolResult(
            content=[TextContent(type="text", text=compact(structured))],
            structured_content=structured,
        )

    return send


def _database(arguments: dict[str, Any]) -> str:
    """The database a call acts on: the one it names (create/drop database), the one it works in, or the
    server's default."""
    named = arguments.get("database_name") or arguments.get("database")
    if isinstance(named, str) and named:
        return named
    ctx = arguments.get("ctx")
    return runtime(ctx).settings.database if isinstance(ctx, Context) else ""


def strict_model(model: type[BaseModel]) -> type[BaseModel]:
    """A subclass of `model` that refuses keys it does not declare."""

    class Strict(model):  # type: ignore[misc, valid-type]
        model_config = ConfigDict(extra="forbid")

    Strict.__name__ = Strict.__qualname__ = model.__name__
    return Strict


class StrictArguments(FuncMetadata):
    """The SDK's argument handling, with JSON text read only where a string cannot be meant."""

    _structured: frozenset[str] = PrivateAttr(default=frozenset())
    """Argument names (and aliases) whose values can never be a plain string."""

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._structured = frozenset(
            key
            for name, f in self.arg_model.model_fields.items()
            if not _admits_str(f.annotation)
            for key in (name, f.alias)
            if key
        )

    def pre_parse_json(self, data: dict[str, Any]) -> dict[str, Any]:
        parsed = dict(data)
        for key, value in data.items():
            if key not in self._structured or not isinstance(value, str):
                continue
            try:
                decoded = json.loads(value)
            except (ValueError, RecursionError):
                continue
            if isinstance(decoded, list | dict):
                parsed[key] = decoded
        return parsed


def _admits_str(annotation: Any) -> bool:
    """Whether a value of this annotation may be a plain string."""
    if annotation is str:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _admits_str(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return any(isinstance(a, str) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return any(_admits_str(a) for a in typing.get_args(annotation))
    return annotation is Any


def _strict(made: Tool) -> Tool:
    old = made.fn_metadata
    arguments = StrictArguments(
        arg_model=strict_model(old.arg_model),
        output_schema=schemas.announced_output(old.output_schema) if old.output_schema else None,
        output_model=old.output_model,
        wrap_output=old.wrap_output,
    )
    return made.model_copy(
        update={
            "fn_metadata": arguments,
            "parameters": schemas.announced_input(arguments.arg_model.model_json_schema(by_alias=True)),
        }
    )
