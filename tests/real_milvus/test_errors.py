"""The agent-mistake checks of tests/test_errors.py, against the real C++ Milvus 2.3.5.

Real Milvus words its errors differently from Milvus Lite (the raw texts are quoted next to each check),
so these make sure our messages stay as helpful: what went wrong, and the fix. Every mistake must also
write nothing.
"""

from __future__ import annotations

from mcp import Client

from tests.real_milvus.conftest import Oracle, fails, ok, real_milvus, rows

pytestmark = real_milvus

STRICT_FIELDS = [
    {"name": "id", "type": "INT64", "is_primary": True},
    {"name": "title", "type": "VARCHAR", "max_length": 16},
    {"name": "year", "type": "INT32"},
    {"name": "vector", "type": "FLOAT_VECTOR", "dim": 4},
]


async def make_docs(mcp: Client, db: str, n: int = 1, name: str = "docs") -> None:
    await ok(mcp, "milvus_create_collection", collection_name=name, dimension=4, database=db)
    if n:
        await ok(mcp, "milvus_insert", collection_name=name, rows=rows(n), database=db)


async def make_strict(mcp: Client, db: str) -> None:
    await ok(
        mcp,
        "milvus_create_collection",
        collection_name="strict",
        fields=STRICT_FIELDS,
        enable_dynamic_field=False,
        database=db,
    )


async def test_unknown_collection_suggests_close_names(mcp: Client, db: str) -> None:
    # Raw Milvus 2.3.5: code=100 "collection not found[database=...][collection=doc]" (search, query, count),
    # "can't find collection collection not found[database=...][collection=doc]" (describe, insert).
    await make_docs(mcp, db)
    for tool, extra in [
        ("milvus_search", {"vector": [1, 2, 3, 4]}),
        ("milvus_query", {}),
        ("milvus_insert", {"rows": rows(1)}),
        ("milvus_describe_collection", {}),
        ("milvus_delete", {"ids": [1]}),
        ("milvus_load_collection", {}),
    ]:
        message = await fails(mcp, tool, collection_name="doc", database=db, **extra)
        assert message.startswith(f"Collection 'doc' does not exist in database '{db}'."), (tool, message)
        assert "Did you mean 'docs'?" in message, (tool, message)
    message = await fails(mcp, "milvus_count", collection_name="zzz", database=db)
    assert "Existing collections: 'docs'" in message


async def test_unknown_collection_in_empty_database_says_how_to_create(mcp: Client, db: str) -> None:
    message = await fails(mcp, "milvus_count", collection_name="docs", database=db)
    assert "has no collections yet" in message and "milvus_create_collection" in message


async def test_unknown_fields_list_the_valid_names(mcp: Client, db: str) -> None:
    # Raw: "field titel not exist"; "failed to create query plan: failed to get field schema by name:
    # fieldName(vec) not found"; DataNotMatchException "Attempt to insert an unexpected field `colour` to
    # collection without enabling dynamic field".
    await make_strict(mcp, db)
    message = await fails(mcp, "milvus_query", collection_name="strict", output_fields=["titel"], database=db)
    assert "Unknown output field 'titel'" in message and "Did you mean 'title'?" in message
    assert "'id', 'title', 'year', 'vector'" in message
    message = await fails(
        mcp, "milvus_search", collection_name="strict", vector=[1, 2, 3, 4], anns_field="vec", database=db
    )
    assert "Unknown anns_field 'vec'" in message and "Did you mean 'vector'?" in message
    row = {"id": 1, "title": "a", "year": 2000, "vector": [1, 2, 3, 4], "colour": "red"}
    message = await fails(mcp, "milvus_insert", collection_name="strict", rows=[row], database=db)
    assert "Row 0" in message and "'colour'" in message and "does not accept dynamic fields" in message


