"""What an operator lets agents see: the `--collections` and `--databases` allow-lists, in one place.

Tools ask this module (through `Runtime`) and so will resources and completions. A collection outside the
lists is not merely refused, it is absent: listings leave it out, and a tool that names it gets the very
words a missing collection gets (`errors.unknown_collection`), with the existing names and the did-you-mean
drawn from the visible ones only, so that no answer tells a hidden collection from one that does not exist.
Databases likewise (`errors.unknown_database`).

The rules:
- Entries are names or fnmatch globs (`docs_*`, `logs_202?`), matched case-sensitively as Milvus names are.
  An empty list allows everything.
- `--collections` applies in every database; a collection is visible when its database passes `--databases`
  and its name passes `--collections`.
- An alias is resolved first, and the collection it names is what must pass, whatever the alias is called.
  Checking the alias's own name instead would let any alias (one made elsewhere, say) open a hidden
  collection; checking both would lock agents out of a visible collection through its ordinary aliases.
- A name about to be made (a collection, a rename's `new_name`, an alias, a database) must pass before any
  RPC. Asking Milvus whether it is taken would answer for hidden collections too: their names share one
  namespace with aliases and new collections.
- A database whose collections are all hidden cannot be dropped, and the refusal says only that it holds
  collections this server does not show: no names, no count. Dropping it would destroy data the agent may
  not touch, and any other answer than success tells that something is there; one bit is the least a
  refusal can reveal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus import errors

if TYPE_CHECKING:
    from mcp_server_milvus.config import Settings


@dataclass(frozen=True)
class Visibility:
    """The allow-lists of one server; empty means everything is visible."""

    collections: tuple[str, ...] = ()
    databases: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> Visibility:
        return cls(settings.collections, settings.databases)

    @property
    def restricted(self) -> bool:
        return bool(self.collections or self.databases)

    def database(self, name: str) -> bool:
        """Whether the database `name` is visible."""
        return allowed(name, self.databases)

    def collection(self, database: str, name: str) -> bool:
        """Whether the collection (its own name, not an alias's) `name` of `database` is visible."""
        return allowed(database, self.databases) and allowed(name, self.collections)

    def visible_databases(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if self.database(n)]

    def visible_collections(self, database: str, names: Iterable[str]) -> list[str]:
        return [n for n in names if self.collection(database, n)]

    def hidden_collection(self, name: str, database: str, existing: Iterable[str]) -> ToolError:
        """The refusal for a collection that is hidden or missing: the same words either way."""
        return errors.unknown_collection(name, database, self.visible_collections(database, existing))

    def hidden_database(self, name: str, existing: Iterable[str]) -> ToolError:
        """The refusal for a database that is hidden or missing: the same words either way."""
        return errors.unknown_database(name, self.visible_databases(existing))

    def check_new(self, kinds: str, name: str) -> None:
        """Refuse, before any RPC, a collection or alias name about to be made outside `--collections`;
        `kinds` is what is made, in the plural ('collections', 'aliases')."""
        if not allowed(name, self.collections):
            raise ToolError(
                f"This server may only make {kinds} named like {errors.names(self.collections)} (--collections); "
                f"choose a name that matches.{_example(self.collections)}"
            )

    def check_new_database(self, name: str) -> None:
        """Refuse, before any RPC, a database about to be made outside `--databases`."""
        if not allowed(name, self.databases):
            raise ToolError(
                f"This server may only make databases named like {errors.names(self.databases)} (--databases); "
                f"choose a name that matches.{_example(self.databases)}"
            )

    @staticmethod
    def not_empty(database: str) -> ToolError:
        """The refusal to drop a database whose collections are all hidden (see the module's docstring)."""
        return ToolError(
            f"Database '{database}' holds collections this server does not show, so it cannot be dropped "
            "through this server; ask its operator."
        )


def allowed(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether `name` passes an allow-list of names and globs (empty: everything passes)."""
    return not patterns or any(fnmatchcase(name, p) for p in patterns)


def _example(patterns: tuple[str, ...]) -> str:
    """' E.g. 'docs_new'.' from the first pattern with wildcards, only `*` and `?` (a literal name may be taken)."""
    for pattern in patterns:
        if "*" not in pattern and "?" not in pattern:
            continue
        name = pattern.replace("*", "new").replace("?", "1")
        if fnmatchcase(name, pattern):
            return f" E.g. {name!r}."
    return ""
