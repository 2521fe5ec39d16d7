"""Where the engine listens: a unix-domain socket that only the user running it can reach.

A loopback TCP port is open to every local user, whatever the permissions of the database, and so is
an abstract socket (`unix-abstract:`, never used here). A socket file is reached through its
directory, so the engine's socket lives in a directory of mode 0700 that we own: the run directory
`<db>.engine/`, or, when that path is too long for a socket address or holds characters gRPC reads as
URI syntax, a private directory with a short path, the socket named after a hash of the run directory.

Each engine gets a socket of its own, `<prefix>-<random>.sock`: pymilvus shares one connection per
address among all its clients in a process, and would keep handing a new engine's clients the broken
connection to the dead engine at the same path. The MCP server side picks the path (`engine.client`)
and passes it to the engine it starts; servers that attach later read it from `state.json`. Both
sides import this module; it needs nothing beyond the standard library.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import stat
import sys
from pathlib import Path

RUN_DIR_PREFIX = "engine"
MAX_SOCKET_PATH = 107 if sys.platform.startswith("linux") else 103
"""Bytes of a socket path: the kernel's `sun_path` (108 on Linux, 104 on macOS and the BSDs) less the
terminating NUL that gRPC requires."""
URI_SYNTAX = frozenset("%?#,")
"""Characters gRPC reads as syntax in a `unix:` target (an escape such as `%20`, a query, a fragment, a
list of addresses): at a path holding one, the engine fails to bind or its clients to connect."""


class SocketDirError(Exception):
    """No private place for the engine's socket: the message says what to change."""


def socket_path(run_dir: Path) -> Path:
    """A new engine's socket for this (absolute) run directory, in a directory only we can enter."""
    inside = _new_socket(run_dir, RUN_DIR_PREFIX)
    if _usable(inside):
        return inside
    short = short_dir()
    make_private(short, tighten=False)
    path = _new_socket(short, hashlib.sha256(os.fsencode(run_dir)).hexdigest()[:16])
    if not _usable(path):
        raise SocketDirError(
            f"The engine's socket path {path} is longer than the {MAX_SOCKET_PATH} bytes a socket address "
            f"allows or holds one of {' '.join(sorted(URI_SYNTAX))}; set XDG_RUNTIME_DIR to a shorter, plainer "
            "directory."
        )
    return path


def short_dir() -> Path:
    """The private directory for sockets whose run directory is too deep: per user, as short as we can."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime):  # the XDG spec says to ignore a relative value
        return Path(runtime) / "mcp-server-milvus"
    return Path("/tmp") / f"mcp-server-milvus-{os.geteuid()}"


def make_private(path: Path, *, tighten: bool) -> None:
    """Create `path` as a directory only we can enter, or check that it already is one.

    An existing directory of ours that others can enter is made 0700 when `tighten` (run directories
    of earlier versions were 0755) and refused otherwise: someone may already have reached into it. A
    symlink and someone else's directory are always refused.
    """
    try:
        path.mkdir(mode=0o700)  # the umask can only take permissions away
    except FileExistsError:
        pass
    except OSError as exc:
        raise SocketDirError(f"Milvus Lite's engine could not create {path}: {exc.strerror}.") from None
    info = path.lstat()
    problem = None
    if not stat.S_ISDIR(info.st_mode):
        problem = "is a symlink or not a directory"
    elif info.st_uid != os.geteuid():
        problem = f"belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()})"
    elif info.st_mode & 0o077 and not tighten:
        problem = f"is open to other users (mode {stat.S_IMODE(info.st_mode):o})"
    if problem is not None:
        raise SocketDirError(
            f"Milvus Lite's engine needs a private directory for its socket, and {path} {problem}. "
            "Remove it (or set XDG_RUNTIME_DIR to a directory of yours with mode 0700), then retry."
        )
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)


def remove_stale_sockets(own: Path) -> None:
    """Remove the socket files that earlier engines of this database left beside `own`.

    Called by an engine once it holds the database: every other engine of it has stopped by then (a
    stopping one removes its socket before it lets the database go), so a file left is a killed one's.
    """
    prefix = own.name.rsplit("-", 1)[0]
    for entry in own.parent.glob(f"{prefix}-*.sock"):
        if entry != own and entry.is_socket():
            entry.unlink(missing_ok=True)


def socket_open(path: str) -> bool:
    """Whether something accepts connections on the socket: a file left by a dead engine does not."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def _new_socket(directory: Path, prefix: str) -> Path:
    return directory / f"{prefix}-{secrets.token_hex(4)}.sock"


def _usable(path: Path) -> bool:
    return len(os.fsencode(path)) <= MAX_SOCKET_PATH and not URI_SYNTAX.intersection(str(path))
