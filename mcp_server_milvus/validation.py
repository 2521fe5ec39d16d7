"""Arguments checked against the cached schema before any RPC, so a bad batch writes nothing.

Every failure here is a `SchemaMismatch`: when the schema came from the cache, the caller refetches it
and checks once more before the agent sees the error, since another program may have changed it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus import filters
from mcp_server_milvus.errors import SchemaMismatch, closest, did_you_mean, excerpt, names, shown, unknown_field
from mcp_server_milvus.schema_cache import CollectionInfo, FieldInfo

FLOAT32_MAX = 3.4028234663852886e38

INT_RANGES = {
    "INT8": (-(2**7), 2**7 - 1),
    "INT16": (-(2**15), 2**15 - 1),
    "INT32": (-(2**31), 2**31 - 1),
    "INT64": (-(2**63), 2**63 - 1),
}


JSON_MAX_BYTES = 65536
"""Milvus's limit on one JSON value (and on a row's dynamic fields together)."""
SPARSE_INDEX_MAX = 2**32 - 2
_NUMBERS = frozenset({float, int})
"""Exact types of a plain vector's items (not bool, not numpy scalars: those take the careful path)."""


def _int(value: Any) -> int | None:
    """An integer from an int, an integral float or a numeric string (INT64 beyond 2^53 travels as one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and len(value) <= 24 and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _number(value: Any) -> float | None:
    """A finite float from an int or a float, or None (bools, strings, NaN, infinity, 10**400)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def primary_keys(values: list[int | str], info: CollectionInfo) -> list[int | str]:
    """Primary key values in the key's own type, or a SchemaMismatch saying which one is wrong."""
    pk = info.primary
    out: list[int | str] = []
    for value in values:
        if pk.type == "VARCHAR":
            if not isinstance(value, str):
                raise SchemaMismatch(
                    f"Primary key '{pk.name}' of '{info.name}' is VARCHAR: give ids as strings, e.g. [\"{value}\"]."
                )
            if pk.max_length is not None and len(value.encode()) > pk.max_length:
                raise SchemaMismatch(
                    f"Primary key '{pk.name}' of '{info.name}' holds at most {pk.max_length} bytes; "
                    f"{shown(value)} has {len(value.encode())}."
                )
            out.append(value)
        else:
            number = _int(value)
            low, high = INT_RANGES["INT64"]
            if number is None or not low <= number <= high:
                raise SchemaMismatch(
                    f"Primary key '{pk.name}' of '{info.name}' is INT64: ids must be integers from -2^63 to 2^63-1 "
                    f"(or such numbers as strings), got {shown(value)}."
                )
            out.append(number)
    return out


def pk_filter(info: CollectionInfo, ids: list[int | str]) -> str:
    """`pk in [...]` for already-typed primary keys. Strings are written as they are, not as \\u escapes,
    which Milvus Lite refuses ("unknown escape sequence")."""
    return f"{info.primary.name} in {json.dumps(ids, ensure_ascii=False)}"


def vector(value: Any, f: FieldInfo, where: str) -> Any:
    """A dense vector of the field's dimension, or a sparse vector as {index: weight}."""
    if f.type == "SPARSE_FLOAT_VECTOR":
        if not isinstance(value, dict) or not value:
            raise SchemaMismatch(f"{where}: sparse vector field '{f.name}' expects an object like {{\"12\": 0.5}}.")
        sparse: dict[int, float] = {}
        for key, weight in value.items():
            index = _int(key)
            number = _number(weight)
            if index is None or not 0 <= index <= SPARSE_INDEX_MAX or number is None or abs(number) > FLOAT32_MAX:
                raise SchemaMismatch(
                    f"{where}: sparse vector '{f.name}' needs integer keys from 0 to {SPARSE_INDEX_MAX} and finite "
                    f"float32 weights, got {shown(key)}: {shown(weight)}."
                )
            sparse[index] = number
        return sparse
    if f.type == "BINARY_VECTOR":
        return _bits(value, f, where)
    if _plain_finite([value], f.dim):  # the usual case, checked in C; any doubt takes the path below
        return value
    if not isinstance(value, list) or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        raise SchemaMismatch(f"{where}: vector field '{f.name}' expects a list of {f.dim} numbers.")
    if f.dim is not None and len(value) != f.dim:
        raise SchemaMismatch(f"{where}: vector field '{f.name}' expects dimension {f.dim}, got {len(value)}.")
    if not all((n := _number(x)) is not None and abs(n) <= FLOAT32_MAX for x in value):
        raise SchemaMismatch(f"{where}: vector field '{f.name}' holds NaN, infinity or a value beyond float32 range.")
    return value


