"""Generation requests: a new conversation, feedback, regeneration, cancellation and re-attaching.

Everything that can refuse a request (validation, limits, the guard, the model, the context window,
a running generation) happens before anything is stored; the user's message is committed before the
upstream is called; the generation's runner then owns the assistant message until it ends, whatever
happens (runner.py). Which replica runs a generation matters to nobody here: the GenerationService
connects cancels and subscribers to it wherever it runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from codesmith.config import Settings
from codesmith.conversations import repair, sse, tree
from codesmith.conversations import service as conversations
from codesmith.conversations.gate import Slot
from codesmith.conversations.generations import IN_PROGRESS, GenerationService
from codesmith.conversations.jobs import Job
from codesmith.conversations.prompt import Context, TokenCounter, Turn, build_context, chat_messages, title_from
from codesmith.conversations.runner import API_COALESCE_SECONDS
from codesmith.conversations.running import Generation
from codesmith.conversations.schemas import (
    ConversationCreate,
    ConversationPublic,
    MessageCreate,
    MessagePublic,
    RegenerateRequest,
    message_public,
)
from codesmith.conversations.store import lease_end, reread, stored_terminal_event
from codesmith.conversations.tables import (
    ACTIVE_STATUSES,
    Conversation,
    Message,
    MessageKind,
    MessageStatus,
    Role,
)
from codesmith.db import insert_new, new_id, utcnow
from codesmith.errors import GenerationInProgress, NotFound, ValidationFailed
from codesmith.guard.input import clean_prompt
from codesmith.guard.local import ensure_code_request
from codesmith.llm.types import ChatMessage
from codesmith.models import service as models
from codesmith.models.service import ResolvedModel
from codesmith.models.tables import Model
from codesmith.security import Keyring
from codesmith.snippets.service import snippets_of_messages
from codesmith.usage.limits import UsageLimiter
from codesmith.users.tables import User


@dataclass(frozen=True, slots=True)
class Requester:
    """The acting user and the request-scoped services a generation request uses."""

    user: User
    keyring: Keyring
    settings: Settings
    limiter: UsageLimiter
    generations: GenerationService
    setup: Slot = field(default_factory=Slot)  # its place in the setup gate, given back once launched


async def create(session: AsyncSession, who: Requester, data: ConversationCreate) -> Generation:
    """A new conversation: its request, stored, and its first generation, started."""
    await _admit(session, who)
    prompt = _clean(who, data.prompt, "prompt")
    model = await models.resolve(session, who.user, who.keyring, who.settings, data.model_id)
    now = utcnow()
    conversation = Conversation(
        id=new_id(),
        user_id=who.user.id,
        title=title_from(prompt),
        model_id=model.id,
        language=data.language,
        created_at=now,
        updated_at=now,
    )
    request = _user_message(conversation, who.user, None, MessageKind.REQUEST, prompt, now)
    with who.generations.reserve(conversation.id):
        context = await _context(session, who, model, [tree.turn(request)], conversation.language)
        session.add_all([conversation, request])
        return await _launch(session, who, conversation, request, model, context)


async def feedback(session: AsyncSession, who: Requester, conversation_id: str, data: MessageCreate) -> Generation:
    """Feedback under an assistant message (default: the newest) and a new generation under it; with
    `edit_of`, a new version of a user message instead (its sibling) and a new generation under that."""
    conversation = await conversations.get_owned(session, who.user, conversation_id)
    await _admit(session, who)
    content = _clean(who, data.content, "content")
    with who.generations.reserve(conversation.id):
        messages = await tree.load(session, conversation.id)
        _ensure_idle(messages)
        if data.edit_of is not None:
            original = tree.edited_message(messages, data.edit_of)
            parent = messages.get(original.parent_id) if original.parent_id else None
            kind, at = original.kind, tree.after(original.created_at)
        else:
            parent = tree.feedback_parent(messages, data.parent_id)
            kind, at = MessageKind.FEEDBACK, tree.after(parent.created_at)
        model = await _model_for(session, who, conversation, data.model_id)
        note = _user_message(conversation, who.user, parent.id if parent else None, kind, content, at)
        path = [*(tree.path_to(messages, parent) if parent else []), tree.turn(note)]
        context = await _context(session, who, model, path, conversation.language)
        session.add(note)
        _touch(conversation, model)
        return await _launch(session, who, conversation, note, model, context)


async def regenerate(
    session: AsyncSession, who: Requester, conversation_id: str, message_id: str, data: RegenerateRequest
) -> Generation:
    """Another answer to the same user message: a sibling of `message_id` (or a child of it, for a user message)."""
    conversation = await conversations.get_owned(session, who.user, conversation_id)
    await _admit(session, who)
    with who.generations.reserve(conversation.id):
        messages = await tree.load(session, conversation.id)
        _ensure_idle(messages)
        target = messages.get(message_id)
        if target is None:
            raise NotFound("message")
        anchor = target if target.role == Role.USER else messages.get(target.parent_id or "")
        if anchor is None:
            raise NotFound("message")
        model = await _model_for(session, who, conversation, data.model_id)
        context = await _context(session, who, model, tree.path_to(messages, anchor), conversation.language)
        _touch(conversation, model)
        return await _launch(session, who, conversation, anchor, model, context)


@dataclass(frozen=True, slots=True)
class Exchange:
    """A chat that the client sends whole (the OpenAI-compatible API): its own system messages, which go
    after Codesmith's, and the turns so far, the last one the new request (a user message)."""

    system: Sequence[str]
    turns: Sequence[Turn]
    model: Model  # the model the client named, found among those the user may use
    store: bool = True  # False: nothing is stored but the usage
    max_tokens: int | None = None  # the client's limit for the answer (never above the server's)
    options: Mapping[str, Any] | None = None  # sampling parameters for the upstream
    source: str = "api"


