"""Result models that several tool families share."""

from __future__ import annotations

from pydantic import BaseModel

from mcp_server_milvus.schema_cache import CollectionInfo


class VectorFieldOut(BaseModel):
    name: str
    type: str
    dim: int | None = None
    metric_type: str | None = None
    index_type: str | None = None


def vector_fields_out(info: CollectionInfo) -> list[VectorFieldOut]:
    out = []
    for f in info.vector_fields:
        index = info.index_for(f.name)
        out.append(
            VectorFieldOut(
                name=f.name,
                type=f.type,
                dim=f.dim,
                metric_type=index.metric_type if index else None,
                index_type=index.index_type if index else None,
            )
        )
    return out
