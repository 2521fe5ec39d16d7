"""Stdio serving that answers every line, even one the SDK cannot parse.

The SDK's stdio reader (mcp 2.3, `mcp.server.stdio`) drops a line that fails to parse with no answer: a lone
surrogate escape (`\\ud800`), JSON nested about 200 deep, or an integer of more than 4,300 digits. The client
then waits forever. The SDK offers no hook, so we read stdin ourselves and answer such a line with a JSON-RPC
error (-32700 parse error, -32600 invalid request) that carries the request's id when the line gives it up;
everything past the line is still the SDK's (`stdio_server`). So is stdout, except that a pipe is written from the
event loop by `_PipeWriter` rather than from a worker thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from io import TextIOWrapper
from typing import Any, BinaryIO

import anyio
import mcp_types as types
import pydantic_core
from anyio.streams.memory import MemoryObjectSendStream
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.message import ServerMessageMetadata, SessionMessage

logger = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
_INT_DIGITS = 4300  # Python's int-from-text limit (sys.get_int_max_str_digits): longer ints are not ids anyway


class ParsedLine:
    """The transport's `request` (`ctx.request_context.request`) of every message this reader passes on:
    its text went through `parse`, whose JSON parser refuses lone surrogates, so the arguments need no
    scan for them (`surrogates.py`, a 1,000-row insert's 2.4 ms). The SDK leaves it None for stdio."""


PARSED = ServerMessageMetadata(request_context=ParsedLine())


async def serve_stdio(lowlevel: Server[Any]) -> None:
    """Run `lowlevel` over stdin/stdout until stdin closes, as the SDK's `run_stdio_async` does."""
    with _wire_stdin() as wire:
        stdin = (
            _pipe_lines(wire)
            if _pollable(wire)
            else anyio.wrap_file(TextIOWrapper(wire, encoding="utf-8", errors="replace"))
        )
        messages_send, messages = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        # stdin=_no_lines(): the SDK reader ends at once and its read stream goes unused. stdout: ours when
        # it is a pipe (see _PipeWriter), else None, and the SDK claims fd 1 and writes from a thread.
        with _wire_stdout() as out:
            stdout = _PipeWriter(out) if out is not None else None
            async with (
                stdio_server(stdin=_no_lines(), stdout=stdout) as (_, write_stream),  # type: ignore[arg-type]
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(_read_lines, stdin, messages_send, write_stream)
                await lowlevel.run(messages, write_stream, lowlevel.create_initialization_options())
                tg.cancel_scope.cancel()


async def _read_lines(
    stdin: AsyncIterator[str | bytes] | Any,
    messages: MemoryObjectSendStream[SessionMessage | Exception],
    answers: Any,
) -> None:
    """Parse each line as the SDK does; answer the ones it cannot parse instead of dropping them."""
    async with messages:
        async for line in stdin:
            try:
                message = parse(line)
            except ValueError:  # pydantic's ValidationError included
                text = line if isinstance(line, str) else line.decode("utf-8", errors="replace")
                error = await anyio.to_thread.run_sync(refusal, text)
                if error is not None:
                    logger.warning("Refused an unreadable JSON-RPC line (%s)", error.error.message)
                    await answers.send(SessionMessage(error))
                continue
            await messages.send(SessionMessage(message, metadata=PARSED))


def parse(line: str | bytes) -> types.JSONRPCMessage:
    """One JSON-RPC message, as the SDK reads it (`jsonrpc_message_adapter.validate_json`), in two steps.

    The same parser (pydantic-core's, with the same limits: no lone surrogates, nesting under 200, integers
    under 4,300 digits) makes Python values, which are then validated. One step costs about 3x as much for
    a large line (14 ms against 5 ms for a 1,000-row insert of 128-d vectors, 2.6 MB): the message union is
    tried member by member, each try building the arguments' values again. The SDK's streamable HTTP
    transport reads a message the same way (`pydantic_core.from_json`, then `validate_python`). A line of
    bytes that is not UTF-8 is read with U+FFFD in place of the bad bytes, as the text reader reads it.
    """
    try:
        value = pydantic_core.from_json(line)
    except ValueError:
        if not isinstance(line, bytes):
            raise
        value = pydantic_core.from_json(line.decode("utf-8", errors="replace"))
    return types.jsonrpc_message_adapter.validate_python(value, by_name=False)


def refusal(line: str) -> types.JSONRPCError | None:
    """The JSON-RPC error for a line the SDK's parser refused; None for a notification (it gets no answer).

    Python's own parser is more lenient than the SDK's (it takes lone surrogates, deeper nesting and, with
    `parse_int`, long integers), so it can usually recover the request's id.
    """
    if not line.strip():
        return None
    try:
        value = json.loads(line, parse_int=_int)
    except (ValueError, RecursionError):
        return _error(None, PARSE_ERROR, "Parse error: the line is not JSON this server can read.")
    if not isinstance(value, dict):
        return _error(None, INVALID_REQUEST, "Invalid request: a JSON-RPC message must be one JSON object.")
    if "id" not in value:
        return None
    return _error(
        _request_id(value["id"]),
        INVALID_REQUEST,
        "Invalid request: the message cannot be read (lone surrogate escapes, nesting deeper than 200 levels "
        "and integers longer than 4,300 digits are refused); send it in valid JSON-RPC.",
    )


def _request_id(value: Any) -> int | str | None:
    """The id to answer with: a string, or an integer in int64 range; anything else cannot be echoed."""
    if isinstance(value, str) or (type(value) is int and -(2**63) <= value < 2**63):
        return value
    return None


def _int(text: str) -> int | None:
    return int(text) if len(text.lstrip("-")) <= _INT_DIGITS else None


def _error(request_id: int | str | None, code: int, message: str) -> types.JSONRPCError:
    return types.JSONRPCError(jsonrpc="2.0", id=request_id, error=types.ErrorData(code=code, message=message))


def _pollable(wire: BinaryIO) -> bool:
    """Whether the event loop can wait on `wire` (a pipe or a socket, not on Windows): then lines are read
    without a thread. A terminal or a file keeps the thread-backed reader."""
    try:
        return _pollable_fd(wire.fileno())
    except (AttributeError, OSError, ValueError):
        return False


def _pollable_fd(fd: int) -> bool:
    if os.name == "nt":
        return False
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


async def _pipe_lines(wire: BinaryIO) -> AsyncIterator[bytes]:
    """The lines of a pipe, read when the event loop reports it readable.

    The thread-backed reader hands every line from a worker thread to the event loop, which cost the
    server about as much CPU as a whole search's own work (see benchmarks/README.md, "Where a call's time
    goes"). Lines end at a newline, a CR LF or a lone CR, as with the text reader; empty lines, which get
    no answer anyway, are skipped. Lines stay bytes, which the parser reads without a decoded copy
    (`parse` replaces bytes that are not UTF-8, as the text reader does)."""
    fd = wire.fileno()
    blocking = os.get_blocking(fd)
    os.set_blocking(fd, False)
    buffered: list[bytes] = []  # the line read so far: a 1,000-row insert is megabytes, over many reads
    try:
        while True:
            await anyio.wait_readable(fd)
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                break
            if b"\r" in chunk:  # a \r\n split between two reads leaves an empty line, skipped below
                chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if b"\n" not in chunk:  # the middle of a long line: kept as read, not split into a copy
                buffered.append(chunk)
                continue
            *ends, rest = chunk.split(b"\n")
            for piece in ends:
                buffered.append(piece)
                line = b"".join(buffered)
                buffered.clear()
                if line:
                    yield line
            if rest:
                buffered.append(rest)
        if buffered:
            yield b"".join(buffered)
    finally:
        with contextlib.suppress(OSError):
            os.set_blocking(fd, blocking)


async def _no_lines() -> AsyncIterator[str]:
    return
    yield


@contextlib.contextmanager
def _wire_stdin() -> Iterator[BinaryIO]:
    """The wire's stdin on a private descriptor, fd 0 on the null device meanwhile (as the SDK does).

    Children (the Milvus Lite engine) and stray reads then see EOF instead of stealing protocol bytes.
    """
    try:
        if sys.stdin.fileno() != 0:
            raise ValueError("stdin is not fd 0")
        private = os.dup(0)
    except (AttributeError, OSError, ValueError):
        yield sys.stdin.buffer
        return
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        # closefd=False: the reading thread may still block on it after we return; never recycle it under it.
        yield os.fdopen(private, "rb", closefd=False)
    finally:
        os.dup2(private, 0)


@contextlib.contextmanager
def _wire_stdout() -> Iterator[int | None]:
    """The wire's stdout on a private, non-blocking descriptor when it is a pipe or a socket, with fd 1
    pointed at stderr meanwhile (as the SDK does when it claims fd 1), so that stray output of a library
    or a child process misses the wire; None otherwise (a terminal, a file: the SDK's writer then claims it)."""
    if not _pollable_fd(1):
        yield None
        return
    import fcntl  # POSIX only, as is a pollable pipe

    try:
        private = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    except OSError:
        yield None
        return
    os.dup2(2, 1)
    blocking = os.get_blocking(private)
    os.set_blocking(private, False)
    try:
        yield private
    finally:
        with contextlib.suppress(OSError):
            os.set_blocking(private, blocking)
            os.dup2(private, 1)
        with contextlib.suppress(OSError):
            os.close(private)


class _PipeWriter:
    """The two methods the SDK's stdout writer calls, writing each message to a non-blocking pipe from the
    event loop.

    Why: the SDK's own writer hands every message to a worker thread twice (write, then flush): thread
    switches that cost the stdio server a fifth of its CPU per search (benchmarks/README.md, "Where a
    call's time goes"). A message that fits the pipe's buffer is written at once; a larger one waits for
    the client to read, without blocking the loop."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    async def write(self, text: str) -> None:
        data = memoryview(text.encode("utf-8"))
        while data:
            try:
                data = data[os.write(self._fd, data) :]
            except BlockingIOError:
                await anyio.wait_writable(self._fd)

    async def flush(self) -> None:
        """Nothing is buffered: `write` hands every byte to the pipe."""
