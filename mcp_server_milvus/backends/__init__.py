"""One adapter per backend: every difference between Milvus Lite and a Milvus server lives in these
modules (`lite`, `server`), behind the interface in `base`. The backend is chosen once, from the version
Milvus reports at first contact, so a Milvus Lite served over the network is still treated as Lite.
"""

from __future__ import annotations

from mcp_server_milvus.backends.base import Backend
from mcp_server_milvus.backends.lite import LiteBackend
from mcp_server_milvus.backends.server import ServerBackend
from mcp_server_milvus.capabilities import from_version

__all__ = ["Backend", "for_version"]


def for_version(version: str) -> Backend:
    """The adapter for a backend that reported `version` (`get_server_version()`)."""
    capabilities = from_version(version)
    return LiteBackend(capabilities) if capabilities.backend == "milvus-lite" else ServerBackend(capabilities)
