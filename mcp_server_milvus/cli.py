"""The `mcp-server-milvus` command: options, environment variables, and serving."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import typer
from pydantic import ValidationError

from mcp_server_milvus import __version__
from mcp_server_milvus.config import Settings, default_uri

if TYPE_CHECKING:
    from mcp_server_milvus.auth import Tokens
    from mcp_server_milvus.server import MilvusServer

SERVE_HELP = """\
Serve the Milvus vector database to AI agents over MCP.

With no options it serves over stdio on an embedded Milvus Lite database at
$XDG_DATA_HOME/mcp-server-milvus/milvus.db (~/.local/share/... by default),
created on first use. Point it at a Milvus server or Zilliz Cloud with --uri
(its token in $MILVUS_TOKEN or --token-file), e.g.:

  mcp-server-milvus --uri http://localhost:19530 --transport streamable-http

Every option also reads an environment variable (shown in brackets). Two
secrets come from the environment only: MILVUS_MCP_AUTH_TOKEN (the bearer
token HTTP clients must send) and MILVUS_MCP_EMBEDDING_API_KEY (the key of an
OpenAI-compatible embeddings API).
"""

HELP = f"""\
{SERVE_HELP}
Serving is the default: `mcp-server-milvus [OPTIONS]` and
`mcp-server-milvus serve [OPTIONS]` are the same command.
`mcp-server-milvus check --uri ...` tests the connection and exits.
"""


app = typer.Typer(
    name="mcp-server-milvus",
    help=HELP,
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mcp-server-milvus {__version__}")
        raise typer.Exit()


def _env(name: str) -> str:
    return f"MILVUS_MCP_{name}"


@app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    uri: Annotated[
        str | None,
        typer.Option(
            envvar="MILVUS_URI",
            help=f"A Milvus Lite .db path, or http(s)://host:port for a Milvus server or Zilliz Cloud. "
            f"Default: {default_uri()}",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="MILVUS_TOKEN",
            help="Token, or user:password, for a Milvus server. Prefer MILVUS_TOKEN or --token-file: any local "
            "user can read a command line.",
            show_default=False,
        ),
    ] = None,
    db: Annotated[str, typer.Option(envvar="MILVUS_DB", help="Default database for tools.")] = "default",
    transport: Annotated[
        str,
        typer.Option(envvar=_env("TRANSPORT"), help="stdio, sse (legacy) or streamable-http."),
    ] = "stdio",
    host: Annotated[
        str, typer.Option(envvar=_env("HOST"), help="Address to listen on (HTTP transports).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar=_env("PORT"), help="Port to listen on (HTTP transports).")] = 8000,
    stateless: Annotated[
        bool,
        typer.Option(envvar=_env("STATELESS"), help="Streamable HTTP without sessions, for load balancers."),
    ] = False,
    max_result_bytes: Annotated[
        int,
        typer.Option(envvar=_env("MAX_RESULT_BYTES"), help="Most bytes a tool result may take; longer ones are cut."),
    ] = 32768,
    schema_cache_ttl: Annotated[
        float,
        typer.Option(
            envvar=_env("SCHEMA_CACHE_TTL"),
            help="Seconds a cached collection schema stays fresh; 0 turns it off.",
        ),
    ] = 60.0,
    timeout: Annotated[
        float, typer.Option(envvar=_env("TIMEOUT"), help="Seconds to wait for each Milvus call.")
    ] = 30.0,
    log_level: Annotated[
        str, typer.Option(envvar=_env("LOG_LEVEL"), help="DEBUG, INFO, WARNING or ERROR. Logs go to stderr.")
    ] = "INFO",
    lite_in_process: Annotated[
        bool,
        typer.Option(
            envvar=_env("LITE_IN_PROCESS"),
            help="Run Milvus Lite inside this process instead of as its own engine process (which keeps the "
            "server responsive under load and lets several servers share one database).",
        ),
    ] = False,
    embedding_provider: Annotated[
        str,
        typer.Option(
            envvar=_env("EMBEDDING_PROVIDER"),
            help="Who embeds text for text collections: auto (local when the [embeddings] extra is installed, "
            "else none), none, local (sentence-transformers, offline) or openai (an OpenAI-compatible API; key "
            "from MILVUS_MCP_EMBEDDING_API_KEY).",
        ),
    ] = "auto",
    embedding_model: Annotated[
        str | None,
        typer.Option(
            envvar=_env("EMBEDDING_MODEL"),
            help="Model name or path (local default all-MiniLM-L6-v2; openai default text-embedding-3-small).",
            show_default=False,
        ),
    ] = None,
    embedding_base_url: Annotated[
        str | None,
        typer.Option(
            envvar=_env("EMBEDDING_BASE_URL"),
            help="Base URL of an OpenAI-compatible embeddings API (OpenAI, Ollama, vLLM, TEI).",
            show_default=False,
        ),
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option(
            envvar=_env("READ_ONLY"),
            help="Offer only the tools that change nothing (lists, describes, query, count, search, server info), "
            "milvus_load_collection, and milvus_export (with --export-dir).",
        ),
    ] = False,
    tools: Annotated[
        str | None,
        typer.Option(
            envvar=_env("TOOLS"),
            help="Offer only these tools, comma-separated: tool names or groups (collections, partitions, aliases, "
            "indexes, data, query, search, databases, server, import).",
            show_default=False,
        ),
    ] = None,
    exclude_tools: Annotated[
        str | None,
        typer.Option(
            envvar=_env("EXCLUDE_TOOLS"),
            help="Never offer these tools, comma-separated: tool names or groups.",
            show_default=False,
        ),
    ] = None,
    collections: Annotated[
        str | None,
        typer.Option(
            envvar=_env("COLLECTIONS"),
            help="Collections agents may see, comma-separated names or glob patterns (e.g. 'docs_*'), in every "
            "database; the others are invisible and refused as missing.",
            show_default=False,
        ),
    ] = None,
    databases: Annotated[
        str | None,
        typer.Option(
            envvar=_env("DATABASES"),
            help="Databases agents may see, comma-separated names or glob patterns; --db must be one of them.",
            show_default=False,
        ),
    ] = None,
    auth_token_file: Annotated[
        Path | None,
        typer.Option(
            envvar=_env("AUTH_TOKEN_FILE"),
            help="File of bearer tokens HTTP clients must send, one a line, read again on SIGHUP. Or set "
            "MILVUS_MCP_AUTH_TOKEN (never pass a secret on the command line).",
            show_default=False,
        ),
    ] = None,
    allow_unauthenticated: Annotated[
        bool,
        typer.Option(
            envvar=_env("ALLOW_UNAUTHENTICATED"),
            help="Serve HTTP beyond loopback without a bearer token (refused by default).",
        ),
    ] = False,
    allowed_hosts: Annotated[
        str | None,
        typer.Option(
            envvar=_env("ALLOWED_HOSTS"),
            help="Comma-separated Host header values HTTP clients may use (host or host:port); required "
            "beyond loopback. Other hosts are refused (DNS rebinding).",
            show_default=False,
        ),
    ] = None,
    allowed_origins: Annotated[
        str | None,
        typer.Option(
            envvar=_env("ALLOWED_ORIGINS"),
            help="Comma-separated Origin values browsers may send (e.g. https://app.example.com); other "
            "origins get 403.",
            show_default=False,
        ),
    ] = None,
    allow_any_host: Annotated[
        bool,
        typer.Option(
            envvar=_env("ALLOW_ANY_HOST"),
            help="Skip the Host and Origin checks (for a proxy that makes them).",
        ),
    ] = False,
    max_request_bytes: Annotated[
        int,
        typer.Option(envvar=_env("MAX_REQUEST_BYTES"), help="Largest HTTP request body accepted, in bytes."),
    ] = 4 * 1024 * 1024,
    audit_log: Annotated[
        Path | None,
        typer.Option(
            envvar=_env("AUDIT_LOG"),
            help="Append audit lines (JSON: writes, destructive calls, refused requests) to this file "
            "instead of stderr.",
            show_default=False,
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            envvar="MILVUS_TOKEN_FILE",
            help="File holding the Milvus token (its first line), instead of --token.",
            show_default=False,
        ),
    ] = None,
    tls_ca: Annotated[
        Path | None,
        typer.Option(
            envvar=_env("TLS_CA"), help="CA certificate (PEM) to verify a Milvus server's TLS.", show_default=False
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(envvar=_env("TLS_CERT"), help="Client certificate (PEM) for mutual TLS.", show_default=False),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(envvar=_env("TLS_KEY"), help="Client private key (PEM) for mutual TLS.", show_default=False),
    ] = None,
    tls_server_name: Annotated[
        str | None,
        typer.Option(
            envvar=_env("TLS_SERVER_NAME"),
            help="Name to check the Milvus server's certificate against, when it differs from the URI's host.",
            show_default=False,
        ),
    ] = None,
    max_rows: Annotated[
        int, typer.Option(envvar=_env("MAX_ROWS"), help="Most rows one insert or upsert call may carry.")
    ] = 10_000,
    max_limit: Annotated[
        int,
        typer.Option(envvar=_env("MAX_LIMIT"), help="Largest limit (hits or rows per page) of a query or search."),
    ] = 1000,
    max_concurrency: Annotated[
        int,
        typer.Option(
            envvar=_env("MAX_CONCURRENCY"),
            help="Tool calls run at once; more wait up to --timeout for a slot, then fail.",
        ),
    ] = 64,
    confirm_delete_over: Annotated[
        int,
        typer.Option(
            envvar=_env("CONFIRM_DELETE_OVER"),
            help="A delete by filter matching more rows than this also asks the user to confirm, where the client can.",
        ),
    ] = 1000,
    import_dir: Annotated[
        list[Path] | None,
        typer.Option(
            envvar=_env("IMPORT_DIR"),
            metavar="<path>",
            help="A directory milvus_import may read JSONL, CSV or Parquet files from (repeatable; in the "
            "environment, separate several with ':'). Without one, milvus_import is not offered.",
            show_default=False,
        ),
    ] = None,
    export_dir: Annotated[
        list[Path] | None,
        typer.Option(
            envvar=_env("EXPORT_DIR"),
            metavar="<path>",
            help="A directory milvus_export may write files to (repeatable, like --import-dir). Without one, "
            "milvus_export is not offered.",
            show_default=False,
        ),
    ] = None,
    import_validate_all_rows: Annotated[
        int,
        typer.Option(
            envvar=_env("IMPORT_VALIDATE_ALL_ROWS"),
            help="An import of at most this many rows checks every row before writing any; a larger one "
            "checks batch by batch.",
        ),
    ] = 100_000,
    lite_auto_flush_seconds: Annotated[
        float,
        typer.Option(
            envvar=_env("LITE_AUTO_FLUSH_SECONDS"),
            help="Milvus Lite engine: flush a collection once its writes have been quiet this many seconds "
            "(searches over flushed rows are much faster); 0 turns it off.",
        ),
    ] = 2.0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Serve Milvus over MCP (the default command)."""
    if ctx.invoked_subcommand is not None:
        return  # the subcommand reads its own options (and the environment) after this
    if ctx.parent is not None:  # run as `serve`: options given before it (`docker run IMAGE serve`) count too
        given = _given(ctx)
        if any(ctx.params[name] != value for name, value in given.items()):
            return serve(_AsGroup(), **{**ctx.params, **given})
    # pymilvus reads MILVUS_URI when imported and fails on a Lite path: take it out before that happens.
    os.environ.pop("MILVUS_URI", None)
    os.environ.pop("MILVUS_DEFAULT_CONNECTION", None)
    values: dict[str, Any] = {
        "database": db,
        "transport": transport,
        "host": host,
        "port": port,
        "stateless": stateless,
        "max_result_bytes": max_result_bytes,
        "schema_cache_ttl": schema_cache_ttl,
        "timeout": timeout,
        "log_level": log_level.upper(),
        "lite_in_process": lite_in_process,
        "embedding_provider": embedding_provider.lower(),
        "embedding_model": embedding_model,
        "embedding_base_url": embedding_base_url,
        "read_only": read_only,
        "tools": tools,
        "exclude_tools": exclude_tools,
        "collections": collections,
        "databases": databases,
        "auth_token": os.environ.pop("MILVUS_MCP_AUTH_TOKEN", None) or None,
        "auth_token_file": auth_token_file,
        "allow_unauthenticated": allow_unauthenticated,
        "allowed_hosts": allowed_hosts,
        "allowed_origins": allowed_origins,
        "allow_any_host": allow_any_host,
        "max_request_bytes": max_request_bytes,
        "audit_log": audit_log,
        "tls_ca": tls_ca,
        "tls_cert": tls_cert,
        "tls_key": tls_key,
        "tls_server_name": tls_server_name,
        "max_rows": max_rows,
        "max_limit": max_limit,
        "max_concurrency": max_concurrency,
        "confirm_delete_over": confirm_delete_over,
        "import_dirs": tuple(import_dir or ()),
        "export_dirs": tuple(export_dir or ()),
        "import_validate_all_rows": import_validate_all_rows,
        "lite_auto_flush_seconds": lite_auto_flush_seconds,
    }
    settings = _settings(values, uri, _milvus_token(token, token_file))
    from mcp_server_milvus.http_app import exposure_problem

    problem = exposure_problem(settings)
    if problem:
        typer.echo(f"Error: {problem}", err=True)
        raise typer.Exit(2)
    run(settings)


