"""Lone UTF-16 surrogates in arguments: refused before any work, whichever tool and argument holds them.

JSON parsers on the wire (the SDK's for stdio and HTTP) already refuse them, but an in-process client hands
Python strings over as they are, and a string with a lone surrogate cannot be encoded as UTF-8: pymilvus
failed on it mid-request ("Milvus refused to search: Unexpected error, ... surrogates not allowed").
"""

from __future__ import annotations

from typing import Any


def lone_surrogate_at(value: Any, path: str = "") -> str | None:
    """The path (`rows[2].title`) of the first string, or key, that holds a lone surrogate; None if none does."""
    if isinstance(value, str):
        return None if value.isascii() or _encodable(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and not _encodable(key):
                return where
            found = lone_surrogate_at(item, where)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if isinstance(item, str | dict | list | tuple):
                found = lone_surrogate_at(item, f"{path}[{index}]")
                if found is not None:
                    return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