async def exchange(session: AsyncSession, who: Requester, data: Exchange) -> Generation:
    """A generation for a whole chat: the same checks in the same order as `create` (the new request
    through the guard, every message through the input checks), then, unless `store` is false, the chat
    stored as a conversation (a chain of its turns) with the answer under its last message."""
    await _admit(session, who)
    *history, last = data.turns
    turns = [
        *(Turn(t.role, t.kind, _clean_input(who, t)) for t in history),
        Turn(last.role, last.kind, _clean(who, last.content, "messages")),
    ]
    system = [_clean_input(who, Turn(Role.USER, MessageKind.REQUEST, text)) for text in data.system]
    model = models.resolved(data.model, who.user, who.keyring, who.settings)
    own: list[ChatMessage] = [{"role": "system", "content": text} for text in system]
    path = [*own, *chat_messages(turns, None)]
    reserve = who.settings.answer_reserve_tokens
    context = await build_context(
        path,
        context_window=model.context_window,
        reserve_tokens=min(reserve, data.max_tokens) if data.max_tokens else reserve,
        count=_counter(session, who, model),
        keep=len(system) + 1,
    )
    if not data.store:
        return await _launch_unstored(who, model, context, data.options, API_COALESCE_SECONDS)
    now = utcnow()
    conversation = Conversation(
        id=new_id(),
        user_id=who.user.id,
        title=title_from(turns[0].content),
        model_id=model.id,
        source=data.source,
        created_at=now,
        updated_at=now,
    )
    stored: list[Message] = []
    for turn in turns:
        parent = stored[-1] if stored else None
        at = tree.after(parent.created_at) if parent else now
        stored.append(_stored_turn(conversation, who.user, parent, turn, at))
    with who.generations.reserve(conversation.id):
        # An OpenAI client expects one answer to its request: no repair on /v1. The conversation and its
        # turns are written with the answer (Core INSERTs: nothing in this session reads them back).
        return await _launch(
            session,
            who,
            conversation,
            stored[-1],
            model,
            context,
            data.options,
            repairable=False,
            new_rows=[conversation, *stored],
            min_interval=API_COALESCE_SECONDS,
        )


async def cancel(
    session: AsyncSession, user: User, generations: GenerationService, conversation_id: str, message_id: str
) -> MessagePublic:
    """Stop a generation wherever it runs, keeping its partial answer; a finished one is answered as it is."""
    message = await _owned_generation(session, user, conversation_id, message_id)
    running = message.status in ACTIVE_STATUSES or generations.get(message_id) is not None
    await session.commit()  # hold no transaction while the owner writes (SQLite has one writer)
    if running:
        await generations.cancel_anywhere(message_id)
    return await _message_view(session, message_id)


async def attach(
    session: AsyncSession,
    user: User,
    generations: GenerationService,
    conversation_id: str,
    message_id: str,
    last_event_id: str | None,
) -> sse.EventStreamResponse:
    """The events of a generation from the offset a client already has: live, or at once its end."""
    message = await _owned_generation(session, user, conversation_id, message_id)
    offset = sse.parse_last_event_id(last_event_id)
    if generations.get(message_id) is None and message.status not in ACTIVE_STATUSES:
        return sse.EventStreamResponse(_once(await stored_terminal_event(session, message)))
    release = generations.streams.acquire(user.id)
    await session.commit()  # a stream can last minutes: it holds no transaction
    return sse.EventStreamResponse(generations.follow(message_id, offset), on_close=release)


