#!/usr/bin/env bash
# The integration suite against a REAL Milvus server: the C++ Milvus 2.3.5 standalone binary that the
# PyPI package `milvus` carries, reached by our MCP server over stdio.
#
# That Milvus binds every interface (etcd, gRPC, metrics, ...) with no setting to restrict it, so it runs
# only inside a private network namespace that has loopback alone, together with the test process
# (pytest, which spawns our MCP server). When the namespace cannot be made, the suite is skipped with a
# printed reason and this script exits 0.
#
#   bash .ci/real_milvus.sh                 # start Milvus, run `python -m pytest tests/real_milvus -q`
#   bash .ci/real_milvus.sh -k errors -x    # extra arguments go to pytest
#   bash .ci/real_milvus.sh --exec CMD ...  # run CMD instead of pytest (MILVUS_REAL_URI is set for it)
#
# Tests may restart that Milvus: $MILVUS_REAL_RESTART (a command line, exported inside the namespace)
# SIGKILLs it and starts it again on the same data directory and port; with `--auth` appended, the new
# instance requires authentication (user root, password Milvus); with `--stop`, it is killed and not
# started (until the next $MILVUS_REAL_RESTART).
#
# Milvus is installed into its own virtualenv (.venv-milvus) so that its dependencies never touch the
# project's .venv, which must exist already (bash .ci/run creates it). Every run uses a fresh data
# directory, and Milvus is always SIGKILLed at the end (it ignores SIGTERM for 30+ s): when the PID
# namespace is available, the kernel kills everything in it as soon as the script's inner shell exits.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MILVUS_VERSION=2.3.5
MILVUS_VENV=${MILVUS_VENV:-$ROOT/.venv-milvus}
PROJECT_PY=${PROJECT_PY:-$ROOT/.venv/bin/python}
PORT=19530                                  # any port will do: nothing else listens in the namespace
# Seconds for Milvus's start plus the whole suite. Measured on the 2-core CI machine: 196-206 s alone and
# 278 s under load before tests/real_milvus/test_restart.py, which adds 66 s (three restarts, and ~25 s
# for Milvus 2.3.5 to serve a loaded collection again after a SIGKILL); 384 s with it, under the load of
# other test runs on the same machine. The budget bounds a hang, not a slow machine.
BUDGET=${REAL_MILVUS_BUDGET:-600}
START_BUDGET=${REAL_MILVUS_START_BUDGET:-90} # seconds for Milvus to become healthy

say() { echo "real-milvus: $*"; }

# Brings `lo` up in the current network namespace, with `ip` or, where iproute2 is missing, an ioctl.
lo_up() {
    if command -v ip >/dev/null 2>&1; then
        ip link set lo up
    else
        python3 -c '
import fcntl, socket, struct
s = socket.socket()
flags = struct.unpack("16sh", fcntl.ioctl(s, 0x8913, struct.pack("16sh", b"lo", 0)))[1]  # SIOCGIFFLAGS
fcntl.ioctl(s, 0x8914, struct.pack("16sh", b"lo", flags | 1))  # SIOCSIFFLAGS, IFF_UP
'
    fi
}

# Refuses to go on unless loopback is the only interface: Milvus binds every interface.
only_loopback() {
    local interfaces
    interfaces=$(python3 -c 'import socket; print(" ".join(sorted(n for _, n in socket.if_nameindex())))')
    if [[ "$interfaces" != "lo" ]]; then
        say "FAILED: the namespace has interfaces other than loopback ($interfaces); not starting Milvus"
        exit 1
    fi
}

# Whether process $1 still runs. A zombie does not count: it holds no port, file or lock any more, and
# after a restart Milvus is no child of ours, so only the namespace's init can reap it.
alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# Starts Milvus on $DATA and $PORT and returns once a client gets an answer; `auth` as $1 makes it
# require authentication. $DATA/milvus.pid always names the latest Milvus, for cleanup and restarts.
start_milvus() {
    local auth=${1:-} launcher token=""
    # The package's launcher writes the config, unpacks the binary (from our cache: 4 s saved) and
    # starts `milvus run standalone`; it exits once Milvus is healthy, leaving Milvus running.
    "$MILVUS_VENV/bin/python" - "$DATA" "$PORT" "$START_BUDGET" "$MILVUS_VENV/milvus-bin" "$auth" <<'EOF' &
import os, shutil, socket, sys, time
from milvus import MilvusServerConfig, default_server

base, port, budget, cache, auth = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]


