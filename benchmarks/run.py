"""Run the benchmarks: `python -m benchmarks.run [--quick] [--only NAME] [--rows N] [--dim D] [--repeat R]`.

Prints a table per benchmark, writes benchmarks/results/latest.json (and latest.md, the same tables in
Markdown), and draws benchmarks/charts/*.png when matplotlib is installed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

# pymilvus reads MILVUS_URI when it is imported and fails on a Milvus Lite path: nothing here uses it.
os.environ.pop("MILVUS_URI", None)

import anyio

from benchmarks import (
    cache,
    charts,
    coldstart,
    concurrency,
    context,
    embeddings,
    flush,
    guards,
    ingest,
    knobs,
    overhead,
    peer,
    profile,
    scale,
    stall,
)
from benchmarks.harness import Bench, create_collection
from benchmarks.procs import lite_server, settle

HERE = Path(__file__).resolve().parent
FAMILIES: dict[str, ModuleType] = {
    "coldstart": coldstart,
    "context": context,
    "overhead": overhead,
    "cache": cache,
    "concurrency": concurrency,
    "ingest": ingest,
    "guards": guards,
    "embeddings": embeddings,
    "peer": peer,
    "stall": stall,
    "flush": flush,
    "scale": scale,
    "profile": profile,
    "knobs": knobs,
}
"""Every benchmark, in the order they run."""
NEEDS_ENGINE = {"context", "overhead", "cache", "concurrency", "ingest", "guards", "embeddings", "peer", "profile"}
"""Benchmarks that use the shared `milvus-lite server` child and its search collection."""
LAST = ("stall", "flush", "knobs", "scale")
"""Benchmarks that start engines of their own: they run after the shared child has stopped."""
FAMILY_TIMEOUT = 900.0
"""Seconds one benchmark may take before it is abandoned (a hung child must not hang the run); a module's own
`TIMEOUT` overrides it."""
TITLES = {
    "coldstart": "Cold start",
    "context": "Context cost",
    "overhead": "Overhead per call (MCP vs direct)",
    "cache": "Schema cache",
    "concurrency": "Concurrent milvus_search",
    "ingest": "Ingest",
    "guards": "Guards: the existence check and the 1 MB error path",
    "embeddings": "Embeddings: text in, against the model's own encode",
    "peer": "Side by side with zilliztech's mcp-server-milvus (stdio)",
    "stall": "Stall: fast calls behind slow searches (stdio)",
    "flush": "Flush: metadata calls over unflushed rows, and auto-flush on Milvus Lite (stdio)",
    "scale": "Scale and memory: Milvus Lite engine process (stdio)",
    "profile": "Profile: CPU ms per call (this process unless named; server tax = tool-layer - direct)",
    "knobs": "Knobs: the stall scenario with each piece of the engine's tuning turned off (direct)",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the search collection, and per ingest run")
    parser.add_argument("--dim", type=int, default=128, help="vector dimension of the search collection")
    parser.add_argument("--repeat", type=int, default=None, help="samples per op and mode (default 200, --quick 30)")
    parser.add_argument("--quick", action="store_true", help="fewer samples everywhere: a smoke run of ~1-2 minutes")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these (repeat or comma-separate): {', '.join(FAMILIES)}",
    )
    parser.add_argument(
        "--scale-sizes",
        default=None,
        metavar="N,N,...",
        help="collection sizes of the scale benchmark (default 10000,100000; --quick 10000); 1000000 takes long",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json", help="the JSON result file")
    parser.add_argument("--charts", type=Path, default=HERE / "charts", help="directory for the PNG charts")
    parser.add_argument("--no-charts", action="store_true", help="do not draw charts")
    args = parser.parse_args(argv)
    only = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    unknown = [n for n in only if n not in FAMILIES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
    args.only = only or list(FAMILIES)
    if args.repeat is None:
        args.repeat = 30 if args.quick else 200
    try:
        sizes = [int(n) for n in (args.scale_sizes or "").split(",") if n.strip()]
    except ValueError:
        parser.error("--scale-sizes takes row counts separated by commas, e.g. 10000,100000,1000000")
    args.scale_sizes = tuple(sizes) if sizes else scale.DEFAULT_SIZES[: 1 if args.quick else None]
    if min(args.scale_sizes) < 1000:
        parser.error("--scale-sizes must each be >= 1000")
    if args.rows < 100 or args.dim < 2 or args.repeat < 2:
        parser.error("--rows must be >= 100, --dim >= 2, --repeat >= 2")
    return args


def machine() -> dict[str, Any]:
    versions = {}
    for dist in ("milvus-agent-mcp", "mcp", "pymilvus", "milvus-lite", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def extra_timeout(name: str, b: Bench) -> float:
    """Seconds a benchmark may take beyond FAMILY_TIMEOUT, if it says so (scale: by its rows)."""
    extra = getattr(FAMILIES[name], "extra_timeout", None)
    return float(extra(b)) if extra else 0.0


async def run_all(args: argparse.Namespace, tmp: Path) -> tuple[dict[str, Any], dict[str, float]]:
    b = Bench(tmp=tmp, rows=args.rows, dim=args.dim, repeat=args.repeat, quick=args.quick, scale_sizes=args.scale_sizes)
    results: dict[str, Any] = {}
    walls: dict[str, float] = {}

    async def one(name: str, fn: Callable[[Bench], Awaitable[dict[str, Any]]]) -> None:
        print(f"== {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            with anyio.fail_after(getattr(FAMILIES[name], "TIMEOUT", FAMILY_TIMEOUT) + extra_timeout(name, b)):
                results[name] = await fn(b)
        except Exception as exc:
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        walls[name] = round(time.perf_counter() - started, 1)
        print(f"   {name}: {walls[name]} s", file=sys.stderr, flush=True)

    needs_engine = [n for n in args.only if n in NEEDS_ENGINE]
    for name in (n for n in args.only if n not in NEEDS_ENGINE and n not in LAST):
        await one(name, FAMILIES[name].run)
    if needs_engine:
        with lite_server(tmp / "engine-data") as (uri, pid):
            b.lite_uri, b.lite_pid = uri, pid
            started = time.perf_counter()
            await create_collection(uri, b.collection, b.dim, b.rows)
            walls["setup"] = round(time.perf_counter() - started, 1)
            for name in needs_engine:
                walls[f"settle before {name}"] = await settle([pid])
                await one(name, FAMILIES[name].run)
    for name in (n for n in LAST if n in args.only):
        await one(name, FAMILIES[name].run)
    return results, walls


def render(results: dict[str, Any], markdown: bool) -> str:
    out: list[str] = []
    for name, result in results.items():
        out.append(f"### {TITLES[name]}" if markdown else f"\n{TITLES[name]}")
        if "error" in result:
            out.append(f"FAILED: {result['error']}")
            continue
        head, rows = FAMILIES[name].table(result)
        widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
        if markdown:
            out.append("| " + " | ".join(head) + " |")
            out.append("|" + "|".join("---" for _ in head) + "|")
            out.extend("| " + " | ".join(r) + " |" for r in rows)
            out.append("")
        else:
            out.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
            out.append("  ".join("-" * w for w in widths))
            out.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
    targets = [t for r in results.values() for t in r.get("targets", [])]
    if targets:
        out.append("### Targets" if markdown else "\nTargets")
        for t in targets:
            line = f"{'MET   ' if t['met'] else 'MISSED'} {t['name']}: {t['value']}"
            out.append(f"- {line}" if markdown else line)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C and SIGTERM (even when started in the background, where SIGINT is ignored) unwind through
    # every `finally`, so that no child process outlives the run.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    # A handler on the root logger first: the in-memory servers' `basicConfig` then leaves it alone, and
    # neither they nor the HTTP client log every request to this console (which would cost time too).
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import pymilvus  # noqa: F401  (it configures its loggers when imported: quiet them after that)

    # pymilvus logs a traceback for every failed RPC, among them the UNIMPLEMENTED that async create_index
    # always ends with on Milvus Lite (handled in harness.create_collection).
    logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)
    started = time.perf_counter()
    when = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="mcp-milvus-bench-"))
    try:
        results, walls = anyio.run(run_all, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = round(time.perf_counter() - started, 1)
    meta = {
        "date": when,
        "machine": machine(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "wall_seconds": {**walls, "total": total},
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    # The numbers first: a table that fails to render must not lose the run.
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    print(render(results, markdown=False))
    print(f"\nwall time {total} s ({', '.join(f'{k} {v} s' for k, v in walls.items())})")
    header = f"Run {when} on {meta['machine']['nproc']} cores, Python {meta['machine']['python']}; "
    header += f"args {' '.join(sys.argv[1:]) or '(defaults)'}; wall {total} s\n\n"
    args.out.with_suffix(".md").write_text(header + render(results, markdown=True) + "\n")
    print(f"results: {args.out} and {args.out.with_suffix('.md')}")
    if args.no_charts:
        pass
    elif charts.available():
        footer = f"{when[:10]} · {meta['machine']['nproc']} cores · Python {meta['machine']['python']}"
        for path in charts.write(results, args.charts, footer):
            print(f"chart: {path}")
    else:
        print("charts skipped: matplotlib is not installed (pip install -e '.[bench]')")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