async def answer(
    session: AsyncSession, who: Requester, begin: Callable[[], Awaitable[Generation]], *, stream: bool
) -> Response | ConversationPublic:
    """Start a generation (`begin`) and answer it; a stream first takes one of the user's stream slots, so
    a user past the cap is refused before anything starts."""
    release = who.generations.streams.acquire(who.user.id) if stream else None
    try:
        started = await begin()
    except BaseException:
        if release is not None:
            release()
        raise
    if stream:
        first = sse.encode("start", _start_payload(started), 0)
        events = _with_repair(started, who.settings.sse_heartbeat_seconds, first)
        return sse.EventStreamResponse(events, on_close=release)
    await started.finished.wait()
    fixing = await repair.repair_of(started)
    if fixing is not None:  # a non-streamed request answers once the repair has ended too
        await fixing.finished.wait()
    await session.commit()  # end any read transaction: the runner's writes must be visible
    session.expunge_all()  # forget what this request loaded: the runner has written since
    return await conversations.get_detail(session, who.user, started.conversation_id)


async def _with_repair(generation: Generation, heartbeat: float, first: bytes) -> AsyncIterator[bytes]:
    """The generation's events; then, when its code failed its check and it is repaired, `repair` and the
    repair's own events (their ids are offsets within the repair's text) in the same stream."""
    async for event in generation.events(0, heartbeat, first=first):
        yield event
    fixing = await repair.repair_of(generation)
    if fixing is None:
        return
    yield sse.encode("repair", _repair_payload(fixing), 0)
    async for event in fixing.events(0, heartbeat):
        yield event


def _repair_payload(fixing: Generation) -> dict[str, Any]:
    return {**_start_payload(fixing), "repair_of": fixing.repair_of, "problems": fixing.problems}


def _start_payload(generation: Generation) -> dict[str, Any]:
    return {
        "conversation_id": generation.conversation_id,
        "message_id": generation.message_id,
        "parent_id": generation.parent_id,
        "model_id": generation.model_id,
    }


async def _admit(session: AsyncSession, who: Requester) -> None:
    """The minute's request budget, and today's token counters started: before the request writes anything
    (the seeding reads, and must never wait while this session holds SQLite's one write lock)."""
    await who.limiter.admit_request(who.user, who.settings)
    await who.limiter.prepare(session, who.user.id)
    await who.limiter.prepare_server(session, who.settings)


def _clean(who: Requester, text: str, field: str) -> str:
    cleaned = clean_prompt(text, max_chars=who.settings.max_prompt_chars, field=field)
    ensure_code_request(cleaned, user_id=who.user.id)
    return cleaned


def _clean_input(who: Requester, turn: Turn) -> str:
    """The input checks without the guard, for the earlier turns of a chat that a client sends whole (an
    earlier answer may be as long as an answer may be)."""
    settings = who.settings
    limit = settings.max_answer_chars if turn.role == Role.ASSISTANT else settings.max_prompt_chars
    return clean_prompt(turn.content, max_chars=limit, field="messages")


def _stored_turn(conversation: Conversation, user: User, parent: Message | None, turn: Turn, at: datetime) -> Message:
    """One turn of a chat sent whole, as a message: an earlier answer is stored complete, as given."""
    if turn.role == Role.USER:
        return _user_message(conversation, user, parent.id if parent else None, turn.kind, turn.content, at)
    return Message(
        id=new_id(),
        conversation_id=conversation.id,
        user_id=user.id,
        parent_id=parent.id if parent else None,
        role=Role.ASSISTANT,
        kind=MessageKind.GENERATION,
        content=turn.content,
        status=MessageStatus.COMPLETE,
        created_at=at,
        completed_at=at,
    )


def _user_message(
    conversation: Conversation, user: User, parent_id: str | None, kind: str, content: str, at: datetime
) -> Message:
    return Message(
        id=new_id(),
        conversation_id=conversation.id,
        user_id=user.id,
        parent_id=parent_id,
        role=Role.USER,
        kind=kind,
        content=content,
        status=MessageStatus.COMPLETE,
        created_at=at,
        completed_at=at,
    )


def _touch(conversation: Conversation, model: ResolvedModel) -> None:
    # The conversation goes on with the model it last used.
    conversation.model_id = model.id
    conversation.updated_at = utcnow()


async def _context(
    session: AsyncSession, who: Requester, model: ResolvedModel, path: Sequence[Turn], language: str | None
) -> Context:
    return await build_context(
        chat_messages(path, language),
        context_window=model.context_window,
        reserve_tokens=who.settings.answer_reserve_tokens,
        count=_counter(session, who, model),
    )


def _counter(session: AsyncSession, who: Requester, model: ResolvedModel) -> TokenCounter:
    """The exact count, from the model's server: asked holding neither a setup slot nor a database
    connection (a slow or hostile server's /tokenize must not keep other requests from setting up)."""

    async def count(messages: list[ChatMessage]) -> tuple[int, bool]:
        who.setup.release()
        if not (session.new or session.dirty or session.deleted):
            await session.commit()  # only reads so far: the connection goes back to the pool
        return await who.generations.llm.count_tokens(model.endpoint, messages)

    return count