async def test_wrong_vector_dimension_says_expected_and_got(mcp: Client, db: str, oracle: Oracle) -> None:
    # Raw: insert "the length(3) of float data should divide the dim(4)"; search: "failed to search/query
    # delegator 1 for channel by-dev-rootcoord-dml_0_...v0: fail to Search, QueryNode ID=1, reason=worker(1)
    # query failed: Assert "field_meta.get_sizeof() == element.line_sizeof_" at .../Plan.cpp:52 => vector
    # dimension mismatch: service internal error: UnknownError".
    await make_docs(mcp, db)
    message = await fails(
        mcp, "milvus_insert", collection_name="docs", rows=[{"id": 5, "vector": [1, 2, 3]}], database=db
    )
    assert message == "Row 0: vector field 'vector' expects dimension 4, got 3."
    message = await fails(mcp, "milvus_search", collection_name="docs", vector=[1, 2, 3, 4, 5], database=db)
    assert "expects dimension 4, got 5" in message
    assert oracle.count("docs", db) == 1


async def test_wrong_id_type(mcp: Client, db: str) -> None:
    # Raw: query(ids=["abc"]) "cannot parse expression: id in [abc], error: value 'abc' in list cannot be a
    # non-const expression"; insert "The Input data type is inconsistent with defined schema, {id} field
    # should be a int64, but got a {<class 'str'>} instead."; on a VARCHAR key, delete(ids=[1]) and
    # query(ids=[1]) SUCCEED and match nothing.
    await make_docs(mcp, db, n=3)
    message = await fails(mcp, "milvus_query", collection_name="docs", ids=["abc"], database=db)
    assert "INT64" in message and "'abc'" in message
    message = await fails(
        mcp, "milvus_insert", collection_name="docs", rows=[{"id": "x1", "vector": [1, 2, 3, 4]}], database=db
    )
    assert "INT64" in message
    got = await ok(mcp, "milvus_query", collection_name="docs", ids=["1", 2], database=db)
    assert sorted(r["id"] for r in got["rows"]) == [1, 2]
    await ok(mcp, "milvus_create_collection", collection_name="s", dimension=2, id_type="string", database=db)
    message = await fails(mcp, "milvus_delete", collection_name="s", ids=[1], database=db)
    assert "VARCHAR" in message and "strings" in message


async def test_missing_vector_or_required_field(mcp: Client, db: str) -> None:
    # Raw: DataNotMatchException "Insert missed an field `vector` to collection without set nullable==true
    # or set default_value" (the same for `id` and for `title`).
    await make_docs(mcp, db, n=0)
    message = await fails(
        mcp, "milvus_insert", collection_name="docs", rows=[{"id": 1, "title": "no vector"}], database=db
    )
    assert message == "Row 0: required vector field 'vector' (dimension 4) is missing."
    message = await fails(mcp, "milvus_insert", collection_name="docs", rows=[{"vector": [1, 2, 3, 4]}], database=db)
    assert "primary key 'id'" in message and "missing" in message
    await make_strict(mcp, db)
    message = await fails(
        mcp, "milvus_insert", collection_name="strict", rows=[{"id": 1, "vector": [1, 2, 3, 4]}], database=db
    )
    assert "required field 'title' (VARCHAR) is missing" in message


async def test_scalar_type_and_length_checks(mcp: Client, db: str, oracle: Oracle) -> None:
    # Raw: "The Input data type is inconsistent with defined schema, {year} field should be a int, but got a
    # {<class 'str'>} instead."; code=1100 "the length (40) of 0th string exceeds max length (16): invalid
    # parameter[expected=valid length string][actual=string length exceeds max length]".
    await make_strict(mcp, db)
    base = {"id": 1, "title": "ok", "year": 2000, "vector": [1, 2, 3, 4]}
    message = await fails(mcp, "milvus_insert", collection_name="strict", rows=[{**base, "year": "2000"}], database=db)
    assert "INT32" in message
    message = await fails(
        mcp, "milvus_insert", collection_name="strict", rows=[{**base, "title": "x" * 40}], database=db
    )
    assert "at most 16 bytes" in message
    assert oracle.count("strict", db) == 0


