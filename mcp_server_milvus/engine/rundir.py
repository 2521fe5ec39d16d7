"""The run directory beside a Milvus Lite database (`<db>.engine/`): the on-disk protocol between the
engine process and the MCP servers that use it.

It holds `state.json` (the engine's pid and socket path), `lock` (serializes attaching and stopping),
`owners/` (one claim file per server using the engine), `engine.log`, `changes` (the engine's published
count of changes, see `engine.changes`) and usually the engine's socket (see `engine.address`). Both sides
import this module.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True while the process runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust the signal
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def claim_name() -> str:
    """A new owner file's name, `<pid>.<random>`: one per handle, so that two servers in one process
    each hold a claim of their own and one leaving does not take the other's."""
    return f"{os.getpid()}.{secrets.token_hex(4)}"


def live_owners(owners: Path) -> list[int]:
    """Pids of the registered users still alive; files left by dead ones are removed."""
    alive = []
    for entry in owners.iterdir() if owners.is_dir() else []:
        try:
            pid = int(entry.name.split(".", 1)[0])  # `<pid>.<random>`, or `<pid>` from earlier versions
        except ValueError:
            continue
        if pid_alive(pid):
            alive.append(pid)
        else:
            entry.unlink(missing_ok=True)
    return alive


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """The advisory lock that serializes attaching users and a stopping engine."""
    import fcntl

    with open(run_dir / "lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_state(run_dir: Path, socket: str, auto_flush_seconds: float) -> None:
    """Tell attaching servers where the engine listens, and the settings it was started with."""
    tmp = run_dir / f"state.json.{os.getpid()}"
    tmp.write_text(json.dumps({"pid": os.getpid(), "socket": socket, "auto_flush_seconds": auto_flush_seconds}))
    os.replace(tmp, run_dir / "state.json")


def remove_state(run_dir: Path) -> None:
    """The engine is stopping: attaching servers start a new engine from now on. Until `released`, the
    `stopping` file names this engine, so that a new engine finding the database locked waits for this
    one to let go rather than report a lock held by some other program."""
    (run_dir / "stopping").write_text(str(os.getpid()))
    state = run_dir / "state.json"
    try:
        if json.loads(state.read_text()).get("pid") == os.getpid():
            state.unlink()
    except (OSError, ValueError):
        pass


def released(run_dir: Path) -> None:
    """The engine has closed its database."""
    marker = run_dir / "stopping"
    try:
        if marker.read_text().strip() == str(os.getpid()):
            marker.unlink()
    except OSError:
        pass


def stopping_engine(run_dir: Path) -> bool:
    """Whether an engine of this run directory is still stopping (and so may still hold the database)."""
    try:
        return pid_alive(int((run_dir / "stopping").read_text().strip()))
    except (OSError, ValueError):
        return False
