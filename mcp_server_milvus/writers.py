"""Rows to a JSONL or Parquet file, for milvus_export, a page at a time, so that milvus_import reads them
back as they were.

A writer writes to a temporary file beside the target and moves it into place only at `finish`: an
export that fails or is cancelled leaves no partial file (`discard` removes the temporary one). Without
`overwrite` the move fails when the target exists, even one made meanwhile (a hard link never replaces).

Values are written whole (no cut strings, INT64 exact). Parquet columns are typed from the schema:
vectors and ARRAYs as lists, a JSON field as JSON text, dynamic fields together as JSON text in a
`$meta` column, and any other type (sparse or binary vectors) as JSON text.
"""

from __future__ import annotations

import json
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus.readers import DYNAMIC_COLUMN
from mcp_server_milvus.schema_cache import CollectionInfo, FieldInfo

ExportFormat = Literal["jsonl", "parquet"]


def plain(value: Any, f: FieldInfo | None = None) -> Any:
    """A value as JSON can hold it: numpy values as lists and numbers, a binary vector as its bits (the
    form an insert takes)."""
    if isinstance(value, bytes) and f is not None and f.type == "BINARY_VECTOR":
        return [(byte >> (7 - k)) & 1 for byte in value for k in range(8)][: f.dim or None]
    if isinstance(value, bytes):
        return list(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class Writer(ABC):
    """Rows to a temporary file beside `target`."""

    def __init__(self, target: Path, info: CollectionInfo, fields: list[str]) -> None:
        self.target = target
        self.fields = {f.name: f for f in info.fields if f.name in fields}
        self.dynamic = info.enable_dynamic_field
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        os.close(handle)
        self.temporary = Path(name)
        try:
            self._open()
        except BaseException:
            self.temporary.unlink(missing_ok=True)
            raise

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def write(self, rows: list[dict[str, Any]]) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    def finish(self, overwrite: bool) -> None:
        """Move the file into place: replacing an existing one only when `overwrite`."""
        self._close()
        if overwrite:
            os.replace(self.temporary, self.target)
            return
        try:
            os.link(self.temporary, self.target)
        except FileExistsError:
            raise ToolError(
                f"'{self.target.name}' was created meanwhile; nothing was overwritten. Pass overwrite: true "
                "or choose another path."
            ) from None
        finally:
            self.temporary.unlink(missing_ok=True)

    def discard(self) -> None:
        try:
            self._close()
        finally:
            self.temporary.unlink(missing_ok=True)


class JsonLinesWriter(Writer):
    def _open(self) -> None:
        self.file: IO[str] = self.temporary.open("w", encoding="utf-8")

    def write(self, rows: list[dict[str, Any]]) -> None:
        lines = (
            json.dumps({k: plain(v, self.fields.get(k)) for k, v in row.items()}, ensure_ascii=False) for row in rows
        )
        self.file.write("".join(f"{line}\n" for line in lines))

    def _close(self) -> None:
        self.file.close()


class ParquetWriter(Writer):
    def _open(self) -> None:
        import pyarrow as pa  # kept off the start path
        import pyarrow.parquet as pq

        self.pa = pa
        columns = [pa.field(f.name, _arrow_type(pa, f)) for f in self.fields.values()]
        if self.dynamic:
            columns.append(pa.field(DYNAMIC_COLUMN, pa.string()))
        self.schema = pa.schema(columns)
        self.as_text = {f.name for f in self.fields.values() if pa.types.is_string(_arrow_type(pa, f))} - {
            n for n, f in self.fields.items() if f.type == "VARCHAR"
        }
        self.file = pq.ParquetWriter(self.temporary, self.schema)

    def write(self, rows: list[dict[str, Any]]) -> None:
        out = []
        for row in rows:
            record: dict[str, Any] = {}
            extra: dict[str, Any] = {}
            for key, value in row.items():
                f = self.fields.get(key)
                if f is None:
                    extra[key] = plain(value)
                elif key in self.as_text and value is not None:
                    record[key] = json.dumps(plain(value, f), ensure_ascii=False)
                else:
                    record[key] = plain(value, f)
            if self.dynamic:
                record[DYNAMIC_COLUMN] = json.dumps(extra, ensure_ascii=False) if extra else None
            out.append(record)
        self.file.write_table(self.pa.Table.from_pylist(out, schema=self.schema))

    def _close(self) -> None:
        self.file.close()


def _arrow_type(pa: Any, f: FieldInfo) -> Any:
    scalars = {
        "BOOL": pa.bool_(),
        "INT8": pa.int8(),
        "INT16": pa.int16(),
        "INT32": pa.int32(),
        "INT64": pa.int64(),
        "FLOAT": pa.float32(),
        "DOUBLE": pa.float64(),
        "VARCHAR": pa.string(),
    }
    if f.type in scalars:
        return scalars[f.type]
    if f.type == "FLOAT_VECTOR":
        return pa.list_(pa.float32())
    if f.type == "ARRAY" and f.element_type in scalars:
        return pa.list_(scalars[f.element_type])
    return pa.string()  # JSON text: JSON fields, sparse and binary vectors


def open_writer(target: Path, fmt: ExportFormat, info: CollectionInfo, fields: list[str]) -> Writer:
    kinds: dict[ExportFormat, type[Writer]] = {"jsonl": JsonLinesWriter, "parquet": ParquetWriter}
    return kinds[fmt](target, info, fields)
