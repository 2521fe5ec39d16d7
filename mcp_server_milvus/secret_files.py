"""Secrets read from files, so that they never travel on a command line any local user can read (`ps`)."""

from __future__ import annotations

from pathlib import Path


class SecretFileError(Exception):
    """A secret file that cannot be used; the message names the file, never its content."""


def read_secrets(path: Path) -> list[str]:
    """The non-blank lines of `path`, stripped: one secret a line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretFileError(f"cannot read {path}: {type(exc).__name__}") from None
    secrets = [line.strip() for line in text.splitlines() if line.strip()]
    if not secrets:
        raise SecretFileError(f"{path} holds no token (one token a line)")
    return secrets


def read_secret(path: Path) -> str:
    """The one secret in `path` (its first non-blank line)."""
    return read_secrets(path)[0]
