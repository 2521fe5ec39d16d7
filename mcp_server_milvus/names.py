"""Names of Milvus objects (collections, fields, partitions, databases, indexes, aliases), checked
before any RPC.

Milvus Lite keeps each collection in a directory named after it and checks names only when it creates
something, so a name is a path: `drop_collection("../../victim")` deleted a directory outside the
database. Hence two rules, as pydantic validators on the argument types:

- A name that refers to something that exists may be whatever Milvus, or another tool, could have made,
  but never holds '/', a backslash, '..' or NUL: no name reaches the file system. A stricter rule here
  would lock agents out of collections made elsewhere.
- A name that creates or renames something follows Milvus's own rule: a letter or an underscore first,
  then letters, digits and underscores, at most 255 characters.

Database names are printable ASCII under both rules: gRPC sends them as request metadata, which refuses
anything else, so a database named `db_é` could be created and then neither used nor dropped, and a control
character failed inside pymilvus mid-request ("Unexpected error ... execute_batch").
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic_core import PydanticCustomError

from mcp_server_milvus.errors import shown

MAX_LENGTH = 255
_VALID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORBIDDEN = ("/", "\\", "..", "\x00")


def _refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("milvus_name", message)


def suggestion(value: str) -> str:
    """A name close to `value` that Milvus's rule accepts: other characters become underscores."""
    fixed = re.sub(r"[^A-Za-z0-9_]", "_", value)[:MAX_LENGTH] or "_"
    return fixed if not fixed[0].isdigit() else "_" + fixed[: MAX_LENGTH - 1]


def existing(kind: str) -> Callable[[str], str]:
    """The validator for a name that refers to a `kind` (e.g. 'collection') that should exist."""

    def check(value: str) -> str:
        bad = next((part for part in _FORBIDDEN if part in value), None)
        if bad is not None:
            held = {"\x00": "NUL", "\\": "a backslash"}.get(bad, repr(bad))
            raise _refuse(
                f"{shown(value)} cannot name a {kind}: Milvus names never hold '/', a backslash, '..' or NUL "
                f"(this one holds {held})."
            )
        if kind == "database" and not (value.isascii() and value.isprintable()):
            raise _refuse(
                f"{shown(value)} cannot name a database: database names are ASCII, without control characters."
            )
        return value

    return check


def new(kind: str) -> Callable[[str], str]:
    """The validator for the name of a `kind` about to be created or renamed to: Milvus's own rule."""

    def check(value: str) -> str:
        if not _VALID.fullmatch(value) or len(value) > MAX_LENGTH:
            raise _refuse(
                f"{shown(value)} is not a valid {kind} name: Milvus names start with a letter or an underscore "
                f"and hold only letters, digits and underscores (at most {MAX_LENGTH} characters), "
                f"e.g. {suggestion(value)!r}."
            )
        return value

    return check


def derived(base: str, suffix: str) -> str:
    """A field name made from another (`text` → `text_sparse`), kept within Milvus's length limit."""
    return base[: MAX_LENGTH - len(suffix)] + suffix
