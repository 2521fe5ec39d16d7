"""The tool list every conversation pays for: valid, readable by every major client, and within its budget.

What the dialects accept (the keyword sets below), and where each set comes from:

- JSON Schema 2020-12: `jsonschema.Draft202012Validator.check_schema` (the MCP spec's default dialect).
- Gemini function declarations: the fields of google-genai 3.6.1's `types.Schema` (a pydantic model with
  `extra="forbid"`, camelCase aliases), listed in GEMINI_KEYWORDS. Checked offline once, in a throwaway
  venv, by building `types.FunctionDeclaration(parameters=types.Schema.model_validate(inputSchema))` and
  `response=...(outputSchema)` for every tool: before `mcp_server_milvus.schemas`, 14 of the 58 schemas
  were refused (`$ref`/`$defs` in create_collection and eight outputs, `const` in the index outputs,
  `exclusiveMaximum` in query, search and hybrid_search); after it, none. `anyOf` is accepted
  (`Schema.any_of`), so search's `vector` (dense list or sparse map) stays one union argument rather than
  two arguments: a `sparse_vector` would repeat every rule of `vector` for no gain in any client checked.
- OpenAI strict mode (Structured Outputs' "supported schemas"): every object closed with
  `additionalProperties: false`, every property listed in `required` (optional ones typed with null),
  no `default`, no `minLength`/`maxLength`, no `$ref` outside `$defs`. Free-form maps (`rows`, index
  `params`, `search_params`, sparse vectors, a field's `default_value`) can never be strict. The other
  tools are strict-shaped but for two deliberate differences, checked below: optional arguments stay out
  of `required`, and keep their non-null `default`. Listing every argument as required and nullable would
  tell every non-strict client (most of them) that each argument must be sent, would make a `null` for
  `limit` or `metric_type` mean "the default" where the server now refuses it, and would cost about
  2.4 KB. So strict clients use these tools in normal (non-strict) mode, as the README says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from mcp import Client
from pydantic import BaseModel, Field

from mcp_server_milvus.config import Settings
from mcp_server_milvus.schemas import announced_input, announced_output
from mcp_server_milvus.server import GROUPS, TOOLS, build_server

pytestmark = pytest.mark.anyio

BUDGET_BYTES = 20_000
"""The whole default tool list, as compact JSON: every conversation pays for it. The tools an operator
adds with a setting (milvus_import and milvus_export, with --import-dir/--export-dir) are not counted."""

TOOL_BYTES = 4_000
"""No one tool may take a fifth of the budget."""

GEMINI_KEYWORDS = frozenset(
    {
        "type", "description", "enum", "items", "properties", "required", "anyOf", "default", "nullable",
        "minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "minProperties",
        "maxProperties", "pattern", "format", "title", "example", "propertyOrdering", "additionalProperties",
    }
)  # fmt: skip
"""google-genai 3.6.1 `types.Schema` fields, by their JSON names (`$ref`/`$defs` are not among them)."""

STRICT_KEYWORDS = frozenset(
    {
        "type", "description", "enum", "items", "properties", "required", "anyOf", "additionalProperties",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
        "pattern", "format",
    }
)  # fmt: skip
"""OpenAI strict mode's supported keywords (Structured Outputs, "Supported schemas")."""

FREE_FORM = {
    "milvus_create_collection": "indexes[].params, fields[].default_value",
    "milvus_create_index": "params",
    "milvus_insert": "rows",
    "milvus_upsert": "rows",
    "milvus_search": "vector (sparse), vectors, search_params",
    "milvus_hybrid_search": "searches[].vector (sparse), searches[].params",
    "milvus_import": "field_map",
}
"""Tools with a free-form map: strict clients use them in normal mode."""


