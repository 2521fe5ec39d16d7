#!/usr/bin/env python3
"""Quickstart: start mcp-server-milvus over stdio and drive it with a real MCP client.

It creates a text collection, inserts a few documents as plain text, searches them by keywords (and, when
the server has an embedding model, by meaning and both at once), queries them by filter, and drops the
collection: the same tool calls an AI agent makes, with no vector in sight.

    python examples/quickstart.py                    # a throwaway Milvus Lite database in a temp dir
    python examples/quickstart.py --uri ./demo.db    # your own Milvus Lite file (kept afterwards)
    python examples/quickstart.py --uri http://127.0.0.1:19530   # a Milvus server
    python examples/quickstart.py --verbose          # show the server's log as well

An MCP client such as Claude Desktop starts the server the same way: it runs the command
(`mcp-server-milvus`, here `python -m mcp_server_milvus` from this interpreter) and speaks JSON-RPC
over the process's stdin and stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

COLLECTION = "quickstart"

DOCUMENTS = [
    (1, "Milvus is a vector database built for similarity search"),
    (2, "MCP lets AI agents call tools on a server through one protocol"),
    (3, "Cosine similarity compares the angle between two vectors"),
    (4, "Bananas are a fruit rich in potassium"),
    (5, "HNSW is a graph index for approximate nearest neighbour search"),
    (6, "The quick brown fox jumps over the lazy dog"),
]

KEYWORDS = "similarity search"
MEANING = "healthy food to eat"
HYBRID = "graph index for finding close matches"


class ToolFailed(Exception):
    pass


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool; return its structured result, or raise with the message the agent would read."""
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content)
        raise ToolFailed(f"{tool} failed: {text}")
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


def step(title: str) -> None:
    print(f"\n== {title}")


def show(found: dict[str, Any]) -> None:
    for rank, hit in enumerate(found["hits"], 1):
        print(f"hit {rank}: id {hit['id']}  score {hit['score']:.3f}  {hit['entity'].get('text')}")


async def run(uri: str, errlog: TextIO) -> None:
    # The server reads its other options from this environment (MILVUS_TOKEN, MILVUS_MCP_EMBEDDING_PROVIDER, ...).
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_server_milvus", "--uri", uri], env=dict(os.environ)
    )
    async with Client(stdio_client(params, errlog=errlog)) as client:
        info = await call(client, "milvus_server_info")
        print(f"Connected to {info['backend']} {info['server_version']} at {info['uri']}")
        embedding = info.get("embedding")
        print(
            f"Embeddings: {embedding['provider']} model {embedding['model']}"
            if embedding
            else "Embeddings: none (keyword search only; pip install 'milvus-agent-mcp[embeddings]' adds meaning)"
        )
        tools = await client.list_tools()
        print(
            f"The server offers {len(tools.tools)} tools, e.g. " + ", ".join(t.name for t in tools.tools[:4]) + ", ..."
        )

        listed = await call(client, "milvus_list_collections")
        if any(c["name"] == COLLECTION for c in listed["collections"]):
            await call(client, "milvus_drop_collection", collection_name=COLLECTION, confirm_name=COLLECTION)
            print(f"(dropped the '{COLLECTION}' collection left by an earlier run)")

        step(f"Create the text collection '{COLLECTION}' (no vectors to bring: the server makes them)")
        created = await call(
            client, "milvus_create_collection", collection_name=COLLECTION, text_field="text", auto_id=False
        )
        for field in created["vector_fields"]:
            print(f"vector field '{field['name']}': {field['index_type']} index, {field['metric_type']}")

        step(f"Insert {len(DOCUMENTS)} documents as plain text")
        rows = [{"id": doc_id, "text": text} for doc_id, text in DOCUMENTS]
        inserted = await call(client, "milvus_insert", collection_name=COLLECTION, rows=rows)
        print(f"inserted {inserted['insert_count']} rows, ids {inserted['ids']}")

        step(f"Search by keywords (BM25): {KEYWORDS!r}")
        sparse = next(f["name"] for f in created["vector_fields"] if f["metric_type"] == "BM25")
        found = await call(
            client, "milvus_search", collection_name=COLLECTION, text=KEYWORDS, anns_field=sparse, limit=3
        )
        show(found)

        step("The same, only among ids above 3 (a filter)")
        found = await call(
            client, "milvus_search", collection_name=COLLECTION, text=KEYWORDS, anns_field=sparse, filter="id > 3"
        )
        show(found)

        if embedding:
            step(f"Search by meaning: {MEANING!r} (no word in common with the answer)")
            found = await call(client, "milvus_search", collection_name=COLLECTION, text=MEANING, limit=2)
            show(found)
            step(f"Hybrid search, keywords and meaning fused: {HYBRID!r}")
            found = await call(client, "milvus_hybrid_search", collection_name=COLLECTION, text=HYBRID, limit=2)
            show(found)

        step('Query: rows whose text contains "vector"')
        queried = await call(
            client, "milvus_query", collection_name=COLLECTION, filter='text like "%vector%"', output_fields=["text"]
        )
        for row in queried["rows"]:
            print(f"row id {row['id']}: {row['text']}")
        counted = await call(client, "milvus_count", collection_name=COLLECTION)
        print(f"{counted['count']} rows in the collection")

        step("Drop the collection")
        dropped = await call(client, "milvus_drop_collection", collection_name=COLLECTION, confirm_name=COLLECTION)
        print(f"dropped '{dropped['dropped']}'")


def leaf_messages(exc: BaseException) -> list[str]:
    """The messages of the exceptions inside (possibly nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [m for inner in exc.exceptions for m in leaf_messages(inner)]
    return [str(exc) or type(exc).__name__]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uri", help="A Milvus Lite .db path or http://host:port (default: a temporary .db file).")
    parser.add_argument("--verbose", action="store_true", help="Show the server's log (stderr) as it runs.")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mcp-server-milvus-") as tmp:
        uri = options.uri or str(Path(tmp) / "quickstart.db")
        log_path = Path(tmp) / "server.log"
        with log_path.open("w") as log:
            try:
                asyncio.run(run(uri, sys.stderr if options.verbose else log))
            except Exception as exc:  # a tool error, or the server could not start: say which, show its log
                print(f"\nERROR: {'; '.join(leaf_messages(exc))}", file=sys.stderr)
                if not options.verbose:
                    print(f"--- server log ---\n{log_path.read_text()}", file=sys.stderr)
                return 1
    print("\nDone.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
