"""Settings: everything the server is told at start, validated once.

The CLI builds a `Settings`; tests build one directly. Nothing here imports pymilvus or mcp,
so reading the settings costs nothing on the start path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

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
    read_only: bool = False
    """Offer only the tools annotated read-only, and milvus_load_collection."""
    tools: tuple[str, ...] = ()
    """Offer only these tools: names or groups (see `toolset`); empty offers every tool."""
    exclude_tools: tuple[str, ...] = ()
    """Never offer these tools: names or groups."""
    collections: tuple[str, ...] = ()
    """Collection names or glob patterns agents may see, in every database (see `visibility`); empty: all."""
    databases: tuple[str, ...] = ()
    """Database names or glob patterns agents may see; empty: all. `database` must be one of them."""

    @field_validator(
        "tools", "exclude_tools", "collections", "databases", "allowed_hosts", "allowed_origins", mode="before"
    )
    @classmethod
    def _split(cls, value: object) -> object:
        """A comma-separated string (as the CLI and the environment give it) is a list; blanks are dropped."""
        if value is None:
            return ()
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return tuple(v.strip() if isinstance(v, str) else v for v in value if not isinstance(v, str) or v.strip())
        return value

    @field_validator("databases")
    @classmethod
    def _default_database_allowed(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        from mcp_server_milvus.visibility import allowed  # the one place the matching rule lives

        database = info.data.get("database")
        if value and database is not None and not allowed(database, value):
            raise ValueError(
                f"the default database {database!r} (--db) is not in --databases {list(value)}; give --db one of them"
            )
        return value

    auth_token: SecretStr | None = None
    """The bearer token HTTP clients must send (from MILVUS_MCP_AUTH_TOKEN; never from the command line)."""
    auth_token_file: Path | None = None
    """A file of bearer tokens, one a line, read again on SIGHUP."""
    allow_unauthenticated: bool = False
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    allow_any_host: bool = False
    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    audit_log: Path | None = None
    """Where audit lines go; None is stderr."""
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_server_name: str | None = None

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        """Refuse combinations that pymilvus or the token check would silently ignore (a PydanticCustomError
        reads without pydantic's "Value error, " prefix)."""
        problem = self._security_problem()
        if problem:
            raise PydanticCustomError("settings", problem)
        return self

    def _security_problem(self) -> str | None:
        if self.auth_token and self.auth_token_file:
            return "give MILVUS_MCP_AUTH_TOKEN or --auth-token-file, not both"
        if (self.tls_cert is None) != (self.tls_key is None):
            return "--tls-cert and --tls-key go together (mutual TLS)"
        if self.tls_cert is not None and self.tls_ca is None:
            return "mutual TLS needs --tls-ca as well as --tls-cert and --tls-key"
        if self.uses_tls and self.is_lite:
            return "the --tls-* options are for a Milvus server; Milvus Lite is a local file"
        return None

    @property
    def uses_tls(self) -> bool:
        return any(v is not None for v in (self.tls_ca, self.tls_cert, self.tls_key, self.tls_server_name))

    max_rows: int = Field(default=10_000, ge=1)
    """Rows one milvus_insert or milvus_upsert call may carry (see `limits`)."""
    max_limit: int = Field(default=1000, ge=1, le=16384)
    """The largest `limit` (hits or rows per page) a query or search may ask for."""
    max_concurrency: int = Field(default=64, ge=1)
    """Tool calls in flight at once in this server; more wait up to `timeout` for a slot."""
    confirm_delete_over: int = Field(default=1000, ge=0)
    """A milvus_delete by filter matching more rows than this also asks the user (elicitation), where the
    client can ask."""
    lite_auto_flush_seconds: float = Field(default=2.0, ge=0)
    """Milvus Lite engine process: flush a collection after its writes have been quiet this long; 0: off.
    Several servers sharing one engine get the value of the one that started it (see `engine.autoflush`)."""

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

    import_dirs: tuple[Path, ...] = ()
    """Directories milvus_import may read files under (see `files`); none: the tool is not offered."""
    export_dirs: tuple[Path, ...] = ()
    """Directories milvus_export may write files under; none: the tool is not offered."""
    import_validate_all_rows: int = Field(default=100_000, ge=0)
    """An import of at most this many rows checks every row before its first batch; a larger one checks
    batch by batch (holding the whole file in memory first would not scale)."""

    @field_validator("import_dirs", "export_dirs", mode="before")
    @classmethod
    def _existing_dirs(cls, value: object, info: ValidationInfo) -> object:
        """Each directory must exist, and is resolved once here (symlinks included), so that every path a
        tool is given is checked against where the directory really is."""
        if value is None:
            return ()
        if isinstance(value, str | Path):
            value = (value,)
        option = "--import-dir" if info.field_name == "import_dirs" else "--export-dir"
        resolved = []
        for given in value:  # type: ignore[union-attr]
            path = Path(given).expanduser().resolve()
            if not path.is_dir():
                raise PydanticCustomError("settings", f"{option} {given} is not an existing directory")
            resolved.append(path)
        return tuple(resolved)
