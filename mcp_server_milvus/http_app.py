"""The ASGI app behind the HTTP transports, secure by default.

Layers, outermost first: `/healthz` (no token: it says only whether Milvus answers), the bearer-token
check, a request-size cap with a refusal that names the limit, then the SDK's app, which checks Host and
Origin against DNS rebinding. The SDK turns that check on by itself only for a loopback bind, and with it
on and no allowed hosts it refuses every request; hence `exposure_problem`, which refuses to start on a
non-loopback address without `--allowed-hosts` (or `--allow-any-host`) and without a token (or
`--allow-unauthenticated`).
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

import anyio
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_server_milvus.auth import BearerAuth, Tokens
from mcp_server_milvus.config import Settings

if TYPE_CHECKING:
    from mcp_server_milvus.runtime import Runtime
    from mcp_server_milvus.server import MilvusServer

HEALTH_PATH = "/healthz"
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
"""What the SDK allows on a loopback bind when given no settings."""

_HAS_PORT = re.compile(r"(^\[[^\]]*\]|^[^:\[\]]*):(\d+|\*)$")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_problem(settings: Settings) -> str | None:
    """Why the server must not start as configured, or None. Only HTTP binds beyond loopback are checked."""
    if settings.transport == "stdio" or is_loopback(settings.host):
        return None
    if not (settings.auth_token or settings.auth_token_file or settings.allow_unauthenticated):
        return (
            f"serving on {settings.host} (beyond this machine) needs a bearer token: set MILVUS_MCP_AUTH_TOKEN "
            "or pass --auth-token-file, or pass --allow-unauthenticated to serve without one."
        )
    if not (settings.allowed_hosts or settings.allow_any_host):
        return (
            f"serving on {settings.host} needs --allowed-hosts (the host names clients use to reach this server, "
            "e.g. --allowed-hosts mcp.example.com), or --allow-any-host when a proxy checks the Host header."
        )
    return None


def _host_patterns(host: str) -> list[str]:
    """A host without a port matches it on any port: the Host header carries the port when it is not 80."""
    if _HAS_PORT.match(host):
        return [host]
    bare = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return [bare, f"{bare}:*"]


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """The SDK's Host and Origin checks for these settings."""
    if settings.allow_any_host:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = [p for h in settings.allowed_hosts for p in _host_patterns(h)]
    origins = list(settings.allowed_origins)
    if is_loopback(settings.host):
        hosts, origins = LOOPBACK_HOSTS + hosts, LOOPBACK_ORIGINS + origins
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


class RequestCap:
    """Refuse a body whose declared length is over the cap, saying the limit and how to stay under it.

    A body sent without a length (chunked) is counted by the SDK, which refuses it with a terse 413 of its
    own at the same limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                message = (
                    f"The request is {int(declared)} bytes, over this server's limit of {self.max_bytes} bytes "
                    "(--max-request-bytes); send fewer rows per call."
                )
                response = JSONResponse(
                    {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}, status_code=413
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Health:
    """`/healthz`: 200 when Milvus answers a version request within the timeout, else 503. Nothing more."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        reachable = await self.milvus_reachable()
        response = JSONResponse(
            {"milvus": "reachable" if reachable else "unreachable"}, status_code=200 if reachable else 503
        )
        await response(scope, receive, send)

    async def milvus_reachable(self) -> bool:
        rt = self.runtime
        with anyio.move_on_after(rt.timeout):
            try:
                await rt.run(None, "check health", lambda s: s.client.get_server_version(timeout=rt.timeout))
            except Exception:
                return False
            return True
        return False


def http_app(server: MilvusServer, settings: Settings, tokens: Tokens | None) -> ASGIApp:
    """The SDK's app for `settings.transport`, with every layer above around it."""
    security = transport_security(settings)
    if settings.transport == "sse":
        app: ASGIApp = server.sse_app(
            host=settings.host, transport_security=security, max_request_body_size=settings.max_request_bytes
        )
    else:
        app = server.streamable_http_app(
            stateless_http=settings.stateless,
            host=settings.host,
            transport_security=security,
            max_request_body_size=settings.max_request_bytes,
        )
    app = RequestCap(app, settings.max_request_bytes)
    if tokens is not None:
        app = BearerAuth(app, tokens, public={HEALTH_PATH})
    return Health(app, server.runtime)
