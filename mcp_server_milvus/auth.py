"""Bearer-token authentication for the HTTP transports.

The SDK's own token verification expects an OAuth deployment (issuer, resource server URL); an operator
of this server has a shared secret. `BearerAuth` wraps the SDK's whole ASGI app, so that every MCP
endpoint (streamable HTTP's /mcp, SSE's /sse and its message endpoint) is covered, including any the SDK
adds later; only the paths named in `public` answer without a token.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Collection
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_server_milvus import audit
from mcp_server_milvus.redact import register_secret
from mcp_server_milvus.secret_files import SecretFileError, read_secrets

logger = logging.getLogger(__name__)

REALM = "mcp-server-milvus"
MIN_TOKEN_LENGTH = 16
"""Shorter tokens can be guessed, and would slip past redaction of very short strings."""


class TokenError(Exception):
    """A token that cannot be used; the message never contains it."""


class Tokens:
    """The tokens that open the server: one from the environment, or those of a file (re-read by `reload`)."""

    def __init__(self, token: str | None = None, path: Path | None = None) -> None:
        self.path = path
        self._tokens: list[bytes] = []
        if token is not None:
            self._set([token])
        elif path is not None:
            self._set(read_secrets(path))

    def _set(self, tokens: list[str]) -> None:
        for token in tokens:
            register_secret(token)
        short = sum(len(t) < MIN_TOKEN_LENGTH for t in tokens)
        if short:
            raise TokenError(
                f"{short} auth token(s) shorter than {MIN_TOKEN_LENGTH} characters; make one with: openssl rand -hex 32"
            )
        self._tokens = [t.encode() for t in tokens]

    def reload(self) -> None:
        """Read the token file again (on SIGHUP): tokens no longer in it stop working at once. A file that
        cannot be read keeps the tokens in force, so that a half-written file locks nobody out."""
        if self.path is None:
            return
        try:
            self._set(read_secrets(self.path))  # sets nothing if it raises
        except (SecretFileError, TokenError) as exc:
            logger.error("Kept the current auth tokens: %s", exc)
            return
        logger.info("Read %d auth token(s) from %s", len(self._tokens), self.path)

    def accepts(self, given: str) -> bool:
        """Whether `given` is a current token, in time that does not depend on how much of it matches."""
        candidate = given.encode()
        matches = [hmac.compare_digest(candidate, token) for token in self._tokens]
        return any(matches)


class BearerAuth:
    """ASGI middleware: 401 with `WWW-Authenticate: Bearer` unless the request carries a current token."""

    def __init__(self, app: ASGIApp, tokens: Tokens, public: Collection[str] = ()) -> None:
        self.app = app
        self.tokens = tokens
        self.public = frozenset(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.public:
            await self.app(scope, receive, send)
            return
        scheme, _, given = Headers(scope=scope).get("authorization", "").partition(" ")
        given = given.strip()
        if scheme.lower() == "bearer" and given and self.tokens.accepts(given):
            await self.app(scope, receive, send)
            return
        reason = "wrong_token" if given else "missing_token"
        client = scope.get("client")
        audit.record(
            "auth_refused",
            reason=reason,
            method=scope["method"],
            path=scope["path"],
            client=client[0] if client else None,
        )
        challenge = f'Bearer realm="{REALM}"' + (', error="invalid_token"' if given else "")
        message = (
            "The bearer token is not valid; send a current token in the Authorization header."
            if given
            else "This server needs a bearer token: send 'Authorization: Bearer <token>'."
        )
        response = JSONResponse({"error": message}, status_code=401, headers={"WWW-Authenticate": challenge})
        await response(scope, receive, send)
