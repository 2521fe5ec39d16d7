"""The schemas a tool announces in `tools/list`: pydantic's, made small and readable by every major client.

Every conversation pays for `tools/list`, and clients accept different subsets of JSON Schema (Gemini
function declarations refuse `$ref`, `$defs`, `const` and `exclusiveMaximum`). pydantic's schemas stay
what validates the arguments and the results; what is announced is derived from them mechanically:

- no `title` (pydantic's repeats the property name); `$ref`s are inlined and `$defs` dropped (definitions
  cannot be shared between tools anyway);
- `const` becomes a one-value `enum`; `exclusiveMaximum`/`exclusiveMinimum` become `maximum`/`minimum`
  (one step inside for integers);
- an optional argument (`X | None = None`) is announced as `X`, left out of `required`: leaving it out is
  how an agent says "none". Defaults an agent assumes anyway (null, false, 0, empty) are dropped, and so are
  `minLength`/`maxLength` (names are checked with Milvus's own rules and messages, and the lengths cost
  more context than they tell);
- every input object with declared properties is closed (`additionalProperties: false`), as the argument
  models are: free-form maps (`rows`, `params`) stay open;
- a bound an agent need not be told is dropped: a minimum of 0 or 1, a list's length, and Milvus's own
  large limits (1024 and up), which the server checks and names in its error; `additionalProperties: true` too (free-form
  maps are open by default), and a union of string enums becomes one enum;
- output schemas keep their top level: each field's name and type, without descriptions or `required`
  (the tool's description says what matters in a result, and results explain themselves with `hint`s);
  values that are objects are announced as `{"type": "object"}` and lists as `{"type": "array"}`.
  The fields many results share (ENVELOPE: the `database` and `collection_name` a call acted on, and
  `truncated`, `hint`, `warning`) are explained once, in the server's instructions, and not announced
  again by every tool: an output schema is open, so they still validate. Results are dumped without None
  values (`results.dump`), so an optional output field is announced as its type. The SDK still checks
  each result against the pydantic model, and the MCP client checks `structuredContent` against the
  announced schema.
"""

from __future__ import annotations

import inspect
from typing import Any

Schema = dict[str, Any]

_DROPPED = frozenset({"title", "minLength", "maxLength", "$defs"})
ENVELOPE = frozenset({"database", "collection_name", "truncated", "hint", "warning"})
"""Result fields the instructions explain once (`guides.instructions`), left out of every output schema."""
_REF_PREFIX = "#/$defs/"


def announced_description(docstring: str | None) -> str:
    """A tool's docstring as its description: each paragraph on one line (source line breaks are for the
    source, and cost a JSON escape each)."""
    paragraphs = inspect.cleandoc(docstring or "").split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def announced_input(schema: Schema) -> Schema:
    """The `inputSchema` a tool announces for pydantic's arguments `schema`."""
    return _compact(schema, schema.get("$defs", {}), output_depth=None)


def announced_output(schema: Schema) -> Schema:
    """The `outputSchema` a tool announces for pydantic's result `schema`: the top level in full, nested
    objects as plain objects."""
    compact = _compact(schema, schema.get("$defs", {}), output_depth=0)
    properties = {name: value for name, value in compact.get("properties", {}).items() if name not in ENVELOPE}
    return {"type": "object", "properties": properties}


def _compact(node: Schema, defs: dict[str, Schema], output_depth: int | None) -> Schema:
    node = _inline(node, defs)
    options = node.get("anyOf")
    if isinstance(options, list):
        node = _inline(_without_null(node, options), defs)
    if output_depth is not None and output_depth >= 1:
        return _plain(node, defs)
    out: Schema = {}
    for key, value in node.items():
        if key in _DROPPED or (key == "default" and _assumed(value)) or _needless_bound(key, value):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMaximum", "exclusiveMinimum"):
            bound, step = ("maximum", -1) if key == "exclusiveMaximum" else ("minimum", 1)
            inclusive = value + step if node.get("type") == "integer" else value
            if not _needless_bound(bound, inclusive):
                out[bound] = inclusive
        elif key == "properties":
            depth = None if output_depth is None else output_depth + 1
            out[key] = {name: _compact(prop, defs, depth) for name, prop in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict) and value:
            out[key] = _compact(value, defs, output_depth)
        elif key == "anyOf":
            out[key] = [_compact(option, defs, output_depth) for option in value]
        else:
            out[key] = value
    if out.get("additionalProperties") is True:
        del out["additionalProperties"]  # a free-form map: open is JSON Schema's default
    elif output_depth is None and "properties" in out:
        out["additionalProperties"] = False
    return _one_enum(out)


def _one_enum(node: Schema) -> Schema:
    """A union of string enums (pydantic's form of `Literal[...] | Literal[...]`) as one enum."""
    options = node.get("anyOf")
    if not isinstance(options, list) or not all(set(o) == {"enum", "type"} and o["type"] == "string" for o in options):
        return node
    rest = {key: value for key, value in node.items() if key != "anyOf"}
    return {**rest, "type": "string", "enum": [value for option in options for value in option["enum"]]}


def _assumed(default: Any) -> bool:
    """A default an agent assumes anyway: none, false, zero, empty."""
    return default is None or default is False or (isinstance(default, int | str | list | dict) and not default)


def _needless_bound(key: str, value: Any) -> bool:
    """A bound an agent need not be told: at least 0 or 1 (items, a count, a dimension), a list's length (16
    queries, 10 searches), or one of Milvus's own large limits (1024 and up: dimensions, lengths, page sizes).
    The server checks each and names it in its error."""
    if key == "minItems" or key == "minimum":
        return value in (0, 1) and not isinstance(value, bool)
    return key == "maxItems" or (key == "maximum" and isinstance(value, int) and value >= 1024)


def _inline(node: Schema, defs: dict[str, Schema]) -> Schema:
    """`node` with its `$ref` replaced by the definition (the node's own keys win). A definition's description
    is its class docstring, written for the code: only a property's own description is announced."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith(_REF_PREFIX):
        return node
    siblings = {key: value for key, value in node.items() if key != "$ref"}
    definition = {key: value for key, value in defs[ref.removeprefix(_REF_PREFIX)].items() if key != "description"}
    return {**_inline(definition, defs), **siblings}


def _without_null(node: Schema, options: list[Schema]) -> Schema:
    """An optional value (`anyOf [X, null]`, absent when None) announced as X; several others stay a union."""
    kept = [option for option in options if option != {"type": "null"}]
    if len(kept) == len(options) or node.get("default", None) is not None:
        return node
    rest = {key: value for key, value in node.items() if key != "anyOf"}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


def _plain(node: Schema, defs: dict[str, Schema]) -> Schema:
    """An output value as its bare type: objects and lists lose their inner schema."""
    node = _inline(node, defs)
    if isinstance(node.get("anyOf"), list):
        node = _without_null(node, node["anyOf"])
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {"type": "object"}
    if kind == "array":
        return {"type": "array"}
    if "anyOf" in node:
        return {"anyOf": [_plain(option, defs) for option in node["anyOf"]]}
    if isinstance(kind, str):
        return {"type": kind}
    return {}
