"""What every prompt needs: the server's runtime and offered tools, a collection's live schema, and refusals.

A prompt that cannot be rendered is a protocol error (`MCPError`), not text: the SDK would otherwise wrap any
exception as "Error rendering prompt", losing the reason and the next step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS
from pydantic import Field

from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.schema_cache import CollectionInfo, FieldInfo
from mcp_server_milvus.sessions import Session

if TYPE_CHECKING:
    from mcp_server_milvus.server import MilvusServer

T = TypeVar("T")

CollectionArg = Annotated[str, Field(description="Name of a collection (or alias).")]
DatabaseArg = Annotated[str | None, Field(description="Database of the collection (default: the server's).")]


@dataclass(frozen=True)
class Here:
    """The server a prompt renders on: its runtime and the names of the tools it offers."""

    runtime: Runtime
    offered: frozenset[str]

    def offers(self, tool: str) -> bool:
        return tool in self.offered


def here(ctx: Context) -> Here:
    server: MilvusServer = ctx.mcp_server  # type: ignore[assignment]
    return Here(server.runtime, server.offered)


async def on_session(rt: Runtime, database: str | None, action: str, op: Callable[[Session], Awaitable[T]]) -> T:
    """`op` on the session for `database`; every failure (a hidden or missing collection too) is an `MCPError`
    with the tool layer's words: invalid params for what the caller named, internal error for Milvus."""
    try:
        return await rt.run(database, action, op)
    except ToolError as exc:
        raise MCPError(INVALID_PARAMS, str(exc)) from exc
    except Exception as exc:
        raise MCPError(INTERNAL_ERROR, f"Could not {action}: {type(exc).__name__}.") from exc


async def schema(rt: Runtime, session: Session, collection: str) -> CollectionInfo:
    info, _ = await rt.schema(session, collection)
    return info


def field_line(f: FieldInfo) -> str:
    """`- name: TYPE(details)`, the way Milvus names types, with what matters to a filter or a search."""
    details = []
    if f.dim is not None:
        details.append(f"dim {f.dim}")
    if f.max_length is not None:
        details.append(f"max_length {f.max_length}")
    if f.element_type:
        details.append(f"of {f.element_type}")
    flags = [
        name
        for name, on in (
            ("primary key", f.is_primary),
            ("auto id", f.auto_id),
            ("nullable", f.nullable),
            ("partition key", f.is_partition_key),
            ("computed by a function", f.is_function_output),
        )
        if on
    ]
    shown = f"{f.type}({', '.join(details)})" if details else f.type
    return f"- {f.name}: {shown}" + (f" [{', '.join(flags)}]" if flags else "")


def fields_block(info: CollectionInfo) -> str:
    lines = [field_line(f) for f in info.fields]
    if info.enable_dynamic_field:
        lines.append("- (dynamic fields are on: other keys are stored and filterable as JSON keys)")
    return "\n".join(lines)


def indexes_block(info: CollectionInfo) -> str:
    lines = []
    for f in info.vector_fields:
        index = info.index_for(f.name)
        lines.append(
            f"- {f.name}: {index.index_type}, metric {index.metric_type}" if index else f"- {f.name}: NO INDEX"
        )
    return "\n".join(lines) or "- (no vector fields)"


def header(info: CollectionInfo) -> str:
    state = "loaded" if info.loaded else "not loaded"
    return f"Collection '{info.name}' in database '{info.database}' ({state})."
