"""An MCP server that gives AI agents the whole of the Milvus vector database."""

__version__ = "0.1.0"