async def test_malformed_filter_gives_milvus_words_and_an_example(mcp: Client, db: str, oracle: Oracle) -> None:
    # Raw: "cannot parse expression: year = 2000, error: line 1:5 token recognition error at: '= '";
    # "failed to create query plan: cannot parse expression: id >>> 1, error: line 1:5 extraneous input '>'
    # expecting {'(', '[', EXISTS, ...}"; delete(filter="title ==") on a collection with dynamic fields
    # SUCCEEDS with delete_count 0.
    await make_strict(mcp, db)
    await ok(
        mcp,
        "milvus_insert",
        collection_name="strict",
        rows=[{"id": 1, "title": "a", "year": 1, "vector": [1, 2, 3, 4]}],
        database=db,
    )
    message = await fails(mcp, "milvus_query", collection_name="strict", filter="year = 2000", database=db)
    assert message.startswith("Invalid filter 'year = 2000'"), message
    assert "A valid filter for 'strict' looks like: id in [1, 2, 3] and title like \"abc%\"" in message
    message = await fails(
        mcp, "milvus_search", collection_name="strict", vector=[1, 2, 3, 4], filter="id >>> 1", database=db
    )
    assert message.startswith("Invalid filter 'id >>> 1'"), message
    message = await fails(mcp, "milvus_count", collection_name="strict", filter="year >", database=db)
    assert message.startswith("Invalid filter 'year >'"), message
    message = await fails(mcp, "milvus_delete", collection_name="strict", filter="title ==", database=db)
    assert message.startswith("Invalid filter 'title =='"), message
    await make_docs(mcp, db, n=2)  # dynamic fields on
    message = await fails(mcp, "milvus_delete", collection_name="docs", filter="title ==", database=db)
    assert message.startswith("Invalid filter 'title =='"), message
    assert oracle.count("strict", db) == 1 and oracle.count("docs", db) == 2


async def test_single_equals_in_a_filter_suggests_double(mcp: Client, db: str) -> None:
    await make_strict(mcp, db)
    message = await fails(mcp, "milvus_query", collection_name="strict", filter="year = 2000", database=db)
    assert "use '==' to compare, not '='" in message, message
    message = await fails(mcp, "milvus_count", collection_name="strict", filter='year > 1 and title = "a"', database=db)
    assert "use '==' to compare, not '='" in message, message


async def test_filter_on_unknown_field_names_the_valid_ones(mcp: Client, db: str) -> None:
    await make_strict(mcp, db)
    message = await fails(mcp, "milvus_query", collection_name="strict", filter="yaer > 0", database=db)
    assert message.startswith("Invalid filter 'yaer > 0'") and "'year'" in message, message


async def test_filter_on_unknown_dynamic_key_warns(mcp: Client, db: str) -> None:
    await make_docs(mcp, db, n=2)  # dynamic fields: an unknown name is a dynamic key, so a warning
    got = await ok(mcp, "milvus_query", collection_name="docs", filter="yaer > 0", database=db)
    assert got["rows"] == [] and "'yaer'" in got["warning"] and "dynamic keys" in got["warning"]
    got = await ok(mcp, "milvus_query", collection_name="docs", output_fields=["titel"], database=db)
    assert "'titel'" in got["warning"] and "no returned row has it" in got["warning"]


async def test_released_collection_says_to_load_it(mcp: Client, db: str) -> None:
    # Raw: code=101 "failed to search: collection not loaded[collection=470639549792124951]" (and "failed to
    # query: ..." for query and count): the collection's numeric id, not its name.
    await make_docs(mcp, db, n=2)
    await ok(mcp, "milvus_release_collection", collection_name="docs", database=db)
    for tool, extra in [("milvus_search", {"vector": [1, 2, 3, 4]}), ("milvus_query", {}), ("milvus_count", {})]:
        message = await fails(mcp, tool, collection_name="docs", database=db, **extra)
        assert "call milvus_load_collection first" in message, (tool, message)
    await ok(mcp, "milvus_load_collection", collection_name="docs", database=db)
    assert (await ok(mcp, "milvus_count", collection_name="docs", database=db))["count"] == 2