def _settings(values: dict[str, Any], uri: str | None, token: str | None) -> Settings:
    """Settings from the options; an invalid one is a one-line error and exit status 2."""
    if uri:
        values["uri"] = uri
    if token:
        values["token"] = token
    try:
        return Settings(**values)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in problem["loc"]) or "settings"
        typer.echo(f"Error: invalid {where}: {problem['msg']}", err=True)
        raise typer.Exit(2) from None


def _milvus_token(token: str | None, token_file: Path | None) -> str | None:
    """The Milvus token from MILVUS_TOKEN, --token-file or (with a warning: any local user can read a
    command line) --token."""
    from mcp_server_milvus.secret_files import SecretFileError, read_secret

    from_env = os.environ.pop("MILVUS_TOKEN", None)  # and not handed on to the Milvus Lite engine process
    if token_file is not None:
        if token:
            typer.echo("Error: give the Milvus token by MILVUS_TOKEN, --token-file or --token, not two.", err=True)
            raise typer.Exit(2)
        try:
            return read_secret(token_file)
        except SecretFileError as exc:
            typer.echo(f"Error: --token-file: {exc}", err=True)
            raise typer.Exit(2) from None
    if token and token != from_env:  # the command line wins over the environment
        typer.echo(
            "Warning: --token on the command line is visible to every local user (ps); "
            "use MILVUS_TOKEN or --token-file.",
            err=True,
        )
    return token


