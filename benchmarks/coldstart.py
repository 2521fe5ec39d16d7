"""Cold start: from spawning `python -m mcp_server_milvus` (stdio) to the first tools/list answer.

The benchmark writes `initialize`, `notifications/initialized` and `tools/list` to the child's stdin as
soon as it is spawned (the 2025-11-25 handshake any MCP client does) and stops the clock when the
`tools/list` response arrives on stdout. One unmeasured run first warms the OS file cache and the
bytecode cache; the figure is the median of the measured runs. A run under `python -X importtime`
then lists the imports that cost the most.
"""

from __future__ import annotations

import json
import selectors
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Bench, BenchError
from benchmarks.procs import child_env, stop_process

TARGET_SECONDS = 1.0
READ_TIMEOUT = 30.0
MESSAGES = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "benchmarks", "version": "0"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
]
PAYLOAD = "".join(json.dumps(m) + "\n" for m in MESSAGES).encode()


def _read_until_tools(proc: subprocess.Popen[bytes], deadline: float) -> dict[str, Any]:
    """Read stdout lines until the tools/list response; its result."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise BenchError("no tools/list answer in time")
            line = proc.stdout.readline()
            if not line:
                raise BenchError(f"the server closed stdout (exit code {proc.poll()})")
            message = json.loads(line)
            if message.get("id") == 2:
                return message["result"]  # type: ignore[no-any-return]


def spawn_to_tools(tmp: Path, *python_flags: str) -> tuple[float, int, str]:
    """Seconds from spawn to the tools/list answer, the tool count, and the child's stderr."""
    command = [sys.executable, *python_flags, "-m", "mcp_server_milvus", "--uri", str(tmp / "cold.db")]
    elapsed, listing, stderr = spawn_command(command, tmp)
    return elapsed, len(listing["tools"]), stderr


def spawn_command(command: list[str], tmp: Path) -> tuple[float, dict[str, Any], str]:
    """Seconds from spawning any stdio MCP server `command` to its tools/list answer, that answer's result,
    and the child's stderr."""
    err_path = tmp / "coldstart.stderr"
    with err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=child_env(tmp))
    try:
        assert proc.stdin is not None
        proc.stdin.write(PAYLOAD)
        proc.stdin.flush()
        listing = _read_until_tools(proc, time.monotonic() + READ_TIMEOUT)
        elapsed = time.perf_counter() - started
        proc.stdin.close()
        proc.wait(timeout=15)
    finally:
        stop_process(proc)
    return elapsed, listing, err_path.read_text(errors="replace")


def importtime_top(stderr: str, n: int = 10) -> dict[str, list[dict[str, Any]]]:
    """The top-level imports by cumulative time, and any imports by self time, in milliseconds."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        entries.append((name.strip(), depth, int(self_us) / 1000, int(cumulative_us) / 1000))
    top_level = sorted((e for e in entries if e[1] == 0), key=lambda e: -e[3])[:n]
    by_self = sorted(entries, key=lambda e: -e[2])[:n]
    packages: dict[str, float] = {}
    for name, _, self_ms, _ in entries:
        root = name.split(".")[0]
        packages[root] = packages.get(root, 0.0) + self_ms
    return {
        "total_ms": round(sum(e[2] for e in entries), 1),
        "top_level_cumulative": [{"module": m, "cumulative_ms": round(c, 1)} for m, _, _, c in top_level],
        "by_package_self": [
            {"package": p, "self_ms": round(ms, 1)} for p, ms in sorted(packages.items(), key=lambda kv: -kv[1])[:n]
        ],
        "self": [{"module": m, "self_ms": round(s, 1)} for m, _, s, _ in by_self],
    }


def measure(b: Bench) -> dict[str, Any]:
    runs = b.pick(7, 3)
    tmp = b.path("coldstart")
    tmp.mkdir(exist_ok=True)
    first, tools, _ = spawn_to_tools(tmp)
    times = [spawn_to_tools(tmp)[0] for _ in range(runs)]
    median = statistics.median(times)
    _, _, stderr = spawn_to_tools(tmp, "-X", "importtime")
    imports = importtime_top(stderr)
    return {
        "config": {"runs": runs, "command": "python -m mcp_server_milvus --uri <tmp>/cold.db (stdio)"},
        "tools": tools,
        "first_run_s": round(first, 3),
        "median_s": round(median, 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "runs_s": [round(t, 3) for t in times],
        "importtime": imports,
        "targets": [
            {
                "name": f"cold start: spawn to first tools/list < {TARGET_SECONDS} s (median)",
                "value": round(median, 3),
                "limit": TARGET_SECONDS,
                "met": median < TARGET_SECONDS,
            }
        ],
    }


async def run(b: Bench) -> dict[str, Any]:
    import anyio

    return await anyio.to_thread.run_sync(measure, b)


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["measure", "value"]
    rows = [
        ["median spawn → tools/list", f"{result['median_s']:.3f} s"],
        ["min / max", f"{result['min_s']:.3f} / {result['max_s']:.3f} s ({result['config']['runs']} runs)"],
        ["first run (unmeasured warm-up)", f"{result['first_run_s']:.3f} s"],
        ["tools listed", str(result["tools"])],
    ]
    imports = result["importtime"]
    rows.append(["all imports (python -X importtime)", f"{imports['total_ms']:.0f} ms"])
    for entry in imports["by_package_self"][:8]:
        rows.append([f"  imports of {entry['package']}", f"{entry['self_ms']:.0f} ms"])
    return head, rows
