"""Settings: everything the server is told at start, validated once.

The CLI builds a `Settings`; tests build one directly. Nothing here imports pymilvus or mcp,
so reading the settings costs nothing on the start path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

Transport = Literal["stdio", "sse", "streamable-http"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
EmbeddingProviderName = Literal["auto", "none", "local", "openai"]

REMOTE_SCHEMES = ("http://", "https://", "tcp://", "unix:")


def default_uri() -> str:
    """The embedded database file, under the XDG data directory."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "mcp-server-milvus" / "milvus.db")


class Settings(BaseModel):
    """How to reach Milvus, how to serve MCP, and the limits that protect an agent's context."""

    model_config = ConfigDict(frozen=True)

    uri: str = Field(default_factory=default_uri)
    token: SecretStr | None = None
    database: str = "default"
    transport: Transport = "stdio"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    stateless: bool = False
    max_result_bytes: int = Field(default=32768, ge=1024)
    schema_cache_ttl: float = Field(default=60.0, ge=0)
    timeout: float = Field(default=30.0, gt=0)
    log_level: LogLevel = "INFO"
    lite_in_process: bool = False
    """Run Milvus Lite inside this process instead of as a shared engine process of its own."""
    embedding_provider: EmbeddingProviderName = "auto"
    """Who embeds text: `auto` is `local` when the [embeddings] extra is installed, else `none`."""
    embedding_model: str | None = None
    embedding_base_url: str | None = None
    max_rows: int = Field(default=10_000, ge=1)
    """Rows one milvus_insert or milvus_upsert call may carry (see `limits`)."""
    max_limit: int = Field(default=1000, ge=1, le=16384)
    """The largest `limit` (hits or rows per page) a query or search may ask for."""
    max_concurrency: int = Field(default=64, ge=1)
    """Tool calls in flight at once in this server; more wait up to `timeout` for a slot."""

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the Milvus URI is empty")
        if value.startswith(REMOTE_SCHEMES):
            return value
        if not value.endswith(".db"):
            raise ValueError(
                f"a Milvus Lite database path must end in '.db' (got {value!r}); "
                "for a Milvus server pass http://host:19530"
            )
        return str(Path(value).expanduser().absolute())

    @property
    def is_lite(self) -> bool:
        """True when the URI names an embedded Milvus Lite database file."""
        return not self.uri.startswith(REMOTE_SCHEMES)

    @property
    def token_value(self) -> str:
        return self.token.get_secret_value() if self.token else ""
