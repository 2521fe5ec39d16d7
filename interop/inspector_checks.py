"""Drive the server through the MCP Inspector CLI (`mcp-inspector --cli`) and check every answer.

One Inspector process per call, as a person or a script would use it. Over stdio each call starts a
fresh server on the same database (configured with `-e MILVUS_URI=...`, the way MCP clients configure
servers); over HTTP and SSE every call opens a new session on the running server.

Prints one `PASS <label>: <what>` or `FAIL <label>: <what>: <why>` line per check; exits 1 if any
check failed. Standard library only.

    python inspector_checks.py --inspector node_modules/.bin/mcp-inspector --label inspector/http \
        --url http://127.0.0.1:8000/mcp --transport http
    python inspector_checks.py --inspector ... --label inspector/stdio --db /tmp/x.db -- mcp-server-milvus
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCENARIO = json.loads((HERE / "scenario.json").read_text())
CALL_TIMEOUT = 90.0
"""Seconds for one Inspector invocation (over stdio it includes starting the server and Milvus Lite)."""
TOOL_ERROR_EXIT = 5
"""The Inspector CLI's exit code when the tool result has isError: true."""

failures = 0


def report(label: str, what: str, problem: str | None, detail: str = "") -> None:
    global failures
    if problem is None:
        print(f"PASS {label}: {what}", flush=True)
    else:
        failures += 1
        print(f"FAIL {label}: {what}: {problem}", flush=True)
        if detail:
            print("    " + detail.strip().replace("\n", "\n    ")[-3000:], flush=True)


class Inspector:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def run(self, *extra: str) -> tuple[int, Any, str]:
        """Run the Inspector CLI with --format json; return (exit code, parsed stdout or None, stderr)."""
        a = self.args
        cmd = [a.inspector, "--cli", "--format", "json", *extra]
        if a.url:
            cmd += ["--transport", a.transport, "--server-url", a.url]
        else:
            cmd += ["-e", f"MILVUS_URI={a.db}", "--", *a.server_command]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=CALL_TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            return -1, None, f"timed out after {CALL_TIMEOUT:g} s; stderr: {exc.stderr or ''}"
        try:
            out = json.loads(done.stdout) if done.stdout.strip() else None
        except json.JSONDecodeError:
            out = None
            done.stderr = f"stdout is not JSON: {done.stdout[:500]!r}\n{done.stderr}"
        return done.returncode, out, done.stderr

    def call(self, tool: str, arguments: dict[str, Any], *extra: str) -> tuple[int, Any, str]:
        return self.run(
            "--method", "tools/call", "--tool-name", tool, "--tool-args-json", json.dumps(arguments), *extra
        )