def size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def listing(tools: list[Any]) -> dict[str, Any]:
    return {"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]}


def nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """Every schema node in `schema` (not the maps of property names)."""
    if not isinstance(schema, dict):
        return
    yield schema
    for name in schema.get("properties", {}).values():
        yield from nodes(name)
    for key in ("items", "additionalProperties"):
        yield from nodes(schema.get(key))
    for option in schema.get("anyOf", []):
        yield from nodes(option)


def free_form(schema: dict[str, Any]) -> bool:
    return any((n.get("type") == "object" and "properties" not in n) or n == {} for n in nodes(schema))


@pytest.fixture
async def tools(tmp_path: Path) -> list[Any]:
    """Every tool the server can offer: the default set, and the file tools that need their directories."""
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    settings = Settings(
        uri=str(tmp_path / "m.db"),
        embedding_provider="none",
        import_dirs=(tmp_path / "in",),
        export_dirs=(tmp_path / "out",),
    )
    server = build_server(settings)
    async with Client(server) as client:
        listed = list((await client.list_tools()).tools)
    assert {t.name for t in listed} == {fn.__name__ for fn in TOOLS}  # a tool that needs a setting: set it above
    return listed


async def test_every_schema_is_json_schema_2020_12(tools: list[Any]) -> None:
    for t in tools:
        jsonschema.Draft202012Validator.check_schema(t.input_schema)
        assert t.output_schema is not None, t.name
        jsonschema.Draft202012Validator.check_schema(t.output_schema)


async def test_schemas_use_only_what_gemini_accepts(tools: list[Any]) -> None:
    for t in tools:
        for schema in (t.input_schema, t.output_schema):
            for node in nodes(schema):
                assert set(node) <= GEMINI_KEYWORDS, (t.name, sorted(set(node) - GEMINI_KEYWORDS))
                assert isinstance(node.get("type", ""), str), t.name  # Gemini takes one type, not a list


async def test_tools_without_free_form_maps_are_strict_shaped(tools: list[Any]) -> None:
    assert {t.name for t in tools if free_form(t.input_schema)} == set(FREE_FORM)
    for t in tools:
        for node in nodes(t.input_schema):
            if "properties" in node:
                assert node.get("additionalProperties") is False, t.name
                assert set(node.get("required", [])) <= set(node["properties"]), t.name
        if t.name in FREE_FORM:
            continue
        for node in nodes(t.input_schema):
            assert set(node) - {"default"} <= STRICT_KEYWORDS, (t.name, sorted(set(node) - STRICT_KEYWORDS))


def default_set(tools: list[Any]) -> list[Any]:
    """The tools a server offers with no options: the file tools need directories, so they are opt-in."""
    return [t for t in tools if t.name not in {fn.__name__ for fn in GROUPS["import"]}]


async def test_the_tool_list_fits_its_budget(tools: list[Any]) -> None:
    total = size(listing(default_set(tools)))
    per_tool = {t.name: size(listing([t])) for t in tools}
    assert max(per_tool.values()) <= TOOL_BYTES, per_tool
    assert total <= BUDGET_BYTES, f"tools/list is {total} bytes: {per_tool}"


async def test_every_output_schema_names_its_fields_with_their_types(tools: list[Any]) -> None:
    """Output schemas are cut to their top level, never to nothing: a client still learns each field's type."""
    for t in tools:
        properties = (t.output_schema or {}).get("properties", {})
        assert properties, t.name
        for name, schema in properties.items():
            assert "type" in schema or "anyOf" in schema, (t.name, name)


class Inner(BaseModel):
    kind: Literal["BM25"] = "BM25"


class Outer(BaseModel):
    """Docstring."""

    name: str = Field(min_length=1, max_length=255, description="A name.")
    offset: Annotated[int, Field(ge=0, lt=100)] = 0
    big: Annotated[int | None, Field(ge=2, lt=16384)] = None
    flag: bool = False
    inner: Inner | None = None
    inners: list[Inner] = []
    choice: Literal["a", "b"] | Literal["c"] = "a"
    params: dict[str, Any] = {}


class Echoing(BaseModel):
    database: str
    count: int


def test_the_mechanical_rules_on_a_model() -> None:
    announced = announced_input(Outer.model_json_schema())
    inner = {"type": "object", "properties": {"kind": {"enum": ["BM25"], "default": "BM25", "type": "string"}}}
    inner["additionalProperties"] = False
    assert announced == {
        "description": "Docstring.",
        "type": "object",
        "properties": {
            "name": {"description": "A name.", "type": "string"},
            "offset": {"maximum": 99, "type": "integer"},
            "big": {"minimum": 2, "type": "integer"},
            "flag": {"type": "boolean"},
            "inner": inner,
            "inners": {"items": inner, "type": "array"},
            "choice": {"default": "a", "type": "string", "enum": ["a", "b", "c"]},
            "params": {"type": "object"},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    output = announced_output(Outer.model_json_schema())
    assert output["properties"]["inner"] == {"type": "object"}
    assert output["properties"]["inners"] == {"type": "array"}
    assert "database" not in announced_output(Echoing.model_json_schema())["properties"]
    jsonschema.validate(Outer(name="x", inner=Inner()).model_dump(mode="json", exclude_none=True), output)
