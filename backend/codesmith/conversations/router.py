"""Conversations: list and search, the detail with its message tree, rename and delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response

from codesmith.auth.deps import CurrentUser
from codesmith.conversations import handling as generation
from codesmith.conversations import service, sse
from codesmith.conversations.gate import Slot
from codesmith.conversations.generations import GenerationsDep
from codesmith.conversations.handling import Requester
from codesmith.conversations.schemas import (
    ConversationCreate,
    ConversationListItem,
    ConversationPublic,
    ConversationUpdate,
    MessageCreate,
    MessagePublic,
    RegenerateRequest,
)
from codesmith.db import SessionDep
from codesmith.deps import KeyringDep, SettingsDep, UsageLimiterDep
from codesmith.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/conversations", tags=["conversations"])

SearchQuery = Annotated[str | None, Query(max_length=500, description="Words to find in titles, requests and code.")]


@router.get("", response_model=Page[ConversationListItem])
async def list_conversations(
    user: CurrentUser, session: SessionDep, q: SearchQuery = None, limit: LimitQuery = 20, cursor: CursorQuery = None
) -> Page[ConversationListItem]:
    return await service.list_conversations(session, user, q=q, limit=limit, cursor=cursor)


@router.get("/{conversation_id}", response_model=ConversationPublic)
async def get_conversation(conversation_id: str, user: CurrentUser, session: SessionDep) -> Response:
    # Already JSON: a long conversation is serialized once, not validated again as a model.
    body = await service.get_detail_json(session, user, conversation_id)
    return Response(body, media_type="application/json")


@router.patch("/{conversation_id}", response_model=ConversationPublic)
async def update_conversation(
    conversation_id: str, data: ConversationUpdate, user: CurrentUser, session: SessionDep
) -> ConversationPublic:
    return await service.rename(session, user, conversation_id, data.title)


@router.delete("/{conversation_id}", status_code=204)
async def delete_conversation(
    conversation_id: str, user: CurrentUser, session: SessionDep, generations: GenerationsDep
) -> Response:
    await service.delete_conversation(session, user, conversation_id, generations=generations)
    return Response(status_code=204)


# -- generation: create, feedback, regenerate, cancel, re-attach (conversations/generation.py) ---------------
async def _setup_slot(generations: GenerationsDep) -> AsyncIterator[Slot]:
    """The request's place in the setup gate (conversations/gate.py), taken before authentication reads the
    database; given back at the latest when the request ends."""
    slot = await generations.setups.enter()
    try:
        yield slot
    finally:
        slot.release()


async def _requester(
    slot: Annotated[Slot, Depends(_setup_slot)],  # first: no database connection is held while it waits
    user: CurrentUser,
    keyring: KeyringDep,
    settings: SettingsDep,
    limiter: UsageLimiterDep,
    generations: GenerationsDep,
) -> Requester:
    return Requester(
        user=user, keyring=keyring, settings=settings, limiter=limiter, generations=generations, setup=slot
    )


RequesterDep = Annotated[Requester, Depends(_requester)]
LastEventId = Annotated[
    str | None, Header(alias="Last-Event-ID", description="The id of the last event received: resume after it.")
]
_EVENTS = (
    "Events: `start` {conversation_id, message_id, parent_id, model_id}; `delta` {text} (zero or more); "
    "then `done` (the Message) or `error` {code, detail, message_id}. Every event has an `id:`, the "
    "character offset of the answer delivered so far; idle streams get a `: ping` comment every 15 s."
)
_STREAMED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "With `stream: true`: a text/event-stream. " + _EVENTS,
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.post("", status_code=201, response_model=ConversationPublic, responses=_STREAMED)
async def create_conversation(
    data: ConversationCreate, who: RequesterDep, session: SessionDep
) -> Response | ConversationPublic:
    """A new conversation and its first generation (201 once it has ended, or a stream with `stream: true`)."""
    return await generation.answer(session, who, partial(generation.create, session, who, data), stream=data.stream)


@router.post("/{conversation_id}/messages", status_code=201, response_model=ConversationPublic, responses=_STREAMED)
async def add_feedback(
    conversation_id: str, data: MessageCreate, who: RequesterDep, session: SessionDep
) -> Response | ConversationPublic:
    """Feedback on an answer (default: the newest) and a new generation under it; with `edit_of`, a new
    version of a sent prompt (a sibling of that user message) and a new generation under it. Answers like create."""
    begin = partial(generation.feedback, session, who, conversation_id, data)
    return await generation.answer(session, who, begin, stream=data.stream)


@router.post(
    "/{conversation_id}/messages/{message_id}/regenerate",
    status_code=201,
    response_model=ConversationPublic,
    responses=_STREAMED,
)
async def regenerate_message(
    conversation_id: str, message_id: str, data: RegenerateRequest, who: RequesterDep, session: SessionDep
) -> Response | ConversationPublic:
    """Another answer to the same request: a sibling of the assistant message `message_id` (for a user
    message: a new answer under it); answers like create."""
    begin = partial(generation.regenerate, session, who, conversation_id, message_id, data)
    return await generation.answer(session, who, begin, stream=data.stream)


@router.post("/{conversation_id}/messages/{message_id}/cancel", response_model=MessagePublic)
async def cancel_generation(
    conversation_id: str, message_id: str, user: CurrentUser, session: SessionDep, generations: GenerationsDep
) -> MessagePublic:
    """Stop a running generation, keeping its partial answer (status `cancelled`); a finished one is returned as is."""
    return await generation.cancel(session, user, generations, conversation_id, message_id)


@router.get(
    "/{conversation_id}/messages/{message_id}/stream",
    status_code=200,
    response_class=sse.EventStreamResponse,
    responses={
        200: {
            "description": "The answer so far as one `delta`, live deltas, then `done` or `error`; "
            "a finished generation answers `done` at once. " + _EVENTS
        }
    },
)
async def stream_generation(
    conversation_id: str,
    message_id: str,
    user: CurrentUser,
    session: SessionDep,
    generations: GenerationsDep,
    last_event_id: LastEventId = None,
) -> sse.EventStreamResponse:
    """Re-attach to a generation; with Last-Event-ID, only what came after that event."""
    return await generation.attach(session, user, generations, conversation_id, message_id, last_event_id)
