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


def clean(value: Any) -> Any:
    """Make one value safe for an agent's context and for JSON clients."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value) if abs(value) > MAX_SAFE_INTEGER else value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            return value[:MAX_STRING_CHARS] + cut_marker(len(value) - MAX_STRING_CHARS)
        return value
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return clean(value.tolist())
    return clean(str(value))


def clean_row(row: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    """A row without the `hidden` fields (vectors not asked for), every value cleaned."""
    return {k: clean(v) for k, v in row.items() if k not in hidden}


def compact_json(model: BaseModel) -> str:
    return json.dumps(dump(model), ensure_ascii=False, separators=(",", ":"))


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
