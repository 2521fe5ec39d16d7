"""Tool arguments shared by several tools, and the one-sentence form of an argument error."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

CollectionName = Annotated[str, Field(min_length=1, max_length=255, description="Collection name.")]
Database = Annotated[
    str | None,
    Field(description="Database to use for this call; defaults to the server's --db."),
]
Filter = Annotated[
    str | None,
    Field(description="Boolean filter expression, e.g. 'age > 20 and city == \"Paris\"'."),
]
OutputFields = Annotated[
    list[str] | None,
    Field(
        description="Fields to return; defaults to every scalar field. Vector fields are returned only when named here."
    ),
]
Ids = Annotated[
    list[int | str] | None,
    Field(description="Primary key values. INT64 keys may be given as numbers or numeric strings."),
]
PartitionName = Annotated[str | None, Field(description="Partition to write to; defaults to '_default'.")]
Consistency = Annotated[
    Literal["Strong", "Bounded", "Session", "Eventually"],
    Field(
        description="Read consistency. Strong (default) sees every acknowledged write, this agent's own "
        "included; Bounded or Eventually answer faster on a busy cluster but may miss the latest writes."
    ),
]
DEFAULT_CONSISTENCY = "Strong"
Confirm = Annotated[str, Field(description="Must equal the name being dropped, as a guard against mistakes.")]


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "arguments"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_validation_error(tool: str, exc: ValidationError) -> str:
    """One sentence naming the argument and the expected form, in place of pydantic's text."""
    problems = exc.errors(include_url=False)
    first = problems[0]
    path = _path(tuple(first["loc"]))
    if first["type"] == "missing":
        sentence = f"Missing required argument '{path}' for {tool}."
    else:
        message = first["msg"][0].lower() + first["msg"][1:]
        sentence = f"Argument '{path}' of {tool} is invalid: {message} (got {_shown(first.get('input'))})."
    if len(problems) > 1:
        others = sorted({_path(tuple(p["loc"])) for p in problems[1:]} - {path})
        if others:
            sentence += " Also check: " + ", ".join(f"'{o}'" for o in others[:5]) + "."
    return sentence
