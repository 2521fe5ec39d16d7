"""What a failure is, told by its exception type, the operation that failed and Milvus's error code.

Never by the words of the message: Milvus words the same failure differently from one version (and
backend) to the next, and a name in the message can look like anything (a partition named
`connection_2024` made a missing partition read as "cannot reach Milvus"). Codes are reused, so the
operation is part of the key: Milvus Lite's code 6 is a bad filter for a query but a missing database
for a describe. The rules both backends share are here; each backend adds its own (see `backends/`).
This module only classifies; `errors` words the messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from enum import StrEnum

COLLECTION_NOT_FOUND = 100
COLLECTION_NOT_LOADED = 101
PARTITION_NOT_FOUND = 200
CANNOT_CONNECT = 2
"""Milvus status codes (`common.proto`) that mean the same on every backend (measured: Milvus Lite 3.2.2
and Milvus 2.3.5 through pymilvus 3.0.2)."""


class Failure(StrEnum):
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    UNAUTHENTICATED = "unauthenticated"
    """Milvus answered, and refused the credentials (a wrong or missing token)."""
    COLLECTION_MISSING = "collection missing"
    DATABASE_MISSING = "database missing"
    PARTITION_MISSING = "partition missing"
    NOT_LOADED = "not loaded"
    INDEX_MISSING = "index missing"
    INDEX_EXISTS = "index exists"
    BAD_FILTER = "bad filter"
    REFUSED = "refused"
    """Milvus refused the request for a reason the backend does not tell apart by code."""


class Op(StrEnum):
    """The Milvus operations whose codes need telling apart."""

    DESCRIBE = "describe the collection"
    LIST_COLLECTIONS = "list collections"
    READ = "read with a filter"  # query, search, count
    WRITE = "write rows"  # insert, upsert
    LOAD = "load the collection"
    CREATE_INDEX = "create the index"
    DROP_INDEX = "drop the index"
    DESCRIBE_INDEX = "describe the index"


_OP = "__milvus_op__"


@contextmanager
def during(op: Op) -> Iterator[None]:
    """Mark a failure inside as one of `op`, unless an inner block marked it already."""
    try:
        yield
    except Exception as exc:
        if getattr(exc, _OP, None) is None:
            with suppress(AttributeError):  # a type without a __dict__ is classified without the operation
                setattr(exc, _OP, op)
        raise


def op_of(exc: BaseException) -> Op | None:
    return getattr(exc, _OP, None)


def milvus_code(exc: BaseException) -> int | None:
    """The Milvus status code of a pymilvus exception (`code` is an int there, a method on gRPC errors)."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def grpc_status(exc: BaseException) -> str | None:
    """The gRPC status name (UNAVAILABLE, UNIMPLEMENTED, ...) of a gRPC error, else None."""
    code = getattr(exc, "code", None)
    if not callable(code):
        return None
    try:
        return getattr(code(), "name", None)
    except Exception:
        return None


def is_backend_error(exc: BaseException) -> bool:
    """A failure reported by Milvus, pymilvus or gRPC, as opposed to a defect in this server."""
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    module = type(exc).__module__
    return milvus_code(exc) is not None or grpc_status(exc) is not None or module.startswith(("pymilvus", "grpc"))


def is_timeout(exc: BaseException) -> bool:
    """gRPC's deadline, or pymilvus's retry loop giving up: it raises code 1 from inside `asyncio.wait_for`,
    so the timeout is the exception's context."""
    if isinstance(exc, TimeoutError) or grpc_status(exc) == "DEADLINE_EXCEEDED":
        return True
    return milvus_code(exc) is not None and isinstance(exc.__context__, TimeoutError)


def credentials_refusal(exc: BaseException) -> BaseException | None:
    """The gRPC error by which Milvus refused the credentials, if that is what `exc` is. pymilvus's async
    client wraps it (as the cause) in code 2, "Fail connecting to server": measured on Milvus 2.3.5 with
    authorization enabled, for a wrong password and for no token at all."""
    for candidate in (exc, exc.__cause__):
        if candidate is not None and grpc_status(candidate) == "UNAUTHENTICATED":
            return candidate
    return None


def common(exc: BaseException) -> Failure | None:
    """What every backend means by this failure, or None when it depends on the backend."""
    if is_timeout(exc):
        return Failure.TIMEOUT
    if credentials_refusal(exc) is not None:
        return Failure.UNAUTHENTICATED
    code = milvus_code(exc)
    if isinstance(exc, ConnectionError) or grpc_status(exc) == "UNAVAILABLE" or code == CANNOT_CONNECT:
        return Failure.UNREACHABLE
    return {
        COLLECTION_NOT_FOUND: Failure.COLLECTION_MISSING,
        COLLECTION_NOT_LOADED: Failure.NOT_LOADED,
        PARTITION_NOT_FOUND: Failure.PARTITION_MISSING,
    }.get(code)  # type: ignore[arg-type]
