"""The engine listens on a unix socket only its user can reach: no TCP port, no abstract socket.

The proof that another user is kept out needs a real second user and a database whose directory that
user can enter (pytest's temporary root is 0700, which would keep anyone out whatever the engine did):
the test runs as root, puts the database in a 0755 directory under /tmp, and connects as `nobody`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

from mcp_server_milvus.config import Settings
from mcp_server_milvus.engine.address import MAX_SOCKET_PATH, SocketDirError, short_dir, socket_open, socket_path
from mcp_server_milvus.engine.rundir import pid_alive
from mcp_server_milvus.server import build_server
from tests.conftest import fails, make_docs, ok
from tests.test_engine import concurrent_counts, wait_until

pytestmark = pytest.mark.anyio

NOBODY = 65534
PROBE = """
import errno, socket, sys
probe = socket.socket(socket.AF_UNIX)
try:
    probe.connect(sys.argv[1])
except OSError as exc:
    print(errno.errorcode.get(exc.errno, exc.errno))
else:
    print("CONNECTED")
"""


def state(db_path: str) -> dict:
    return json.loads((Path(db_path + ".engine") / "state.json").read_text())


def as_nobody_python() -> list[str]:
    """A command that runs Python as the unprivileged user: this venv's interpreter if that user can
    execute it, else the system's; skips when there is no way."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to run a probe as a second, unprivileged user")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv (util-linux), to run a probe as a second, unprivileged user")
    prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    for python in (sys.executable, "/usr/bin/python3"):
        ran = subprocess.run([*prefix, python, "-S", "-c", "pass"], capture_output=True, timeout=30)
        if ran.returncode == 0:
            return [*prefix, python, "-S"]
    pytest.skip(f"uid {NOBODY} can run neither {sys.executable} nor /usr/bin/python3")


def connect_as_nobody(command: list[str], path: str) -> str:
    """'CONNECTED', or the errno name of the failed connect."""
    ran = subprocess.run([*command, "-c", PROBE, path], capture_output=True, text=True, timeout=30)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


def socket_inodes(pid: int) -> set[str]:
    """Inodes of every socket the process holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        found = re.fullmatch(r"socket:\[(\d+)\]", target)
        if found:
            inodes.add(found.group(1))
    return inodes


def tcp_listeners() -> set[str]:
    """Inodes of the listening TCP sockets (IPv4 and IPv6) of this network namespace."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                inodes.add(fields[9])
    return inodes


