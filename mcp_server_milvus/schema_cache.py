"""The shared schema cache: a collection's schema, fetched once and used by every tool call.

One `SchemaCache` serves every client in the pool and every MCP session. Entries are keyed by
(endpoint, database, collection), expire after a TTL (bounding staleness from other programs'
changes), are dropped by tools that change a collection, and concurrent misses for one key share a
single fetch. When an entry is fetched afresh, pymilvus's own process-wide schema cache is cleared
for that collection too, since pymilvus never learns of changes made by other programs.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import anyio

from mcp_server_milvus.records import FIELD_PROPERTY, recorded

VECTOR_TYPES = frozenset(
    {
        "FLOAT_VECTOR",
        "BINARY_VECTOR",
        "FLOAT16_VECTOR",
        "BFLOAT16_VECTOR",
        "SPARSE_FLOAT_VECTOR",
        "INT8_VECTOR",
    }
)


@dataclass(frozen=True)
class FieldInfo:
    """One field of a collection's schema, in the terms an agent uses (DataType names)."""

    name: str
    type: str
    is_primary: bool = False
    auto_id: bool = False
    dim: int | None = None
    max_length: int | None = None
    element_type: str | None = None
    max_capacity: int | None = None
    nullable: bool = False
    default_value: Any = None
    is_partition_key: bool = False
    enable_analyzer: bool = False
    analyzer_params: str | None = None
    """As Milvus returns them: JSON text (kept as text so that the field stays hashable)."""
    is_function_output: bool = False
    description: str = ""

    @property
    def is_vector(self) -> bool:
        return self.type in VECTOR_TYPES

    @property
    def required_on_insert(self) -> bool:
        """A row must carry this field: no auto id, no default, not nullable, not computed."""
        return not (self.auto_id or self.nullable or self.default_value is not None or self.is_function_output)


@dataclass(frozen=True)
class IndexInfo:
    index_name: str
    field_name: str
    index_type: str
    metric_type: str | None
    params: dict[str, Any]
    pending_rows: int | None = None
    indexed_rows: int | None = None
    state: str | None = None


@dataclass(frozen=True)
class CollectionInfo:
    """What the cache knows of one collection: enough to validate arguments and pick defaults."""

    name: str
    database: str
    fields: tuple[FieldInfo, ...]
    indexes: tuple[IndexInfo, ...]
    functions: tuple[dict[str, Any], ...]
    enable_dynamic_field: bool
    description: str
    loaded: bool
    properties: dict[str, Any] = field(default_factory=dict, compare=False)
    consistency_level: str | None = None
    num_partitions: int | None = None
    """describe_collection's count of partitions (what it counts differs by backend: see key_partitions)."""
    fetched_at: float = field(default_factory=time.monotonic, compare=False)

    @property
    def shape(self) -> tuple[Any, ...]:
        """What arguments are checked against: fields, indexes (not their build progress) and functions.
        A failure on a cached schema is retried only when the live one has another shape."""
        indexes = tuple((i.index_name, i.field_name, i.index_type, i.metric_type) for i in self.indexes)
        functions = tuple(
            (f["name"], tuple(f["input_field_names"]), tuple(f["output_field_names"])) for f in self.functions
        )
        return (self.fields, indexes, functions, self.enable_dynamic_field)

    # cached: read on every call and every hit, and the fields never change (the dataclass is frozen)
    @functools.cached_property
    def primary(self) -> FieldInfo:
        return next(f for f in self.fields if f.is_primary)

    @functools.cached_property
    def int64_fields(self) -> frozenset[str]:
        """Fields whose integers follow the INT64 rule in results (strings beyond 2^53)."""
        return frozenset(f.name for f in self.fields if "INT64" in (f.type, f.element_type))

    @property
    def vector_fields(self) -> list[FieldInfo]:
        return [f for f in self.fields if f.is_vector]

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.name == name), None)

    def index_for(self, field_name: str) -> IndexInfo | None:
        return next((i for i in self.indexes if i.field_name == field_name), None)

    def function_for(self, output_field: str) -> dict[str, Any] | None:
        return next((f for f in self.functions if output_field in f.get("output_field_names", ())), None)


CacheKey = tuple[str, str, str]
Fetcher = Callable[[], Awaitable[CollectionInfo]]


@dataclass
class _Flight:
    done: anyio.Event = field(default_factory=anyio.Event)
    result: CollectionInfo | None = None
    error: BaseException | None = None
    cancelled: bool = False
    """The leader's caller was cancelled: waiters fetch again rather than inherit its cancellation."""