async def test_dropping_an_unknown_database(mcp: Client) -> None:
    # Raw: drop_database("nope") SUCCEEDS silently on Milvus 2.3.5; our server checks first.
    message = await fails(mcp, "milvus_drop_database", database_name="nope", confirm_name="nope")
    assert "Database 'nope' does not exist" in message and "milvus_create_database" in message, message


async def test_unknown_database(mcp: Client) -> None:
    for tool, extra in [
        ("milvus_list_collections", {}),
        ("milvus_count", {"collection_name": "docs"}),
        ("milvus_create_collection", {"collection_name": "docs", "dimension": 2}),
    ]:
        message = await fails(mcp, tool, database="nope", **extra)
        assert "Database 'nope' does not exist" in message and "'default'" in message, (tool, message)
        assert "milvus_create_database" in message, (tool, message)


async def test_search_arguments_checked_against_the_index(mcp: Client, db: str) -> None:
    # Raw metric mismatch: "failed to search/query delegator 1 for channel by-dev-rootcoord-dml_1_...v0: fail
    # to Search, QueryNode ID=1, reason=collection:470639549792325003, metric type not match: invalid
    # parameter[expected=COSINE][actual=L2]".
    await make_docs(mcp, db, n=3)
    v = [1, 2, 3, 4]
    message = await fails(mcp, "milvus_search", collection_name="docs", vector=v, metric_type="L2", database=db)
    assert "indexed with metric COSINE" in message
    message = await fails(
        mcp, "milvus_search", collection_name="docs", vector=v, search_params={"nprobe": 8}, database=db
    )
    assert "do not apply to the AUTOINDEX index" in message and "'ef'" in message
    message = await fails(
        mcp, "milvus_search", collection_name="docs", vector=v, radius=0.9, range_filter=0.5, database=db
    )
    assert "range_filter must be above radius" in message


async def test_query_window_limit(mcp: Client, db: str) -> None:
    # Raw: "invalid max query result window, (offset+limit) should be in range [1, 16384], but got 16390".
    await make_docs(mcp, db, n=2)
    message = await fails(mcp, "milvus_query", collection_name="docs", offset=16380, limit=10, database=db)
    assert "16384" in message and "next_cursor" in message


async def test_create_collection_mistakes(mcp: Client, db: str, oracle: Oracle) -> None:
    await make_docs(mcp, db, n=1)
    message = await fails(mcp, "milvus_create_collection", collection_name="docs", dimension=4, database=db)
    assert "already exists" in message and "milvus_drop_collection" in message
    message = await fails(mcp, "milvus_drop_collection", collection_name="docs", confirm_name="doc", database=db)
    assert "does not match" in message
    assert oracle.count("docs", db) == 1


async def test_hnsw_without_ef_construction(mcp: Client, db: str) -> None:
    """Milvus Lite builds HNSW from {"M": 8} alone; Milvus 2.3.5 refuses it with "efConstruction out of
    range: [1, 2147483647]" (code 65535), although nothing was out of range: it was missing."""
    fields = [{"name": "id", "type": "INT64", "is_primary": True}, {"name": "v", "type": "FLOAT_VECTOR", "dim": 4}]
    result = await mcp.call_tool(
        "milvus_create_collection",
        {
            "collection_name": "h",
            "fields": fields,
            "indexes": [{"field_name": "v", "index_type": "HNSW", "metric_type": "L2", "params": {"M": 8}}],
            "database": db,
        },
    )
    text = result.content[0].text
    if result.is_error:  # a refusal must leave nothing half-made behind, and say what is missing
        assert (await ok(mcp, "milvus_list_collections", database=db))["collections"] == []
        assert "efConstruction" in text and "out of range" not in text, text
    else:  # or the server fills in a default
        assert (await ok(mcp, "milvus_describe_collection", collection_name="h", database=db))["load_state"] == "Loaded"
