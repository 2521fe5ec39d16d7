"""Milvus Lite out of process: start the engine for a database, or attach to the one already running.

The run directory `<db>.engine/` beside the database (mode 0700) holds `state.json` (the engine's pid
and socket path), `lock` (serializes attaching and stopping), `owners/<pid>.<random>` (one claim per
handle using the engine), `engine.log`, `changes` (see `engine.changes`) and the engine's socket, unless
that path is too long for a socket address (see `engine.address`). Every method here blocks: call them
from a worker thread, except `changes`, which is one `readlink` and one look at /proc.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus import errors
from mcp_server_milvus.engine.address import SocketDirError, make_private, socket_open, socket_path
from mcp_server_milvus.engine.changes import published
from mcp_server_milvus.engine.rundir import claim_name, pid_alive, run_lock, stopping_engine

logger = logging.getLogger(__name__)

STARTUP_SECONDS = 300.0
"""How long an engine may take to open its database: WAL replay after a crash can take minutes."""
LOCKED_GRACE_SECONDS = 15.0
"""A stopping engine still holds the data directory for a moment: retry a LOCKED start this long while
one is stopping. A database locked by anything else (a script, an in-process server) fails at once."""
MAX_RESTARTS = 3
RESTART_WINDOW_SECONDS = 300.0


class LiteEngine:
    """One server's handle on the engine process for one Milvus Lite database."""

    def __init__(self, db_path: str, auto_flush_seconds: float = 0.0) -> None:
        self.db_path = db_path
        self.auto_flush_seconds = auto_flush_seconds
        """Asked of an engine this handle starts; one already running keeps the value it was started with."""
        self.auto_flush_running: float | None = None
        """The value of the engine attached to (its starter's); None before `attach`."""
        self.run_dir = Path(os.path.abspath(db_path + ".engine"))
        self.owner = self.run_dir / "owners" / claim_name()
        self.pid: int | None = None
        self.socket: str | None = None
        """The engine's socket path while attached; None before `attach` and after `detach`."""
        self.generation = 0
        """Restarts this handle has attempted. A failure seen on an older generation is already dealt with."""
        self.restart_failure: str | None = None
        """Why the latest restart failed, for the calls that waited on it; None once one succeeded."""
        self._process: subprocess.Popen[bytes] | None = None
        self._restarts: list[float] = []

    @property
    def attached(self) -> bool:
        return self.socket is not None

    @property
    def uri(self) -> str:
        assert self.socket is not None, "attach() first"
        return f"unix:{self.socket}"

    def attach(self) -> str:
        """Register as a user of the engine, starting it if none is running; return its URI."""
        try:
            return self._attach()
        except SocketDirError as exc:
            raise ToolError(str(exc)) from None

    def _attach(self) -> str:
        Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        make_private(self.run_dir, tighten=True)
        self.owner.parent.mkdir(exist_ok=True)
        deadline = time.monotonic() + LOCKED_GRACE_SECONDS
        while True:
            with run_lock(self.run_dir):
                self.owner.touch()
                state = self._state()
                if state and pid_alive(state[0]) and socket_open(state[1]):
                    self.pid, self.socket, running = state
                    self.auto_flush_running = running
                    logger.info("Attached to the Milvus Lite engine (pid %d, unix:%s)", self.pid, self.socket)
                    if running != self.auto_flush_seconds:
                        logger.warning(
                            "The Milvus Lite engine already running auto-flushes after %g s (0: off), not the "
                            "%g s asked: the first server to start it decides, until it stops",
                            running,
                            self.auto_flush_seconds,
                        )
                    return self.uri
                outcome = self._spawn()
            if outcome != "LOCKED":
                return self.uri
            if time.monotonic() > deadline or not stopping_engine(self.run_dir):
                self.detach()
                raise errors.lite_locked(self.db_path)
            time.sleep(0.5)

    def changes(self) -> str | None:
        """The count of changes the engine attached to has published (`engine.changes`); None if none, or
        if that engine is gone: its database is unlocked then, and another program may change it unseen."""
        pid = self.pid
        if not self.attached or pid is None:
            return None
        value = published(self.run_dir, pid)
        return value if value is not None and pid_alive(pid) else None

    def alive(self) -> bool:
        if self._process is not None:
            self._process.poll()
        return self.pid is not None and pid_alive(self.pid) and self.socket is not None and socket_open(self.socket)

    def restart(self) -> str:
        """Attach again after the engine died, starting a new one; at most MAX_RESTARTS in a window.

        Each call counts: the caller makes sure one crash leads to one call (`Sessions.recover_engine`).
        """
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < RESTART_WINDOW_SECONDS]
        if len(self._restarts) >= MAX_RESTARTS:
            raise ToolError(
                f"The Milvus Lite engine for {self.db_path} stopped {MAX_RESTARTS} times in "
                f"{RESTART_WINDOW_SECONDS:g} s; not restarting it again. See {self.run_dir / 'engine.log'}."
            )
        self._restarts.append(now)
        self.generation += 1
        try:
            uri = self.attach()
        except ToolError as exc:
            self.restart_failure = str(exc)
            raise
        self.restart_failure = None
        return uri

    def detach(self) -> None:
        """Leave; the engine stops by itself (closing the database) once no user is left."""
        self.owner.unlink(missing_ok=True)
        self.socket = None
        if self._process is not None:
            self._process.poll()

    def _state(self) -> tuple[int, str, float] | None:
        """(pid, socket path, auto-flush seconds) from `state.json`, if it is there and readable."""
        try:
            state = json.loads((self.run_dir / "state.json").read_text())
            return int(state["pid"]), str(state["socket"]), float(state.get("auto_flush_seconds", 0.0))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _spawn(self) -> str:
        log_path = self.run_dir / "engine.log"
        path = str(socket_path(self.run_dir))
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mcp_server_milvus.engine.host",
                    "--data-dir",
                    self.db_path,
                    "--run-dir",
                    str(self.run_dir),
                    "--socket",
                    path,
                    "--auto-flush-seconds",
                    str(self.auto_flush_seconds),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # a Ctrl-C meant for one server does not stop an engine others share
            )
        line = _read_line(process, STARTUP_SECONDS)
        if line == "READY":
            self.pid, self.socket = process.pid, path
            self.auto_flush_running = self.auto_flush_seconds
            self._process = process  # kept so that its exit status is collected: no zombie
            logger.info("Started the Milvus Lite engine for %s (pid %d, unix:%s)", self.db_path, self.pid, path)
            return "READY"
        process.wait(timeout=10) if line else _kill(process)
        if line == "LOCKED":
            return "LOCKED"
        detail = line.removeprefix("FAILED ").strip() or _tail(log_path)
        raise ToolError(f"Milvus Lite could not open {self.db_path}: {detail}. See {log_path}.")


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The engine's first line on stdout, or '' if it exits or says nothing in time."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline().decode(errors="replace").strip()


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait(timeout=10)


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "no log"
