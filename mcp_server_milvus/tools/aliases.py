"""Aliases: a second name for a collection, which every tool accepts as `collection_name`.

Pointing an alias at another collection switches every reader at once (build "docs_v2", then create the
alias "docs" for it with `replace`: one tool makes and re-points aliases, so an agent never has to know
beforehand whether the alias exists). The schema cache is keyed by the name a tool was given, so each change here forgets
the alias's entry: the next read through the alias describes the collection it now names. Changes made
through the collection's own name reach its aliases' entries too (`SchemaCache.invalidate`), and a release
is recorded under the collection's own name, whichever name it came through. An alias re-pointed by another
program is seen when the entry's TTL runs out, like any other change made elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcp_server_milvus import errors
from mcp_server_milvus.arguments import AliasRef, CollectionName, Database, NewAlias
from mcp_server_milvus.failures import Failure, grpc_status
from mcp_server_milvus.runtime import Runtime
from mcp_server_milvus.schema_cache import CollectionInfo
from mcp_server_milvus.sessions import Session
from mcp_server_milvus.tools import runtime, tool

T = TypeVar("T")

AliasName = AliasRef


class AliasOut(BaseModel):
    alias: str
    collection_name: str = Field(description="The collection the alias names.")


class AliasChanged(BaseModel):
    alias: str
    collection_name: str
    database: str
    previous_collection: str | None = None


class AliasDropped(BaseModel):
    dropped: str
    database: str
    collection_name: str | None = Field(None, description="The collection the alias named.")


class AliasList(BaseModel):
    database: str
    aliases: list[AliasOut]


async def supported(session: Session, call: Callable[[], Awaitable[T]]) -> T:
    """`call`, with a backend that has no alias RPCs reported as such rather than as a bare refusal."""
    try:
        return await call()
    except Exception as exc:
        if grpc_status(exc) == "UNIMPLEMENTED":
            raise ToolError(
                f"This Milvus ({session.backend.kind} {session.backend.version}) does not support aliases: "
                f"{errors.milvus_message(exc)}. Use the collection's own name."
            ) from None
        raise


async def aliases_of(session: Session, collection: str, timeout: float) -> list[str]:
    """The aliases of one collection."""
    listed = await supported(session, lambda: session.client.list_aliases(collection, timeout=timeout))
    # pymilvus 3.0.2's async client answers a plain list; its sync one a dict {"aliases": [...]}
    found = listed.get("aliases") if isinstance(listed, dict) else listed
    return [str(a) for a in found or []]


async def all_aliases(rt: Runtime, session: Session) -> dict[str, str]:
    """Every alias of the database that names a visible collection, with that collection, in alias order.

    pymilvus 3.0.2's async `list_aliases` refuses an empty collection name (its sync one sends it, and
    Milvus answers every alias), so the aliases are asked for collection by collection; that also says
    which collection each alias names without a `describe_alias` per alias, and leaves out the aliases of
    collections the allow-lists hide."""
    timeout = rt.timeout
    collections = await rt.collections(session)
    found: dict[str, str] = {}
    limiter = anyio.CapacityLimiter(8)

    async def of(collection: str) -> None:
        async with limiter:
            try:
                aliases = await aliases_of(session, collection, timeout)
            except ToolError:
                raise
            except Exception as exc:  # a collection dropped meanwhile has no aliases left
                if session.backend.classify(exc, None) is not Failure.COLLECTION_MISSING:
                    raise
                return
            found.update(dict.fromkeys(aliases, collection))

    async with anyio.create_task_group() as tg:
        for collection in collections:
            tg.start_soon(of, collection)
    return dict(sorted(found.items()))


async def existing_alias(rt: Runtime, session: Session, alias: str) -> str:
    """The collection `alias` names; an alias that does not exist, or names a hidden collection, is a
    ToolError listing those that do (Lite's drop_alias of a missing alias succeeds silently, so this is
    checked first)."""
    known = await all_aliases(rt, session)
    if alias not in known:
        listing = f" Existing aliases: {errors.names(known)}." if known else " The database has no aliases."
        raise ToolError(
            f"Alias '{alias}' does not exist in database '{session.database}'."
            f"{errors.did_you_mean(alias, known)}{listing}"
        )
    return known[alias]


@tool()
async def milvus_create_alias(
    ctx: Context,
    collection_name: CollectionName,
    alias: NewAlias,
    replace: Annotated[bool, Field(description="Re-point an existing alias here; readers switch at once.")] = False,
    database: Database = None,
) -> AliasChanged:
    """Give a collection a second name, accepted wherever collection_name is."""
    rt = runtime(ctx)
    t = rt.timeout
    if not replace:
        rt.visibility.check_new("aliases", alias)

    async def create(session: Session, info: CollectionInfo) -> AliasChanged:
        known = await all_aliases(rt, session)
        if alias in known:
            raise ToolError(
                f"Alias '{alias}' already exists (for '{known[alias]}'); pass replace: true to point it at "
                f"'{info.name}'."
            )
        await supported(session, lambda: session.client.create_alias(info.name, alias, timeout=t))
        rt.forget(session, alias)
        return AliasChanged(alias=alias, collection_name=info.name, database=session.database)

    async def repoint(session: Session, info: CollectionInfo) -> AliasChanged:
        previous = await existing_alias(rt, session, alias)
        await supported(session, lambda: session.client.alter_alias(info.name, alias, timeout=t))
        rt.forget(session, alias)
        return AliasChanged(
            alias=alias, collection_name=info.name, database=session.database, previous_collection=previous
        )

    if replace:
        return await rt.on_collection(database, collection_name, "re-point the alias", repoint)
    return await rt.on_collection(database, collection_name, "create the alias", create)


@tool(destructive=True)
async def milvus_drop_alias(ctx: Context, alias: AliasName, database: Database = None) -> AliasDropped:
    """Drop an alias; the collection stays."""
    rt = runtime(ctx)
    t = rt.timeout

    async def op(session: Session) -> AliasDropped:
        collection = await existing_alias(rt, session, alias)
        await supported(session, lambda: session.client.drop_alias(alias, timeout=t))
        rt.forget(session, alias)
        return AliasDropped(dropped=alias, database=session.database, collection_name=collection)

    return await rt.run(database, "drop the alias", op)


@tool(read_only=True)
async def milvus_list_aliases(
    ctx: Context,
    collection_name: CollectionName | None = None,
    database: Database = None,
) -> AliasList:
    """List aliases with the collections they name."""
    rt = runtime(ctx)
    t = rt.timeout

    if collection_name is not None:

        async def of_collection(session: Session, info: CollectionInfo) -> AliasList:
            found = sorted(await aliases_of(session, info.name, t))
            return AliasList(
                database=session.database, aliases=[AliasOut(alias=a, collection_name=info.name) for a in found]
            )

        return await rt.on_collection(database, collection_name, "list aliases", of_collection)

    async def every(session: Session) -> AliasList:
        found = await all_aliases(rt, session)
        return AliasList(
            database=session.database, aliases=[AliasOut(alias=a, collection_name=c) for a, c in found.items()]
        )

    return await rt.run(database, "list aliases", every)


TOOLS = (
    milvus_list_aliases,
    milvus_create_alias,
    milvus_drop_alias,
)
