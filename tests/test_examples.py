"""The files in examples/: the quickstart runs, and the client configuration snippets are valid."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mcp_server_milvus import DISTRIBUTION, __version__

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
COMMAND = "mcp-server-milvus"


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILVUS_", "MCP_"))}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def load(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


@pytest.mark.subprocess
@pytest.mark.parametrize("own_uri", [False, True], ids=["temp-db-auto-provider", "uri-no-provider"])
def test_quickstart_runs(tmp_path: Path, own_uri: bool) -> None:
    """With the default provider (the local model when the [embeddings] extra is installed, as in CI) and
    with none: keyword search needs no model."""
    db = tmp_path / "mine.db"
    args = ["--uri", str(db)] if own_uri else []
    env = clean_env(tmp_path)
    if own_uri:
        env["MILVUS_MCP_EMBEDDING_PROVIDER"] = "none"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = done.stdout
    assert "Connected to milvus-lite" in out
    assert "vector field 'text_sparse': SPARSE_INVERTED_INDEX index, BM25" in out
    # By keywords, "similarity search" is first of all the document that holds both words.
    keywords = out.split("== Search by keywords")[1].split("==")[0]
    assert "hit 1: id 1 " in keywords and "Milvus is a vector database" in keywords
    assert "row id 3: Cosine similarity" in out
    if own_uri or importlib.util.find_spec("sentence_transformers") is None:
        assert "Embeddings: none" in out and "Search by meaning" not in out
    else:  # "healthy food to eat" shares no word with the bananas, and finds them by meaning
        meaning = out.split("== Search by meaning")[1].split("==")[0]
        assert "hit 1: id 4 " in meaning, meaning
        assert "== Hybrid search" in out
    assert "dropped 'quickstart'" in out
    assert out.rstrip().endswith("Done.")
    assert "Traceback" not in done.stderr
    if own_uri:
        assert (db / "LOCK").exists(), "the --uri database was not used"
        assert str(db) in out
    assert not (tmp_path / "xdg").exists(), "the quickstart touched the default database"


def test_every_json_example_parses() -> None:
    files = sorted(EXAMPLES.glob("*.json"))
    assert len(files) >= 4, files
    for path in files:
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            pytest.fail(f"{path.name} is not valid JSON: {exc}")
        assert isinstance(data, dict) and data, path.name


WHEEL = f"{DISTRIBUTION.replace('-', '_')}-{__version__}-py3-none-any.whl"
"""The file name `python -m build` gives the wheel (.ci/release.sh builds it)."""


def launch(server: dict[str, Any]) -> str:
    """How a stdio config starts the server, checked: "pipx" (the absolute path pipx installs the command
    at) or "uvx" (uvx, by absolute path, installing from a built wheel or a checkout). A desktop client does
    not start from a shell, so a bare command name would not be found on its PATH."""
    command = server["command"].replace("${userHome}", "/home/me")
    assert command.startswith("/"), f"{command}: give the absolute path (see README, Connect a client)"
    path = Path(command)
    if path.name == COMMAND:
        assert path.parent.parts[-2:] == (".local", "bin"), f"{command}: not where pipx installs commands"
        assert server.get("args", []) == []
        return "pipx"
    assert path.name == "uvx" and path.parent.parts[-2:] == (".local", "bin"), command
    option, source, name, *_ = server["args"]
    assert (option, name) == ("--from", COMMAND), server["args"]
    assert source.startswith("/"), source
    assert not source.endswith(".whl") or Path(source).name == WHEEL, f"{source}: the wheel is {WHEEL}"
    return "uvx"


@pytest.mark.parametrize(("name", "form"), [("claude_desktop_config.json", "pipx"), ("cursor_mcp.json", "uvx")])
def test_mcp_servers_configs_run_the_installed_command(name: str, form: str) -> None:
    """Claude Desktop and Cursor: a top-level "mcpServers" whose command works after the README's install,
    configured by MILVUS_URI."""
    server = load(name)["mcpServers"]["milvus"]
    assert launch(server) == form
    assert server["env"]["MILVUS_URI"].endswith(".db")


def test_vscode_config() -> None:
    """VS Code's .vscode/mcp.json: a top-level "servers", each with a "type"; `${userHome}` is one of the
    variables VS Code fills in."""
    server = load("vscode_mcp.json")["servers"]["milvus"]
    assert server["type"] == "stdio"
    assert server["command"].startswith("${userHome}/") and launch(server) == "pipx"
    assert server["env"]["MILVUS_URI"].endswith(".db")


def test_readme_names_every_example_and_where_each_client_keeps_it() -> None:
    readme = (ROOT / "README.md").read_text()
    install = readme.split("## Install")[1].split("## Serving over HTTP")[0]
    for path in EXAMPLES.glob("*.json"):
        assert f"(examples/{path.name})" in install, path.name
    for where in ("claude_desktop_config.json", "~/.cursor/mcp.json", ".vscode/mcp.json", "command -v " + COMMAND):
        assert where in install, where
    assert "pipx install" in install and "uvx --from" in install and "mcp<2" in install
    assert f"dist/{WHEEL}" in install


def test_vscode_http_config() -> None:
    server = load("vscode_mcp_http.json")["servers"]["milvus"]
    assert server == {"type": "http", "url": "http://127.0.0.1:8000/mcp"}


@pytest.mark.subprocess
def test_configured_command_and_variables_exist(tmp_path: Path) -> None:
    """The command the snippets name is installed next to this interpreter, and every environment
    variable they set is one the CLI reads."""
    command = Path(sys.executable).parent / COMMAND
    assert command.exists(), f"{COMMAND} is not installed in {command.parent}"
    done = subprocess.run(
        [str(command), "--help"], capture_output=True, text=True, timeout=30, env=clean_env(tmp_path), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    names: set[str] = set()
    for path in EXAMPLES.glob("*.json"):
        config = json.loads(path.read_text())
        for server in (config.get("mcpServers") or config.get("servers") or {}).values():
            names.update(server.get("env", {}))
    assert names, "no example sets an environment variable"
    for var in names:
        assert var in done.stdout, f"{var} is not an option's environment variable"
    version = subprocess.run(
        [str(command), "--version"], capture_output=True, text=True, timeout=30, env=clean_env(tmp_path)
    )
    assert version.stdout.strip() == f"{COMMAND} {__version__}"


def test_the_distribution_name_is_ours_everywhere() -> None:
    """`mcp-server-milvus` on PyPI is another project: every `pip install` this repository prints or documents
    names our distribution, which pyproject declares; the command keeps its name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION
    assert project["scripts"] == {COMMAND: "mcp_server_milvus.cli:main"}
    texts = [ROOT / "README.md", ROOT / "Dockerfile", *ROOT.glob("mcp_server_milvus/**/*.py"), *EXAMPLES.glob("*")]
    texts += [*ROOT.glob("benchmarks/*.py"), *ROOT.glob(".ci/*")]
    for path in texts:
        text = path.read_text()
        assert f"{COMMAND}[" not in text and f'version("{COMMAND}")' not in text, path
    readme = (ROOT / "README.md").read_text()
    assert f"pip install '{DISTRIBUTION}[chinese]'" in readme and f"pip install '{DISTRIBUTION}[embeddings]'" in readme
