"""Arguments checked against the cached schema before any RPC, so a bad batch writes nothing.

Every failure here is a `SchemaMismatch`: when the schema came from the cache, the caller refetches it
and checks once more before the agent sees the error, since another program may have changed it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus import filters
from mcp_server_milvus.errors import SchemaMismatch, closest, did_you_mean, names, unknown_field
from mcp_server_milvus.schema_cache import CollectionInfo, FieldInfo

FLOAT32_MAX = 3.4028234663852886e38

INT_RANGES = {
    "INT8": (-(2**7), 2**7 - 1),
    "INT16": (-(2**15), 2**15 - 1),
    "INT32": (-(2**31), 2**31 - 1),
    "INT64": (-(2**63), 2**63 - 1),
}


def _int(value: Any) -> int | None:
    """An integer from an int or a numeric string (INT64 ids beyond 2^53 travel as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


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
            out.append(value)
        else:
            number = _int(value)
            if number is None:
                raise SchemaMismatch(
                    f"Primary key '{pk.name}' of '{info.name}' is INT64: ids must be integers (or numeric "
                    f"strings), got {value!r}."
                )
            out.append(number)
    return out


def pk_filter(info: CollectionInfo, ids: list[int | str]) -> str:
    """`pk in [...]` for already-typed primary keys."""
    import json

    return f"{info.primary.name} in {json.dumps(ids)}"


def vector(value: Any, f: FieldInfo, where: str) -> Any:
    """A dense vector of the field's dimension, or a sparse vector as {index: weight}."""
    if f.type == "SPARSE_FLOAT_VECTOR":
        if not isinstance(value, dict) or not value:
            raise SchemaMismatch(f"{where}: sparse vector field '{f.name}' expects an object like {{\"12\": 0.5}}.")
        sparse: dict[int, float] = {}
        for key, weight in value.items():
            index = _int(key)
            if index is None or index < 0 or not isinstance(weight, int | float) or isinstance(weight, bool):
                raise SchemaMismatch(
                    f"{where}: sparse vector '{f.name}' needs non-negative integer keys and numeric weights, "
                    f"got {key!r}: {weight!r}."
                )
            sparse[index] = float(weight)
        return sparse
    if f.type == "BINARY_VECTOR":
        return _bits(value, f, where)
    if not isinstance(value, list) or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        raise SchemaMismatch(f"{where}: vector field '{f.name}' expects a list of {f.dim} numbers.")
    if f.dim is not None and len(value) != f.dim:
        raise SchemaMismatch(f"{where}: vector field '{f.name}' expects dimension {f.dim}, got {len(value)}.")
    if not all(math.isfinite(x) and abs(x) <= FLOAT32_MAX for x in value):
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


def _scalar(value: Any, f: FieldInfo, where: str) -> Any:
    if value is None:
        if f.nullable or f.default_value is not None:
            return None
        raise SchemaMismatch(f"{where}: field '{f.name}' is not nullable; give a {f.type} value.")
    if f.type in INT_RANGES:
        number = _int(value) if f.type == "INT64" else (value if type(value) is int else None)
        low, high = INT_RANGES[f.type]
        if number is None or not low <= number <= high:
            raise SchemaMismatch(f"{where}: field '{f.name}' is {f.type}; got {value!r}.")
        return number
    if f.type in {"FLOAT", "DOUBLE"}:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SchemaMismatch(f"{where}: field '{f.name}' is {f.type}; got {value!r}.")
        if f.type == "FLOAT" and abs(value) > FLOAT32_MAX:
            raise SchemaMismatch(f"{where}: field '{f.name}' is FLOAT (float32); {value!r} is out of its range.")
        return float(value)
    if f.type == "BOOL":
        if not isinstance(value, bool):
            raise SchemaMismatch(f"{where}: field '{f.name}' is BOOL; use true or false, got {value!r}.")
        return value
    if f.type == "VARCHAR":
        if not isinstance(value, str):
            raise SchemaMismatch(f"{where}: field '{f.name}' is VARCHAR; got {type(value).__name__} {value!r}.")
        if f.max_length is not None and len(value.encode()) > f.max_length:
            raise SchemaMismatch(
                f"{where}: field '{f.name}' holds at most {f.max_length} bytes; got {len(value.encode())}."
            )
        return value
    if f.type == "ARRAY":
        if not isinstance(value, list):
            raise SchemaMismatch(f"{where}: field '{f.name}' is an ARRAY of {f.element_type}; give a list.")
        if f.max_capacity is not None and len(value) > f.max_capacity:
            raise SchemaMismatch(
                f"{where}: field '{f.name}' holds at most {f.max_capacity} elements; got {len(value)}."
            )
        return value
    return value  # JSON and anything newer: Milvus checks it


def rows(values: list[dict[str, Any]], info: CollectionInfo, *, upsert: bool) -> list[dict[str, Any]]:
    """Every row checked and normalized; the first problem raises, naming the row and the fix."""
    known = {f.name: f for f in info.fields}
    out = []
    dense: dict[str, list[tuple[int, Any]]] = {}  # checked together at the end: far faster than row by row
    for i, row in enumerate(values):
        where = f"Row {i}"
        clean: dict[str, Any] = {}
        for name, value in row.items():
            f = known.get(name)
            if f is None:
                if name == "$meta" or not info.enable_dynamic_field:
                    err = unknown_field(name, info, "field")
                    raise SchemaMismatch(f"{where}: {err} This collection does not accept dynamic fields.")
                clean[name] = value
            elif f.is_function_output:
                inputs = (info.function_for(name) or {}).get("input_field_names", [])
                raise SchemaMismatch(
                    f"{where}: field '{name}' is computed by a function from {names(inputs)}; leave it out."
                )
            elif f.is_primary and f.auto_id and not upsert:
                raise SchemaMismatch(f"{where}: '{name}' is assigned by Milvus (auto_id); leave it out.")
            elif f.is_primary:
                clean[name] = primary_keys([value], info)[0]
            elif f.type == "FLOAT_VECTOR" and value is not None:
                dense.setdefault(name, []).append((i, value))
                clean[name] = value
            elif f.is_vector:
                clean[name] = None if value is None and f.nullable else vector(value, f, where)
            else:
                clean[name] = _scalar(value, f, where)
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
        _dense_batch(given, known[name])
    return out


def _dense_batch(given: list[tuple[int, Any]], f: FieldInfo) -> None:
    """Check many dense vectors at once; on any doubt, check row by row to name the first bad one."""
    import numpy as np  # loaded with pymilvus already; kept off the start path

    plain = all(isinstance(v, list) and set(map(type, v)) <= {float, int} for _, v in given)
    if plain:
        try:
            matrix = np.asarray([v for _, v in given], dtype=np.float64)
        except ValueError:  # ragged: vectors of different lengths
            plain = False
        else:
            plain = (
                matrix.ndim == 2
                and (f.dim is None or matrix.shape[1] == f.dim)
                and bool(np.isfinite(matrix).all())
                and bool((np.abs(matrix) <= FLOAT32_MAX).all())
            )
    if not plain:
        for i, value in given:
            vector(value, f, f"Row {i}")


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


def missing_output_warning(requested: list[str] | None, info: CollectionInfo, rows: list[dict[str, Any]]) -> str | None:
    """Requested output fields that are neither in the schema nor in any returned row."""
    if not requested or not rows:
        return None
    absent = [n for n in requested if n != "*" and info.field(n) is None and not any(n in r for r in rows)]
    if not absent:
        return None
    hints = "".join(did_you_mean(n, info.field_names) for n in absent)
    return f"Output field {names(absent)} is not in the schema and no returned row has it as a dynamic key.{hints}"
