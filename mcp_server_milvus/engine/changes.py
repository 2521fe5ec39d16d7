"""The engine's count of changes, published where a server can read it without asking the engine.

Why: on Milvus Lite every metadata call is an RPC to an engine that answers all RPCs from one interpreter.
Behind three slow searches over unflushed rows, a 2 ms listing waited 5-140 ms for that interpreter
(benchmarks/README.md, "Flush"), yet most listings follow no change at all. The engine is the only process
with the database open, so it sees every change. After each RPC that is not a read (a write, a create, a
drop, a rename, a load, a release, a flush), and before that RPC answers, it publishes
`<pid>.<nonce>.<count>` as the target of the symbolic link `<run dir>/changes`, replaced atomically. A
server reads it with one `readlink`: no RPC, nothing the engine has to answer. An answer read while the
link said X is still what the engine would answer while it says X.

The pid ties the value to the engine a server is attached to: a link left by an earlier engine (one that
crashed, or one of an older version that published nothing) is never taken for the running one's, and a
server trusts it only while that process runs (once it is gone, the database is unlocked and another
program may change it unseen). The nonce covers a reused pid. Both sides import this module.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from contextlib import suppress
from pathlib import Path

logger = logging.getLogger(__name__)

LINK = "changes"


class Changes:
    """Engine side: counts the changes and publishes the count."""

    def __init__(self, run_dir: Path) -> None:
        self._link = run_dir / LINK
        self._tmp = run_dir / f"{LINK}.{os.getpid()}"
        self._prefix = f"{os.getpid()}.{secrets.token_hex(8)}."
        self._count = 0
        self._lock = threading.Lock()
        self._broken = False
        with self._lock:
            self._publish()

    def bump(self) -> None:
        """One more change; called once it is applied, before its RPC answers."""
        with self._lock:
            self._count += 1
            self._publish()

    def _publish(self) -> None:
        if self._broken:
            return
        try:
            self._tmp.unlink(missing_ok=True)
            os.symlink(self._prefix + str(self._count), self._tmp)
            os.replace(self._tmp, self._link)
        except OSError:
            # A stale value would let servers serve stale answers: take the link away (they then ask the
            # engine every time), and stop publishing.
            self._broken = True
            logger.exception("Could not publish the count of changes; servers will ask the engine every time")
            with suppress(OSError):
                self._link.unlink(missing_ok=True)


def published(run_dir: Path, pid: int) -> str | None:
    """What the engine `pid` last published, or None when it publishes nothing (or the link is gone)."""
    try:
        value = os.readlink(run_dir / LINK)
    except OSError:
        return None
    return value if value.startswith(f"{pid}.") else None
