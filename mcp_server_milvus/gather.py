"""Run independent Milvus calls at once: under load each call waits its turn at the engine, so a tool
that needs several answers should wait for them together, not one after another."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio


async def gather(*calls: Callable[[], Awaitable[Any]]) -> list[Any]:
    """The results of `calls`, run concurrently, in order; the first failure is raised as it was
    (not wrapped in an exception group), once every call has finished."""
    results: list[Any] = [None] * len(calls)
    failures: list[Exception] = []

    async def run(index: int, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            results[index] = await call()
        except Exception as exc:
            failures.append(exc)

    async with anyio.create_task_group() as group:
        for index, call in enumerate(calls):
            group.start_soon(run, index, call)
    if failures:
        raise failures[0]
    return results
