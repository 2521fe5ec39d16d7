"""Tool arguments shared by several tools, and the one-sentence form of an argument error."""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from mcp_server_milvus import names as naming
from mcp_server_milvus.errors import closest, excerpt, names, shown


class ArgumentObject(BaseModel):
    """An object inside a tool's arguments (a field spec, an index spec): unknown keys are refused, as
    they are at the top level, so that a misspelled option is never silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _name(kind: str) -> Any:
    """A `kind` name that refers to something that exists (see `names`)."""
    return Annotated[str, Field(min_length=1, max_length=naming.MAX_LENGTH), AfterValidator(naming.existing(kind))]


def _new_name(kind: str) -> Any:
    """The name of a `kind` about to be created, under Milvus's naming rule (see `names`)."""
    return Annotated[str, Field(min_length=1, max_length=naming.MAX_LENGTH), AfterValidator(naming.new(kind))]


CollectionRef = _name("collection")
NewCollection = _new_name("collection")
FieldRef = _name("field")
NewField = _new_name("field")
PartitionRef = _name("partition")
NewPartition = _new_name("partition")
AliasRef = _name("alias")
NewAlias = _new_name("alias")
IndexRef = _name("index")
NewIndex = _new_name("index")
DatabaseRef = _name("database")
NewDatabase = _new_name("database")

CollectionName = CollectionRef
# The arguments many tools share are explained once, in the server's instructions (`guides.instructions`):
# `database`, `filter`, `output_fields`, `consistency_level`, `confirm_name`, `partition_names`. A description
# here would be sent again with every tool that takes them.
Database = DatabaseRef | None
Filter = str | None
OutputFields = list[FieldRef] | None
Ids = list[int | str] | None
PartitionName = PartitionRef | None
DEFAULT_CONSISTENCY = "Strong"
Consistency = Annotated[
    Literal["Strong", "Bounded", "Session", "Eventually"],
    Field(json_schema_extra=lambda schema: schema.pop("default", None)),  # the instructions say it is Strong
]
ConfirmCollection = CollectionRef
ConfirmDatabase = DatabaseRef
ConfirmPartition = PartitionRef
PartitionNames = Annotated[list[PartitionRef] | None, Field(min_length=1, max_length=1024)]


SYNONYMS: dict[str, tuple[str, ...]] = {
    "where": ("filter",),
    "expr": ("filter",),
    "expression": ("filter",),
    "filter_expr": ("filter",),
    "top_k": ("limit",),
    "topk": ("limit",),
    "k": ("limit",),
    "n": ("limit",),
    "size": ("limit",),
    "skip": ("offset",),
    "db": ("database",),
    "db_name": ("database", "database_name"),
    "database_name": ("database",),
    "collection": ("collection_name",),
    "name": ("collection_name", "database_name"),
    "data": ("rows", "vector"),
    "entities": ("rows",),
    "records": ("rows",),
    "query_vector": ("vector",),
    "vectors": ("vector",),
    "embedding": ("vector",),
    "query": ("vector", "filter"),
    "fields": ("output_fields",),
    "partition": ("partition_name",),
    "partition_names": ("partition_name",),
    "metric": ("metric_type",),
    "dim": ("dimension",),
    "index": ("index_type", "index_name"),
    "param": ("search_params", "params"),
    "primary_key": ("ids", "is_primary"),
    "pk": ("ids", "is_primary"),
    "id": ("ids",),
    "confirm": ("confirm_name",),
}
"""Argument names agents bring from other Milvus clients and SDKs, and what this server calls them."""


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "arguments"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (through Annotated, unions, lists and dicts)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model whose keys `loc` (a path of names and list indexes) points into."""
    for part in loc:
        if isinstance(part, int):
            continue
        f = model.model_fields.get(str(part)) or next((f for f in model.model_fields.values() if f.alias == part), None)
        inner = _models_in(f.annotation) if f is not None else []
        if not inner:
            return None
        model = inner[0]
    return model


def _argument_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _unknown_argument(tool: str, loc: tuple[Any, ...], model: type[BaseModel] | None) -> str:
    """'milvus_count does not take 'where'. Did you mean 'filter'? It takes: ...'"""
    name = str(loc[-1])
    owner = _model_at(model, loc[:-1]) if model is not None else None
    where = f"{tool}" if len(loc) == 1 else f"'{_path(loc[:-1])}' of {tool}"
    if owner is None:
        return f"{where.capitalize() if len(loc) > 1 else where} does not take '{excerpt(name, 60)}'."
    valid = _argument_names(owner)
    if "ctx" in valid:
        valid.remove("ctx")
    close = [s for s in SYNONYMS.get(name.lower(), ()) if s in valid][:1] or closest(name, valid)[:2]
    hint = (" Did you mean " + " or ".join(repr(c) for c in close) + "?") if close else ""
    return f"{where} does not take '{excerpt(name, 60)}'.{hint} Valid names: {names(valid)}."


def describe_validation_error(tool: str, exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """One or two sentences naming the argument and the expected form, in place of pydantic's text.

    Unknown argument names come first: a misspelled name usually explains the other complaints too.
    """
    problems = exc.errors(include_url=False)
    extras = [p for p in problems if p["type"] == "extra_forbidden"]
    if extras:
        sentence = _unknown_argument(tool, tuple(extras[0]["loc"]), model)
        more = sorted({_path(tuple(p["loc"])) for p in extras[1:]})
        if more:
            sentence += " Also unknown: " + ", ".join(f"'{excerpt(m, 60)}'" for m in more[:5]) + "."
        return sentence
    first = problems[0]
    path = _path(tuple(first["loc"]))
    if first["type"] == "missing":
        sentence = f"Missing required argument '{path}' for {tool}."
    elif first["type"].startswith("milvus_"):  # our own checks word their message in full
        sentence = f"Argument '{path}' of {tool}: {first['msg']}"
    else:
        message = first["msg"][0].lower() + first["msg"][1:]
        sentence = f"Argument '{path}' of {tool} is invalid: {message} (got {shown(first.get('input'))})."
    if len(problems) > 1:
        others = sorted({_path(tuple(p["loc"])) for p in problems[1:]} - {path})
        if others:
            sentence += " Also check: " + ", ".join(f"'{o}'" for o in others[:5]) + "."
    return sentence
