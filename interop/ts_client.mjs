// The official TypeScript SDK client (@modelcontextprotocol/sdk, pinned in package.json) running the
// scenario of scenario.json against the server over stdio, SSE or streamable HTTP.
//
//   node ts_client.mjs http  http://127.0.0.1:8000/mcp
//   node ts_client.mjs sse   http://127.0.0.1:8000/sse
//   node ts_client.mjs stdio /tmp/x.db mcp-server-milvus [args...]   (the database goes in MILVUS_URI)
//
// Prints one `PASS <label>: <what>` or `FAIL <label>: <what>: <why>` line per check; exits 1 on any
// failure (and 2 on bad usage).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";

const here = dirname(fileURLToPath(import.meta.url));
const S = JSON.parse(readFileSync(join(here, "scenario.json"), "utf8"));
const REQUEST_TIMEOUT_MS = 60_000;
const TOTAL_TIMEOUT_MS = 240_000;

const [mode, target, ...serverCommand] = process.argv.slice(2);
if (!["stdio", "sse", "http"].includes(mode) || !target || (mode === "stdio" && serverCommand.length === 0)) {
  console.error("usage: node ts_client.mjs http|sse URL | node ts_client.mjs stdio DB_PATH COMMAND [ARGS...]");
  process.exit(2);
}
const label = `ts-sdk/${mode}`;
let failures = 0;

function report(what, problem) {
  if (problem) {
    failures += 1;
    console.log(`FAIL ${label}: ${what}: ${problem}`);
  } else {
    console.log(`PASS ${label}: ${what}`);
  }
}

// Run one step: `fn` returns null when it passes, or a problem; a thrown error is a failure too.
async function step(what, fn) {
  try {
    report(what, await fn());
  } catch (err) {
    report(what, `threw ${err?.stack ?? err}`);
  }
}

// The structured content of a successful call, after checking that the text content carries the same JSON.
function structured(result) {
  if (result.isError) throw new Error(`isError: ${JSON.stringify(result.content)}`);
  const sc = result.structuredContent;
  if (!sc || typeof sc !== "object") throw new Error("no structuredContent");
  const text = result.content?.[0]?.text ?? "";
  if (!isDeepStrictEqual(JSON.parse(text), sc)) throw new Error("the text content is not the structured content");
  return sc;
}

function makeTransport() {
  if (mode === "http") return new StreamableHTTPClientTransport(new URL(target));
  if (mode === "sse") return new SSEClientTransport(new URL(target));
  return new StdioClientTransport({
    command: serverCommand[0],
    args: serverCommand.slice(1),
    // Configured the way MCP client configs do it: through the environment.
    env: { ...getDefaultEnvironment(), MILVUS_URI: target },
    stderr: "inherit",
  });
}

async function main() {
  const client = new Client({ name: "mcp-server-milvus-interop-ts", version: "1.0.0" });
  const transport = makeTransport();
  const opts = { timeout: REQUEST_TIMEOUT_MS };

  let connected = false;
  await step("initialize", async () => {
    await client.connect(transport, opts);
    connected = true;
    const info = client.getServerVersion();
    if (info?.name !== "milvus") return `serverInfo is ${JSON.stringify(info)}`;
    if (!client.getServerCapabilities()?.tools) return "no tools capability";
    if (mode === "http" && !SUPPORTED_PROTOCOL_VERSIONS.includes(transport.protocolVersion))
      return `negotiated protocol version ${transport.protocolVersion}`;
    return null;
  });
  if (!connected) return;

  try {
    let toolCount = 0;
    await step("tools/list", async () => {
      // Listing also lets the SDK validate each structuredContent below against the tool's outputSchema.
      const { tools } = await client.listTools(undefined, opts);
      toolCount = tools.length;
      const names = new Set(tools.map((t) => t.name));
      const missing = S.required_tools.filter((n) => !names.has(n));
      if (missing.length) return `missing tools ${missing}`;
      const noOutput = S.required_tools.filter((n) => !tools.find((t) => t.name === n).outputSchema);
      if (noOutput.length) return `no outputSchema on ${noOutput}`;
      return null;
    });
    console.log(`    (${toolCount} tools)`);

    const call = (name, args) => client.callTool({ name, arguments: args }, undefined, opts);

    await step("tools/call milvus_create_collection", async () => {
      const sc = structured(await call("milvus_create_collection", S.create));
      const dims = (sc.vector_fields ?? []).map((f) => [f.name, f.dim]);
      if (sc.collection_name !== "docs" || sc.load_state !== "Loaded" || !isDeepStrictEqual(dims, [["vector", 4]]))
        return `unexpected answer ${JSON.stringify(sc)}`;
      return null;
    });

    await step("tools/call milvus_insert", async () => {
      const sc = structured(await call("milvus_insert", S.insert));
      const ids = [...(sc.ids ?? [])].sort((a, b) => a - b);
      if (sc.insert_count !== 3 || !isDeepStrictEqual(ids, [0, 1, 2])) return `unexpected answer ${JSON.stringify(sc)}`;
      return null;
    });

    await step("tools/call milvus_search", async () => {
      const sc = structured(await call("milvus_search", S.search));
      const hits = sc.hits ?? [];
      const want = S.expect_search;
      const ids = hits.map((h) => h.id).sort((a, b) => a - b);
      if (
        !hits.length ||
        hits[0].id !== want.top_id ||
        hits[0].entity?.title !== want.top_title ||
        !isDeepStrictEqual(ids, want.ids) ||
        Math.abs(hits[0].score - 1) > 1e-3
      )
        return `unexpected hits ${JSON.stringify(hits)}`;
      return null;
    });

    await step("tools/call milvus_query", async () => {
      const sc = structured(await call("milvus_query", S.query));
      const got = (sc.rows ?? []).map((r) => [r.id, r.title]).sort((a, b) => a[0] - b[0]);
      if (!isDeepStrictEqual(got, S.expect_query)) return `unexpected rows ${JSON.stringify(sc.rows)}`;
      return null;
    });

    await step("tool error is an isError result", async () => {
      const e = S.error;
      const result = await call(e.tool, e.arguments);
      if (result.isError !== true) return `isError is ${result.isError}`;
      const text = (result.content ?? []).map((c) => c.text ?? "").join(" ");
      if (!text.includes(e.text_contains)) return `message ${JSON.stringify(text)} lacks ${JSON.stringify(e.text_contains)}`;
      return null;
    });
  } finally {
    await client.close().catch(() => {});
  }
}

const watchdog = setTimeout(() => {
  console.log(`FAIL ${label}: the whole scenario did not finish within ${TOTAL_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);
watchdog.unref();

main()
  .catch((err) => report("scenario", `threw ${err?.stack ?? err}`))
  .finally(() => {
    clearTimeout(watchdog);
    process.exit(failures ? 1 : 0);
  });
