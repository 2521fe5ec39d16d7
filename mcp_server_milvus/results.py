"""The context budget: what a result may cost an agent.

Vectors are left out unless asked for, long strings are cut with a visible marker, INT64 values a
JavaScript client cannot hold are sent as strings, and a list that would push a result past the byte
budget is shortened, with the result saying so. The budget counts the UTF-8 bytes of the compact
JSON of `structuredContent`, which is also the text content.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

MAX_STRING_CHARS = 1000
"""Longer strings are cut to this many characters and marked."""

MAX_SAFE_INTEGER = 2**53 - 1


def cut_marker(dropped: int) -> str:
    return f"…[cut {dropped} chars]"


def clean(value: Any, *, exact_ints: bool = False) -> Any:
    """Make one value safe for an agent's context and for JSON clients.

    Integers beyond 2^53 become strings, which JavaScript clients can hold exactly, unless `exact_ints`:
    inside JSON and dynamic fields they stay numbers, so that a row read and written back stores the
    same values."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value) if abs(value) > MAX_SAFE_INTEGER and not exact_ints else value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            return value[:MAX_STRING_CHARS] + cut_marker(len(value) - MAX_STRING_CHARS)
        return value
    if isinstance(value, dict):
        return {str(k): clean(v, exact_ints=exact_ints) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v, exact_ints=exact_ints) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return clean(value.tolist(), exact_ints=exact_ints)
    return clean(str(value))


def clean_row(row: dict[str, Any], hidden: set[str], int64_fields: frozenset[str]) -> dict[str, Any]:
    """A row without the `hidden` fields (vectors not asked for), every value cleaned: INT64 fields (and
    ARRAYs of INT64) send integers beyond 2^53 as strings; every other value keeps its integers exact."""
    return {k: clean(v, exact_ints=k not in int64_fields) for k, v in row.items() if k not in hidden}


def compact_json(model: BaseModel) -> str:
    return compact(dump(model))


def compact(data: dict[str, Any]) -> str:
    """The compact JSON of a dumped result: what the budget counts and the text content carries."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def size_of(model: BaseModel) -> int:
    return len(compact_json(model).encode())


Model = TypeVar("Model", bound=BaseModel)


def fit(build: Callable[[int], Model], items: Sequence[Any], budget: int) -> tuple[Model, int]:
    """The largest `build(n)` (the first n items) that fits `budget`, and that n.

    `build(n)` must make the whole result from the first n items. A binary search keeps the cost at
    O(log n) serializations.
    """
    whole = build(len(items))
    if size_of(whole) <= budget:
        return whole, len(items)
    low, high = 0, len(items) - 1  # the answer lies in [low, high]; build(0) is assumed to fit
    while low < high:
        mid = (low + high + 1) // 2
        if size_of(build(mid)) <= budget:
            low = mid
        else:
            high = mid - 1
    return build(low), low


def squeeze(value: Any, budget: int) -> Any:
    """`value` cut until its compact JSON takes at most about `budget` bytes: the largest string or list
    inside is halved, with a marker, until it fits. A single row larger than the whole result budget is
    returned this way rather than not at all, so that paging always moves on."""
    while _size(value) > budget:
        shrunk = _halve_largest(value)
        if shrunk is None:
            break
        value = shrunk
    return value


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode())


def _halve_largest(value: Any) -> Any | None:
    """A copy of `value` with its largest part halved; None when nothing is left to cut."""
    if isinstance(value, str):
        keep = len(value) // 2
        return value[:keep] + cut_marker(len(value) - keep) if keep else None
    if isinstance(value, list):
        if not value:
            return None
        keep = len(value) // 2
        return [*value[:keep], f"…[cut {len(value) - keep} items]"]
    if isinstance(value, dict) and value:
        key = max(value, key=lambda k: _size(value[k]))
        inner = _halve_largest(value[key])
        return None if inner is None else {**value, key: inner}
    return None
