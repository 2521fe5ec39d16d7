"""Logging: stderr only (stdout belongs to the stdio protocol), redacted, and quiet libraries."""

from __future__ import annotations

import logging
import sys

from mcp_server_milvus.redact import RedactingFilter

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Send every log record to stderr through the redacting filter.

    Called before the MCP server is built, so the SDK's own `basicConfig` finds a handler and
    leaves it alone.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


def quiet_pymilvus() -> None:
    """Route pymilvus through our handler and drop its per-error tracebacks.

    pymilvus installs its own stderr handler at import and logs a full traceback for every
    failed RPC, even those we turn into a one-line answer for the agent. Call after importing it.
    """
    pymilvus_logger = logging.getLogger("pymilvus")
    pymilvus_logger.handlers = []
    pymilvus_logger.propagate = True
    logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)
    logging.getLogger("milvus_lite").setLevel(logging.WARNING)
    logging.getLogger("grpc._server").addFilter(drop_unimplemented)


def drop_unimplemented(record: logging.LogRecord) -> bool:
    """Milvus Lite's in-process gRPC server logs a traceback for each RPC it does not implement
    (AllocTimestamp, after every create_index: see backends.lite.LiteBackend.create_index). Those are expected."""
    error = record.exc_info[1] if record.exc_info else None
    return not isinstance(error, NotImplementedError)
