"""The one translation from failures to agent-facing `ToolError` text.

Every message says what went wrong and the concrete next step, in one or two sentences. Milvus and
gRPC exceptions are recognised by their attributes (`code`, `message`, `code()`), so this module
imports neither pymilvus nor grpc and costs nothing on the start path.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus import filters
from mcp_server_milvus.redact import redact

if TYPE_CHECKING:
    from mcp_server_milvus.schema_cache import CollectionInfo

# Milvus status codes (common.proto ErrorCode / pymilvus) this module tells apart.
COLLECTION_NOT_FOUND = 100
COLLECTION_NOT_LOADED = 101
CONNECTION_FAILED = 2

_SCHEMA_CHANGE_WORDS = re.compile(
    r"does not exist|not exist|not found|inconsistent with defined schema|should be a|type mismatch|"
    r"schema mismatch|field .* not",
    re.IGNORECASE,
)


class SchemaMismatch(ToolError):
    """An argument that does not fit the cached schema: worth one refetch before it is reported."""


def closest(name: str, candidates: Iterable[str]) -> list[str]:
    """Up to three candidates close to `name`, best first (a case-only difference counts)."""
    candidates = list(candidates)
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.7)
    lowered = name.lower()
    for candidate in candidates:  # case-only differences and abbreviations ('vec' for 'vector')
        c = candidate.lower()
        if candidate not in close and (c == lowered or (len(lowered) >= 3 and c.startswith(lowered))):
            close.append(candidate)
    return close[:3]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' Did you mean 'docs'?' for close matches, or '' when nothing is close."""
    close = closest(name, candidates)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def names(values: Iterable[str], limit: int = 20) -> str:
    """A short, quoted list of names for a message."""
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def unknown_collection(name: str, database: str, existing: list[str]) -> ToolError:
    hint = did_you_mean(name, existing)
    if existing:
        listing = f" Existing collections: {names(existing)}." if not hint else ""
    else:
        listing = f" The database '{database}' has no collections yet; create one with milvus_create_collection."
    return ToolError(f"Collection '{name}' does not exist in database '{database}'.{hint}{listing}")


def unknown_field(name: str, info: CollectionInfo, role: str) -> SchemaMismatch:
    hint = did_you_mean(name, info.field_names)
    return SchemaMismatch(
        f"Unknown {role} '{name}' for collection '{info.name}'.{hint} Valid fields: {names(info.field_names)}."
    )


def filter_example(info: CollectionInfo) -> str:
    """A valid filter for this collection, built from its own fields."""
    pk = info.primary
    parts = [f'{pk.name} in ["a", "b"]' if pk.type == "VARCHAR" else f"{pk.name} in [1, 2, 3]"]
    for f in info.fields:
        if f.is_primary or f.is_vector:
            continue
        if f.type in {"INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE"}:
            parts.append(f"{f.name} > 10")
        elif f.type == "VARCHAR":
            parts.append(f'{f.name} like "abc%"')
        elif f.type == "BOOL":
            parts.append(f"{f.name} == true")
        elif f.type == "JSON":
            parts.append(f'{f.name}["key"] == "value"')
        if len(parts) == 2:
            break
    return " and ".join(parts)


def milvus_code(exc: BaseException) -> int | None:
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else None


def grpc_status(exc: BaseException) -> str | None:
    """The gRPC status name (UNAVAILABLE, UNIMPLEMENTED, ...) of a gRPC error, else None."""
    code = getattr(exc, "code", None)
    if not callable(code):
        return None
    try:
        return getattr(code(), "name", None)
    except Exception:
        return None


MESSAGE_CHARS = 300
"""Most characters of Milvus's own words a message carries: Milvus Lite echoes a whole filter in its
parse errors, however long."""


def milvus_message(exc: BaseException) -> str:
    """Milvus's (or gRPC's) message for `exc`: one line, secrets masked, cut to `MESSAGE_CHARS`."""
    message = getattr(exc, "message", None)
    if not isinstance(message, str) or not message:
        details = getattr(exc, "details", None)
        message = details() if callable(details) else str(exc)
    return excerpt(redact(" ".join(str(message).split())), MESSAGE_CHARS)


def is_collection_missing(exc: BaseException) -> bool:
    message = milvus_message(exc).lower()
    return milvus_code(exc) == COLLECTION_NOT_FOUND or (
        "collection" in message and ("not exist" in message or "not found" in message)
    )


_FILTER_ERROR_WORDS = re.compile(r"pars|express|token|column \d+|expr|filter|syntax", re.IGNORECASE)


def is_filter_error(exc: BaseException) -> bool:
    return bool(_FILTER_ERROR_WORDS.search(milvus_message(exc)))


def is_backend_error(exc: BaseException) -> bool:
    """A failure reported by Milvus, pymilvus or gRPC, as opposed to a defect in this server."""
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    module = type(exc).__module__
    return milvus_code(exc) is not None or grpc_status(exc) is not None or module.startswith(("pymilvus", "grpc"))


_TIMEOUT_WORDS = re.compile(r"retry timeout|deadline exceeded|timed out", re.IGNORECASE)


