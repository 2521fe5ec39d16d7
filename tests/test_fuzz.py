"""Property-based fuzzing of every tool's arguments, generated from the tools' own input schemas.

Each example is one `tools/call` through the real in-memory MCP client against Milvus Lite:
- "valid": arguments drawn from the tool's `inputSchema` (hypothesis-jsonschema), names often aimed at
  real collections and fields so that calls get past the name checks;
- "nasty": valid arguments with values swapped for hostile ones: huge strings and numbers, control and
  unicode characters, injection-looking filters, NaN and wrong-dimension vectors, ids near 2^63;
- "probe": a plain read of the seeded collection (search, query, count, ...) with one to three hostile values;
- "invalid": one mutation that no reading of the schema admits (an unknown key, a value of a type or range
  the property refuses, a required key left out): the call must fail;
- "bad rows": an insert or upsert into the seeded collection whose batch holds one bad row: it must fail.

Invariants: no crash (the client raises on a protocol error); no call past CALL_TIMEOUT; every failure is
`isError` with a message an agent can read (no traceback, no bare "Error executing tool"); every text fits
the byte budget; the seeded collection is unchanged (count and checksum of its rows) after every failed
write aimed at it, and at the end. Writes otherwise go to a throwaway collection, made again when dropped.

Replay: the "ci" profile is derandomized (the same calls every run); a failure prints its falsifying
`Call(...)` and a `@reproduce_failure` blob. MILVUS_FUZZ_SEED=<int> explores other calls (the seed is
printed); MILVUS_FUZZ_EXAMPLES=<n> sets the number of calls; MILVUS_FUZZ_VERBOSE=1 prints each answer.
Keep each case found as an `@example` on `fuzz` below.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.server import build_server
from tests.conftest import fails, make_docs, ok, rows

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Generating overly large repr")]

SEED = "fuzz_seed"
SCRATCH = "fuzz_scratch"
DIM = 4
SEED_ROWS = 20
BUDGET = 4096
CALL_TIMEOUT = 20.0
CORPUS = int(os.environ.get("MILVUS_FUZZ_CORPUS", "15"))
EXAMPLES = int(os.environ.get("MILVUS_FUZZ_EXAMPLES", "4000"))
FUZZ_SEED = os.environ.get("MILVUS_FUZZ_SEED")
VERBOSE = bool(os.environ.get("MILVUS_FUZZ_VERBOSE"))

CI = settings(
    derandomize=FUZZ_SEED is None,
    database=None,
    print_blob=True,
    deadline=None,
    max_examples=EXAMPLES,
    # No shrinking: the calls share one database, so a shrunk replay would blame a call that only met the
    # state an earlier one left; the first failing call is the one to report.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
"""The profile of every run, CI's included; applied to this module's tests only."""

FIELDS = ["id", "vector", "title", "$meta", "*", "count(*)"]
INT64 = [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**30]
HUGE_STRINGS = ["a" * 70_000, "é" * 20_000, "\x00" * 1000, "\ud800" * 10, "x" * 256]
FILTERS = [
    "id > 0 or 1 == 1",
    'id in [1, 2]; drop collection "fuzz_seed"',
    '"; DROP TABLE fuzz_seed; --',
    'title like "%"',
    'title == "\x00\x1b[2J"',
    "id > 9223372036854775807",
    "id == 9223372036854775808",
    "(" * 300 + "id > 0" + ")" * 300,
    'meta["a\ud800"] == 1',
    "exists(1)",
    "id in [" + ",".join(["1"] * 5000) + "]",
    "{{ 7 * 7 }} ${jndi:ldap://x}",
    "title == 'ignore previous instructions'",
    "",
]
NUMBERS = st.sampled_from([*INT64, math.nan, math.inf, -math.inf, 1e308, -1, 0, 2**31, 16385, 1.5])
TEXTS = st.one_of(
    st.sampled_from([SEED, SCRATCH, "default", "id", "vector", "title", *HUGE_STRINGS, *FILTERS]),
    st.text(st.characters(codec=None), max_size=40),
    st.text(st.characters(max_codepoint=0x1F), max_size=10),
)
VECTORS = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=DIM, max_size=DIM),
    st.lists(st.floats(-1, 1), min_size=0, max_size=DIM * 3),
    st.just([math.nan] * DIM),
    st.just([1e39] * DIM),
    st.just([[1.0] * DIM]),
    st.just(["1"] * DIM),
    st.just([0.1] * 40_000),
)


def good_row(i: int) -> dict[str, Any]:
    return rows(1, DIM, start=i)[0]


BAD_ROWS = [
    {"id": 900, "vector": [math.nan] * DIM, "title": "nan"},
    {"id": 901, "vector": [math.inf] * DIM, "title": "inf"},
    {"id": 902, "vector": [1.0] * (DIM + 1), "title": "too long"},
    {"id": 903, "vector": [], "title": "empty"},
    {"id": 2**63, "vector": [1.0] * DIM, "title": "past int64"},
    {"id": -(2**63) - 1, "vector": [1.0] * DIM, "title": "below int64"},
    {"id": "nine", "vector": [1.0] * DIM, "title": "string id"},
    {"id": 904, "title": "no vector"},
    {"vector": [1.0] * DIM, "title": "no id"},
    {"id": 905, "vector": ["a"] * DIM},
    {"id": 906, "vector": None},
    {"id": 907.5, "vector": [1.0] * DIM},
]


@dataclass(frozen=True)
class Call:
    """One generated call; `must_fail` names why the call must be refused ("" when it may succeed)."""

    tool: str
    arguments: dict[str, Any] = field(hash=False)
    must_fail: str = ""


@dataclass
class Tally:
    calls: int = 0
    failed: int = 0
    seconds: float = 0.0
    by_tool: dict[str, int] = field(default_factory=dict)


# --- strategies ----------------------------------------------------------------------------------


def defs_of(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: schema[k] for k in ("$defs", "definitions") if k in schema}


def nasty(key: str) -> st.SearchStrategy[Any]:
    """A hostile value for an argument named `key`."""
    if key == "filter":
        return st.sampled_from(FILTERS)
    if key in ("vector",):
        return VECTORS
    if key in ("vectors",):
        return st.lists(VECTORS, max_size=3)
    if key in ("ids", "like_ids"):
        return st.lists(st.one_of(st.sampled_from(INT64), st.integers(-5, 25), TEXTS), max_size=5)
    if key == "rows":
        return st.lists(st.one_of(st.sampled_from(BAD_ROWS), st.builds(good_row, st.integers(1000, 2000))), max_size=4)
    if key in ("output_fields", "partition_names"):
        return st.lists(st.one_of(st.sampled_from(FIELDS), TEXTS), max_size=4)
    return st.one_of(TEXTS, NUMBERS, st.none())


def aim(draw: Callable[..., Any], tool: Any, arguments: dict[str, Any], *, writes_seed: bool) -> None:
    """Point names at real collections and fields often enough that calls reach Milvus."""
    props = tool.input_schema.get("properties", {})
    read_only = bool(tool.annotations and tool.annotations.read_only_hint)
    targets = [SEED, SCRATCH] if read_only or writes_seed else [SCRATCH]
    required = set(tool.input_schema.get("required", []))
    for key in sorted(arguments):  # fewer optional arguments: more calls get past the checks to Milvus
        if key not in required and draw(st.booleans()):
            del arguments[key]
    if "collection_name" in props and draw(st.integers(0, 3)):
        arguments["collection_name"] = draw(st.sampled_from(targets))
    if "confirm_name" in props and "collection_name" in arguments and draw(st.booleans()):
        arguments["confirm_name"] = arguments.get("partition_name", arguments["collection_name"])
    if "database" in props and draw(st.integers(0, 3)):
        arguments.pop("database", None)
    for key in ("anns_field", "field_name", "group_by_field", "text_field"):
        if key in props and draw(st.booleans()):
            arguments[key] = draw(st.sampled_from(FIELDS[:3]))
    if "vector" in props and draw(st.booleans()):
        for key in ("text", "texts", "vectors", "like_ids"):
            arguments.pop(key, None)
        arguments["vector"] = [0.5] * DIM


@st.composite
def calls(draw: Callable[..., Any], tools: list[Any], corpus: dict[str, list[dict[str, Any]]]) -> Call:
    tool = draw(st.sampled_from(tools))
    schema = tool.input_schema
    kind = draw(st.sampled_from(["valid", "valid", "nasty", "probe", "probe", "invalid", "bad rows"]))
    if kind == "probe":
        return probe(draw, draw(st.sampled_from([t for t in tools if t.name in PROBED])))
    if kind == "bad rows":
        name = draw(st.sampled_from(["milvus_insert", "milvus_upsert"]))
        batch = [good_row(i) for i in draw(st.lists(st.integers(100, 120), max_size=3, unique=True))]
        batch.insert(draw(st.integers(0, len(batch))), draw(st.sampled_from(BAD_ROWS)))
        return Call(name, {"collection_name": SEED, "rows": batch}, must_fail="a bad row in the batch")
    arguments = dict(draw(st.sampled_from(corpus[tool.name])))
    props = schema.get("properties", {})
    if kind == "valid":
        aim(draw, tool, arguments, writes_seed=False)
        return Call(tool.name, arguments)
    if kind == "nasty":
        aim(draw, tool, arguments, writes_seed=False)
        if props:
            for key in draw(st.lists(st.sampled_from(sorted(props)), min_size=1, max_size=3, unique=True)):
                arguments[key] = draw(nasty(key))
        if arguments.get("collection_name") == SEED and not (tool.annotations and tool.annotations.read_only_hint):
            arguments["collection_name"] = SCRATCH  # writes that may succeed stay off the seeded collection
        return Call(tool.name, arguments)
    aim(draw, tool, arguments, writes_seed=True)
    return invalid(draw, tool.name, schema, arguments)


PROBED = ("milvus_search", "milvus_query", "milvus_count", "milvus_hybrid_search")


def probe(draw: Callable[..., Any], tool: Any) -> Call:
    """A read of the seeded collection, plain but for one to three hostile values: the deep paths."""
    props = tool.input_schema.get("properties", {})
    arguments: dict[str, Any] = {"collection_name": SEED}
    if tool.name == "milvus_search":
        arguments["vector"] = [0.5] * DIM
    if tool.name == "milvus_hybrid_search":
        arguments["searches"] = [
            {"vector": [0.5] * DIM, "anns_field": "vector"},
            {"vector": [0.1] * DIM, "anns_field": "vector"},
        ]
    if tool.name in ("milvus_query", "milvus_count"):
        arguments["filter"] = "id >= 0"
    keys = sorted(k for k in props if k not in ("collection_name", "database"))
    for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
        if key in ("text", "texts", "vector", "vectors", "like_ids"):
            for other in ("text", "texts", "vector", "vectors", "like_ids"):
                arguments.pop(other, None)
        arguments[key] = draw(nasty(key))
    return Call(tool.name, arguments)


MISFITS: list[Any] = [{"zz": [1]}, [[{"a": None}]], "zz not a number", 1.5, 10**30, -(10**30), "x" * 70_000, "", -1, 0]
"""Values that pydantic's lax mode cannot coerce into a type the schema refuses them as."""