def _bits(value: Any, f: FieldInfo, where: str) -> bytes:
    """A binary vector given as `dim` bits (0 or 1), packed most significant bit first as Milvus expects."""
    if not isinstance(value, list) or any(b not in (0, 1) for b in value):
        raise SchemaMismatch(f"{where}: binary vector field '{f.name}' expects a list of {f.dim} bits (0 or 1).")
    if f.dim is not None and len(value) != f.dim:
        raise SchemaMismatch(f"{where}: binary vector field '{f.name}' expects {f.dim} bits, got {len(value)}.")
    packed = bytearray((len(value) + 7) // 8)
    for i, bit in enumerate(value):
        if bit:
            packed[i // 8] |= 0x80 >> (i % 8)
    return bytes(packed)


def _typed(value: Any, type_name: str, max_length: int | None) -> Any:
    """`value` as a `type_name` value (a scalar type or an ARRAY element type), or raise ValueError with
    what is wrong."""
    if type_name in INT_RANGES:
        number = _int(value) if type_name == "INT64" else (value if type(value) is int else None)
        low, high = INT_RANGES[type_name]
        if number is None or not low <= number <= high:
            raise ValueError(f"is {type_name} (integers from {low} to {high}); got {shown(value)}")
        return number
    if type_name in {"FLOAT", "DOUBLE"}:
        number = _number(value)
        if number is None or (type_name == "FLOAT" and abs(number) > FLOAT32_MAX):
            span = "float32" if type_name == "FLOAT" else "float64"
            raise ValueError(f"is {type_name}: a finite {span} number; got {shown(value)}")
        return number
    if type_name == "BOOL":
        if not isinstance(value, bool):
            raise ValueError(f"is BOOL; use true or false, got {shown(value)}")
        return value
    if type_name == "VARCHAR":
        if not isinstance(value, str):
            raise ValueError(f"is VARCHAR; got {type(value).__name__} {shown(value)}")
        size = len(value.encode())
        if max_length is not None and size > max_length:
            raise ValueError(f"holds at most {max_length} bytes (UTF-8); got {size}")
        return value
    return value


def scalar(value: Any, f: FieldInfo, where: str) -> Any:
    """One scalar field's value checked against its type, as Milvus would check it after the first batch."""
    if value is None:
        if f.nullable or f.default_value is not None:
            return None
        raise SchemaMismatch(f"{where}: field '{f.name}' is not nullable; give a {f.type} value.")
    if f.type == "ARRAY":
        return _array(value, f, where)
    if f.type == "JSON":
        return _json(value, f, where)
    try:
        return _typed(value, f.type, f.max_length)
    except ValueError as exc:
        raise SchemaMismatch(f"{where}: field '{f.name}' {exc}.") from None


def _array(value: Any, f: FieldInfo, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise SchemaMismatch(f"{where}: field '{f.name}' is an ARRAY of {f.element_type}; give a list.")
    if f.max_capacity is not None and len(value) > f.max_capacity:
        raise SchemaMismatch(f"{where}: field '{f.name}' holds at most {f.max_capacity} elements; got {len(value)}.")
    element = f.element_type or ""
    out = []
    for i, item in enumerate(value):
        try:
            out.append(_typed(item, element, f.max_length))
        except ValueError as exc:
            raise SchemaMismatch(f"{where}: element {i} of ARRAY field '{f.name}' {exc}.") from None
    return out


def _json(value: Any, f: FieldInfo, where: str) -> Any:
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        raise SchemaMismatch(f"{where}: JSON field '{f.name}' holds a value JSON cannot represent.") from None
    if size > JSON_MAX_BYTES:
        raise SchemaMismatch(f"{where}: JSON field '{f.name}' holds at most {JSON_MAX_BYTES} bytes; got {size}.")
    return value


def row_label(i: int) -> str:
    return f"Row {i}"


def rows(
    values: list[dict[str, Any]], info: CollectionInfo, *, upsert: bool, label: Callable[[int], str] = row_label
) -> list[dict[str, Any]]:
    """Every row checked and normalized; the first problem raises, naming the row (`label(i)`: an import
    names a file's line instead) and the fix.

    Everything Milvus would refuse is refused here, for the whole batch, before the first row is sent:
    a batch of 1,500 rows goes in two RPCs, and a bad row 1,200 must not be found after 1,000 were written."""
    known = {f.name: f for f in info.fields}
    settable = [f.name for f in info.fields if not f.is_function_output and not (f.is_primary and f.auto_id)]
    near_misses: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    seen_keys: dict[Any, int] = {}
    out = []
    dense: dict[str, list[tuple[int, Any]]] = {}  # checked together at the end: far faster than row by row
    for i, row in enumerate(values):
        where = label(i)
        clean: dict[str, Any] = {}
        dynamic: dict[str, Any] = {}
        for name, value in row.items():
            f = known.get(name)
            if f is None:
                if name == "$meta" or not info.enable_dynamic_field:
                    err = unknown_field(name, info, "field")
                    raise SchemaMismatch(f"{where}: {err} This collection does not accept dynamic fields.")
                lacking = tuple(n for n in settable if n not in row)
                close = near_misses.get((name, lacking))
                if close is None:
                    close = near_misses[(name, lacking)] = closest(name, lacking)
                if close:
                    raise SchemaMismatch(
                        f"{where}: key '{excerpt(name, 60)}' looks like the field '{close[0]}', which the row lacks; "
                        f"rename the key to '{close[0]}'. (Keys that match no field are stored as dynamic fields.)"
                    )
                dynamic[name] = clean[name] = value
            elif f.is_function_output:
                inputs = (info.function_for(name) or {}).get("input_field_names", [])
                raise SchemaMismatch(
                    f"{where}: field '{name}' is computed by a function from {names(inputs)}; leave it out."
                )
            elif f.is_primary and f.auto_id and not upsert:
                raise SchemaMismatch(f"{where}: '{name}' is assigned by Milvus (auto_id); leave it out.")
            elif f.is_primary:
                try:
                    key = clean[name] = primary_keys([value], info)[0]
                except SchemaMismatch as exc:
                    raise SchemaMismatch(f"{where}: {exc}") from None
                first = seen_keys.setdefault(key, i)
                if first != i:
                    raise SchemaMismatch(
                        f"{where}: primary key {shown(key)} is also in {label(first).lower()}; each row of a batch needs its "
                        "own key."
                    )
            elif f.type == "FLOAT_VECTOR" and value is not None:
                dense.setdefault(name, []).append((i, value))
                clean[name] = value
            elif f.is_vector:
                clean[name] = None if value is None and f.nullable else vector(value, f, where)
            else:
                clean[name] = scalar(value, f, where)
        if dynamic:
            _json(dynamic, FieldInfo(name="dynamic fields", type="JSON"), where)
        for f in info.fields:
            if f.name in clean:
                continue
            if f.is_primary and f.auto_id:
                continue
            if f.is_primary:
                raise SchemaMismatch(f"{where}: the primary key '{f.name}' ({f.type}) is missing.")
            if f.required_on_insert:
                what = f"vector field '{f.name}' (dimension {f.dim})" if f.is_vector else f"field '{f.name}' ({f.type})"
                raise SchemaMismatch(f"{where}: required {what} is missing.")
        out.append(clean)
    for name, given in dense.items():
        _dense_batch(given, known[name], label)
    return out


def _dense_batch(given: list[tuple[int, Any]], f: FieldInfo, label: Callable[[int], str]) -> None:
    """Check many dense vectors at once; on any doubt, check row by row to name the first bad one."""
    if not _plain_finite([v for _, v in given], f.dim):
        for i, value in given:
            vector(value, f, label(i))


def _plain_finite(vectors: list[Any], dim: int | None) -> bool:
    """Whether every item is a list of `dim` plain floats and ints, all finite and within float32 range: true
    only where `vector` would accept each one, and far faster than it, since numpy checks the numbers."""
    import numpy as np  # loaded with pymilvus already; kept off the start path

    if not all(isinstance(v, list) and _NUMBERS.issuperset(map(type, v)) for v in vectors):
        return False
    try:
        matrix = np.asarray(vectors, dtype=np.float64)
    except (ValueError, OverflowError):  # ragged (vectors of different lengths), or an int like 10**400
        return False
    return (
        matrix.ndim == 2
        and (dim is None or matrix.shape[1] == dim)
        and bool(np.isfinite(matrix).all())
        and bool((np.abs(matrix) <= FLOAT32_MAX).all())
    )


def output_fields(requested: list[str] | None, info: CollectionInfo) -> tuple[list[str], set[str]]:
    """(fields to ask Milvus for, vector fields to hide from the result).

    Unknown names are errors unless the collection takes dynamic fields, where they may be dynamic
    keys; the caller warns when no returned row has them.
    """
    vectors = {f.name for f in info.vector_fields}
    if not requested:
        # Name the scalar fields rather than "*": Milvus would send every vector, only to be dropped.
        scalars = [f.name for f in info.fields if not f.is_vector]
        return scalars + (["$meta"] if info.enable_dynamic_field else []), vectors
    for name in requested:
        if name == "*" or info.field(name) is not None:
            continue
        if name.startswith("count("):
            raise ToolError("Use milvus_count to count rows; output_fields takes field names.")
        if not info.enable_dynamic_field:
            raise unknown_field(name, info, "output field")
    return list(requested), vectors - set(requested)


def field_of_role(name: str, info: CollectionInfo, role: str) -> FieldInfo:
    f = info.field(name)
    if f is None:
        raise unknown_field(name, info, role)
    return f


def empty_result_warning(expr: str | None, info: CollectionInfo) -> str | None:
    """Why a filtered read may have matched nothing: it names fields the schema does not have."""
    if not expr:
        return None
    unknown = filters.unknown_names(expr, info)
    if not unknown:
        return None
    parts = []
    for name in unknown:
        close = closest(name, info.field_names)
        parts.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    kind = "dynamic keys that no row may have" if info.enable_dynamic_field else "not fields of this collection"
    return (
        f"Nothing matched, and the filter names {', '.join(parts)}, which the schema does not have "
        f"(treated as {kind}). Schema fields: {names(info.field_names)}."
    )


def absent_outputs(requested: list[str] | None, info: CollectionInfo, rows: list[dict[str, Any]]) -> list[str]:
    """Requested output fields that are neither in the schema nor in any returned row."""
    if not requested or not rows:
        return []
    present = {key for row in rows for key in row}
    return [n for n in requested if n != "*" and info.field(n) is None and n not in present]


def missing_output_warning(absent: list[str], info: CollectionInfo, sampled_keys: set[str]) -> str | None:
    """Why the `absent` output fields came back empty, with the closest schema field or dynamic key that
    sampled rows do have (a typo like 'titel' for a dynamic 'title' is silent in Milvus)."""
    if not absent:
        return None
    known = list(dict.fromkeys([*info.field_names, *sorted(sampled_keys)]))
    hints = "".join(did_you_mean(n, known) for n in absent)
    return f"Output field {names(absent)} is not in the schema and no returned row has it as a dynamic key.{hints}"
