"""`mcp-server-milvus check`: reach Milvus the way the server would, say what is there, and fail with one
line when something is wrong. For operators setting up a client, and for health probes.

It goes through the server's own `Runtime`, so a failure reads exactly as a tool call would word it
(unreachable, locked Lite database, missing database), and it never creates anything: a Lite path that
does not exist yet is reported, not made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus.config import Settings
from mcp_server_milvus.embeddings import EmbeddingUnavailable, create_provider
from mcp_server_milvus.redact import redact
from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.sessions import Session


class CheckFailed(Exception):
    """Something an operator must fix, in one line."""


@dataclass(frozen=True)
class Report:
    uri: str
    backend: str
    version: str
    lite_mode: str | None
    database: str
    collections: list[tuple[str, str]]
    """(name, load state) of each collection of the database."""
    embedding: str

    def lines(self) -> list[str]:
        mode = f" ({self.lite_mode})" if self.lite_mode else ""
        out = [
            f"Milvus:      {self.backend} {self.version} at {self.uri}{mode}",
            f"Database:    {self.database}",
            f"Collections: {len(self.collections)}",
        ]
        width = max((len(name) for name, _ in self.collections), default=0)
        out += [f"  {name.ljust(width)}  {state}" for name, state in self.collections]
        out += [f"Embedding:   {self.embedding}", "OK"]
        return out


async def check(settings: Settings) -> Report:
    """What `settings` reach; `CheckFailed` when Milvus cannot be reached or used."""
    if settings.is_lite and not os.path.exists(settings.uri):
        raise CheckFailed(
            f"No Milvus Lite database at {settings.uri} (the server creates it on first use); check --uri."
        )
    try:
        embedder = create_provider(settings.embedding_provider, settings.embedding_model, settings.embedding_base_url)
    except EmbeddingUnavailable as exc:
        raise CheckFailed(str(exc)) from None
    rt = Runtime(settings, embedder)
    t = settings.timeout

    async def op(session: Session) -> Report:
        names = sorted(await session.client.list_collections(timeout=t))
        states = [(name, await session.load_state(name, t)) for name in names]
        return Report(
            uri=redact(settings.uri),
            backend=session.backend.kind,
            version=session.backend.version,
            lite_mode=None if not settings.is_lite else "in-process" if settings.lite_in_process else "engine process",
            database=session.database,
            collections=states,
            embedding=f"{embedder.name} ({embedder.model}), loaded on first use"
            if embedder
            else "none (text search by keywords only)",
        )

    try:
        return await rt.run(None, "list the collections", op)
    except ToolError as exc:
        raise CheckFailed(" ".join(str(exc).split())) from None
    finally:
        await rt.close()
