"""Rows from JSONL, CSV and Parquet files, for milvus_import, a few at a time.

Readers are plain blocking code: the tool calls `read` in a worker thread (parsing is CPU work that must
not stall the event loop), and a file of any size is streamed, never read whole. Each row comes with a
label that names it in the file the way its format counts: a JSONL or CSV line, a Parquet row index.

Cells become field values here: `field_map` renames file columns to fields, and CSV cells (text) are
typed by the field they land in, from the cached schema. A vector, an ARRAY or a JSON value in CSV is
JSON text in one cell; an empty cell is a missing value. A cell of a column that is no field (a dynamic
field) is read as JSON when it parses (numbers, true/false) and kept as text otherwise.
"""

from __future__ import annotations

import csv
import json
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus.errors import excerpt
from mcp_server_milvus.schema_cache import CollectionInfo, FieldInfo

Format = Literal["jsonl", "csv", "parquet"]
EXTENSIONS: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
DYNAMIC_COLUMN = "$meta"
"""A Parquet column of JSON text holding each row's dynamic fields (how milvus_export writes them)."""

Labelled = tuple[list[dict[str, Any]], list[str]]


def format_of(path: Path, given: Format | None) -> Format:
    if given is not None:
        return given
    found = EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise ToolError(
            f"Cannot tell the format of '{excerpt(path.name, 80)}' from its extension; pass format "
            "(jsonl, csv or parquet)."
        )
    return found


class Reader(ABC):
    """Rows of one open file, with their labels."""

    kind = ""
    total: int | None = None
    """Rows in the file, when the format says so without reading it all (Parquet)."""

    def __init__(self, info: CollectionInfo, field_map: Mapping[str, str]) -> None:
        self.fields = {f.name: f for f in info.fields}
        self.field_map = dict(field_map)
        self._iterator = self._rows()  # a generator: it starts on the first read, once the file is open

    @abstractmethod
    def _rows(self) -> Iterator[tuple[str, dict[str, Any]]]: ...

    @abstractmethod
    def close(self) -> None: ...

    def read(self, n: int) -> Labelled:
        """Up to `n` more rows (fewer only at the end of the file) and their labels."""
        rows: list[dict[str, Any]] = []
        labels: list[str] = []
        try:
            for label, row in self._iterator:
                rows.append(row)
                labels.append(label)
                if len(rows) >= n:
                    break
        except (UnicodeDecodeError, csv.Error) as exc:  # text that is not UTF-8, or broken CSV quoting
            after = f"after {labels[-1].lower()}" if labels else "in the first rows read"
            raise ToolError(f"The file cannot be read {after}: {exc}. Save it as UTF-8 {self.kind}.") from None
        return rows, labels

    def _check_columns(self, columns: list[str], where: str) -> None:
        """`field_map` names columns the file has (a misspelt one would silently map nothing)."""
        absent = [c for c in self.field_map if c not in columns]
        if absent:
            raise ToolError(
                f"field_map names {', '.join(repr(excerpt(c, 60)) for c in absent)}, which {where} lacks; "
                f"its columns: {', '.join(excerpt(c, 60) for c in columns[:40])}."
            )

    def _rename(self, row: dict[str, Any]) -> dict[str, Any]:
        return {self.field_map.get(k, k): v for k, v in row.items()} if self.field_map else row


class JsonLines(Reader):
    kind = "JSONL"

    def __init__(self, path: Path, info: CollectionInfo, field_map: Mapping[str, str]) -> None:
        super().__init__(info, field_map)
        self.file: IO[str] = path.open(encoding="utf-8-sig", newline="")

    def _rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for number, line in enumerate(self.file, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ToolError(f"Line {number}: not valid JSON ({exc}). Nothing past it was read.") from None
            if not isinstance(row, dict):
                raise ToolError(
                    f"Line {number}: a JSONL line must be one JSON object (a row), not {type(row).__name__}."
                )
            yield f"Line {number}", self._rename(row)

    def close(self) -> None:
        self.file.close()


class Csv(Reader):
    kind = "CSV"

    def __init__(self, path: Path, info: CollectionInfo, field_map: Mapping[str, str]) -> None:
        super().__init__(info, field_map)
        csv.field_size_limit(sys.maxsize)  # a vector of a few thousand numbers is one long cell
        self.file: IO[str] = path.open(encoding="utf-8-sig", newline="")

    def _rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        reader = csv.reader(self.file)
        header = next(reader, None)
        if header is None:
            return
        self._check_columns(header, "the CSV header")
        names = [self.field_map.get(c, c) for c in header]
        for cells in reader:
            if not any(cells):
                continue
            where = f"Line {reader.line_num}"
            if len(cells) != len(names):
                raise ToolError(f"{where}: {len(cells)} cells where the header has {len(names)} columns.")
            yield (
                where,
                {
                    name: typed(cell, self.fields.get(name))
                    for name, cell in zip(names, cells, strict=True)
                    if cell != ""
                },
            )

    def close(self) -> None:
        self.file.close()


class Parquet(Reader):
    kind = "Parquet"
    BATCH = 1024

    def __init__(self, path: Path, info: CollectionInfo, field_map: Mapping[str, str]) -> None:
        super().__init__(info, field_map)
        import pyarrow.parquet as pq  # kept off the start path

        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises its own ArrowInvalid (a ValueError) and OSErrors
            raise ToolError(f"'{excerpt(path.name, 80)}' is not a readable Parquet file ({exc}).") from None
        self.total = self.file.metadata.num_rows
        self._check_columns(self.file.schema_arrow.names, "the Parquet file")

    def _rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        index = 0
        for batch in self.file.iter_batches(batch_size=self.BATCH):
            for raw in batch.to_pylist():
                row: dict[str, Any] = {}
                for name, value in self._rename(raw).items():
                    if value is None:
                        continue
                    if name == DYNAMIC_COLUMN and isinstance(value, str):
                        row.update(_json_or(value, {}))
                    elif isinstance(value, str):
                        row[name] = typed(value, self.fields.get(name))
                    else:
                        row[name] = value
                yield f"Row index {index}", row
                index += 1

    def close(self) -> None:
        self.file.close()


def open_reader(path: Path, fmt: Format, info: CollectionInfo, field_map: Mapping[str, str]) -> Reader:
    kinds: dict[Format, type[Reader]] = {"jsonl": JsonLines, "csv": Csv, "parquet": Parquet}
    try:
        return kinds[fmt](path, info, field_map)  # type: ignore[call-arg]
    except FileNotFoundError:
        raise ToolError(f"No file '{excerpt(path.name, 80)}' there; check the path.") from None
    except IsADirectoryError:
        raise ToolError(f"'{excerpt(path.name, 80)}' is a directory; give a file.") from None


def typed(cell: str, f: FieldInfo | None) -> Any:
    """A text cell as the value its field takes; text that does not convert stays text, for the row
    check to name with its line."""
    if f is None:
        return _json_or(cell, cell)
    kind = f.type
    if kind == "VARCHAR":
        return cell
    if kind in ("INT8", "INT16", "INT32", "INT64"):
        try:
            return int(cell)
        except ValueError:
            return cell
    if kind in ("FLOAT", "DOUBLE"):
        try:
            return float(cell)
        except ValueError:
            return cell
    if kind == "BOOL":
        return {"true": True, "false": False, "1": True, "0": False}.get(cell.strip().lower(), cell)
    return _json_or(cell, cell)  # vectors, ARRAY, JSON


def _json_or(text: str, fallback: Any) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return fallback
