"""Progress while a tool waits on Milvus: an index build, a load.

The wait itself is pymilvus's (`create_index` and `load_collection` return once the build or load is
done). Beside it a side task asks how far Milvus got every POLL_SECONDS and reports it; it stops when
the wait ends, fails or is cancelled. Progress is in percent (total 100) with the rows or the state in
the message, one unit for builds and loads. A start (0) and an end (100) notification are always sent,
so a wait too fast to poll still reports, and each notification is higher than the last, as the
protocol requires.

The SDK offers no public way to ask whether the caller sent a progress token (its in-process dispatcher
holds a callback, not a token), so the side task polls regardless: one small RPC per POLL_SECONDS of a
wait, and `report` is a no-op without a token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from mcp_server_milvus.sessions import Session

logger = logging.getLogger(__name__)

T = TypeVar("T")
Report = Callable[[float, float | None, str | None], Awaitable[None]]
"""The SDK's `Context.report_progress`: (progress, total, message)."""
Step = tuple[float, str]
"""How far a wait got, in percent, and what to say about it."""

POLL_SECONDS = 0.5


def rising(report: Report) -> Report:
    """`report`, passing on only notifications higher than the last it passed: a call that may wait twice
    (a load retried once the schema changed under it) keeps the protocol's rising order."""
    last = float("-inf")

    async def passed_on(progress: float, total: float | None, message: str | None) -> None:
        nonlocal last
        if progress > last:
            last = progress
            await report(progress, total, message)

    return passed_on


async def building(
    report: Report, session: Session, collection: str, index_name: str, build: Callable[[], Awaitable[T]], t: float
) -> T:
    """Run `build` (which creates the index and waits for it) while reporting the rows indexed so far.

    Polls only where the backend answers during a build; the end notification counts the rows either way."""

    async def rows_indexed() -> Step | None:
        return index_step(await session.client.describe_index(collection, index_name, timeout=t))

    async def end() -> str:
        try:
            step = await rows_indexed()
        except Exception as exc:
            logger.debug("Describing a built index failed (%r)", exc)
            step = None
        counted = f": {step[1]}" if step else ""
        return f"Index '{index_name}' on '{collection}' is built{counted}"

    poll = rows_indexed if session.backend.answers_during_builds else None
    return await reporting(report, f"Building index '{index_name}' on '{collection}'", build, poll, end)


async def loading(report: Report, session: Session, collection: str, load: Callable[[], Awaitable[T]], t: float) -> T:
    """Run `load` (which loads the collection and waits for it) while reporting Milvus's loading progress."""

    async def loaded_so_far() -> Step | None:
        state = await session.client.get_load_state(collection, timeout=t)
        progress = state.get("progress")  # only while the state is Loading
        return None if progress is None else (float(progress), f"'{collection}' is {progress}% loaded")

    async def end() -> str:
        return f"'{collection}' is loaded"

    return await reporting(report, f"Loading '{collection}'", load, loaded_so_far, end)


def index_step(described: dict[str, Any] | None) -> Step | None:
    """The share of rows an index covers, from `describe_index`; None before Milvus counts any."""
    if not described:
        return None
    total, indexed = int(described.get("total_rows") or 0), int(described.get("indexed_rows") or 0)
    if total <= 0:
        return None
    return min(100.0, 100.0 * indexed / total), f"{indexed} of {total} rows indexed"


async def reporting(
    report: Report,
    start: str,
    wait: Callable[[], Awaitable[T]],
    poll: Callable[[], Awaitable[Step | None]] | None,
    end: Callable[[], Awaitable[str]],
) -> T:
    """`wait()`, with a start notification, a poll every POLL_SECONDS (None: no poll) and an end one.

    A failed poll is logged and skipped: how far a wait got is never worth failing it. A failure of `wait` is raised as it was, not wrapped in an exception group."""
    last = 0.0
    await report(0, 100, start)

    async def poller(poll: Callable[[], Awaitable[Step | None]]) -> None:
        nonlocal last
        while True:
            await anyio.sleep(POLL_SECONDS)
            try:
                step = await poll()
                if step is not None and last < step[0] < 100:
                    last = step[0]
                    await report(step[0], 100, step[1])
            except Exception as exc:
                logger.debug("A progress poll failed (%r); the wait goes on", exc)

    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        if poll is not None:
            group.start_soon(poller, poll)
        try:
            result = await wait()
        except Exception as exc:
            failure = exc
        group.cancel_scope.cancel()
    if failure is not None:
        raise failure
    await report(100, 100, await end())
    return result