def run(settings: Settings) -> None:
    """Serve until the transport ends (stdin closes) or a signal arrives, then close Milvus cleanly."""
    from mcp_server_milvus.logs import configure_logging
    from mcp_server_milvus.redact import redact, register_secret

    configure_logging(settings.log_level)
    if settings.token_value:
        register_secret(settings.token_value)
    tokens = _auth_tokens(settings)
    _open_audit_log(settings)

    from mcp_server_milvus.embeddings import EmbeddingUnavailable
    from mcp_server_milvus.server import build_server
    from mcp_server_milvus.toolset import ToolChoiceError

    logger = logging.getLogger("mcp_server_milvus")
    try:
        server = build_server(settings)
    except (EmbeddingUnavailable, ToolChoiceError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    embedder = server.runtime.embedder
    logger.info(
        "Embedding provider: %s",
        f"{embedder.name} ({embedder.model}), loaded on first use"
        if embedder
        else "none (text search by keywords only)",
    )
    logger.info(
        "Serving Milvus at %s over %s%s",
        redact(settings.uri),
        settings.transport,
        "" if settings.transport == "stdio" else f" on {settings.host}:{settings.port}",
    )
    # What start-up built (modules, pydantic's schemas, the tools: ~100k objects) lives as long as the process:
    # out of the collector's sight, a full collection no longer walks it each time. 3 ms of a 1,000-row
    # insert's CPU over stdio; no collect first (28 ms of start-up, for about 300 objects of garbage).
    gc.freeze()
    try:
        if settings.transport == "stdio":
            _exit_on_signals(server)
            server.run("stdio")
        else:
            # uvicorn shuts down gracefully on SIGTERM, then raises it again: end as Ctrl-C does.
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            anyio.run(_serve_http, server, settings, tokens)
    except KeyboardInterrupt:
        pass
    finally:
        _close_lite(server)
        logger.info("Stopped")


class _AsGroup:
    """The context of `serve` run once more, with its group's options merged in, as if given to the group."""

    invoked_subcommand = None
    parent = None


# `mcp-server-milvus serve`: the same options and behaviour as the group's default (old configs name none).
app.command("serve", help=SERVE_HELP, context_settings={"help_option_names": ["-h", "--help"]})(serve)


def _auth_tokens(settings: Settings) -> Tokens | None:
    """The bearer tokens HTTP clients must send (None: no token required), registered as secrets."""
    from mcp_server_milvus.auth import TokenError, Tokens
    from mcp_server_milvus.secret_files import SecretFileError

    if settings.transport == "stdio" or not (settings.auth_token or settings.auth_token_file):
        return None
    try:
        token = settings.auth_token.get_secret_value() if settings.auth_token else None
        return Tokens(token, settings.auth_token_file)
    except (SecretFileError, TokenError) as exc:
        source = "--auth-token-file" if settings.auth_token_file else "MILVUS_MCP_AUTH_TOKEN"
        typer.echo(f"Error: {source}: {exc}", err=True)
        raise typer.Exit(2) from None


def _open_audit_log(settings: Settings) -> None:
    from mcp_server_milvus import audit

    try:
        audit.configure(settings.audit_log)
    except OSError as exc:
        typer.echo(f"Error: --audit-log: cannot open {settings.audit_log} ({exc.strerror}).", err=True)
        raise typer.Exit(2) from None


async def _serve_http(server: MilvusServer, settings: Settings, tokens: Tokens | None) -> None:
    """Serve SSE or streamable HTTP with uvicorn logging through our stderr handler; re-read the token
    file on SIGHUP.

    The SDK's own runner lets uvicorn configure logging, which sends the access log to stdout and past
    the redacting filter; `log_config=None` keeps uvicorn's loggers on ours.
    """
    import uvicorn

    from mcp_server_milvus.http_app import http_app

    config = uvicorn.Config(
        http_app(server, settings, tokens),
        host=settings.host,
        port=settings.port,
        log_config=None,
        log_level=settings.log_level.lower(),
    )
    if tokens is not None and tokens.path is not None:
        # On the event loop, between requests; a task of its own would turn uvicorn's re-raised SIGTERM
        # (KeyboardInterrupt) into an exception group.
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, tokens.reload)
    await uvicorn.Server(config).serve()


