"""Files in and out: milvus_import reads a JSONL, CSV or Parquet file into a collection, milvus_export
writes a collection (or the rows a filter matches) to JSONL or Parquet.

Both exist only where the operator named directories (--import-dir, --export-dir): a server never
reads or writes a file an operator did not allow, and `files.resolve` keeps every path inside them.

`--read-only` drops milvus_import (it writes rows) but keeps milvus_export (see `toolset`): read-only
protects the data in Milvus, which an export only reads, and the one file it writes goes where the
operator asked with --export-dir, never over an existing file unless the agent says `overwrite`.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcp_server_milvus import files, validation
from mcp_server_milvus.arguments import DEFAULT_CONSISTENCY, CollectionName, Database, Filter, OutputFields
from mcp_server_milvus.config import Settings
from mcp_server_milvus.errors import SchemaMismatch
from mcp_server_milvus.readers import Format, Reader, format_of, open_reader
from mcp_server_milvus.results import clean, fit
from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.schema_cache import CollectionInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.tools import runtime, tool
from mcp_server_milvus.tools.data import BATCH_ROWS, Tally, prepare, send
from mcp_server_milvus.tools.query import count_rows, run_query
from mcp_server_milvus.writers import ExportFormat, Writer, open_writer

logger = logging.getLogger(__name__)

EXPORT_PAGE = 1000
"""Rows per query page of an export."""
SHOWN_IDS = 10


class Imported(BaseModel):
    rows_read: int
    inserted: int
    first_ids: list[int | str] = Field(description="The first ids Milvus assigned, at most 10.")
    warning: str | None = None


class Exported(BaseModel):
    rows_written: int
    path: str = Field(description="Relative to the export directory.")
    warning: str | None = None


def unavailable(settings: Settings) -> dict[str, str]:
    """The tools of this module the operator gave no directory for (they are not offered), each with the
    option it needs."""
    needs = {
        "milvus_import": ("--import-dir", settings.import_dirs),
        "milvus_export": ("--export-dir", settings.export_dirs),
    }
    return {name: option for name, (option, dirs) in needs.items() if not dirs}


@tool()
async def milvus_import(
    ctx: Context,
    collection_name: CollectionName,
    path: Annotated[str, Field(min_length=1, max_length=1024, description="Relative to the import directory.")],
    format: Annotated[Format | None, Field(description="Default: from the extension.")] = None,
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = BATCH_ROWS,
    field_map: Annotated[dict[str, str] | None, Field(description="File column to field name.")] = None,
    database: Database = None,
) -> Imported:
    """Insert the rows of a JSONL, CSV or Parquet file, in batches with progress. Rows are checked as for
    milvus_insert (the first bad one named by line; then nothing is written); a text collection's vectors
    are embedded. In CSV a vector is a JSON array in one cell. Example: {"collection_name": "docs",
    "path": "docs.csv", "field_map": {"body": "text"}}."""
    rt = runtime(ctx)
    settings = rt.settings
    place = files.resolve(path, settings.import_dirs, "--import-dir")
    fmt = format_of(place.path, format)
    whole_limit = settings.import_validate_all_rows

    async def op(session: Session, info: CollectionInfo) -> Imported:
        reader = await anyio.to_thread.run_sync(open_reader, place.path, fmt, info, field_map or {})
        try:
            return await _import(rt, ctx, session, info, reader, batch_size, whole_limit)
        finally:
            await anyio.to_thread.run_sync(reader.close)

    return await rt.on_collection(database, collection_name, "import the file", op, load=True)


async def _import(
    rt: Runtime, ctx: Context, session: Session, info: CollectionInfo, reader: Reader, batch: int, whole_limit: int
) -> Imported:
    """Check the whole file first when it holds at most `whole_limit` rows, then send it in batches; a
    larger file is read, checked and sent a batch at a time, and a failure says what was written."""
    tally = Tally()
    warnings: list[str] = []
    if reader.total is not None and reader.total > whole_limit:
        rows: list[dict[str, Any]] = []
        labels: list[str] = []
    else:
        rows, labels = await anyio.to_thread.run_sync(reader.read, whole_limit + 1)
        if len(rows) <= whole_limit:
            if not rows:
                raise ToolError("The file holds no rows; nothing was written.")
            try:
                prepared, warning = await prepare(rt, info, rows, False, labels.__getitem__)
            except SchemaMismatch as exc:
                raise SchemaMismatch(f"{exc} Nothing was written.") from None
            warnings += [warning] if warning else []
            await send(
                rt, session, info, prepared, None, False, ctx.report_progress, tally, batch_rows=batch, total=len(rows)
            )
            return _result(len(rows), tally, warnings, rt.settings.max_result_bytes)
    read, ended = len(rows), False
    while rows or not ended:
        if len(rows) < batch and not ended:  # a whole batch at a time while the file lasts
            try:
                more, named = await anyio.to_thread.run_sync(reader.read, batch - len(rows))
            except ToolError as exc:
                raise _stopped(exc, tally) from None
            except anyio.get_cancelled_exc_class():
                _log_cancelled(tally, info)
                raise
            ended = len(more) < batch - len(rows)
            rows, labels, read = rows + more, labels + named, read + len(more)
            continue
        chunk, named = rows[:batch], labels[:batch]
        rows, labels = rows[batch:], labels[batch:]
        try:
            prepared, warning = await prepare(rt, info, chunk, False, named.__getitem__)
        except ToolError as exc:
            raise _stopped(exc, tally) from None
        except anyio.get_cancelled_exc_class():
            _log_cancelled(tally, info)
            raise
        warnings += [warning] if warning else []
        await send(
            rt, session, info, prepared, None, False, ctx.report_progress, tally, batch_rows=batch, total=reader.total
        )
    return _result(read, tally, warnings, rt.settings.max_result_bytes)


def _stopped(exc: ToolError, tally: Tally) -> ToolError:
    """A failure of a large import, batch by batch: what was written before it."""
    if not tally.sent:
        return ToolError(f"{exc} Nothing was written.")
    return ToolError(
        f"{exc} The {tally.sent} rows before it were inserted ({tally.count} by Milvus's count); fix the file and "
        f"import the rest, from data row {tally.sent} on."
    )


def _log_cancelled(tally: Tally, info: CollectionInfo) -> None:
    logger.warning("An import was cancelled part-way: %d rows were inserted into %s", tally.sent, info.name)


def _result(read: int, tally: Tally, warnings: list[str], budget: int) -> Imported:
    """The counts, and as many of the first ids as fit the result budget (VARCHAR keys may be long)."""
    ids = clean(tally.ids[:SHOWN_IDS])
    warning = " ".join(warnings)[:1000] or None

    def build(n: int) -> Imported:
        return Imported(rows_read=read, inserted=tally.count, first_ids=ids[:n], warning=warning)

    return fit(build, ids, budget)[0]


@tool()
async def milvus_export(
    ctx: Context,
    collection_name: CollectionName,
    path: Annotated[str, Field(min_length=1, max_length=1024, description="Relative to the export directory.")],
    format: Annotated[ExportFormat | None, Field(description="Default: from the extension.")] = None,
    filter: Filter = None,
    output_fields: OutputFields = None,
    include_vectors: bool = False,
    overwrite: bool = False,
    database: Database = None,
) -> Exported:
    """Write every row of a collection, or those matching `filter`, to a JSONL or Parquet file that
    milvus_import reads back; any size, with progress. Vectors only with include_vectors. An existing
    file is kept unless overwrite. Example: {"collection_name": "docs", "path": "docs.jsonl",
    "filter": "year >= 2020"}."""
    rt = runtime(ctx)
    t = rt.timeout
    place = files.resolve(path, rt.settings.export_dirs, "--export-dir")
    if not overwrite and place.path.exists():
        raise ToolError(f"'{place.shown}' exists already; pass overwrite: true to replace it, or choose another path.")
    if not place.path.parent.is_dir():
        raise ToolError(f"The directory of '{place.shown}' does not exist; export to an existing directory.")
    if place.path.is_dir():
        raise ToolError(f"'{place.shown}' is a directory; give a file name, e.g. '{place.shown}/rows.jsonl'.")
    fmt = format_of(place.path, format)
    if fmt == "csv":
        raise ToolError("milvus_export writes JSONL or Parquet; name the file .jsonl or .parquet, or pass format.")
    export_format: ExportFormat = fmt

    async def op(session: Session, info: CollectionInfo) -> Exported:
        fields, hidden = validation.output_fields(output_fields, info)
        if include_vectors:
            fields, hidden = [*fields, *(f.name for f in info.vector_fields if f.name not in fields)], set()
        if "*" in fields:
            fields = [f.name for f in info.fields if f.name not in hidden or f.name in fields]
            fields += ["$meta"] if info.enable_dynamic_field else []
        pk = info.primary.name
        if pk not in fields:
            fields = [pk, *fields]
        total = await count_rows(session, info, filter or "", filter, t, DEFAULT_CONSISTENCY)
        writer: Writer = await anyio.to_thread.run_sync(open_writer, place.path, export_format, info, fields)
        try:
            written = await _walk(ctx, session, info, writer, fields, hidden, filter, total, t)
            await anyio.to_thread.run_sync(writer.finish, overwrite)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(writer.discard)
            raise
        warning = validation.empty_result_warning(filter, info) if not written else None
        return Exported(rows_written=written, path=place.shown, warning=warning)

    return await rt.on_collection(database, collection_name, "export the rows", op, load=True)


async def _walk(
    ctx: Context,
    session: Session,
    info: CollectionInfo,
    writer: Writer,
    fields: list[str],
    hidden: set[str],
    filter: str | None,
    total: int,
    t: float,
) -> int:
    """Every matching row, a page at a time in primary-key order (the cursor milvus_query pages with)."""
    pk = info.primary.name
    last: Any = None
    written = 0
    while True:
        parts = [f"({filter})"] if filter else []
        if last is not None:
            parts.append(f"{pk} > {json.dumps(last, ensure_ascii=False)}")
        page = await run_query(
            session,
            info,
            " and ".join(parts),
            t,
            filter,
            output_fields=fields,
            limit=EXPORT_PAGE,
            consistency_level=DEFAULT_CONSISTENCY,
            **session.backend.ordered_scan(),
        )
        if not page:
            return written
        last = page[-1][pk]
        rows = [{k: v for k, v in row.items() if k not in hidden} for row in page]
        await anyio.to_thread.run_sync(writer.write, rows)
        written += len(rows)
        await ctx.report_progress(written, max(total, written), f"{written} of {max(total, written)} rows written")
        if len(page) < EXPORT_PAGE:
            return written


TOOLS = (milvus_import, milvus_export)
