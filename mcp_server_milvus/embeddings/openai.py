"""The `openai` provider: any OpenAI-compatible `/v1/embeddings` API (OpenAI, Ollama, vLLM, TEI).

Uses httpx2, the HTTP client the MCP SDK already brings. The API key comes from the environment only
(MILVUS_MCP_EMBEDDING_API_KEY), never from a flag, and never appears in a log, an error or a repr.
"""

from __future__ import annotations

import os

import anyio
import httpx2
from pydantic import SecretStr

from mcp_server_milvus.embeddings.base import Embedded, EmbeddingError, Provider

DEFAULT_MODEL = "text-embedding-3-small"
DEFAULT_BASE_URL = "https://api.openai.com"
KEY_VARIABLE = "MILVUS_MCP_EMBEDDING_API_KEY"
BATCH = 128
"""Texts per request: within every compatible server's input limit we know of."""
RETRIES = 3
MAX_RETRY_AFTER = 5.0


class OpenAIProvider(Provider):
    name = "openai"

    def __init__(self, model: str | None = None, base_url: str | None = None, timeout: float = 30.0) -> None:
        self.model = model or DEFAULT_MODEL
        base = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.base_url = base.removesuffix("/v1")
        self.timeout = timeout
        key = os.environ.get(KEY_VARIABLE)
        self._key = SecretStr(key) if key else None
        self._client: httpx2.AsyncClient | None = None

    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            headers = {"Authorization": f"Bearer {self._key.get_secret_value()}"} if self._key else {}
            self._client = httpx2.AsyncClient(base_url=self.base_url, headers=headers, timeout=self.timeout)
        return self._client

    async def _post(self, texts: list[str]) -> list[list[float]]:
        for attempt in range(RETRIES + 1):
            try:
                response = await self._http().post("/v1/embeddings", json={"model": self.model, "input": texts})
            except httpx2.TimeoutException:
                raise EmbeddingError(
                    f"The embedding API at {self.base_url} did not answer within {self.timeout:g} s; try again later."
                ) from None
            except httpx2.HTTPError as exc:
                raise EmbeddingError(
                    f"Cannot reach the embedding API at {self.base_url} ({type(exc).__name__}); check "
                    "--embedding-base-url."
                ) from None
            retry = response.status_code == 429 or response.status_code >= 500
            if retry and attempt < RETRIES:
                await anyio.sleep(_delay(response.headers.get("retry-after"), attempt))
                continue
            if response.status_code != 200:
                raise EmbeddingError(
                    f"The embedding API at {self.base_url} answered HTTP {response.status_code} for model "
                    f"'{self.model}'" + (f" after {RETRIES + 1} tries" if retry else "") + "; check the model name "
                    f"and {KEY_VARIABLE}."
                )
            try:
                data = sorted(response.json()["data"], key=lambda item: item["index"])
                return [[float(x) for x in item["embedding"]] for item in data]
            except (ValueError, KeyError, TypeError):
                raise EmbeddingError(
                    f"The embedding API at {self.base_url} sent an answer that is not "
                    "OpenAI-compatible (no data[].embedding)."
                ) from None
        raise AssertionError("unreachable")

    async def embed(self, texts: list[str]) -> Embedded:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            part = await self._post(texts[start : start + BATCH])
            if len(part) != len(texts[start : start + BATCH]):
                raise EmbeddingError(
                    f"The embedding API at {self.base_url} returned {len(part)} vectors for "
                    f"{len(texts[start : start + BATCH])} texts."
                )
            vectors.extend(part)
        if vectors and self.known_dimension is None:
            self.known_dimension = len(vectors[0])
        return Embedded(vectors=vectors)

    async def dimension(self) -> int:
        if self.known_dimension is None:
            await self.embed(["dimension probe"])
        assert self.known_dimension is not None
        return self.known_dimension

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _delay(retry_after: str | None, attempt: int) -> float:
    """Retry-After (seconds) when the server gives it, bounded; else exponential backoff."""
    try:
        return min(max(float(retry_after or ""), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return min(0.25 * 2**attempt, MAX_RETRY_AFTER)
