"""Knobs: does each piece of the engine's tuning still keep quick calls quick? The stall scenario, per knob.

The engine process is started here, once per variant: all tuning on, and each knob turned off in turn.
It runs as `python -m benchmarks.knobs VARIANT <engine.host arguments>`, which sets the variant's module
constants and then calls `engine.host.main`: the product has no switch for its tuning, and needs none. (The
heavy lane's lowered priority was a knob too, measured here and removed: see benchmarks/README.md "Knobs".)
Each engine serves one database holding an UNFLUSHED-at-first `slow` collection (15k x 64) and a flushed
10-row `tiny` in the same database (an agent works in one database). The load is `stall`'s "engine,
direct" scenario (`stall._direct_calls`, `stall._measure`): N = 0, 1, 3 workers keep limit-100 searches of
`slow` in flight while list_collections, describe_collection, a count(*) query and a limit-3 search of
`tiny` are timed, all variants interleaved in rotating order every round. It runs twice: with auto-flush
at its default (2 s: `slow` is flushed before timing starts, the case agents meet most of the time) and
off (searches over unflushed rows, the case between two flushes).

Direct `AsyncMilvusClient` calls, not an MCP server: the knobs act inside the engine, and on 2 cores an
MCP server in front would add its own CPU time to the noise. The result per variant is quick calls' p50
and p95 at N = 3 (and their ratio to the same variant's idle, N = 0, figures) and the slow searches'
throughput at N = 3, approximated as 3 / their mean latency.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from benchmarks import stall
from benchmarks.harness import Bench, BenchError, create_collection, vectors
from benchmarks.procs import child_env, settle

ROOT = Path(__file__).resolve().parent.parent
READY_SECONDS = 120.0
TIMEOUT = 2400.0
"""Seconds the whole benchmark may take (`run.FAMILY_TIMEOUT` is too short for ten engines, under load)."""


def _lanes_off() -> None:
    from mcp_server_milvus.engine import host_lanes

    host_lanes.Lanes.wrap = lambda self, servicer: None  # type: ignore[method-assign]


def _gc_default() -> None:
    from mcp_server_milvus.engine import host

    host.GC_THRESHOLD = gc.get_threshold()[0]  # Python's own, before the engine changes it


def _switch_default() -> None:
    from mcp_server_milvus.engine import host

    host.SWITCH_INTERVAL = 0.005


VARIANTS: dict[str, Callable[[], None]] = {
    "all on": lambda: None,
    "lanes off": _lanes_off,
    "GC default (700)": _gc_default,
    "switch interval 5 ms": _switch_default,
}
"""Each variant turns one knob off (to what Python or a plain Milvus Lite would do) before the engine starts."""
AUTO_FLUSH = {"auto-flush on (2 s)": 2.0, "auto-flush off": 0.0}
IN_FLIGHT = str(stall.IN_FLIGHT[-1])


@asynccontextmanager
async def _engine(b: Bench, index: int, variant: str, auto_flush: float) -> AsyncIterator[tuple[int, str]]:
    """An engine process of this variant on a fresh database: (pid, uri). This process is its one owner."""
    from mcp_server_milvus.engine.address import make_private, socket_path
    from mcp_server_milvus.engine.rundir import claim_name

    db = b.path(f"knobs-{auto_flush:g}-{index}.db")
    run_dir = Path(f"{db}.engine")
    make_private(run_dir, tighten=True)
    (run_dir / "owners").mkdir()
    owner = run_dir / "owners" / claim_name()
    owner.touch()
    socket = socket_path(run_dir)
    env = {**child_env(b.tmp), "PYTHONPATH": str(ROOT)}
    args = ["--data-dir", str(db), "--run-dir", str(run_dir), "--socket", str(socket)]
    command = [sys.executable, "-m", "benchmarks.knobs", variant, *args, "--auto-flush-seconds", str(auto_flush)]
    with open(run_dir / "engine.log", "ab") as log:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=env)
    try:
        assert proc.stdout is not None
        with anyio.move_on_after(READY_SECONDS):
            line = await anyio.to_thread.run_sync(proc.stdout.readline)
        if line.strip() != b"READY":
            raise BenchError(f"the {variant!r} engine did not start: see {run_dir / 'engine.log'}")
        yield proc.pid, f"unix:{socket}"
    finally:
        owner.unlink(missing_ok=True)
        proc.terminate()
        try:
            await anyio.to_thread.run_sync(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _flushed(log: Path, seconds: float) -> None:
    """Wait for the engine's auto-flush of `slow` (it logs each), at most `seconds`."""
    with anyio.move_on_after(seconds):
        while "Auto-flushed default.slow" not in log.read_text(errors="replace"):
            await anyio.sleep(0.2)