def try_bind_port(self, port):
    """The package's port probe, with SO_REUSEADDR as Milvus itself binds: after a restart, connections
    the killed Milvus left in TIME_WAIT must not make the fixed port look taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        return sock
    except OSError:
        sock.close()
        return None


MilvusServerConfig.try_bind_port = try_bind_port
if os.path.isdir(cache) and not os.path.isdir(os.path.join(base, "bin")):
    shutil.copytree(cache, os.path.join(base, "bin"))
default_server.set_base_dir(base)
default_server.config.set("proxy_port", port)
default_server.config.set("authorization_enabled", auth == "auth")
default_server.wait_for_started = False
default_server.start()
with open(os.path.join(base, "milvus.pid"), "w") as f:
    f.write(str(default_server.server_proc.pid))
try:
    default_server.wait_started(timeout=budget * 1000)
except BaseException as exc:
    print(f"real-milvus: Milvus did not become healthy: {exc}", flush=True)
    os._exit(1)
os._exit(0)  # not sys.exit: MilvusServer.__del__ would stop the server
EOF
    launcher=$!
    if ! wait "$launcher"; then
        say "FAILED: Milvus did not start within ${START_BUDGET} s; last lines of its logs:"
        tail -n 20 "$DATA"/logs/milvus-std*.log 2>/dev/null || true
        return 1
    fi
    [[ "$auth" == auth ]] && token="root:Milvus"  # the default superuser of Milvus 2.3
    # Healthy is not always serving: wait (bounded) until a client gets an answer. After a SIGKILL the
    # new instance may wait for the old one's etcd session to expire (common.session.ttl, 30 s): one CI
    # run saw an authenticating restart still refuse connections 30 s on, so the bound is 90 s.
    "$PROJECT_PY" - "http://127.0.0.1:$PORT" "$token" <<'EOF'
import sys, time
from pymilvus import MilvusClient

deadline = time.monotonic() + 90
while True:
    try:
        version = MilvusClient(sys.argv[1], token=sys.argv[2], timeout=5).get_server_version()
        break
    except Exception as exc:
        if time.monotonic() > deadline:
            print(f"real-milvus: Milvus at {sys.argv[1]} does not answer: {exc}", flush=True)
            sys.exit(1)
        time.sleep(0.5)
print(f"real-milvus: Milvus {version} is serving at {sys.argv[1]}", flush=True)
EOF
}

# SIGKILLs the Milvus named in $DATA/milvus.pid and waits until it is gone: a leftover instance on the
# same data directory makes the next start hang.
kill_milvus() {
    local pid
    pid=$(cat "$DATA/milvus.pid" 2>/dev/null) || return 0
    [[ -n "$pid" ]] || return 0
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true  # reaps it when it is our child (the first start)
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
        say "FAILED: Milvus (pid $pid) still runs 10 s after SIGKILL"
        return 1
    fi
    rm -f "$DATA/milvus.pid"
    say "Milvus (pid $pid) killed"
}

# ------------------------------------------------------------------------------------------------
# Inside the namespace, called by a test: kill Milvus and start it again (`--auth`: requiring a login;
# `--stop`: not started again).
# ------------------------------------------------------------------------------------------------
if [[ "${1:-}" == "--restart-inside-namespace" ]]; then
    DATA=${MILVUS_REAL_DATA:?"--restart-inside-namespace runs inside the namespace, with MILVUS_REAL_DATA set"}
    only_loopback
    started=$SECONDS
    kill_milvus
    [[ "${2:-}" == "--stop" ]] && exit 0
    auth=""
    [[ "${2:-}" == "--auth" ]] && auth=auth
    start_milvus "$auth"
    say "Milvus (pid $(cat "$DATA/milvus.pid")) restarted${auth:+ with authentication} in $((SECONDS - started)) s"
    exit 0
fi

# ------------------------------------------------------------------------------------------------
# Inside the namespace: start Milvus, wait for it, run the suite, kill Milvus whatever happens.
# ------------------------------------------------------------------------------------------------
if [[ "${1:-}" == "--inside-namespace" ]]; then
    shift
    lo_up
    only_loopback

    DATA=$(mktemp -d "${TMPDIR:-/tmp}/real-milvus.XXXXXX")
    cleanup() {
        local code=$?
        trap - EXIT INT TERM
        kill_milvus || true
        rm -rf "$DATA"
        exit "$code"
    }
    trap cleanup EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT

    started=$SECONDS
    start_milvus || exit 1
    export MILVUS_REAL_URI="http://127.0.0.1:$PORT" MILVUS_REAL_DATA=$DATA
    MILVUS_REAL_RESTART="bash $(printf %q "$ROOT/.ci/real_milvus.sh") --restart-inside-namespace"
    export MILVUS_REAL_RESTART
    say "Milvus (pid $(cat "$DATA/milvus.pid")) ready after $((SECONDS - started)) s"

    status=0
    if [[ "${1:-}" == "--exec" ]]; then
        shift
        "$@" || status=$?
    else
        "$PROJECT_PY" -m pytest tests/real_milvus -q -p no:cacheprovider "$@" || status=$?
    fi
    exit "$status"
fi

# ------------------------------------------------------------------------------------------------
# Outside: pick namespace flags that work here, install Milvus in its own venv, go inside.
# ------------------------------------------------------------------------------------------------
began=$SECONDS
if [[ ! -x "$PROJECT_PY" ]]; then
    say "FAILED: the project's virtualenv is missing ($PROJECT_PY); create it first (bash .ci/run does)"
    exit 1
fi

# A PID namespace as well, where possible: its init is our inner shell, so when that shell ends for any
# reason the kernel SIGKILLs Milvus too; --kill-child ends the namespace when unshare itself is killed.
FLAGS=""
reasons=""
for candidate in "--net --pid --fork --mount-proc --kill-child" "--net"; do
    if [[ $(id -u) != 0 ]]; then
        candidate="--map-root-user $candidate"
    fi
    # shellcheck disable=SC2086
    if err=$(unshare $candidate bash -c "$(declare -f lo_up); lo_up" 2>&1); then
        FLAGS=$candidate
        break
    fi
    reasons+="unshare $candidate: ${err:-failed}; "
done
if [[ -z "$FLAGS" ]]; then
    say "SKIPPED: cannot create a private network namespace with loopback alone (${reasons%; }); the real Milvus suite needs one, because Milvus binds every interface"
    exit 0
fi
say "namespace: unshare $FLAGS"

if ! "$MILVUS_VENV/bin/python" -c "import sys, milvus; sys.exit(milvus.__version__ != '$MILVUS_VERSION')" 2>/dev/null; then
    say "installing milvus==$MILVUS_VERSION into $MILVUS_VENV"
    rm -rf "$MILVUS_VENV"
    python3 -m venv "$MILVUS_VENV"
    "$MILVUS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "milvus==$MILVUS_VERSION"
fi
if [[ ! -x "$MILVUS_VENV/milvus-bin/milvus" ]]; then
    # Unpack the binary once (about 4 s); each run copies it into its fresh data directory.
    rm -rf "$MILVUS_VENV/milvus-unpack"
    "$MILVUS_VENV/bin/python" -c "import sys, milvus; milvus._initialize_data_files(sys.argv[1])" "$MILVUS_VENV/milvus-unpack"
    mv "$MILVUS_VENV/milvus-unpack/bin" "$MILVUS_VENV/milvus-bin"
    rm -rf "$MILVUS_VENV/milvus-unpack"
fi

status=0
# shellcheck disable=SC2086
timeout --kill-after=10 "$BUDGET" unshare $FLAGS bash "$ROOT/.ci/real_milvus.sh" --inside-namespace "$@" || status=$?
if [[ $status == 124 || $status == 137 ]]; then
    say "FAILED: the run did not finish within ${BUDGET} s and was killed (Milvus with it)"
fi
say "finished in $((SECONDS - began)) s with exit code $status"
exit "$status"
