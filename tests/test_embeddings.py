"""The openai provider against a real local HTTP server the test starts: batching, retries, timeouts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mcp_server_milvus.embeddings import EmbeddingError, create_provider
from mcp_server_milvus.embeddings.openai import OpenAIProvider

pytestmark = pytest.mark.anyio


class FakeAPI:
    """A tiny OpenAI-compatible /v1/embeddings server: records requests, can fail or stall on cue."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.stall = 0.0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                if api.stall:
                    time.sleep(api.stall)
                status = api.statuses.pop(0) if api.statuses else 200
                payload = (
                    {"data": [{"index": i, "embedding": [float(len(t)), 1.0]} for i, t in enumerate(body["input"])]}
                    if status == 200
                    else {"error": "busy"}
                )
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    server = FakeAPI()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()


async def test_batches_and_sends_the_key(api: FakeAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILVUS_MCP_EMBEDDING_API_KEY", "sk-secret-123")
    provider = create_provider("openai", "tiny", api.url + "/v1")
    assert provider is not None and "sk-secret" not in repr(provider) and "sk-secret" not in str(vars(provider))
    texts = [f"text {i}" * (i % 3 + 1) for i in range(200)]
    embedded = await provider.embed(texts)
    await provider.aclose()
    assert [len(r["input"]) for r in api.requests] == [128, 72]
    assert all(r["path"] == "/v1/embeddings" and r["model"] == "tiny" for r in api.requests)
    assert api.requests[0]["auth"] == "Bearer sk-secret-123"
    assert [v[0] for v in embedded.vectors] == [float(len(t)) for t in texts]
    assert await provider.dimension() == 2


async def test_retries_429_and_5xx(api: FakeAPI) -> None:
    api.statuses = [429, 503]
    provider = OpenAIProvider(model="tiny", base_url=api.url)
    embedded = await provider.embed(["a", "bb"])
    await provider.aclose()
    assert len(api.requests) == 3 and [v[0] for v in embedded.vectors] == [1.0, 2.0]


async def test_gives_up_after_retries_and_reports_a_timeout(api: FakeAPI) -> None:
    api.statuses = [500] * 10
    provider = OpenAIProvider(model="tiny", base_url=api.url)
    with pytest.raises(EmbeddingError, match="HTTP 500"):
        await provider.embed(["a"])
    await provider.aclose()
    api.statuses, api.stall = [], 1.0
    slow = OpenAIProvider(model="tiny", base_url=api.url, timeout=0.2)
    with pytest.raises(EmbeddingError, match=r"did not answer within 0\.2 s"):
        await slow.embed(["a"])
    await slow.aclose()


def test_no_provider_and_auto() -> None:
    assert create_provider("none", None, None) is None
