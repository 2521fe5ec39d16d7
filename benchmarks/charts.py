"""PNG charts of a results file, one per benchmark family. Needs matplotlib (`pip install -e '.[bench]'`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

COLORS = {
    "direct": "#4c72b0",
    "in-memory": "#55a868",
    "tool-layer": "#dd8452",
    "stdio": "#c44e52",
    "stdio-bare": "#da8bc3",
    "http": "#8172b2",
    "this server": "#c44e52",
    "zilliztech 7d5187b": "#937860",
}


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _bars(
    ax: Any, groups: list[str], series: dict[str, list[float]], errors: dict[str, list[float]] | None = None
) -> None:
    width = 0.8 / max(1, len(series))
    for k, (name, values) in enumerate(series.items()):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(groups))]
        yerr = None
        if errors is not None:
            yerr = [[0.0] * len(values), [max(0.0, e - v) for e, v in zip(errors[name], values, strict=True)]]
        ax.bar(xs, values, width, label=name, color=COLORS.get(name), yerr=yerr, capsize=3)
    ax.set_xticks(range(len(groups)), groups)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def overhead(r: dict[str, Any], ax: Any) -> None:
    ops = list(r["ops"])
    modes = list(next(iter(r["ops"].values())))
    p50 = {m: [r["ops"][op][m]["p50_ms"] for op in ops] for m in modes}
    p95 = {m: [r["ops"][op][m]["p95_ms"] for op in ops] for m in modes}
    _bars(ax, ops, p50, p95)
    ax.set_ylabel("latency ms (bar p50, whisker p95)")
    ax.set_title("Per-call latency: direct AsyncMilvusClient vs MCP")


def concurrency(r: dict[str, Any], axes: Any) -> None:
    left, right = axes
    for t, by_level in r["transports"].items():
        levels = [int(x) for x in by_level]
        left.plot(levels, [by_level[str(x)]["throughput_rps"] for x in levels], "o-", label=t, color=COLORS.get(t))
        right.plot(levels, [by_level[str(x)]["p95_ms"] for x in levels], "o-", label=t, color=COLORS.get(t))
    for ax, label in ((left, "milvus_search calls/s"), (right, "p95 latency ms")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(r["config"]["levels"], [str(x) for x in r["config"]["levels"]])
        ax.set_xlabel("concurrent calls")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    left.set_title("Throughput")
    right.set_title("p95 latency")


def stall(r: dict[str, Any], axes: Any) -> None:
    target = r["targets"][0]["limit"] if r["targets"] else None
    for ax, (mode, by_n) in zip(axes, r["modes"].items(), strict=True):
        calls = list(next(iter(by_n.values()))["fast"])
        series = {f"N={n}": [by_n[n]["fast"][c]["p50_ratio"] for c in calls] for n in by_n}
        _bars(ax, [c.removeprefix("milvus_") for c in calls], series)
        if target:
            ax.axhline(target, color="black", linestyle="--", linewidth=1, label=f"target {target:g}x")
        ax.set_title(f"Lite {mode}" if mode != "engine, direct" else "engine, AsyncMilvusClient alone (floor)")
        ax.set_ylabel("fast-call p50 / idle p50")
        ax.legend(fontsize=8)


def coldstart(r: dict[str, Any], ax: Any) -> None:
    imports = r["importtime"]["by_package_self"][:10][::-1]
    ax.barh([e["package"] for e in imports], [e["self_ms"] for e in imports], color="#4c72b0")
    ax.set_xlabel("import ms by top-level package (python -X importtime, self time summed)")
    ax.set_title(f"Cold start: spawn to tools/list median {r['median_s']:.2f} s (target < 1.0 s)")
    ax.grid(axis="x", alpha=0.3)


def context(r: dict[str, Any], ax: Any) -> None:
    labels, values = [], []
    for name, s in r["tool_sets"].items():
        labels.append(f"tools/list: {name}")
        values.append(s["tokens_est"])
    labels.append("instructions")
    values.append(r["instructions"]["tokens_est"])
    for name, s in r["results"].items():
        labels.append(f"result: {name} (wire)")
        values.append(s["wire"]["tokens_est"])
    ax.barh(labels[::-1], values[::-1], color="#55a868")
    ax.set_xlabel("estimated tokens (bytes / 4)")
    ax.set_title("Context cost")
    ax.grid(axis="x", alpha=0.3)


def cache(r: dict[str, Any], ax: Any) -> None:
    ttls = list(r["ttl"])
    ops = list(next(iter(r["ttl"].values())))
    p50 = {f"ttl={t}": [r["ttl"][t][op]["p50_ms"] for op in ops] for t in ttls}
    p95 = {f"ttl={t}": [r["ttl"][t][op]["p95_ms"] for op in ops] for t in ttls}
    _bars(ax, ops, p50, p95)
    fetches = ", ".join(f"ttl={t}: {r['ttl'][t]['search']['schema_fetches']}" for t in ttls)
    ax.set_title(f"Schema cache (fetches in {r['config']['searches']} searches: {fetches})", fontsize=10)
    ax.set_ylabel("latency ms (bar p50, whisker p95)")


def ingest(r: dict[str, Any], ax: Any) -> None:
    batches = list(r["batches"])
    modes = list(next(iter(r["batches"].values())))
    _bars(ax, [f"batch {b}" for b in batches], {m: [r["batches"][b][m]["rows_per_s"] for b in batches] for m in modes})
    ax.set_ylabel("rows/s")
    ax.set_title(f"Ingest ({r['config']['rows']} rows x dim {r['config']['dim']})")


def peer(r: dict[str, Any], axes: Any) -> None:
    """This server and zilliztech's side by side: latencies (log scale), throughput by concurrency, cold start
    and tools/list size. A call the peer has no tool for is drawn as no bar and labelled n/a."""
    left, middle, right = axes
    servers = list(r["coldstart"])
    stall = r["stall"]
    calls = list(stall[servers[0]]["3"]["fast"])
    short = {"list_collections": "list", "describe_collection": "describe", "search": "search tiny"}
    groups = ["search 10k\nidle", *[f"{short.get(c, c)}\n3 slow" for c in calls]]
    series = {}
    for s in servers:
        fast = stall[s]["3"]["fast"]
        series[s] = [r["search"][s]["p50_ms"], *[fast[c]["p50_ms"] if c in fast else 0.0 for c in calls]]
    _bars(left, groups, series)
    for k, s in enumerate(servers):
        for i, value in enumerate(series[s]):
            if not value:
                x = i + (k - (len(servers) - 1) / 2) * 0.4
                left.text(x, 0.02, "n/a", ha="center", fontsize=8, transform=left.get_xaxis_transform())
    left.set_yscale("log")
    left.set_ylabel("p50 ms over stdio (log)")
    left.tick_params(axis="x", labelsize=8)
    left.legend(fontsize=8, loc="upper left")
    left.set_title("Latency (the stall test: while 3 slow searches run)")
    for name, by_level in r["concurrency"].items():
        levels = [int(x) for x in by_level]
        values = [by_level[str(x)]["throughput_rps"] for x in levels]
        middle.plot(levels, values, "o-", label=name, color=COLORS.get(name))
    middle.set_xscale("log", base=2)
    middle.set_xticks([1, 4, 16, 64], ["1", "4", "16", "64"])
    middle.set_xlabel("concurrent searches")
    middle.set_ylabel("calls/s")
    middle.grid(alpha=0.3)
    middle.legend(fontsize=8)
    middle.set_title("Search throughput")
    cold = r["coldstart"]
    _bars(
        right,
        ["spawn → tools/list (s)", "tools/list (k tokens ≈ bytes/4000)"],
        {s: [cold[s]["median_s"], cold[s]["tools_list_bytes"] / 4000] for s in servers},
    )
    right.set_title("Cold start and tool-list size")


def scale(r: dict[str, Any], axes: Any) -> None:
    left, right = axes
    sizes = [int(n) for n in r["sizes"]]
    by_size = list(r["sizes"].values())
    for kind, color in (("search", COLORS["direct"]), ("filtered search", COLORS["stdio"])):
        p50 = [s["search"][kind]["p50_ms"] for s in by_size]
        p95 = [s["search"][kind]["p95_ms"] for s in by_size]
        left.plot(sizes, p50, "o-", color=color, label=f"{kind} p50")
        left.plot(sizes, p95, "o--", color=color, alpha=0.5, label=f"{kind} p95")
    from matplotlib.ticker import LogLocator, NullLocator, ScalarFormatter

    left.set_yscale("log")
    left.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    left.yaxis.set_major_formatter(ScalarFormatter())
    left.yaxis.set_minor_locator(NullLocator())
    early = [s["search_right_after_flush"]["p50_ms"] for s in by_size]
    left.plot(sizes, early, "s:", color=COLORS["tool-layer"], label="search p50 right after the flush")
    left.set_ylabel("milvus_search latency ms (10 hits, stdio; log)")
    left.set_title(f"Search vs collection size ({r['config']['filter']!r} filtered)", fontsize=10)
    for name, key, style, alpha in (
        ("server", "rss_mib", "o-", 1.0),
        ("engine", "rss_mib", "o-", 1.0),
        ("engine", "peak_mib", "o--", 0.5),
    ):
        values = [s["memory_mib"]["searched"][name][key] for s in by_size]
        label = f"{name} {'RSS' if key == 'rss_mib' else 'peak RSS'}"
        color = COLORS["in-memory" if name == "server" else "http"]
        right.plot(sizes, values, style, label=label, color=color, alpha=alpha)
    right.set_ylabel("resident memory MiB")
    right.set_title("Memory of the server and the Lite engine", fontsize=10)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel(f"rows of {r['config']['dim']}-dim vectors (Milvus Lite)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    right.set_ylim(bottom=0)


LAYOUT: dict[str, tuple[int, tuple[float, float], Callable[[dict[str, Any], Any], None]]] = {
    "overhead": (1, (7, 4), overhead),
    "concurrency": (2, (11, 4), concurrency),
    "stall": (3, (15, 4.5), stall),
    "coldstart": (1, (8, 4), coldstart),
    "context": (1, (8, 5), context),
    "cache": (1, (7, 4), cache),
    "ingest": (1, (7, 4), ingest),
    "peer": (3, (16, 4.8), peer),
    "scale": (2, (11, 4), scale),
}


def write(results: dict[str, Any], out_dir: Path, footer: str) -> list[Path]:
    """One PNG per family that has a result; returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, result in results.items():
        if name not in LAYOUT or "error" in result:
            continue
        panels, size, draw = LAYOUT[name]
        fig, axes = plt.subplots(1, panels, figsize=size)
        draw(result, axes)
        fig.text(0.99, 0.01, footer, ha="right", va="bottom", fontsize=7, color="gray")
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
