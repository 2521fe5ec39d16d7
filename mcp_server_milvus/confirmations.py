"""A human's yes before a destructive call, asked through elicitation where the client can ask one.

`confirm_name` stays required on every destructive tool: the agent states its intent there. Where the
client declared form elicitation, the user is asked as well, through the SDK's `Resolve`/`Elicit`, which
asks in the call on protocols up to 2025-11-25 and through an input-required round after that. A tool
takes the answer as a parameter annotated `Confirmed` with its own resolver, which returns `ask(...)`
or None (nothing to ask), and calls `check` first thing.
"""

from __future__ import annotations

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

INPUT_REQUIRED_VERSION = "2026-07-28"
"""From this protocol on, the SDK elicits through an input-required result rather than a request mid-call."""


class Confirmation(BaseModel):
    confirm: bool = Field(description="Yes, go ahead.")


def can_ask(ctx: Context) -> bool:
    """Whether an elicitation may be sent: one to a client that did not declare form elicitation is a
    protocol error (a bare `elicitation: {}` counts as form, as in the SDK), and before 2026-07-28 it
    needs a connection that carries server requests (not stateless HTTP)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    return (version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION)) or bool(
        ctx.session.can_send_request
    )


def ask(ctx: Context, question: str) -> Elicit[Confirmation] | None:
    """The question for the user, or None when this client cannot be asked (confirm_name alone then)."""
    return Elicit(question, Confirmation) if can_ask(ctx) else None


def check(answer: ElicitationResult[Confirmation], refused: str) -> None:
    """Go on when nobody was asked or the user said yes; otherwise fail with `refused` (what was kept)."""
    if isinstance(answer, AcceptedElicitation) and (answer.data is None or answer.data.confirm):
        return
    raise ToolError(f"The user declined: {refused} Ask the user before trying again.")
