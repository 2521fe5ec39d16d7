"""What this server records in a collection's properties, where a backend's describe drops it: the
build parameters of the indexes it made, and the element max_length of the ARRAY<VARCHAR> fields it
made (Milvus Lite keeps neither). Something made elsewhere stays unknown.
"""

from __future__ import annotations

import json
from typing import Any, Literal

PROPERTY = "mcp_server_milvus.index_params"
"""Collection property holding {index name: build parameters} for indexes this server built."""
FIELD_PROPERTY = "mcp_server_milvus.field_params"
"""Collection property holding {field name: {"max_length": n}} for the ARRAY<VARCHAR> fields this server
made, on a backend whose describe drops the element max_length."""
TEXT_PROPERTY = "mcp_server_milvus.text"
"""Collection property holding how a text collection was built (see `mcp_server_milvus.text`)."""
PROPERTIES = (PROPERTY, FIELD_PROPERTY, TEXT_PROPERTY)
"""This server's own properties: kept out of what describe shows."""


def recorded(properties: dict[str, Any], key: str = PROPERTY) -> dict[str, dict[str, Any]]:
    """What this server recorded under `key` in a collection's properties, by index (or field) name."""
    try:
        found = json.loads(properties.get(key) or "{}")
    except (TypeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def with_index(properties: dict[str, Any], index_name: str, build: dict[str, Any] | None) -> dict[str, str]:
    """The property update that records how `index_name` was built (`build`: index_type, metric_type,
    params), or forgets it (None)."""
    record = recorded(properties)
    if build is None:
        record.pop(index_name, None)
    else:
        record[index_name] = {k: build[k] for k in ("index_type", "metric_type", "params") if k in build}
    return {PROPERTY: json.dumps(record, sort_keys=True, separators=(",", ":"))}


def index_params(
    properties: dict[str, Any], index_name: str, index_type: str, metric_type: str | None
) -> dict[str, Any] | Literal["unknown"]:
    """The build parameters recorded for `index_name`, if the index Milvus describes is still the one
    recorded (same type and metric: another program may have rebuilt it); else "unknown"."""
    found = recorded(properties).get(index_name)
    if not isinstance(found, dict) or not isinstance(found.get("params"), dict):
        return "unknown"
    same_type = str(found.get("index_type", "")).upper() == index_type.upper()
    same_metric = str(found.get("metric_type") or "").upper() == str(metric_type or "").upper()
    return found["params"] if same_type and same_metric else "unknown"


def field_lengths(lengths: dict[str, int]) -> dict[str, str]:
    """The property that records the element max_length of ARRAY<VARCHAR> fields, by field name."""
    record = {name: {"max_length": n} for name, n in lengths.items()}
    return {FIELD_PROPERTY: json.dumps(record, sort_keys=True, separators=(",", ":"))} if record else {}
