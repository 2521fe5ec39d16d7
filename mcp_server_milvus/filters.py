"""Reading a filter expression the way an agent wrote it: the names it uses and its common slips.

Milvus Lite and Milvus servers word parse errors differently (Lite suggests '==' for '='; a server
says only "token recognition error"), so the hints an agent needs are worked out here, from the
expression and the schema, whatever the backend said.
"""

from __future__ import annotations

import re

from mcp_server_milvus.schema_cache import CollectionInfo

KEYWORDS = frozenset({"and", "or", "not", "in", "like", "true", "false", "is", "null", "exists"})
_STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")
_IDENTIFIER = re.compile(r"(?<![\w.$\"'])([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()")
_LONE_EQUALS = re.compile(r"(?<![=!<>])=(?!=)")
_INTEGER = re.compile(r"(?<![\w.)\]])-?\d+(?![\w.])")
_INT64_DIGITS = 19


def without_strings(expr: str) -> str:
    return _STRINGS.sub('""', expr)


MAX_NAMES = 5
"""Unknown names a message reports: enough to spot a typo, few enough to keep the answer short."""


def unknown_names(expr: str, info: CollectionInfo) -> list[str]:
    """The first few identifiers in a filter that are not schema fields: dynamic keys, or typos.

    Linear in the filter's length, whatever it holds: it is read on the error path too."""
    fields = set(info.field_names)
    found: dict[str, None] = {}
    for match in _IDENTIFIER.finditer(without_strings(expr)):
        name = match.group(1)
        if name not in fields and name.lower() not in KEYWORDS:
            found[name] = None
            if len(found) == MAX_NAMES:
                break
    return list(found)


def slips(expr: str) -> list[str]:
    """Common mistakes in a filter, each as a short fix."""
    bare = without_strings(expr)
    found = []
    if _LONE_EQUALS.search(bare):
        found.append("use '==' to compare, not '='")
    if "&&" in bare or "||" in bare:
        found.append("write 'and' / 'or' rather than '&&' / '||'")
    return found


def beyond_int64(expr: str) -> str | None:
    """The first integer literal in a filter that does not fit in 64 bits, else None.

    Milvus compares integers as int64; Milvus Lite failed on a wider literal with Python's own words
    ("Python int too large to convert to C long"). Linear in the filter's length."""
    for match in _INTEGER.finditer(without_strings(expr)):
        literal = match.group()
        digits = literal.lstrip("-")
        if len(digits.lstrip("0")) > _INT64_DIGITS or not -(2**63) <= int(literal) < 2**63:
            return literal
    return None