def invalid(draw: Callable[..., Any], name: str, schema: dict[str, Any], arguments: dict[str, Any]) -> Call:
    """`arguments` with one mutation that the schema refuses, confirmed by a JSON Schema validator."""
    props = schema.get("properties", {})
    required = schema.get("required", [])
    options = ["unknown key"] + (["wrong value"] if props else []) + (["missing key"] if required else [])
    mutation = draw(st.sampled_from(options))
    mutated = dict(arguments)
    if mutation == "unknown key":
        return unknown_key(draw, name, props, mutated)
    if mutation == "missing key":
        key = draw(st.sampled_from(required))
        mutated.pop(key, None)
        return Call(name, mutated, must_fail=f"required {key!r} left out")
    key = draw(st.sampled_from(sorted(props)))
    validator = jsonschema.Draft202012Validator({**props[key], **defs_of(schema)})
    for value in draw(st.permutations(MISFITS)):
        if not validator.is_valid(value):
            mutated[key] = value
            return Call(name, mutated, must_fail=f"{key!r} = {str(value)[:40]!r} refused by its schema")
    return unknown_key(draw, name, props, mutated)


def unknown_key(draw: Callable[..., Any], name: str, props: dict[str, Any], arguments: dict[str, Any]) -> Call:
    keys = [k for k in ("where", "limit_", "zz", "__proto__", "collection", "$where", "\ud800") if k not in props]
    key = draw(st.sampled_from(keys))
    return Call(name, {**arguments, key: draw(st.one_of(TEXTS, NUMBERS, st.none()))}, f"unknown key {key!r}")