def structured(code: int, out: Any, err: str) -> tuple[dict[str, Any] | None, str | None]:
    """The structuredContent of a successful call, or the reason it is not one."""
    if code != 0:
        return None, f"exit code {code}"
    result = (out or {}).get("result")
    if not isinstance(result, dict):
        return None, f"no result in {out!r}"[:300]
    if result.get("isError"):
        return None, f"isError: {result.get('content')}"
    sc = result.get("structuredContent")
    if not isinstance(sc, dict):
        return None, "no structuredContent"
    text = (result.get("content") or [{}])[0].get("text", "")
    try:
        if json.loads(text) != sc:
            return None, "the text content is not the structured content"
    except json.JSONDecodeError:
        return None, f"the text content is not JSON: {text[:200]!r}"
    return sc, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inspector", required=True, help="path of the mcp-inspector executable")
    parser.add_argument("--label", required=True)
    parser.add_argument("--url", help="server URL (HTTP transports)")
    parser.add_argument("--transport", choices=["http", "sse"], default="http")
    parser.add_argument("--db", help="Milvus Lite database for the stdio server (passed as -e MILVUS_URI=...)")
    parser.add_argument("--skip-portability", action="store_true", help="skip the tools/list --strict check")
    parser.add_argument("server_command", nargs="*", help="the stdio server command")
    args = parser.parse_args()
    if not args.url and not (args.db and args.server_command):
        parser.error("give --url, or --db and the server command")
    ins = Inspector(args)
    label = args.label
    s = SCENARIO

    # tools/list
    code, out, err = ins.run("--method", "tools/list")
    tools = ((out or {}).get("result") or {}).get("tools") or []
    names = {t.get("name") for t in tools}
    missing = [n for n in s["required_tools"] if n not in names]
    bad_schema = [t.get("name") for t in tools if (t.get("inputSchema") or {}).get("type") != "object"]
    problem = (
        f"exit code {code}"
        if code != 0
        else f"missing tools {missing}"
        if missing
        else f"inputSchema not an object schema: {bad_schema}"
        if bad_schema
        else None
    )
    report(label, f"tools/list ({len(tools)} tools)", problem, err if problem else "")

    if not args.skip_portability:
        code, out, err = ins.run("--method", "tools/list", "--strict")
        report(
            label,
            "tools/list --strict (no error-severity schema portability problem)",
            None if code == 0 else f"exit code {code}",
            err if code else "",
        )

    # create
    sc, problem = structured(*(r := ins.call("milvus_create_collection", s["create"])))
    if sc is not None:
        dims = [(f.get("name"), f.get("dim")) for f in sc.get("vector_fields", [])]
        if sc.get("collection_name") != "docs" or sc.get("load_state") != "Loaded" or dims != [("vector", 4)]:
            problem = f"unexpected answer {sc}"
    report(label, "tools/call milvus_create_collection", problem, r[2] if problem else "")

    # insert
    sc, problem = structured(*(r := ins.call("milvus_insert", s["insert"])))
    if sc is not None and (sc.get("insert_count") != 3 or sorted(sc.get("ids", [])) != [0, 1, 2]):
        problem = f"unexpected answer {sc}"
    report(label, "tools/call milvus_insert", problem, r[2] if problem else "")

    # search
    sc, problem = structured(*(r := ins.call("milvus_search", s["search"])))
    if sc is not None:
        hits = sc.get("hits") or []
        want = s["expect_search"]
        if (
            not hits
            or hits[0].get("id") != want["top_id"]
            or (hits[0].get("entity") or {}).get("title") != want["top_title"]
            or sorted(h.get("id") for h in hits) != want["ids"]
            or abs(hits[0].get("score", 0) - 1.0) > 1e-3
        ):
            problem = f"unexpected hits {hits}"
    report(label, "tools/call milvus_search", problem, r[2] if problem else "")

    # query
    sc, problem = structured(*(r := ins.call("milvus_query", s["query"])))
    if sc is not None:
        got = sorted([row.get("id"), row.get("title")] for row in sc.get("rows", []))
        if got != s["expect_query"]:
            problem = f"unexpected rows {sc.get('rows')}"
    report(label, "tools/call milvus_query", problem, r[2] if problem else "")

    # a tool error: its own exit code, isError and the agent-facing message
    e = s["error"]
    code, out, err = ins.call(e["tool"], e["arguments"])
    result = (out or {}).get("result") or {}
    text = " ".join(c.get("text", "") for c in result.get("content") or [])
    problem = (
        f"exit code {code}, expected {TOOL_ERROR_EXIT}"
        if code != TOOL_ERROR_EXIT
        else "isError is not true"
        if result.get("isError") is not True
        else f"message {text!r} lacks {e['text_contains']!r}"
        if e["text_contains"] not in text
        else None
    )
    report(label, f"tool error gives exit code {TOOL_ERROR_EXIT} and isError", problem, err if problem else "")

    # the same server through the Inspector's 2026 ("modern") protocol era
    code, out, err = ins.call("milvus_count", {"collection_name": "docs"}, "--protocol-era", "modern")
    sc, problem = structured(code, out, err)
    if sc is not None and sc.get("count") != 3:
        problem = f"unexpected answer {sc}"
    report(label, "tools/call milvus_count with --protocol-era modern", problem, err if problem else "")

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
