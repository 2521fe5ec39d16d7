"""A stdio line the SDK cannot parse gets a JSON-RPC error, not silence (the SDK's reader drops it unanswered).

Over a real subprocess: raw lines on stdin, every answer read from stdout, and a normal call afterwards.
"""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from pydantic import ValidationError

from mcp_server_milvus.stdio import INVALID_REQUEST, PARSE_ERROR, parse, refusal
from tests.children import stop
from tests.test_transports import EXIT_TIMEOUT, RawStdioServer, wait_exit

ANSWER_TIMEOUT = 20.0


def call_line(request_id: int, arguments_json: str) -> bytes:
    """A tools/call line whose arguments are given as raw JSON text (which json.dumps could not write)."""
    head = f'{{"jsonrpc":"2.0","id":{request_id},"method":"tools/call","params":{{"name":"milvus_count","arguments":'
    return (head + arguments_json + "}}\n").encode()


UNREADABLE = {
    "lone surrogate": call_line(101, '{"collection_name":"a\\ud800"}'),
    "nested 200 deep": call_line(102, '{"collection_name":' + "[" * 200 + "]" * 200 + "}"),
    "int of 4,400 digits": call_line(103, '{"collection_name":' + "7" * 4400 + "}"),
    "method not a string": b'{"jsonrpc":"2.0","id":104,"method":5}\n',
}


def answer(server: RawStdioServer, request_id: Any, timeout: float = ANSWER_TIMEOUT) -> dict[str, Any]:
    """The next message on stdout that answers `request_id` (None: an error with id null)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = server._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no answer to id {request_id!r} within {timeout} s:\n{server.stderr()}")
        if line is None:
            pytest.fail(f"stdout closed before the answer to id {request_id!r}:\n{server.stderr()}")
        message = json.loads(line)
        if "id" in message and message["id"] == request_id:
            return message


def write(server: RawStdioServer, raw: bytes) -> None:
    assert server.proc.stdin is not None
    server.proc.stdin.write(raw)
    server.proc.stdin.flush()


@pytest.mark.subprocess
def test_unreadable_lines_get_an_error_with_their_id_and_the_server_keeps_serving(tmp_path: Path) -> None:
    server = RawStdioServer(tmp_path, tmp_path / "raw.db")
    try:
        server.initialize()
        for name, raw in UNREADABLE.items():
            request_id = json.loads(raw.split(b',"method"')[0] + b"}")["id"]
            write(server, raw)
            message = answer(server, request_id)
            assert message["error"]["code"] == INVALID_REQUEST, (name, message)
            assert "cannot be read" in message["error"]["message"], (name, message)
        write(server, b"this is not json\n")
        assert answer(server, None)["error"]["code"] == PARSE_ERROR
        # Still serving, on the same session: a normal request is answered.
        result = server.request("tools/call", {"name": "milvus_list_collections", "arguments": {}})
        assert not result.get("isError"), result
        server.close_stdin()
        code, _ = wait_exit(server.proc, EXIT_TIMEOUT)
    finally:
        stop(server.proc)
    assert code == 0, server.stderr()
    assert "Traceback" not in server.stderr()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"jsonrpc":"2.0","id":"x","method":"a","params":"\\ud800"}', ("x", INVALID_REQUEST)),
        ('{"jsonrpc":"2.0","id":' + "9" * 4400 + "}", (None, INVALID_REQUEST)),
        ('{"jsonrpc":"2.0","id":9223372036854775808,"method":5}', (None, INVALID_REQUEST)),
        ('{"jsonrpc":"2.0","id":true,"method":5}', (None, INVALID_REQUEST)),
        ("[" * 100_000 + "]" * 100_000, (None, PARSE_ERROR)),
        ('{"id": 3, ', (None, PARSE_ERROR)),
        ("[1, 2]", (None, INVALID_REQUEST)),
    ],
    ids=["string id", "huge id", "id past int64", "bool id", "nested 100,000 deep", "cut short", "not an object"],
)
def test_refusal_recovers_the_id_when_it_can(line: str, expected: tuple[Any, int]) -> None:
    error = refusal(line)
    assert error is not None
    assert (error.id, error.error.code) == expected


def test_unreadable_notification_and_blank_line_get_no_answer() -> None:
    """JSON-RPC answers no notification, not even a broken one; a blank line is no message."""
    assert refusal('{"jsonrpc":"2.0","method":"notifications/x","params":{"a":"\\ud800"}}') is None
    assert refusal("   \n") is None


READABLE = {
    "a call": call_line(105, '{"collection_name":"docs","rows":[{"vector":[0.1,-2e-3,1e300]}]}'),
    "nested 190 deep": call_line(106, '{"collection_name":' + "[" * 190 + "]" * 190 + "}"),
    "int of 4,300 digits": call_line(107, '{"collection_name":' + "7" * 4300 + "}"),
    "a notification": b'{"jsonrpc":"2.0","method":"notifications/initialized"}\r\n',
    "a response": b'{"jsonrpc":"2.0","id":"s1","result":{}}',
    "not ASCII": call_line(108, '{"collection_name":"caf\u00e9 \u65e5"}'),
}


@pytest.mark.parametrize("line", [*UNREADABLE.values(), *READABLE.values(), b"", b"  ", b"[1]", b"{} x"])
def test_parse_reads_what_the_sdk_reads_and_refuses_what_it_refuses(line: bytes) -> None:
    """`parse` (parse the JSON, then validate) is the SDK's one-step `validate_json`, for bytes and text."""
    try:
        expected: Any = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValidationError:
        expected = ValueError
    for given in (line, line.decode()):
        if expected is ValueError:
            with pytest.raises(ValueError):
                parse(given)
        else:
            assert parse(given) == expected


def test_parse_replaces_bytes_that_are_not_utf8() -> None:
    """As the text reader reads them: U+FFFD in their place."""
    message = parse(call_line(109, '{"collection_name":"a?"}').replace(b"a?", b"a\xff"))
    assert isinstance(message, types.JSONRPCRequest)
    assert message.params == {"name": "milvus_count", "arguments": {"collection_name": "a\ufffd"}}
