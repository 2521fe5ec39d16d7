"""The audit log: one JSON line for every write, every destructive call and every refused request.

Operators read it to learn who changed what. It names the tool, the database, the collection, row counts
and the outcome, never argument values (rows, filters, ids) nor secrets: a line must be safe to ship to a
log store that more people can read than the database.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mcp_server_milvus.redact import RedactingFilter

_logger = logging.getLogger("mcp_server_milvus.audit")

_NAMES = ("collection_name", "old_name")
"""Arguments that name the collection a call acts on (a rename names it `old_name`)."""


def configure(path: Path | None) -> None:
    """Write audit lines to `path` (appended), or to stderr; apart from the ordinary log either way."""
    handler: logging.Handler = (
        logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter())
    _logger.handlers = [handler]
    _logger.setLevel(logging.INFO)
    _logger.propagate = False


def record(event: str, **fields: Any) -> None:
    """Write one audit line."""
    line = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "audit": event, **fields}
    _logger.info(json.dumps(line, separators=(",", ":"), default=str))


class ToolCall:
    """What a tool call reports to the audit log once it ends."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def succeeded(self, result: BaseModel) -> None:
        """Keep the result's row counts (`insert_count`, `delete_count`, ...): numbers, never values."""
        self.counts = {
            name: value
            for name, value in vars(result).items()
            if name.endswith("_count") and isinstance(value, int) and not isinstance(value, bool)
        }


@contextmanager
def tool_call(tool: str, kind: str, database: str, arguments: Mapping[str, Any]) -> Iterator[ToolCall]:
    """Audit one call of a tool that writes (`kind` is "write" or "destructive") as it ends: ok, error or
    cancelled (the client went away or the server is stopping)."""
    call = ToolCall()
    started = time.monotonic()
    collection = next((arguments[n] for n in _NAMES if isinstance(arguments.get(n), str)), None)
    outcome = "ok"
    try:
        yield call
    except BaseException as exc:
        outcome = "error" if isinstance(exc, Exception) else "cancelled"
        raise
    finally:
        record(
            "tool_call",
            tool=tool,
            kind=kind,
            database=database,
            collection=collection,
            **call.counts,
            outcome=outcome,
            ms=round((time.monotonic() - started) * 1000),
        )
