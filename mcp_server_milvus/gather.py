"""Run independent Milvus calls at once: under load each call waits its turn at the engine, so a tool
that needs several answers should wait for them together, not one after another."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio


async def gather(*calls: Callable[[], Awaitable[Any]]) -> list[Any]:
    """The results of `calls`, run concurrently, in order.

    Once every call has finished, the failure of the first failed call in argument order is raised as
    it was (not wrapped in an exception group): put the call whose error explains most first.
    """
    results: list[Any] = [None] * len(calls)
    failures: dict[int, Exception] = {}

    async def run(index: int, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            results[index] = await call()
        except Exception as exc:
            failures[index] = exc

    async with anyio.create_task_group() as group:
        for index, call in enumerate(calls):
            group.start_soon(run, index, call)
    if failures:
        raise failures[min(failures)]
    return results
