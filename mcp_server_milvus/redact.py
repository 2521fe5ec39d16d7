"""Secrets never reach a log line or an agent: tokens and `user:password@` are masked."""

from __future__ import annotations

import logging
import re

_USERINFO = re.compile(r"://[^/@\s]+@")
"""The `user:password@` after a URI's scheme. Anchored on '://' rather than on the scheme, so that matching
is linear in the text: a scheme pattern like `[a-z][a-z0-9+.-]*://` rescans every run of letters from each
of its characters, and a 20,000-character filter echoed in an error took 2 s (1 MB: half an hour)."""
_MASK = "***"
_secrets: set[str] = set()


def register_secret(secret: str) -> None:
    """Remember a secret (such as the token) so that every later `redact` masks it."""
    if len(secret) >= 4:
        _secrets.add(secret)
        # A token of the form user:password also leaks as its password alone; the user name is no secret.
        _, _, password = secret.partition(":")
        if len(password) >= 4:
            _secrets.add(password)


def redact(text: str) -> str:
    """Mask registered secrets and URI credentials in `text`."""
    text = _USERINFO.sub(f"://{_MASK}@", text)
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text


class RedactingFilter(logging.Filter):
    """Applied to the log handler, so that no record (ours or a library's) leaks a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are formatted later; fold them into the redacted message now.
            message = message + "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = redact(message)
        record.args = None
        return True
