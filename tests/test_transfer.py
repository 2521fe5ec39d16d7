"""milvus_import and milvus_export: files under the operator's directories only, in both client modes."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mcp import Client
from pydantic import ValidationError
from typer.testing import CliRunner

from mcp_server_milvus import cli
from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from mcp_server_milvus.toolset import ToolChoiceError
from tests.conftest import check_cancelled_write, fails, make_docs, ok, rows

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    return tmp_path / "in", tmp_path / "out"


@pytest.fixture
async def client(tmp_path: Path, dirs: tuple[Path, Path], mode: str) -> AsyncIterator[Client]:
    settings = Settings(
        uri=str(tmp_path / "m.db"), embedding_provider="none", import_dirs=(dirs[0],), export_dirs=(dirs[1],)
    )
    async with Client(build_server(settings), raise_exceptions=True, mode=mode) as c:
        yield c


def write_jsonl(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in items))


async def count(client: Client, name: str = "docs") -> int:
    return (await ok(client, "milvus_count", collection_name=name))["count"]


async def test_jsonl_csv_and_parquet_import(client: Client, dirs: tuple[Path, Path]) -> None:
    await make_docs(client, n=0)
    write_jsonl(dirs[0] / "a.jsonl", rows(3))
    with (dirs[0] / "b.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "vector", "title", "year"])
        for r in rows(4, start=10):
            out.writerow([r["id"], json.dumps(r["vector"]), r["title"], 2020])
    pq.write_table(pa.Table.from_pylist(rows(5, start=20)), dirs[0] / "c.parquet")
    got = await ok(client, "milvus_import", collection_name="docs", path="a.jsonl")
    assert got == {"rows_read": 3, "inserted": 3, "first_ids": [0, 1, 2]}
    assert (await ok(client, "milvus_import", collection_name="docs", path="b.csv"))["inserted"] == 4
    assert (await ok(client, "milvus_import", collection_name="docs", path="c.parquet"))["inserted"] == 5
    assert await count(client) == 12
    row = (
        await ok(client, "milvus_query", collection_name="docs", ids=[11], output_fields=["vector", "title", "year"])
    )["rows"][0]
    # CSV cells typed by the schema: the vector parsed from one cell, the dynamic "year" a number.
    assert row["vector"] == pytest.approx(rows(1, start=11)[0]["vector"]) and row["year"] == 2020
    assert row["title"] == "t11"


async def test_field_map_renames_columns(client: Client, dirs: tuple[Path, Path]) -> None:
    await make_docs(client, n=0)
    write_jsonl(dirs[0] / "m.jsonl", [{"key": r["id"], "emb": r["vector"], "name": r["title"]} for r in rows(3)])
    got = await ok(
        client,
        "milvus_import",
        collection_name="docs",
        path="m.jsonl",
        field_map={"key": "id", "emb": "vector", "name": "title"},
    )
    assert got["inserted"] == 3
    titles = await ok(client, "milvus_query", collection_name="docs", filter="id >= 0", output_fields=["title"])
    assert [r["title"] for r in titles["rows"]] == ["t0", "t1", "t2"]
    with (dirs[0] / "m.csv").open("w") as f:
        f.write("id,vector\n")
    message = await fails(client, "milvus_import", collection_name="docs", path="m.csv", field_map={"emb": "vector"})
    assert "field_map names 'emb'" in message and "id, vector" in message


async def test_first_bad_row_named_by_line_and_nothing_written(client: Client, dirs: tuple[Path, Path]) -> None:
    await make_docs(client, n=0)
    good = rows(2500)
    good[1700]["vector"] = [1.0, 2.0]  # a wrong dimension, past the first batch
    lines = "".join(json.dumps(r) + "\n" + ("\n" if i == 5 else "") for i, r in enumerate(good))
    (dirs[0] / "bad.jsonl").write_text(lines)
    message = await fails(client, "milvus_import", collection_name="docs", path="bad.jsonl")
    assert message.startswith("Line 1702:"), message  # 1,701 rows and one blank line before it
    assert "dimension" in message and "Nothing was written" in message
    assert await count(client) == 0
    with (dirs[0] / "bad.csv").open("w") as f:
        f.write('id,vector,title\n1,"[1,2,3,4]",a\nx,"[1,2,3,4]",b\n')
    message = await fails(client, "milvus_import", collection_name="docs", path="bad.csv")
    assert message.startswith("Line 3:") and "INT64" in message, message
    pq.write_table(pa.Table.from_pylist([*rows(2), {"id": 9, "vector": [1.0], "title": "x"}]), dirs[0] / "bad.pq")
    message = await fails(client, "milvus_import", collection_name="docs", path="bad.pq", format="parquet")
    assert message.startswith("Row index 2:"), message
    assert await count(client) == 0


async def test_large_file_checked_batch_by_batch_says_what_was_written(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    settings = Settings(
        uri=str(tmp_path / "m.db"), embedding_provider="none", import_dirs=(dirs[0],), import_validate_all_rows=100
    )
    good = rows(250)
    good[230]["vector"] = [1.0]
    write_jsonl(dirs[0] / "big.jsonl", good)
    async with Client(build_server(settings), raise_exceptions=True) as client:
        await make_docs(client, n=0)
        message = await fails(client, "milvus_import", collection_name="docs", path="big.jsonl", batch_size=100)
        assert message.startswith("Line 231:") and "The 200 rows before it were inserted" in message, message
        assert await count(client) == 200
        # Parquet says its size up front: batch by batch from the start, to the end.
        pq.write_table(pa.Table.from_pylist(rows(250, start=1000)), dirs[0] / "big.parquet")
        got = await ok(client, "milvus_import", collection_name="docs", path="big.parquet", batch_size=100)
        assert got["rows_read"] == 250 and got["inserted"] == 250
        write_jsonl(dirs[0] / "ok.jsonl", rows(250, start=2000))
        assert (await ok(client, "milvus_import", collection_name="docs", path="ok.jsonl"))["inserted"] == 250
        assert await count(client) == 700


async def test_paths_outside_the_directories_are_refused(
    client: Client, dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    await make_docs(client, n=0)
    write_jsonl(tmp_path / "secret.jsonl", rows(1))
    (dirs[0] / "link.jsonl").symlink_to(tmp_path / "secret.jsonl")
    (dirs[0] / "sub").mkdir()
    for path in ["../secret.jsonl", "sub/../../secret.jsonl", "sub/../x.jsonl"]:
        message = await fails(client, "milvus_import", collection_name="docs", path=path)
        assert "'..'" in message, message
    for path in [str(tmp_path / "secret.jsonl"), "link.jsonl", "/etc/passwd"]:
        message = await fails(client, "milvus_import", collection_name="docs", path=path)
        assert "outside the directories" in message and "--import-dir" in message, message
    message = await fails(client, "milvus_export", collection_name="docs", path=str(dirs[0] / "x.jsonl"))
    assert "outside the directories" in message and "--export-dir" in message
    assert "No file" in await fails(client, "milvus_import", collection_name="docs", path="none.jsonl")
    # An absolute path inside the directory is fine.
    write_jsonl(dirs[0] / "ok.jsonl", rows(1))
    assert (await ok(client, "milvus_import", collection_name="docs", path=str(dirs[0] / "ok.jsonl")))["inserted"]
    assert await count(client) == 1


async def test_not_listed_without_directories(tmp_path: Path, dirs: tuple[Path, Path], mode: str) -> None:
    async def listed(**options: Any) -> set[str]:
        server = build_server(Settings(uri=str(tmp_path / "m.db"), embedding_provider="none", **options))
        async with Client(server, mode=mode) as client:
            return {t.name for t in (await client.list_tools()).tools}

    assert not {"milvus_import", "milvus_export"} & await listed()
    assert {"milvus_import", "milvus_export"} - await listed(import_dirs=(dirs[0],)) == {"milvus_export"}
    both = {"import_dirs": (dirs[0],), "export_dirs": (dirs[1],)}
    # --read-only keeps the export (it reads Milvus and writes a new file) and drops the import.
    assert {"milvus_import", "milvus_export"} & await listed(read_only=True, **both) == {"milvus_export"}


async def test_import_reports_progress(client: Client, dirs: tuple[Path, Path]) -> None:
    await make_docs(client, n=0)
    write_jsonl(dirs[0] / "p.jsonl", rows(2500))
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    result = await client.call_tool(
        "milvus_import", {"collection_name": "docs", "path": "p.jsonl"}, progress_callback=progress
    )
    assert not result.is_error, result.content
    assert seen == [
        (1000, 2500, "1000 of 2500 rows inserted"),
        (2000, 2500, "2000 of 2500 rows inserted"),
        (2500, 2500, "2500 of 2500 rows inserted"),
    ]


async def test_cancelled_import_logs_what_count_shows(
    client: Client, dirs: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    await make_docs(client, n=0)
    write_jsonl(dirs[0] / "c.jsonl", rows(5000))
    async with anyio.create_task_group() as tg:

        async def progress(done: float, total: float | None, message: str | None) -> None:
            tg.cancel_scope.cancel()

        async def run() -> None:
            await client.call_tool(
                "milvus_import", {"collection_name": "docs", "path": "c.jsonl"}, progress_callback=progress
            )

        tg.start_soon(run)
    await check_cancelled_write(client, caplog)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
async def test_export_import_roundtrip_with_vectors(client: Client, dirs: tuple[Path, Path], fmt: str) -> None:
    await make_docs(client, n=0, enable_dynamic_field=True)
    source = [{**r, "meta": {"k": r["id"]}} for r in rows(2300)]
    await ok(client, "milvus_insert", collection_name="docs", rows=source)
    seen: list[float] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append(done)

    result = await client.call_tool(
        "milvus_export",
        {"collection_name": "docs", "path": f"all.{fmt}", "format": fmt, "include_vectors": True},
        progress_callback=progress,
    )
    assert not result.is_error, result.content
    assert result.structured_content == {"rows_written": 2300, "path": f"all.{fmt}"}
    assert seen == [1000, 2000, 2300]
    assert [p.name for p in dirs[1].iterdir()] == [f"all.{fmt}"]  # no temporary file left
    os.replace(dirs[1] / f"all.{fmt}", dirs[0] / f"all.{fmt}")
    await ok(client, "milvus_create_collection", collection_name="copy", dimension=4)
    got = await ok(client, "milvus_import", collection_name="copy", path=f"all.{fmt}")
    assert got["inserted"] == 2300
    back = await ok(
        client, "milvus_query", collection_name="copy", ids=[0, 2299], output_fields=["vector", "title", "meta"]
    )
    for row, want in zip(back["rows"], [source[0], source[2299]], strict=True):
        assert row["vector"] == pytest.approx(want["vector"]) and row["meta"] == want["meta"]
        assert row["title"] == want["title"]


async def test_export_with_filter_without_vectors(client: Client, dirs: tuple[Path, Path]) -> None:
    await make_docs(client, n=20)
    got = await ok(client, "milvus_export", collection_name="docs", path="some.jsonl", filter="id >= 15")
    assert got == {"rows_written": 5, "path": "some.jsonl"}
    lines = [json.loads(x) for x in (dirs[1] / "some.jsonl").read_text().splitlines()]
    assert [r["id"] for r in lines] == [15, 16, 17, 18, 19]
    assert all("vector" not in r and r["title"] == f"t{r['id']}" for r in lines)


async def test_export_refuses_to_overwrite(client: Client, dirs: tuple[Path, Path]) -> None:
    await make_docs(client, n=3)
    (dirs[1] / "x.jsonl").write_text("keep\n")
    message = await fails(client, "milvus_export", collection_name="docs", path="x.jsonl")
    assert "exists already" in message and "overwrite" in message
    assert (dirs[1] / "x.jsonl").read_text() == "keep\n"
    got = await ok(client, "milvus_export", collection_name="docs", path="x.jsonl", overwrite=True)
    assert got["rows_written"] == 3 and len((dirs[1] / "x.jsonl").read_text().splitlines()) == 3
    assert "'..'" in await fails(client, "milvus_export", collection_name="docs", path="../x.jsonl")
    message = await fails(client, "milvus_export", collection_name="docs", path="y.jsonl", filter="id >")
    assert "filter" in message
    assert [p.name for p in dirs[1].iterdir()] == ["x.jsonl"]  # a failed export leaves no file
    assert "writes JSONL or Parquet" in await fails(client, "milvus_export", collection_name="docs", path="x.csv")
    (dirs[1] / "sub").mkdir()
    assert "is a directory" in await fails(client, "milvus_export", collection_name="docs", path="sub", overwrite=True)
    assert "does not exist" in await fails(client, "milvus_export", collection_name="docs", path="nope/x.jsonl")
    await ok(client, "milvus_export", collection_name="docs", path="sub/x.parquet")  # the format from the extension
    assert pq.read_table(dirs[1] / "sub" / "x.parquet").num_rows == 3


def test_directories_must_exist_and_tools_need_them(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    db = str(tmp_path / "m.db")
    with pytest.raises(ValidationError, match=r"--import-dir .*nope is not an existing directory"):
        Settings(uri=db, import_dirs=(tmp_path / "nope",))
    (tmp_path / "link").symlink_to(dirs[1])
    assert Settings(uri=db, export_dirs=(str(tmp_path / "link"),)).export_dirs == (dirs[1],)  # resolved at start
    with pytest.raises(ToolChoiceError, match="--tools names 'milvus_import', which needs --import-dir"):
        build_server(Settings(uri=db, tools="query,milvus_import", export_dirs=(dirs[1],)))


async def test_text_collection_import_embeds_the_text(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    settings = Settings(uri=str(tmp_path / "m.db"), embedding_provider="local", import_dirs=(dirs[0],))
    texts = ["solar panels on the roof", "a cat asleep in the sun", "the stock market fell"]
    with (dirs[0] / "docs.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["body", "n"])
        out.writerows([t, i] for i, t in enumerate(texts))
    async with Client(build_server(settings), raise_exceptions=True) as client:
        await ok(client, "milvus_create_collection", collection_name="kb", text_field="text")
        got = await ok(client, "milvus_import", collection_name="kb", path="docs.csv", field_map={"body": "text"})
        assert got["inserted"] == 3
        found = await ok(
            client, "milvus_search", collection_name="kb", text="kitten napping", anns_field="text_dense", limit=1
        )
        assert found["hits"][0]["entity"]["text"] == texts[1]


async def test_export_pages_varchar_keys_in_order(client: Client, dirs: tuple[Path, Path]) -> None:
    fields = [
        {"name": "id", "type": "VARCHAR", "is_primary": True, "max_length": 16},
        {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
    ]
    await ok(client, "milvus_create_collection", collection_name="named", fields=fields)
    named = [{"id": f"k{r['id']:05d}", "vector": r["vector"]} for r in reversed(rows(1500))]
    await ok(client, "milvus_insert", collection_name="named", rows=named)
    assert (await ok(client, "milvus_export", collection_name="named", path="n.jsonl"))["rows_written"] == 1500
    ids = [json.loads(x)["id"] for x in (dirs[1] / "n.jsonl").read_text().splitlines()]
    assert ids == sorted(r["id"] for r in named)


async def test_cancelled_export_leaves_no_file(client: Client, dirs: tuple[Path, Path]) -> None:
    await make_docs(client, n=0)
    await ok(client, "milvus_insert", collection_name="docs", rows=rows(3000))
    pages: list[float] = []
    async with anyio.create_task_group() as tg:

        async def progress(done: float, total: float | None, message: str | None) -> None:
            pages.append(done)
            tg.cancel_scope.cancel()

        async def run() -> None:
            await client.call_tool(
                "milvus_export", {"collection_name": "docs", "path": "all.jsonl"}, progress_callback=progress
            )

        tg.start_soon(run)
    assert pages == [1000]  # cancelled after its first page was written to the temporary file
    with anyio.fail_after(10):
        while any(dirs[1].iterdir()):
            await anyio.sleep(0.05)
    await ok(client, "milvus_export", collection_name="docs", path="all.jsonl")  # the server still serves
    assert len((dirs[1] / "all.jsonl").read_text().splitlines()) == 3000


def test_cli_options_and_environment(tmp_path: Path, dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Settings] = []
    monkeypatch.setattr(cli, "run", seen.append)
    db = str(tmp_path / "m.db")
    env = {"MILVUS_MCP_IMPORT_DIR": f"{dirs[0]}:{dirs[1]}"}
    result = CliRunner().invoke(cli.app, ["--uri", db, "--export-dir", str(dirs[1])], env=env)
    assert result.exit_code == 0, result.output
    assert seen[0].import_dirs == dirs and seen[0].export_dirs == (dirs[1],)
    assert seen[0].import_validate_all_rows == 100_000
    result = CliRunner().invoke(cli.app, ["--uri", db, "--import-dir", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == f"Error: invalid import_dirs: --import-dir {tmp_path / 'nope'} is not an existing directory"
    )


async def test_import_result_fits_the_budget(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    settings = Settings(
        uri=str(tmp_path / "m.db"), embedding_provider="none", import_dirs=(dirs[0],), max_result_bytes=2048
    )
    fields = [
        {"name": "id", "type": "VARCHAR", "is_primary": True, "max_length": 2000},
        {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
    ]
    write_jsonl(dirs[0] / "long.jsonl", [{"id": f"{i}" * 1500, "vector": r["vector"]} for i, r in enumerate(rows(5))])
    async with Client(build_server(settings), raise_exceptions=True) as client:
        await ok(client, "milvus_create_collection", collection_name="long", fields=fields)
        result = await client.call_tool("milvus_import", {"collection_name": "long", "path": "long.jsonl"})
        assert not result.is_error and len(result.content[0].text.encode()) <= 2048
        assert result.structured_content["inserted"] == 5 and len(result.structured_content["first_ids"]) == 1


async def test_ingest_prompt_names_the_import_only_where_offered(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    for import_dirs, named in (((dirs[0],), True), ((), False)):
        settings = Settings(uri=str(tmp_path / "m.db"), embedding_provider="none", import_dirs=import_dirs)
        async with Client(build_server(settings), raise_exceptions=True) as client:
            prompt = await client.get_prompt("ingest_documents", {"documents": "manuals"})
            text = prompt.messages[0].content.text
            assert ("one milvus_import call" in text) is named, text
