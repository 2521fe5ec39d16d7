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


def without_strings(expr: str) -> str:
    return _STRINGS.sub('""', expr)


def unknown_names(expr: str, info: CollectionInfo) -> list[str]:
    """Identifiers in a filter that are not schema fields: dynamic keys, or typos."""
    found: list[str] = []
    for name in _IDENTIFIER.findall(without_strings(expr)):
        if name.lower() in KEYWORDS or info.field(name) is not None or name in found:
            continue
        found.append(name)
    return found


def slips(expr: str) -> list[str]:
    """Common mistakes in a filter, each as a short fix."""
    bare = without_strings(expr)
    found = []
    if _LONE_EQUALS.search(bare):
        found.append("use '==' to compare, not '='")
    if "&&" in bare or "||" in bare:
        found.append("write 'and' / 'or' rather than '&&' / '||'")
    return found
