"""Embedding providers: who turns a text collection's texts into vectors.

One provider per module behind `Provider` (base.py). Modules that need heavy optional dependencies are
imported only when chosen, so the base install and the start path stay as light as without them.
"""

from __future__ import annotations

import importlib.util
from typing import Literal

from mcp_server_milvus import DISTRIBUTION
from mcp_server_milvus.embeddings.base import Embedded, EmbeddingError, EmbeddingUnavailable, Provider

__all__ = ["Embedded", "EmbeddingError", "EmbeddingUnavailable", "Provider", "create_provider", "local_available"]

EXTRA = f"pip install '{DISTRIBUTION}[embeddings]'"


def local_available() -> bool:
    """Whether the [embeddings] extra is installed, without importing it (torch takes seconds)."""
    return importlib.util.find_spec("sentence_transformers") is not None


def create_provider(
    kind: Literal["auto", "none", "local", "openai"], model: str | None, base_url: str | None
) -> Provider | None:
    """The provider `kind` names; `auto` is `local` when the extra is installed, else none. Nothing is
    loaded here: a provider starts its model or connection on first use."""
    if kind == "auto":
        kind = "local" if local_available() else "none"
    if kind == "none":
        return None
    if kind == "local":
        if not local_available():
            raise EmbeddingUnavailable(
                f"The local embedding provider needs sentence-transformers: {EXTRA} (see the README for the CPU "
                "build of torch), or choose --embedding-provider openai or none."
            )
        from mcp_server_milvus.embeddings.local import LocalProvider

        return LocalProvider(model)
    from mcp_server_milvus.embeddings.openai import OpenAIProvider

    return OpenAIProvider(model=model, base_url=base_url)
