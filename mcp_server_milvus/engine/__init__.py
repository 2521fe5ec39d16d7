"""Milvus Lite as its own process, shared by every MCP server on one database.

Two sides of one socket: `host` and `host_lanes` run inside the engine process; `client` runs in each
MCP server and starts, attaches to and restarts the engine. `rundir` is the on-disk protocol they
share (the run directory beside the database).
"""
