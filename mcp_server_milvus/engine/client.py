"""Milvus Lite out of process: start the engine for a database, or attach to the one already running.

The run directory `<db>.engine/` beside the database holds `state.json` (the engine's pid and port),
`lock` (serializes attaching and stopping), `owners/<pid>` (one file per server using the engine) and
`engine.log`. Every method here blocks: call them from a worker thread.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus import errors
from mcp_server_milvus.engine.rundir import pid_alive, run_lock

logger = logging.getLogger(__name__)

STARTUP_SECONDS = 300.0
"""How long an engine may take to open its database: WAL replay after a crash can take minutes."""
LOCKED_GRACE_SECONDS = 15.0
"""A stopping engine still holds the data directory for a moment: retry a LOCKED start this long."""
MAX_RESTARTS = 3
RESTART_WINDOW_SECONDS = 300.0


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class LiteEngine:
    """One server's handle on the engine process for one Milvus Lite database."""

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path
        self.run_dir = Path(db_path + ".engine")
        self.owner = self.run_dir / "owners" / str(os.getpid())
        self.pid: int | None = None
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._restarts: list[float] = []

    @property
    def uri(self) -> str:
        assert self.port is not None, "attach() first"
        return f"http://127.0.0.1:{self.port}"

    def attach(self) -> str:
        """Register as a user of the engine, starting it if none is running; return its URI."""
        self.owner.parent.mkdir(parents=True, exist_ok=True)
        Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + LOCKED_GRACE_SECONDS
        while True:
            with run_lock(self.run_dir):
                self.owner.touch()
                state = self._state()
                if state and pid_alive(state["pid"]) and port_open(state["port"]):
                    self.pid, self.port = state["pid"], state["port"]
                    logger.info("Attached to the Milvus Lite engine (pid %d, port %d)", self.pid, self.port)
                    return self.uri
                outcome = self._spawn()
            if outcome != "LOCKED":
                return self.uri
            if time.monotonic() > deadline:
                self.detach()
                raise errors.lite_locked(self.db_path)
            time.sleep(0.5)

    def alive(self) -> bool:
        if self._process is not None:
            self._process.poll()
        return self.pid is not None and pid_alive(self.pid) and self.port is not None and port_open(self.port)

    def restart(self) -> str:
        """Attach again after the engine died, starting a new one; at most MAX_RESTARTS in a window."""
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < RESTART_WINDOW_SECONDS]
        if len(self._restarts) >= MAX_RESTARTS:
            raise ToolError(
                f"The Milvus Lite engine for {self.db_path} stopped {MAX_RESTARTS} times in "
                f"{RESTART_WINDOW_SECONDS:g} s; not restarting it again. See {self.run_dir / 'engine.log'}."
            )
        self._restarts.append(now)
        return self.attach()

    def detach(self) -> None:
        """Leave; the engine stops by itself (closing the database) once no user is left."""
        self.owner.unlink(missing_ok=True)
        if self._process is not None:
            self._process.poll()

    def _state(self) -> dict[str, int] | None:
        try:
            state = json.loads((self.run_dir / "state.json").read_text())
            return {"pid": int(state["pid"]), "port": int(state["port"])}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _spawn(self) -> str:
        log_path = self.run_dir / "engine.log"
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
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # a Ctrl-C meant for one server does not stop an engine others share
            )
        line = _read_line(process, STARTUP_SECONDS)
        if line.startswith("READY "):
            self.pid, self.port = process.pid, int(line.split()[1])
            self._process = process  # kept so that its exit status is collected: no zombie
            logger.info("Started the Milvus Lite engine for %s (pid %d, port %d)", self.db_path, self.pid, self.port)
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