def is_timeout(exc: BaseException) -> bool:
    """A call that ran out of time: gRPC's deadline, or pymilvus's retry loop giving up."""
    if isinstance(exc, TimeoutError) or grpc_status(exc) == "DEADLINE_EXCEEDED":
        return True
    return milvus_code(exc) is not None and bool(_TIMEOUT_WORDS.search(milvus_message(exc)))


def is_not_loaded(exc: BaseException) -> bool:
    message = milvus_message(exc).lower()
    return milvus_code(exc) == COLLECTION_NOT_LOADED or "not loaded" in message or "released" in message


def is_connection_failure(exc: BaseException) -> bool:
    if grpc_status(exc) == "UNAVAILABLE":
        return True
    message = milvus_message(exc).lower()
    return milvus_code(exc) == CONNECTION_FAILED or "fail connecting" in message or "connection" in message


def signals_schema_change(exc: BaseException) -> bool:
    """An error that a changed schema could explain: worth one refetch and retry."""
    return is_collection_missing(exc) or bool(_SCHEMA_CHANGE_WORDS.search(milvus_message(exc)))


def unreachable(uri: str, exc: BaseException | None = None) -> ToolError:
    detail = f" ({milvus_message(exc)})" if exc is not None else ""
    return ToolError(
        f"Cannot reach Milvus at {redact(uri)}{detail}. Check that the server is running and reachable, "
        "and that --uri and --token are right; call milvus_server_info to see the settings in use."
    )


def engine_restarted(path: str) -> ToolError:
    return ToolError(
        f"The Milvus Lite engine for {path} had stopped, so this call failed; a new engine is running now and "
        "acknowledged writes are kept. Retry the call (collections are loaded again on demand)."
    )


def lite_locked(path: str) -> ToolError:
    return ToolError(
        f"The Milvus Lite database {path} is locked by another process that opened it directly (a script "
        "using pymilvus or Milvus Lite, or a server started with --lite-in-process). Stop that process, or "
        "start this server with --uri pointing at another .db file or at a shared Milvus server."
    )


def timed_out(seconds: float) -> ToolError:
    return ToolError(
        f"Milvus did not answer within {seconds:g} s. Retry; for large operations start the server with a "
        "larger --timeout, and check that Milvus is healthy."
    )


@contextmanager
def explained_filter(expr: str | None, info: CollectionInfo) -> Iterator[None]:
    """Turn Milvus's complaint about a malformed filter into one that shows a valid filter."""
    try:
        yield
    except Exception as exc:
        if expr and is_filter_error(exc) and not is_not_loaded(exc):
            raise bad_filter(expr, exc, info) from None
        raise


def bad_filter(expr: str, exc: BaseException, info: CollectionInfo) -> ToolError:
    hints = filters.slips(expr)
    for name in filters.unknown_names(expr, info) if not info.enable_dynamic_field else []:
        hints.append(f"'{name}' is not a field{did_you_mean(name, info.field_names)}")
    fix = (" Fix: " + "; ".join(hints) + ".") if hints else ""
    if hints and any("not a field" in h for h in hints):
        fix += f" Fields: {names(info.field_names)}."
    return ToolError(
        f"Invalid filter {excerpt(expr, 200)!r}: {milvus_message(exc)}.{fix} "
        f"A valid filter for '{info.name}' looks like: {filter_example(info)}"
    )


_MISSING_DATABASE = re.compile(
    r"database '?([^' \[\]]+)'? (?:does )?not (?:exist|found)"  # Milvus Lite: database 'x' does not exist
    r"|database not found\[database=([^\]]+)\]"  # Milvus 2.3+: database not found[database=x]
    r"|database:(\S+) not found",  # Milvus 2.3 create_collection
    re.IGNORECASE,
)


def missing_database(exc: BaseException) -> str | None:
    """The database name when Milvus says a database does not exist, else None."""
    match = _MISSING_DATABASE.search(milvus_message(exc))
    return next((g for g in match.groups() if g), None) if match else None


def unknown_database(name: str, existing: list[str]) -> ToolError:
    return ToolError(
        f"Database '{name}' does not exist.{did_you_mean(name, existing)} Existing databases: "
        f"{names(existing)}; create it with milvus_create_database."
    )


def from_milvus(exc: BaseException, *, uri: str, action: str) -> ToolError:
    """A last-resort translation: Milvus's own words, made one line, with what was being done."""
    if is_connection_failure(exc):
        return unreachable(uri, exc)
    return ToolError(f"Milvus refused to {action}: {milvus_message(exc)}")


def leaf(exc: BaseException) -> BaseException:
    """The first exception inside nested exception groups (a task group's failure), else `exc`."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def unexpected(tool: str, exc: BaseException) -> ToolError:
    """A failure no handler anticipated, named for the agent instead of a bare "Error executing tool"."""
    detail = excerpt(redact(" ".join(str(exc).split())), 300)
    return ToolError(
        f"{tool} failed: {type(exc).__name__}{': ' + detail if detail else ''}. Nothing in this server anticipated "
        "this failure (it is logged); check the arguments, or call milvus_server_info to check the connection."
    )


def excerpt(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters, marked where cut: what a message echoes of the caller's input."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