async def _launch(
    session: AsyncSession,
    who: Requester,
    conversation: Conversation,
    parent: Message,
    model: ResolvedModel,
    context: Context,
    options: Mapping[str, Any] | None = None,
    *,
    repairable: bool = True,
    new_rows: Sequence[Conversation | Message] = (),
    min_interval: float | None = None,
) -> Generation:
    """Store the new messages (committed: they survive whatever the upstream does) with the answer owned
    by this replica under a lease, and start its runner. Another replica that started a generation in
    the conversation meanwhile makes the commit fail (one running per conversation): 409, nothing stored.
    `new_rows`: objects outside the session written with the answer (a chat sent whole: its conversation
    and turns). `min_interval`: the stream's fixed pacing (Job.min_interval)."""
    answer = Message(
        id=new_id(),
        conversation_id=conversation.id,
        user_id=who.user.id,
        parent_id=parent.id,
        role=Role.ASSISTANT,
        kind=MessageKind.GENERATION,
        content="",
        status=MessageStatus.PENDING,
        model_id=model.id,
        model_name=model.endpoint.model,
        created_at=tree.after(parent.created_at),
        owner=who.generations.replica_id,
        lease_until=lease_end(who.generations.lease_seconds),
    )
    tokens = context.prompt_tokens + context.max_tokens
    reservation = await who.limiter.reserve_tokens(who.user, who.settings, tokens, server_key=model.paid_by_server)
    try:
        if session.new:  # the new request is pending: one flush writes both (one executemany)
            session.add(answer)
        else:  # a chat sent whole (exchange), or a regeneration: no unit of work needed
            await insert_new(session, [*new_rows, answer])
        await models.remember_model(session, who.user, model.id)
        await session.commit()
    except BaseException as exc:
        await who.limiter.settle(reservation, 0)
        if isinstance(exc, IntegrityError) and _is_second_generation(exc):
            await session.rollback()
            raise GenerationInProgress(IN_PROGRESS) from None
        raise
    job = Job(
        answer.id,
        conversation.id,
        who.user.id,
        model,
        context,
        reservation,
        options=options,
        repairable=repairable and who.settings.auto_repair and who.user.auto_repair,
        min_interval=min_interval,
    )
    who.setup.release()
    return who.generations.start(job, parent.id)


async def _launch_unstored(
    who: Requester,
    model: ResolvedModel,
    context: Context,
    options: Mapping[str, Any] | None,
    min_interval: float | None,
) -> Generation:
    """Start a generation that stores nothing but its usage: no conversation, no messages (its ids are
    made up for the ledger and the replica's bookkeeping), the same token reservation."""
    tokens = context.prompt_tokens + context.max_tokens
    reservation = await who.limiter.reserve_tokens(who.user, who.settings, tokens, server_key=model.paid_by_server)
    job = Job(
        new_id(),
        new_id(),
        who.user.id,
        model,
        context,
        reservation,
        store=False,
        options=options,
        min_interval=min_interval,
    )
    who.setup.release()
    return who.generations.start(job, None)


def _is_second_generation(exc: IntegrityError) -> bool:
    """The one-running-generation-per-conversation index refused the insert (SQLite names the column,
    PostgreSQL the index)."""
    text = str(exc.orig)
    return "ux_messages_one_active" in text or "messages.conversation_id" in text


def _ensure_idle(messages: dict[str, Message]) -> None:
    """409 when a generation runs in this conversation on another replica (this one's are reserved)."""
    if any(message.status in ACTIVE_STATUSES for message in messages.values()):
        raise GenerationInProgress(IN_PROGRESS)


async def _model_for(
    session: AsyncSession, who: Requester, conversation: Conversation, model_id: str | None
) -> ResolvedModel:
    """The model asked for; else the conversation's (while it exists); else the default."""
    if model_id is None and conversation.model_id is not None:
        with suppress(NotFound):
            return await models.resolve(session, who.user, who.keyring, who.settings, conversation.model_id)
    return await models.resolve(session, who.user, who.keyring, who.settings, model_id)


async def _owned_generation(session: AsyncSession, user: User, conversation_id: str, message_id: str) -> Message:
    conversation = await conversations.get_owned(session, user, conversation_id)
    message = await session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id:
        raise NotFound("message")
    if message.role != Role.ASSISTANT:
        raise ValidationFailed("This is a user message, not a generation.", loc=["path", "message_id"])
    return message


async def _message_view(session: AsyncSession, message_id: str) -> MessagePublic:
    message = await reread(session, message_id)
    if message is None:
        raise NotFound("message")
    snippets = (await snippets_of_messages(session, message.conversation_id)).get(message.id, [])
    return message_public(message, snippets)


async def _once(event: bytes) -> AsyncIterator[bytes]:
    yield event
