"""The directories the operator allowed (--import-dir, --export-dir), and the one way an agent's path
becomes a file there.

An agent names a file; the file system only ever sees an allowed directory joined with that name, after
it is resolved (symlinks followed) and found strictly inside one of the allowed directories, themselves
resolved at start. `..` is refused outright rather than resolved: it never names anything an agent needs,
and refusing it says plainly what the rule is. A symlink inside an allowed directory that points outside
resolves outside, and is refused like any other path there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath

from mcp.server.mcpserver.exceptions import ToolError

from mcp_server_milvus.errors import excerpt


@dataclass(frozen=True)
class Place:
    """A file an agent named, where it really is, and how to name it back to the agent."""

    path: Path
    """Resolved: inside `root`."""
    root: Path

    @property
    def shown(self) -> str:
        """The path relative to its allowed directory (the agent need not know where that is)."""
        return str(self.path.relative_to(self.root))


def resolve(given: str, roots: tuple[Path, ...], option: str) -> Place:
    """The file `given` names, relative to the first of `roots` (or absolute, inside one of them).

    `roots` are resolved directories (see `Settings`); a path that resolves outside all of them, or
    names `..`, is a ToolError."""
    name = excerpt(given, 120)
    if not roots:
        raise ToolError(f"This server's operator allowed no directory ({option}); no file can be used.")
    if not given.strip() or "\0" in given:
        raise ToolError(f"path {name!r} is not a file name; give a path such as 'data/rows.jsonl'.")
    if ".." in PurePath(given).parts:
        raise ToolError(f"path {name!r} contains '..', which is not allowed; give a path inside the {option}.")
    candidate = Path(given)
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    try:
        real = candidate.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
        raise ToolError(f"path {name!r} cannot be resolved ({exc}); give a plain path inside the {option}.") from None
    for root in roots:
        if real != root and real.is_relative_to(root):
            return Place(real, root)
    raise ToolError(
        f"path {name!r} is outside the directories this server's operator allowed ({option}); give a path "
        "relative to the first of them, with no symlink leading out."
    )
