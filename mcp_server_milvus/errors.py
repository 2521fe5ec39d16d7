"""The wording of every failure an agent reads, as a `ToolError`.

Every message says what went wrong and the concrete next step, in one or two sentences. What a failure
*is* is decided elsewhere (`failures`, and each backend's codes); this module only words it. It imports
neither pymilvus nor grpc and costs nothing on the start path.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus import filters
from mcp_server_milvus.failures import Failure, Op, during
from mcp_server_milvus.redact import redact

if TYPE_CHECKING:
    from mcp_server_milvus.backends import Backend
    from mcp_server_milvus.schema_cache import CollectionInfo


class SchemaMismatch(ToolError):
    """An argument that does not fit the cached schema: worth one refetch before it is reported."""


class Missing(ToolError):
    """A collection or database that does not exist, or that the allow-lists hide: a resource read reports
    it as not found."""


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
    listed = ", ".join(repr(v) for v in values[:limit])
    return listed + (f" and {len(values) - limit} more" if len(values) > limit else "")


def unknown_collection(name: str, database: str, existing: list[str]) -> ToolError:
    hint = did_you_mean(name, existing)
    if existing:
        listing = f" Existing collections: {names(existing)}." if not hint else ""
    else:
        listing = f" The database '{database}' has no collections yet; create one with milvus_create_collection."
    return Missing(f"Collection '{name}' does not exist in database '{database}'.{hint}{listing}")


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


def unreachable(uri: str, exc: BaseException | None = None, *, wrote: bool = False) -> ToolError:
    """`wrote`: the call had sent a request that changes data, which Milvus may or may not have applied."""
    detail = f" ({milvus_message(exc)})" if exc is not None else ""
    if wrote:
        return ToolError(
            f"Cannot reach Milvus at {redact(uri)}{detail}, so this write may or may not have been applied. "
            "Once Milvus is reachable again, check what is there with milvus_count or milvus_query before "
            "sending it again."
        )
    return ToolError(
        f"Cannot reach Milvus at {redact(uri)}{detail}. Check that the server is running and reachable, "
        "and that --uri and --token are right; call milvus_server_info to see the settings in use."
    )


def unauthenticated(uri: str, exc: BaseException) -> ToolError:
    """Milvus refused the credentials: no retry helps, only the right token."""
    return ToolError(
        f"Milvus at {redact(uri)} refused the credentials ({milvus_message(exc)}). Give the right token "
        "(user:password or an API key) by MILVUS_TOKEN or --token-file."
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
def explained_filter(expr: str | None, info: CollectionInfo, backend: Backend) -> Iterator[None]:
    """Turn Milvus's complaint about a malformed filter into one that shows a valid filter."""
    literal = filters.beyond_int64(expr) if expr else None
    if literal is not None:
        raise ToolError(
            f"Filter number {excerpt(literal, 40)} does not fit in 64 bits, and Milvus compares integers as int64 "
            "(-2^63 to 2^63-1). Use a number in that range, or write it as a float (e.g. 1e20) for a float field."
        )
    try:
        with during(Op.READ):
            yield
    except Exception as exc:
        if expr and backend.classify(exc, Op.READ) is Failure.BAD_FILTER:
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


def unknown_database(name: str, existing: list[str]) -> ToolError:
    return Missing(
        f"Database '{name}' does not exist.{did_you_mean(name, existing)} Existing databases: "
        f"{names(existing)}; create it with milvus_create_database."
    )


_NEXT_STEP: dict[Failure, str] = {
    Failure.COLLECTION_MISSING: "the collection is gone (dropped meanwhile?); call milvus_list_collections",
    Failure.NOT_LOADED: "the collection is not loaded; call milvus_load_collection",
    Failure.PARTITION_MISSING: "a partition it names does not exist; milvus_describe_collection lists them",
    Failure.INDEX_MISSING: "the index does not exist; milvus_describe_collection lists the indexes",
    Failure.INDEX_EXISTS: "the field already has an index; drop it with milvus_drop_index first",
    Failure.BAD_FILTER: "the filter is not valid; see milvus_describe_collection for the fields",
}


def from_milvus(exc: BaseException, failure: Failure, *, action: str) -> ToolError:
    """Milvus's own words, made one line, with what was being done and, where known, what to do."""
    step = _NEXT_STEP.get(failure)
    return ToolError(f"Milvus refused to {action}: {milvus_message(exc)}" + (f". Likely {step}." if step else ""))


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


def shown(value: object, limit: int = 60) -> str:
    """A value of the caller's as a message quotes it: its repr, cut to `limit` characters."""
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # no repr of a megabyte only to cut it
    return excerpt(repr(value), limit)


def excerpt(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters, marked where cut: what a message echoes of the caller's input."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
