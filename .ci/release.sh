#!/usr/bin/env bash
# Release artefacts: build the sdist and the wheel into dist/, install the wheel (no extras: keyword search
# only, so no torch) into a fresh virtualenv outside the checkout, and run examples/quickstart.py there.
# What the wheel lacks (a module, py.typed, the command) fails here, not on a user's machine.
#
#   bash .ci/release.sh            # with the project's venv active (python -m build needs `build`: the test extra)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
start=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf dist
# The wheel is built from the sdist (build's default), so a file the sdist leaves out is missing from both.
python -m build --outdir dist . >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
wheel=$(ls dist/*.whl)
sdist=$(ls dist/*.tar.gz)
echo "release: built $(basename "$sdist") and $(basename "$wheel") in $((SECONDS - start)) s"

# The files the server needs at run time, in the wheel and in the sdist it was built from.
python - "$wheel" "$sdist" <<'EOF'
import sys, tarfile, zipfile
from pathlib import Path

wheel, sdist = sys.argv[1], sys.argv[2]
needed = sorted(str(p) for p in Path("mcp_server_milvus").rglob("*") if p.is_file() and p.suffix in (".py", ".typed"))
in_wheel = set(zipfile.ZipFile(wheel).namelist())
with tarfile.open(sdist) as tar:
    root = tar.getnames()[0].split("/")[0]
    in_sdist = {name.removeprefix(root + "/") for name in tar.getnames()}
for where, names in (("wheel", in_wheel), ("sdist", in_sdist)):
    missing = [n for n in needed if n not in names]
    if missing:
        sys.exit(f"release: the {where} lacks {len(missing)} package files, e.g. {missing[:5]}")
for part in ("mcp_server_milvus/py.typed", "mcp_server_milvus/prompts/__init__.py", "mcp_server_milvus/guides.py",
             "mcp_server_milvus/engine/host.py"):
    assert part in in_wheel, part
print(f"release: the wheel holds all {len(needed)} package files (py.typed, prompts/, guides, engine/ among them)")
EOF

# A fresh virtualenv, run from a directory outside the checkout: nothing can come from the source tree. The
# venv is left in .venv-release (git-ignored) for a look afterwards: removing it takes half a minute on CI.
venv=$REPO/.venv-release
step=$SECONDS
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile "$wheel"
echo "release: installed the wheel into a fresh venv in $((SECONDS - step)) s"

cp examples/quickstart.py "$work/"
cd "$work"
env -u MILVUS_URI -u MILVUS_TOKEN -u PYTHONPATH XDG_DATA_HOME="$work/xdg" "$venv/bin/python" - "$REPO" "$wheel" <<'EOF'
import importlib.metadata, json, subprocess, sys
from pathlib import Path

import mcp_server_milvus

venv = Path(sys.prefix)
assert Path(mcp_server_milvus.__file__).is_relative_to(venv), f"imported from {mcp_server_milvus.__file__}"
assert "site-packages" in Path(mcp_server_milvus.__file__).parts, f"imported from {mcp_server_milvus.__file__}"
version = importlib.metadata.version(mcp_server_milvus.DISTRIBUTION)
assert version == mcp_server_milvus.__version__, (version, mcp_server_milvus.__version__)
command = venv / "bin" / "mcp-server-milvus"
shown = subprocess.run([command, "--version"], capture_output=True, text=True, check=True).stdout.strip()
assert shown == f"mcp-server-milvus {version}", shown
subprocess.run([command, "--help"], capture_output=True, check=True)
# What the client configs in examples/ start is what this install provides.
for path in sorted(Path(sys.argv[1], "examples").glob("*.json")):
    for server in (json.loads(path.read_text()).get("mcpServers") or json.loads(path.read_text())["servers"]).values():
        if "command" not in server:
            continue  # over HTTP
        name, args = Path(server["command"]).name, server.get("args", [])
        if name == "uvx":
            name = args[2]
            if args[1].endswith(".whl"):
                assert Path(args[1]).name == Path(sys.argv[2]).name, f"{path.name} names {args[1]}"
        assert (venv / "bin" / name).exists(), f"{path.name}: the wheel installs no {name}"
print(f"release: {mcp_server_milvus.DISTRIBUTION} {version} imports from the venv; {command.name} answers")
EOF
step=$SECONDS
out=$(env -u MILVUS_URI -u MILVUS_TOKEN -u PYTHONPATH XDG_DATA_HOME="$work/xdg" "$venv/bin/python" quickstart.py 2>&1) || {
    echo "$out"
    echo "release: the quickstart failed from the installed wheel" >&2
    exit 1
}
case "$out" in
*"Done.") ;;
*) echo "$out"; echo "release: the quickstart did not finish" >&2; exit 1 ;;
esac
echo "release: examples/quickstart.py ran from the wheel's venv in $((SECONDS - step)) s"
echo "release: done in $((SECONDS - start)) s"
