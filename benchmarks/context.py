"""Context cost: what the server's tool list, instructions and typical results take of an agent's context.

Sizes are the UTF-8 bytes of compact JSON as it travels in a JSON-RPC response; tokens are estimated as
bytes / 4 (a common rule of thumb for English and JSON with GPT-style and Claude tokenizers; no
tokenizer is run). Groups are the tool modules (`mcp_server_milvus/tools/<group>.py`) of the tools in
`mcp_server_milvus.server.TOOLS`, counted from the one listing. A tool result is counted two ways: the
payload (the compact JSON text, which is also `structuredContent`) and the whole `CallToolResult` on
the wire, which carries that JSON twice (as text content and as structuredContent).
"""

from __future__ import annotations

import json
from typing import Any

from mcp import Client

from benchmarks.harness import Bench, vectors, wire_bytes

TOOLS_LIST_BUDGET = 20_000
"""Bytes of compact JSON the whole default tool list may take (issue 12; tests/test_tool_schemas.py)."""


def _cost(n_bytes: int) -> dict[str, int]:
    return {"bytes": n_bytes, "tokens_est": round(n_bytes / 4)}


def _tools_cost(tools: list[Any]) -> dict[str, Any]:
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    size = len(json.dumps({"tools": dumped}, ensure_ascii=False, separators=(",", ":")).encode())
    return {"tools": len(tools), **_cost(size)}


async def run(b: Bench) -> dict[str, Any]:
    from mcp_server_milvus.config import Settings
    from mcp_server_milvus.server import TOOLS, build_server

    settings = Settings(uri=b.lite_uri)
    server = build_server(settings)
    async with Client(server) as client:
        tools = list((await client.list_tools()).tools)
        sets = {
            "all tools": _tools_cost(tools),
            "read-only tools": _tools_cost([t for t in tools if t.annotations and t.annotations.read_only_hint]),
        }
        parts = {"inputSchema": 0, "outputSchema": 0, "description": 0}
        for t in tools:
            dumped = t.model_dump(mode="json", by_alias=True, exclude_none=True)
            for key in parts:
                if key in dumped:
                    parts[key] += len(json.dumps(dumped[key], ensure_ascii=False, separators=(",", ":")).encode())
        per_tool = sorted(({"tool": t.name, **_tools_cost([t])} for t in tools), key=lambda e: -int(e["bytes"]))
        vector = vectors(1, b.dim, b.seed + 11)[0]
        calls = {
            "describe_collection": ("milvus_describe_collection", {"collection_name": b.collection}),
            "search (10 hits)": ("milvus_search", {"collection_name": b.collection, "vector": vector, "limit": 10}),
            "query (10 rows)": ("milvus_query", {"collection_name": b.collection, "filter": "id >= 0", "limit": 10}),
        }
        results = {}
        for label, (tool, arguments) in calls.items():
            result = await client.call_tool(tool, arguments)
            text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
            results[label] = {
                "payload": _cost(len(text.encode())),
                "wire": _cost(wire_bytes(result)),
                "error": result.is_error,
            }
        instructions = server.instructions or ""
    groups: dict[str, list[str]] = {}
    for fn in TOOLS:
        groups.setdefault(fn.__module__.rsplit(".", 1)[-1], []).append(fn.__name__)
    for group, names in groups.items():
        listed = [t for t in tools if t.name in names]
        sets[f"group {group}"] = {**_tools_cost(listed), "names": names}
    return {
        "config": {"tokens": "estimated as bytes / 4", "collection": f"{b.rows} x {b.dim}"},
        "tool_sets": sets,
        "per_tool": per_tool,
        "all_tools_parts": {key: _cost(n) for key, n in parts.items()},
        "instructions": _cost(len(instructions.encode())),
        "results": results,
        "targets": [
            {
                "name": f"context: tools/list <= {TOOLS_LIST_BUDGET // 1000} KB (all tools)",
                "value": sets["all tools"]["bytes"],
                "limit": TOOLS_LIST_BUDGET,
                "met": sets["all tools"]["bytes"] <= TOOLS_LIST_BUDGET,
            }
        ],
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["what", "tools", "bytes", "≈ tokens (bytes/4)"]
    rows = [[name, str(s["tools"]), str(s["bytes"]), str(s["tokens_est"])] for name, s in result["tool_sets"].items()]
    parts = [
        [
            f"  all tools: {key}s" if key == "description" else f"  all tools: {key}",
            "",
            str(c["bytes"]),
            str(c["tokens_est"]),
        ]
        for key, c in result.get("all_tools_parts", {}).items()
    ]
    rows[1:1] = parts
    i = result["instructions"]
    rows.append(["server instructions", "", str(i["bytes"]), str(i["tokens_est"])])
    for label, r in result["results"].items():
        rows.append([f"result: {label} (payload)", "", str(r["payload"]["bytes"]), str(r["payload"]["tokens_est"])])
        rows.append([f"result: {label} (wire)", "", str(r["wire"]["bytes"]), str(r["wire"]["tokens_est"])])
    return head, rows