def _exit_on_signals(server: MilvusServer) -> None:
    """Stop at once on SIGTERM, SIGINT or SIGHUP, with Milvus Lite closed first.

    Unwinding is no option in stdio mode: the transport reads stdin in a worker thread that nothing
    can interrupt, so the process would linger until the client closed the pipe.
    """

    def stop(signum: int, _frame: object) -> None:
        logging.getLogger("mcp_server_milvus").info("Stopping on %s", signal.Signals(signum).name)
        _close_lite(server)
        logging.shutdown()
        os._exit(0)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)


def _close_lite(server: MilvusServer) -> None:
    """A last resort for an interrupted lifespan: leave the engine, or stop in-process Milvus Lite so that
    its write-ahead log is synced."""
    engine = server.runtime.sessions.engine
    if engine is not None:
        engine.detach()
    elif server.runtime.settings.is_lite and "milvus_lite.server_manager" in sys.modules:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_all()


@app.command("check")
def check_command(
    ctx: typer.Context,
    uri: Annotated[
        str | None,
        typer.Option(envvar="MILVUS_URI", help=f"As for serving. Default: {default_uri()}", show_default=False),
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="MILVUS_TOKEN", help="As for serving.", show_default=False)
    ] = None,
    db: Annotated[str, typer.Option(envvar="MILVUS_DB", help="The database to check.")] = "default",
    timeout: Annotated[
        float, typer.Option(envvar=_env("TIMEOUT"), help="Seconds to wait for each Milvus call.")
    ] = 10.0,
    lite_in_process: Annotated[
        bool, typer.Option(envvar=_env("LITE_IN_PROCESS"), help="Open Milvus Lite in this process.")
    ] = False,
    embedding_provider: Annotated[
        str, typer.Option(envvar=_env("EMBEDDING_PROVIDER"), help="auto, none, local or openai, as for serving.")
    ] = "auto",
    embedding_model: Annotated[
        str | None, typer.Option(envvar=_env("EMBEDDING_MODEL"), help="As for serving.", show_default=False)
    ] = None,
    embedding_base_url: Annotated[
        str | None, typer.Option(envvar=_env("EMBEDDING_BASE_URL"), help="As for serving.", show_default=False)
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option(envvar="MILVUS_TOKEN_FILE", help="As for serving.", show_default=False)
    ] = None,
) -> None:
    """Test the connection to Milvus and exit.

    Connects as the server would and prints the Milvus version, the backend, the database, its collections
    with their load states and the embedding provider. Exits 1 with the reason when something is wrong."""
    os.environ.pop("MILVUS_URI", None)  # as for serving: before pymilvus is imported
    os.environ.pop("MILVUS_DEFAULT_CONNECTION", None)
    given = _given(ctx)
    values: dict[str, Any] = {
        "database": given.get("db", db),
        "timeout": given.get("timeout", timeout),
        "lite_in_process": given.get("lite_in_process", lite_in_process),
        "embedding_provider": given.get("embedding_provider", embedding_provider).lower(),
        "embedding_model": given.get("embedding_model", embedding_model),
        "embedding_base_url": given.get("embedding_base_url", embedding_base_url),
        "log_level": "ERROR",
    }
    token_value = _milvus_token(given.get("token", token), given.get("token_file", token_file))
    settings = _settings(values, given.get("uri", uri), token_value)
    from mcp_server_milvus.check import CheckFailed, check
    from mcp_server_milvus.logs import configure_logging
    from mcp_server_milvus.redact import register_secret

    configure_logging(settings.log_level)
    if settings.token_value:
        register_secret(settings.token_value)
    try:
        report = anyio.run(check, settings)
    except CheckFailed as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo("\n".join(report.lines()))


def _given(ctx: typer.Context) -> dict[str, Any]:
    """The options a subcommand was given, its own or its group's: `mcp-server-milvus --uri X check` (as
    `docker run IMAGE --uri X check` makes it) must not check the default database without a word. The
    command line beats the environment, the subcommand's own option its group's; defaults are left out."""
    contexts = [c for c in (ctx.parent, ctx) if c is not None]
    given: dict[str, Any] = {}
    for source in ("ENVIRONMENT", "COMMANDLINE"):  # by name: typer ships its own copy of click's enum
        for c in contexts:
            given.update(
                (name, value)
                for name, value in c.params.items()
                if getattr(c.get_parameter_source(name), "name", None) == source
            )
    return given


def main() -> None:
    app(prog_name="mcp-server-milvus")  # `python -m mcp_server_milvus --help` names the command users type
