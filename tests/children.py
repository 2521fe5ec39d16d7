"""Child processes of the tests (servers, `milvus-lite server`): a free port, waiting until one listens,
and a stop that always reaps."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on (free when asked; a child binds it soon after)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_listening(port: int, proc: subprocess.Popen[Any], log: Path, timeout: float = 60.0) -> None:
    """Return once `proc` accepts connections on `port`; fail with the tail of its `log` if it exits first
    or does not listen within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not listening(port):
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{proc.args[0]} did not listen on {port} within {timeout} s:\n{log.read_text()[-3000:]}"
            )
        time.sleep(0.05)


def stop(proc: subprocess.Popen[Any], sig: signal.Signals | None = None) -> None:
    """End a child that may still run and reap it (for `finally` blocks): `sig` first when given (up to
    15 s to exit), then SIGKILL."""
    if sig is not None and proc.poll() is None:
        proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):  # a kill -9 that did not land: nothing more to do
        proc.wait(timeout=10)