class SchemaCache:
    """Collection → `CollectionInfo`, with a TTL, single-flight fetches and invalidation."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.fetches = 0
        """How many times a schema was fetched from Milvus: the cost the cache exists to save."""
        self._entries: dict[CacheKey, CollectionInfo] = {}
        self._flights: dict[CacheKey, _Flight] = {}
        self._epoch = 0
        """Bumped by every invalidation, so a fetch that overlapped one is not stored."""

    async def get(self, key: CacheKey, fetch: Fetcher) -> tuple[CollectionInfo, bool]:
        """Return (info, fresh): `fresh` is true when this call's answer came straight from Milvus."""
        while True:
            cached = self._entries.get(key)
            if cached is not None and time.monotonic() - cached.fetched_at < self.ttl:
                return cached, False
            flight = self._flights.get(key)
            if flight is None:
                break
            await flight.done.wait()
            if flight.cancelled:
                continue  # the leader's caller was cancelled, not this one: fetch again
            if flight.error is not None:
                raise flight.error
            assert flight.result is not None
            return flight.result, True
        flight = self._flights[key] = _Flight()
        epoch = self._epoch
        try:
            self.fetches += 1
            info = await fetch()
        except anyio.get_cancelled_exc_class():
            flight.cancelled = True
            raise
        except BaseException as exc:
            flight.error = exc
            self._entries.pop(key, None)
            raise
        else:
            flight.result = info
            if self.ttl > 0 and epoch == self._epoch:
                self._entries[key] = info
            return info, True
        finally:
            del self._flights[key]
            flight.done.set()

    def invalidate(self, key: CacheKey) -> None:
        """Forget `key`, and every alias's entry for the collection it names: a change made through the
        collection's own name must reach the readers of its aliases too."""
        self._epoch += 1
        for other in [key, *self._same_collection(key)]:
            self._entries.pop(other, None)

    def invalidate_database(self, endpoint: str, database: str) -> None:
        self._epoch += 1
        for key in [k for k in self._entries if k[:2] == (endpoint, database)]:
            del self._entries[key]

    def peek(self, key: CacheKey) -> CollectionInfo | None:
        """The cached entry, fresh or not, without fetching."""
        return self._entries.get(key)

    def set_loaded(self, key: CacheKey, loaded: bool) -> None:
        """Record a load or release this server made, without a refetch, under every name of the collection."""
        for other in {key, *self._same_collection(key)}:
            info = self._entries.get(other)
            if info is not None:
                self._entries[other] = replace(info, loaded=loaded, fetched_at=info.fetched_at)

    def _same_collection(self, key: CacheKey) -> list[CacheKey]:
        """The other keys (aliases, or the collection's own name) whose entries describe the collection `key`
        names: entries are keyed by the name a tool was given, and `CollectionInfo.name` is the real one."""
        entry = self._entries.get(key)
        names = {key[2], entry.name} if entry is not None else {key[2]}
        return [k for k, info in self._entries.items() if k != key and k[:2] == key[:2] and info.name in names]


def _type_name(value: Any) -> str:
    return getattr(value, "name", None) or str(value)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _json_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def field_info(raw: dict[str, Any]) -> FieldInfo:
    """Build a `FieldInfo` from one field of pymilvus's `describe_collection` answer."""
    params = raw.get("params") or {}
    element_type = raw.get("element_type")
    return FieldInfo(
        name=raw["name"],
        type=_type_name(raw["type"]),
        is_primary=bool(raw.get("is_primary")),
        auto_id=bool(raw.get("auto_id")),
        dim=_int_or_none(params.get("dim")),
        max_length=_int_or_none(params.get("max_length")),
        element_type=None if element_type is None else _type_name(element_type),
        max_capacity=_int_or_none(params.get("max_capacity")),
        nullable=bool(raw.get("nullable")),
        default_value=raw.get("default_value"),
        is_partition_key=bool(raw.get("is_partition_key")),
        enable_analyzer=str(params.get("enable_analyzer", "")).lower() == "true",
        analyzer_params=_json_text(params.get("analyzer_params")),
        is_function_output=bool(raw.get("is_function_output")),
        description=raw.get("description") or "",
    )


def index_info(raw: dict[str, Any]) -> IndexInfo:
    """Build an `IndexInfo` from pymilvus's `describe_index` answer."""
    known = {"index_type", "metric_type", "field_name", "index_name", "total_rows", "indexed_rows"}
    known |= {"pending_index_rows", "state", "index_state_fail_reason"}
    params = raw.get("params")
    if not isinstance(params, dict):
        params = {k: v for k, v in raw.items() if k not in known}
    return IndexInfo(
        index_name=str(raw.get("index_name", "")),
        field_name=str(raw.get("field_name", "")),
        index_type=str(raw.get("index_type", "")),
        metric_type=raw.get("metric_type"),
        params=params,
        pending_rows=_int_or_none(raw.get("pending_index_rows")),
        indexed_rows=_int_or_none(raw.get("indexed_rows")),
        state=None if raw.get("state") is None else str(raw.get("state")),
    )


def collection_info(
    database: str, described: dict[str, Any], indexes: list[dict[str, Any]], loaded: bool
) -> CollectionInfo:
    """Build a `CollectionInfo` from `describe_collection`, `describe_index` and the load state."""
    auto_id = bool(described.get("auto_id"))
    fields = []
    for raw in described.get("fields", []):
        info = field_info(raw)
        if info.is_primary and auto_id and not info.auto_id:
            info = replace(info, auto_id=True)
        fields.append(info)
    functions = []
    for fn in described.get("functions") or []:
        functions.append(
            {
                "name": fn.get("name"),
                "type": _type_name(fn.get("type")),
                "input_field_names": list(fn.get("input_field_names") or []),
                "output_field_names": list(fn.get("output_field_names") or []),
                "params": dict(fn.get("params") or {}),
            }
        )
    outputs = {name for fn in functions for name in fn["output_field_names"]}
    fields = [replace(f, is_function_output=True) if f.name in outputs else f for f in fields]
    properties = dict(described.get("properties") or {})
    lengths = recorded(properties, FIELD_PROPERTY)
    fields = [
        replace(f, max_length=lengths[f.name].get("max_length"))
        if f.type == "ARRAY" and f.max_length is None and isinstance(lengths.get(f.name), dict)
        else f
        for f in fields
    ]
    return CollectionInfo(
        name=described["collection_name"],
        database=database,
        fields=tuple(fields),
        indexes=tuple(index_info(i) for i in indexes),
        functions=tuple(functions),
        enable_dynamic_field=bool(described.get("enable_dynamic_field")),
        description=described.get("description") or "",
        loaded=loaded,
        properties=properties,
        consistency_level=described.get("consistency_level_name"),
        num_partitions=_int_or_none(described.get("num_partitions")),
    )
