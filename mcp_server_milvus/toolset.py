"""Which tools a server offers: `--read-only`, `--tools` and `--exclude-tools`.

Tools are chosen by name or by group; the groups are one table, `server.GROUPS`. The choice is checked when
the server is built, so a misspelt name stops the start (exit 2) instead of quietly offering other tools.

- `--read-only` keeps the tools annotated read-only, and `milvus_load_collection`: loading changes no data,
  and without it a collection released through another client could not be read at all (reads load on
  demand anyway, so load is rarely needed).
- `--tools` keeps only the named tools and groups; `--exclude-tools` then removes its own.
- A tool named in `--tools` by its own name that `--read-only` removes is a contradiction and refused; a
  group named there contributes its read-only tools.
- `--read-only` also keeps `milvus_export`: it only reads Milvus, and writes one new file where the
  operator allowed it (see `tools.transfer`).
- Tools that need something the operator did not give (`absent`, each with the option it needs: milvus_import
  without --import-dir) are
  never offered; naming one in `--tools` is refused, saying what it needs.
- A choice that leaves no tool at all is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mcp_server_milvus.errors import did_you_mean, names
from mcp_server_milvus.tools import ToolFn, announcement

ALSO_READ_ONLY = frozenset({"milvus_load_collection", "milvus_export"})
"""Tools `--read-only` keeps though they are not annotated read-only."""


class ToolChoiceError(ValueError):
    """The operator's choice of tools names something unknown, contradicts itself, or leaves nothing."""


def offered_in_read_only(fn: ToolFn[...]) -> bool:
    return announcement(fn).read_only or fn.__name__ in ALSO_READ_ONLY


def select(
    groups: Mapping[str, Sequence[ToolFn[...]]],
    *,
    read_only: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    absent: Mapping[str, str] | None = None,
) -> list[ToolFn[...]]:
    """The tools to offer, in the order of `groups`."""
    every = [fn for group in groups.values() for fn in group]
    by_name = {fn.__name__: fn for fn in every}
    absent = absent or {}
    lacking = [n for n in include if n in absent]
    if lacking:
        raise ToolChoiceError(
            f"--tools names {names(lacking)}, which needs {' and '.join(absent[n] for n in lacking)}; give it, "
            "or drop the tool from --tools."
        )
    chosen = set(_expand(include, "--tools", groups, by_name)) if include else set(by_name)
    chosen -= set(absent)
    if read_only:
        refused = [n for n in include if n in by_name and not offered_in_read_only(by_name[n])]
        if refused:
            raise ToolChoiceError(
                f"--tools names {names(refused)}, which --read-only turns off (it changes data); "
                "drop it from --tools or drop --read-only."
            )
        chosen = {n for n in chosen if offered_in_read_only(by_name[n])}
    chosen -= set(_expand(exclude, "--exclude-tools", groups, by_name))
    if not chosen:
        raise ToolChoiceError("--tools, --exclude-tools and --read-only together leave no tool to offer.")
    return [fn for fn in every if fn.__name__ in chosen]


def _expand(
    requested: Sequence[str], option: str, groups: Mapping[str, Sequence[ToolFn[...]]], by_name: Mapping[str, ToolFn]
) -> list[str]:
    """The tool names that `requested` (names and groups) stands for; an unknown entry is a ToolChoiceError."""
    found: list[str] = []
    for entry in requested:
        if entry in groups:
            found.extend(fn.__name__ for fn in groups[entry])
        elif entry in by_name:
            found.append(entry)
        else:
            raise ToolChoiceError(
                f"Unknown tool or group {entry!r} in {option}.{did_you_mean(entry, [*groups, *by_name])} "
                f"Groups: {names(groups, limit=100)}. Tools: {names(by_name, limit=100)}."
            )
    return found