async def _one_setting(b: Bench, auto_flush: float, rows: int, samples: int, rounds: int) -> dict[str, Any]:
    from pymilvus import AsyncMilvusClient

    queries = vectors(64, stall.SLOW_DIM, b.seed + 5)
    async with AsyncExitStack() as stack:
        engines = {}
        for k, variant in enumerate(VARIANTS):
            engines[variant] = await stack.enter_async_context(_engine(b, k, variant, auto_flush))
        for _, uri in engines.values():
            await create_collection(uri, "slow", stall.SLOW_DIM, rows, flush=False, seed=b.seed)
            await create_collection(uri, "tiny", 8, 10, seed=b.seed)
        if auto_flush:
            for k in range(len(VARIANTS)):
                await _flushed(b.path(f"knobs-{auto_flush:g}-{k}.db.engine") / "engine.log", auto_flush + 30)
        await settle([pid for pid, _ in engines.values()])
        loads = {}
        for variant, (_, uri) in engines.items():
            client, searcher = AsyncMilvusClient(uri=uri), AsyncMilvusClient(uri=uri)
            stack.push_async_callback(client.close)
            stack.push_async_callback(searcher.close)
            loads[variant] = stall._direct_calls(client, searcher, queries)
        return await stall._measure(loads, samples, rounds)


async def run(b: Bench) -> dict[str, Any]:
    rows = b.pick(15_000, 8_000)
    samples, rounds = b.pick(30, 6), b.pick(5, 2)
    settings = {}
    for label, seconds in AUTO_FLUSH.items():
        settings[label] = await _one_setting(b, seconds, rows, samples, rounds)
    return {
        "config": {
            "client": "AsyncMilvusClient, straight to each variant's engine process",
            "slow_collection": f"{rows} x {stall.SLOW_DIM} in the same database as `tiny`",
            "slow_limit": stall.SLOW_LIMIT,
            "samples_per_call": samples,
            "rounds": rounds,
            "in_flight": list(stall.IN_FLIGHT),
            "variants": list(VARIANTS),
        },
        "settings": settings,
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["setting", "variant", "quick call (N=3)", "p50 ms", "p95 ms", "p50 / idle", "slow searches/s"]
    rows = []
    for setting, variants in result["settings"].items():
        for variant, by_n in variants.items():
            block = by_n[IN_FLIGHT]
            per_s = int(IN_FLIGHT) * 1000 / block["slow_search"]["mean_ms"]
            for name, s in block["fast"].items():
                short = name.removeprefix("milvus_")
                rows.append(
                    [
                        setting,
                        variant,
                        short,
                        f"{s['p50_ms']:.1f}",
                        f"{s['p95_ms']:.1f}",
                        f"{s['p50_ratio']:.2f}x",
                        f"{per_s:.1f}",
                    ]
                )
    return head, rows


def _engine_main(argv: list[str]) -> int:
    """`python -m benchmarks.knobs VARIANT ...`: the engine, with one knob turned off."""
    variant, *host_args = argv
    VARIANTS[variant]()
    from mcp_server_milvus.engine import host

    return host.main(host_args)


if __name__ == "__main__":
    sys.exit(_engine_main(sys.argv[1:]))