def unix_listeners() -> dict[str, str]:
    """Listening unix sockets: inode -> path ('@...' for an abstract one, '' for an unnamed one)."""
    found = {}
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[3], 16) & 0x10000:  # __SO_ACCEPTCON: listening
            found[fields[6]] = fields[7] if len(fields) > 7 else ""
    return found


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory under /tmp that every user may enter and list, as a home or project directory is."""
    path = Path(tempfile.mkdtemp(dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 0 while the engine starts: its socket file is then writable by anyone, so only its
    directory can keep another user out."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def private_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(dir="/tmp"))  # 0700
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.usefixtures("open_umask")
async def test_another_user_cannot_reach_the_engine(shared_dir: Path) -> None:
    nobody = as_nobody_python()
    # The probe works: a socket that is reachable is reached, from the same 0755 directory.
    with socket.socket(socket.AF_UNIX) as control:
        control.bind(str(shared_dir / "control.sock"))
        control.listen()
        assert connect_as_nobody(nobody, str(shared_dir / "control.sock")) == "CONNECTED"

    db_path = str(shared_dir / "milvus.db")
    async with Client(build_server(Settings(uri=db_path))) as client:
        await make_docs(client, n=2)
        pid = (await ok(client, "milvus_server_info"))["engine_pid"]
        path = state(db_path)["socket"]
        run_dir = Path(db_path + ".engine")
        assert Path(path).parent == run_dir
        assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE(os.stat(path).st_mode) & 0o002, "the socket file itself is open (umask 0)"
        assert socket_open(path), "its owner reaches the engine"
        assert connect_as_nobody(nobody, path) == "EACCES"

        held = socket_inodes(pid)
        assert not held & tcp_listeners(), "the engine listens on a TCP port"
        unix = unix_listeners()
        listening = {unix[inode] for inode in held if inode in unix}
        assert listening == {path}, "the engine listens on its socket alone (no abstract socket)"
        assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 2
    assert wait_until(lambda: not pid_alive(pid))
    assert not Path(path).exists(), "the stopped engine left its socket file"


@pytest.mark.parametrize(
    ("directories", "runtime_dir"),
    [
        pytest.param(("d" * 60, "e" * 60), "XDG_RUNTIME_DIR", id="deep-xdg"),
        pytest.param(("d" * 60, "e" * 60), "/tmp", id="deep-tmp"),
        pytest.param(("a%20b?c#d,e",), "XDG_RUNTIME_DIR", id="uri-syntax"),
    ],
)
async def test_an_awkward_database_path_gets_a_short_private_socket(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, directories: tuple[str, ...], runtime_dir: str
) -> None:
    """Too long for a socket address (> 107 bytes), or holding what gRPC reads as URI syntax."""
    if runtime_dir == "XDG_RUNTIME_DIR":
        expected = request.getfixturevalue("private_runtime_dir") / "mcp-server-milvus"
    else:
        monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
        expected = Path(f"/tmp/mcp-server-milvus-{os.geteuid()}")
    base = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        db_path = str(base.joinpath(*directories, "milvus.db"))
        first, second = build_server(Settings(uri=db_path)), build_server(Settings(uri=db_path))
        async with Client(first) as a, Client(second) as b:
            await make_docs(a, n=3)
            path = Path(state(db_path)["socket"])
            assert path.parent == expected and re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]{8}\.sock", path.name)
            assert len(os.fsencode(path)) <= MAX_SOCKET_PATH
            assert stat.S_IMODE(expected.stat().st_mode) == 0o700
            assert (await ok(b, "milvus_count", collection_name="docs"))["count"] == 3
            pid = (await ok(a, "milvus_server_info"))["engine_pid"]
            assert (await ok(b, "milvus_server_info"))["engine_pid"] == pid
        assert wait_until(lambda: not pid_alive(pid))
        assert not path.exists()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def unsafe_short_dir(problem: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The short socket directory, made unsafe (or impossible) in one way."""
    if problem == "no parent":
        monkeypatch.setenv("XDG_RUNTIME_DIR", os.path.join(os.environ["XDG_RUNTIME_DIR"], "gone"))
        return short_dir()
    target = short_dir()
    if problem == "symlink":
        elsewhere = target.with_name("elsewhere")
        elsewhere.mkdir(mode=0o700)
        target.symlink_to(elsewhere)
    elif problem == "mode 0755":
        target.mkdir()
        target.chmod(0o755)
    else:
        if os.geteuid() != 0:
            pytest.skip("needs root, to give a directory to another user")
        target.mkdir(mode=0o700)
        os.chown(target, NOBODY, NOBODY)
    return target


@pytest.mark.usefixtures("private_runtime_dir")
@pytest.mark.parametrize("problem", ["symlink", "mode 0755", "another user's", "no parent"])
def test_an_unsafe_socket_directory_is_refused(monkeypatch: pytest.MonkeyPatch, problem: str) -> None:
    target = unsafe_short_dir(problem, monkeypatch)
    with pytest.raises(SocketDirError, match=re.escape(str(target))):
        socket_path(Path("/tmp") / ("x" * 100) / "milvus.db.engine")


@pytest.mark.usefixtures("private_runtime_dir")
async def test_the_refusal_reaches_the_agent(tmp_path: Path) -> None:
    short_dir().mkdir()
    short_dir().chmod(0o755)
    deep = tmp_path / ("x" * (MAX_SOCKET_PATH - len(str(tmp_path)))) / "milvus.db"
    async with Client(build_server(Settings(uri=str(deep)))) as client:
        message = await fails(client, "milvus_list_collections")
        assert "private directory for its socket" in message and "is open to other users (mode 755)" in message


async def test_a_failed_restart_is_shared_by_the_calls_that_waited(
    private_runtime_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The engine dies and its socket directory is no longer private: the four calls that saw it die
    share the one failed restart, and the next call after a fix restarts it."""
    base = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        db_path = str(base / ("d" * 100) / "milvus.db")
        async with Client(build_server(Settings(uri=db_path))) as client:
            await make_docs(client, n=2)
            pid = (await ok(client, "milvus_server_info"))["engine_pid"]
            short_dir().chmod(0o755)
            os.kill(pid, signal.SIGKILL)
            assert wait_until(lambda: not pid_alive(pid))
            texts = await concurrent_counts(client, 4)
            assert len(texts) == 4 and all("is open to other users" in text for text in texts), texts
            assert caplog.text.count("starting a new one") == 1, "one crash, one restart attempt"
            short_dir().chmod(0o700)
            assert "had stopped" in await fails(client, "milvus_count", collection_name="docs")
            assert (await ok(client, "milvus_count", collection_name="docs"))["count"] == 2
    finally:
        shutil.rmtree(base, ignore_errors=True)
