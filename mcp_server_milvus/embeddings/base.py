"""The interface every embedding provider implements, and the errors an agent may see.

The server only ever talks to `Provider`; each concrete provider lives in its own module so the
heavy optional dependencies (torch, sentence-transformers) are imported only by the one that needs
them, and only in its helper process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


class EmbeddingError(Exception):
    """An embedding request failed; the message is written for the agent (what happened, what to do)."""


class EmbeddingUnavailable(EmbeddingError):
    """The requested provider cannot run here at all (missing optional dependency, bad configuration)."""


@dataclass(frozen=True)
class Embedded:
    """Vectors for a batch of texts, plus which texts the model silently truncated.

    `cut` holds the indexes of texts longer than the model's window: the model embeds only their
    beginning without saying so, and the agent should know its long document was not embedded whole.
    `max_tokens` is that window (None when the provider does not expose it).
    """

    vectors: list[list[float]]
    cut: list[int] = field(default_factory=list)
    max_tokens: int | None = None


class Provider(ABC):
    """Turns texts into vectors.

    `name` is the provider kind ("local", "openai") and `model` a stable identity of the model, so
    that vectors recorded with one model can be told apart from another's; it is never an install
    path, which changes between machines.
    """

    name: str
    model: str
    known_dimension: int | None = None
    """Set once the provider has learnt its dimension (a local model, when loaded)."""

    @abstractmethod
    async def dimension(self) -> int:
        """The length of every vector this provider returns."""

    @abstractmethod
    async def embed(self, texts: list[str]) -> Embedded:
        """Embed `texts`, returning one vector per text in the same order."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release whatever the provider holds (a helper process, HTTP connections)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r})"