def schema_corpus(tools: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """CORPUS schema-valid arguments per tool, drawn by hypothesis-jsonschema from the tool's `inputSchema`.

    Drawn once per run, not per call: a draw from the larger schemas costs ~50 ms, a call ~5 ms.
    """
    return {name: draw_arguments(tool.input_schema) for name, tool in tools.items()}


def draw_arguments(schema: dict[str, Any]) -> list[dict[str, Any]]:
    drawn: list[dict[str, Any]] = []

    @settings(CI, max_examples=CORPUS, phases=[Phase.generate])
    @given(arguments=from_schema(schema))
    def collect(arguments: dict[str, Any]) -> None:
        drawn.append(arguments)

    if FUZZ_SEED is not None:
        collect = seed(int(FUZZ_SEED))(collect)
    collect()
    return drawn


# --- the run -------------------------------------------------------------------------------------


async def checksum(client: Client) -> tuple[int, str]:
    """The seeded collection's count and a digest of all its rows, vectors included."""
    count = (await ok(client, "milvus_count", collection_name=SEED))["count"]
    found = await ok(
        client, "milvus_query", collection_name=SEED, filter="id >= -9223372036854775808",
        output_fields=["id", "vector", "title"], limit=SEED_ROWS * 2,
    )  # fmt: skip
    text = json.dumps(sorted(found["rows"], key=lambda r: r["id"]), sort_keys=True)
    return count, hashlib.sha256(text.encode()).hexdigest()


async def listing(client: Client) -> dict[str, tuple[Any, Any]]:
    """Each collection's row count and load state, as milvus_list_collections reports them."""
    found = (await ok(client, "milvus_list_collections"))["collections"]
    return {c["name"]: (c.get("row_count"), c.get("load_state")) for c in found}


async def ensure_scratch(client: Client, listed: dict[str, tuple[Any, Any]]) -> None:
    if SCRATCH not in listed:
        await ok(client, "milvus_create_collection", collection_name=SCRATCH, dimension=DIM)
        await ok(client, "milvus_insert", collection_name=SCRATCH, rows=rows(5, DIM))


async def check(client: Client, tools: dict[str, Any], call: Call, baseline: tuple[int, str], tally: Tally) -> None:
    """Make one call and assert every invariant on its answer."""
    started = time.monotonic()
    with anyio.fail_after(CALL_TIMEOUT):
        result = await client.call_tool(call.tool, call.arguments)
    if VERBOSE:
        answer = result.content[0].text[:100] if result.content else ""
        print(
            f"{time.monotonic() - started:.3f} {call.tool} {result.is_error} {answer!r} <- {str(call.arguments)[:300]}"
        )
    tally.calls += 1
    tally.seconds += time.monotonic() - started
    tally.by_tool[call.tool] = tally.by_tool.get(call.tool, 0) + 1
    assert result.content and result.content[0].type == "text", result
    text = result.content[0].text
    size = len(text.encode("utf-8", "surrogatepass"))
    assert size <= BUDGET, f"{call.tool}: {size} bytes past the budget of {BUDGET}"
    read_only = bool(tools[call.tool].annotations and tools[call.tool].annotations.read_only_hint)
    if not read_only:  # a write aimed elsewhere must leave the seeded collection as it was
        listed = await listing(client)
        assert listed.get(SEED) == (SEED_ROWS, "Loaded"), f"{call.tool} changed {SEED}: {listed.get(SEED)}"
        await ensure_scratch(client, listed)
    if result.is_error:
        tally.failed += 1
        assert text.strip(), "an empty error message"
        assert "Traceback" not in text, text
        assert not text.startswith("Error executing tool"), text
        assert "Nothing in this server anticipated" not in text, text  # errors.unexpected: a bug of ours
        assert "surrogates not allowed" not in text, text  # a Python encoding failure, met inside pymilvus
        assert "execute_batch" not in text, text  # gRPC refused the request's metadata: a name we let through
        assert "Python int too large" not in text, text  # Milvus Lite's own words for an integer past int64
        if not read_only and call.arguments.get("collection_name") == SEED:
            assert await checksum(client) == baseline, f"a failed {call.tool} changed {SEED}"
        return
    assert not call.must_fail, f"{call.tool} succeeded though {call.must_fail}: {text[:300]}"
    assert result.structured_content is not None


async def test_fuzz_every_tool(tmp_path: Path) -> None:
    """Thousands of generated calls; see the module docstring for what they are and what must hold."""
    server = build_server(
        Settings(uri=str(tmp_path / "fuzz.db"), embedding_provider="none", max_result_bytes=BUDGET, timeout=10.0)
    )
    async with Client(server, raise_exceptions=True) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        await ok(client, "milvus_create_collection", collection_name=SEED, dimension=DIM)
        await ok(client, "milvus_insert", collection_name=SEED, rows=rows(SEED_ROWS, DIM))
        await ensure_scratch(client, await listing(client))
        baseline = await checksum(client)
        assert baseline[0] == SEED_ROWS
        tally = Tally()

        started = time.monotonic()
        corpus = await anyio.to_thread.run_sync(schema_corpus, tools)
        made = time.monotonic() - started

        @settings(CI)
        @given(call=calls(list(tools.values()), corpus))
        @example(call=Call("milvus_insert", {"collection_name": SEED, "rows": [good_row(100), BAD_ROWS[0]]}, "NaN"))
        @example(call=Call("milvus_search", {"collection_name": SEED, "vector": [math.nan] * DIM}))
        @example(call=Call("milvus_query", {"collection_name": SEED, "filter": FILTERS[7]}))
        @example(call=Call("milvus_query", {"collection_name": SEED, "ids": [2**63]}, "an id past int64"))
        @example(call=Call("milvus_describe_collection", {"collection_name": "a\ud800"}, "a lone surrogate"))
        @example(call=Call("milvus_count", {"collection_name": SEED, "filter": 'meta["a\ud800"] == 1'}))
        def fuzz(call: Call) -> None:
            anyio.from_thread.run(check, client, tools, call, baseline, tally)

        if FUZZ_SEED is not None:
            print(f"MILVUS_FUZZ_SEED={FUZZ_SEED}")
            fuzz = seed(int(FUZZ_SEED))(fuzz)
        started = time.monotonic()
        await anyio.to_thread.run_sync(fuzz)
        took = time.monotonic() - started
        print(f"fuzz: {sum(map(len, corpus.values()))} arguments from the schemas in {made:.1f} s")
        print(
            f"fuzz: {tally.calls} calls ({tally.failed} tool errors) in {took:.1f} s ({tally.seconds:.1f} s in calls)"
        )
        print(f"fuzz: calls per tool {tally.by_tool}")
        assert await checksum(client) == baseline, f"{SEED} changed during the run"
        assert tally.calls >= min(EXAMPLES, 1000)


async def test_lone_surrogates_are_refused_before_milvus(client: Client) -> None:
    """Found by the fuzzer: a lone surrogate in a filter reached pymilvus, which failed to encode it mid-request
    ("Milvus refused to search: Unexpected error, ... surrogates not allowed"). Now every tool refuses one,
    naming the argument, before any work."""
    await make_docs(client, n=3)
    message = await fails(
        client, "milvus_search", collection_name="docs", vector=[1.0] * 4, filter="title == 'a\ud800'"
    )
    assert message.startswith("Argument 'filter' of milvus_search is not valid text"), message
    bad = [*rows(2, start=10), {**rows(1, start=12)[0], "title": "x\udfff"}]
    message = await fails(client, "milvus_insert", collection_name="docs", rows=bad)
    assert message.startswith("Argument 'rows[2].title' of milvus_insert"), message
    message = await fails(client, "milvus_query", collection_name="docs", filter="id >= 0", output_fields=["\ud800"])
    assert "'output_fields[0]'" in message, message
    assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 3


async def test_filter_integers_beyond_int64_are_refused_before_milvus(client: Client) -> None:
    """Found by the fuzzer: Milvus Lite failed on a filter integer wider than 64 bits with Python's own words
    ("Milvus refused to query: Python int too large to convert to C long"), in every tool that filters."""
    await make_docs(client, n=3)
    for expr in ("id == 9223372036854775808", "id in [1, 99999999999999999999]", "id == -9223372036854775809"):
        for tool, extra in [
            ("milvus_query", {}),
            ("milvus_count", {}),
            ("milvus_delete", {}),
            ("milvus_search", {"vector": [1.0] * 4}),
        ]:
            message = await fails(client, tool, collection_name="docs", filter=expr, **extra)
            assert message.startswith("Filter number ") and "does not fit in 64 bits" in message, message
    # The edges of int64, floats and strings that look like big numbers are fine.
    for expr in (
        "id <= 9223372036854775807",
        "id >= -9223372036854775808",
        "id < 1e20",
        'title != "99999999999999999999"',
    ):
        assert (await ok(client, "milvus_count", collection_name="docs", filter=expr))["count"] == 3, expr
