"""What one call may cost, as the operator set it: rows per write, hits or rows per read, calls at once.

Each refusal names the limit and how to stay under it, and comes before any Milvus call. The result
budget (`--max-result-bytes`, see `results.fit`) and the per-call `--timeout` are the other two limits.

Defaults, and why:
- `--max-rows` 10,000: ten of the 1,000-row batches a write sends; already a request of tens of
  megabytes with vectors of a few hundred dimensions, more than an agent should hold in one message.
- `--max-limit` 1,000: a page of 1,000 bare ids nearly fills the default 32 KiB result budget, so a
  larger limit mostly costs Milvus work whose rows are then cut; with 16 queries per search it is
  still 16,000 hits.
- `--max-concurrency` 64: the most calls the concurrency benchmark keeps in flight, so clients that
  behave never wait; a runaway client cannot open thousands of Milvus calls at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from mcp.server.mcpserver.exceptions import ToolError


def check_rows(count: int, max_rows: int) -> None:
    """Refuse a write of more rows than `--max-rows` allows."""
    if count > max_rows:
        raise ToolError(
            f"This server takes at most {max_rows} rows per call (--max-rows) and got {count}. Send at most "
            f"{max_rows} rows per call and split the rest into further calls. Nothing was written."
        )


def check_limit(limit: int, max_limit: int, what: str = "limit") -> None:
    """Refuse a read that asks for more hits or rows than `--max-limit` allows."""
    if limit > max_limit:
        raise ToolError(
            f"{what} may be at most {max_limit} on this server (--max-limit), got {limit}. Ask for at most "
            f"{max_limit} and page on with the offset or cursor the result gives."
        )


class Gate:
    """At most `size` tool calls in flight; a call waits up to `timeout` seconds for a slot, then fails.

    One gate per server, entered once per tool call (`tools._sender`), so that nested Milvus calls of
    one tool never wait for each other."""

    def __init__(self, size: int, timeout: float) -> None:
        self.size = size
        self.timeout = timeout
        self._limiter = anyio.CapacityLimiter(size)

    @property
    def in_flight(self) -> int:
        return int(self._limiter.borrowed_tokens)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        borrower = object()  # a token of its own: one task may hold a slot for each of several calls
        acquired = False
        try:  # a free slot is taken at once, without the cost of a timed wait
            self._limiter.acquire_on_behalf_of_nowait(borrower)
            acquired = True
        except anyio.WouldBlock:
            with anyio.move_on_after(self.timeout):
                await self._limiter.acquire_on_behalf_of(borrower)
                acquired = True
        if not acquired:
            raise ToolError(
                f"This server already runs {self.size} calls at once (--max-concurrency) and none finished "
                f"within {self.timeout:g} s. Retry in a moment with fewer calls in parallel."
            )
        try:
            yield
        finally:
            self._limiter.release_on_behalf_of(borrower)
