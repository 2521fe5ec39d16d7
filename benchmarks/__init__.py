"""Benchmarks for mcp-server-milvus. Run them all with `python -m benchmarks.run` (see benchmarks/README.md)."""
