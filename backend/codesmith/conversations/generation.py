"""Generations: a new conversation, feedback, regeneration, cancellation and re-attaching, and the task
that streams an answer from the upstream to its subscribers and, in batches, into the database.

Everything that can refuse a request (validation, limits, the guard, the model, the context window,
a running generation) happens before anything is stored; the user's message is committed before the
upstream is called; the task then owns the assistant message until it ends, whatever happens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any, cast

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import Response

from codesmith.config import Settings
from codesmith.conversations import service as conversations
from codesmith.conversations import sse
from codesmith.conversations.manager import (
    ACTIVE_STATUSES,
    COALESCE_SECONDS,
    FLUSH_SECONDS,
    Generation,
    GenerationManager,
    finish_if_active,
    store_if_active,
)
from codesmith.conversations.prompt import Context, Turn, build_context, chat_messages, title_from
from codesmith.conversations.schemas import ConversationPublic, MessagePublic, message_public
from codesmith.conversations.tables import Conversation, Message
from codesmith.db import new_id, utcnow
from codesmith.errors import AppError, GenerationInProgress, NotFound, ValidationFailed
from codesmith.guard import record_refusal
from codesmith.guard.answer import has_code_block
from codesmith.guard.input import clean_prompt
from codesmith.guard.local import ensure_code_request
from codesmith.guard.marker import MarkerGate
from codesmith.llm.client import ChatClient
from codesmith.llm.pricing import cost_usd
from codesmith.llm.tokens import estimate_text_tokens
from codesmith.llm.types import ChatEvent, TextDelta, Usage
from codesmith.metrics import (
    ACTIVE_STREAMS,
    COST,
    GENERATIONS,
    TIME_TO_FIRST_TOKEN,
    TOKENS,
    UPSTREAM_ERRORS,
    UPSTREAM_LATENCY,
)
from codesmith.models import service as models
from codesmith.models.service import ResolvedModel
from codesmith.security import Keyring
from codesmith.snippets.service import extract_off_the_loop, snippets_of_messages, store_snippets
from codesmith.snippets.tables import Snippet
from codesmith.usage import service as usage_ledger
from codesmith.usage.limits import Reservation, UsageLimiter
from codesmith.usage.tables import UsageRecord
from codesmith.users.tables import User

logger = logging.getLogger("codesmith.generations")

FINAL_WRITE_ATTEMPTS = 3
# What the database says when a stopped task no longer owns its message.
_STOP_STATUS = {"cancelled": "cancelled", "interrupted": "interrupted", "gone": "cancelled"}
_LANGUAGE_PATTERN = r"^[\w+#. -]{1,40}$"


# -- request bodies ----------------------------------------------------------------------------------
ModelChoice = Annotated[
    str | None,
    Field(description="A model from GET /models; default: the conversation's model, else the default model."),
]
StreamChoice = Annotated[
    bool,
    Field(
        description="true: answer with text/event-stream (start, delta..., done | error); "
        "false: answer 201 with the conversation once the generation has ended."
    ),
]


class ConversationCreate(BaseModel):
    prompt: str = Field(description="What to write, in plain language.")
    model_id: ModelChoice = None
    language: str | None = Field(
        default=None, pattern=_LANGUAGE_PATTERN, description='The programming language wanted, e.g. "Rust".'
    )
    stream: StreamChoice = False

    @field_validator("language", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value


class MessageCreate(BaseModel):
    content: str = Field(description="Feedback on an answer (what to change), or the edited text of `edit_of`.")
    parent_id: str | None = Field(
        default=None, description="The assistant message the feedback is about; default: the newest one."
    )
    edit_of: str | None = Field(
        default=None,
        description="A user message (request or feedback) of the conversation to edit: `content` becomes a new "
        "version of it (a sibling: same parent, same kind) with a new generation under it. Not with parent_id.",
    )
    model_id: ModelChoice = None
    stream: StreamChoice = False

    @model_validator(mode="after")
    def _one_anchor(self) -> MessageCreate:
        if self.parent_id is not None and self.edit_of is not None:
            raise ValueError("Give parent_id (feedback on an answer) or edit_of (a new version of a prompt), not both.")
        return self


class RegenerateRequest(BaseModel):
    model_id: ModelChoice = None
    stream: StreamChoice = False


# -- the request side -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Job:
    """Everything the generation's task needs; it outlives the request that made it."""

    message_id: str
    conversation_id: str
    user_id: str
    model: ResolvedModel
    context: Context
    reservation: Reservation | None


@dataclass(frozen=True, slots=True)
class Requester:
    """The acting user and the request-scoped services a generation request uses."""

    user: User
    keyring: Keyring
    settings: Settings
    limiter: UsageLimiter | None
    generations: GenerationManager


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
    request = _user_message(conversation, who.user, None, "request", prompt, now)
    with who.generations.reserve(conversation.id):
        context = await _context(who, model, [_turn(request)], conversation.language)
        session.add_all([conversation, request])
        return await _launch(session, who, conversation, request, model, context)


async def feedback(session: AsyncSession, who: Requester, conversation_id: str, data: MessageCreate) -> Generation:
    """Feedback under an assistant message (default: the newest) and a new generation under it; with
    `edit_of`, a new version of a user message instead (its sibling) and a new generation under that."""
    conversation = await conversations.get_owned(session, who.user, conversation_id)
    await _admit(session, who)
    content = _clean(who, data.content, "content")
    with who.generations.reserve(conversation.id):
        await _ensure_idle(session, conversation.id)
        messages = await _messages(session, conversation.id)
        if data.edit_of is not None:
            original = _edited_message(messages, data.edit_of)
            parent = messages.get(original.parent_id) if original.parent_id else None
            kind, at = original.kind, _after(original.created_at)
        else:
            parent = _feedback_parent(messages, data.parent_id)
            kind, at = "feedback", _after(parent.created_at)
        model = await _model_for(session, who, conversation, data.model_id)
        note = _user_message(conversation, who.user, parent.id if parent else None, kind, content, at)
        path = [*(_path_to(messages, parent) if parent else []), _turn(note)]
        context = await _context(who, model, path, conversation.language)
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
        await _ensure_idle(session, conversation.id)
        messages = await _messages(session, conversation.id)
        target = messages.get(message_id)
        if target is None:
            raise NotFound("message")
        anchor = target if target.role == "user" else messages.get(target.parent_id or "")
        if anchor is None:
            raise NotFound("message")
        model = await _model_for(session, who, conversation, data.model_id)
        context = await _context(who, model, _path_to(messages, anchor), conversation.language)
        _touch(conversation, model)
        return await _launch(session, who, conversation, anchor, model, context)


async def cancel(
    session: AsyncSession, user: User, generations: GenerationManager, conversation_id: str, message_id: str
) -> MessagePublic:
    """Stop a generation, keeping its partial answer; a finished one is answered as it is."""
    message = await _owned_generation(session, user, conversation_id, message_id)
    if generations.get(message_id) is not None:
        await session.commit()  # hold no transaction while the task writes (SQLite has one writer)
        await generations.cancel(message_id)
    elif message.status in ACTIVE_STATUSES:
        # Running in another process (or orphaned): that task sees the change at its next write and stops.
        await store_if_active(session, message_id, status="cancelled", completed_at=utcnow())
    await session.commit()
    return await _message_view(session, message_id)


async def attach(
    session: AsyncSession,
    user: User,
    generations: GenerationManager,
    conversation_id: str,
    message_id: str,
    last_event_id: str | None,
) -> sse.EventStreamResponse:
    """The events of a generation from the offset a client already has: live, polled, or at once `done`."""
    message = await _owned_generation(session, user, conversation_id, message_id)
    offset = sse.parse_last_event_id(last_event_id)
    heartbeat = generations.settings.sse_heartbeat_seconds
    running = generations.get(message_id)
    if running is None and message.status not in ACTIVE_STATUSES:
        return sse.EventStreamResponse(_once(await _done_event(session, message)))
    release = generations.streams.acquire(user.id)
    if running is not None:
        return sse.EventStreamResponse(running.events(offset, heartbeat), on_close=release)
    return sse.EventStreamResponse(_poll(generations.sessionmaker, message_id, offset, heartbeat), on_close=release)


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
    return await respond(session, who.user, who.generations, started, stream=stream, release=release)


async def respond(
    session: AsyncSession,
    user: User,
    generations: GenerationManager,
    generation: Generation,
    *,
    stream: bool,
    release: Callable[[], None] | None = None,
) -> Response | ConversationPublic:
    """The event stream (stream: true), or the conversation once the generation has ended."""
    if stream:
        start = sse.encode("start", _start_payload(generation), 0)
        events = generation.events(0, generations.settings.sse_heartbeat_seconds, first=start)
        return sse.EventStreamResponse(events, on_close=release)
    await generation.finished.wait()
    await session.commit()  # end any read transaction: the task's writes must be visible
    session.expunge_all()  # forget what this request loaded: the task has written since
    return await conversations.get_detail(session, user, generation.conversation_id)


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
    if who.limiter is not None:
        await who.limiter.admit_request(who.user, who.settings)
        await who.limiter.prepare(session, who.user.id)
        await who.limiter.prepare_server(session, who.settings)


def _clean(who: Requester, text: str, field: str) -> str:
    cleaned = clean_prompt(text, max_chars=who.settings.max_prompt_chars, field=field)
    ensure_code_request(cleaned, user_id=who.user.id)
    return cleaned


def _user_message(
    conversation: Conversation, user: User, parent_id: str | None, kind: str, content: str, at: datetime
) -> Message:
    return Message(
        id=new_id(),
        conversation_id=conversation.id,
        user_id=user.id,
        parent_id=parent_id,
        role="user",
        kind=kind,
        content=content,
        status="complete",
        created_at=at,
        completed_at=at,
    )


def _after(previous: datetime) -> datetime:
    """Now, but strictly after `previous`: a child never sorts before its parent."""
    return max(utcnow(), previous + timedelta(microseconds=1))


def _touch(conversation: Conversation, model: ResolvedModel) -> None:
    # The conversation goes on with the model it last used.
    conversation.model_id = model.id
    conversation.updated_at = utcnow()


def _turn(message: Message) -> Turn:
    return Turn(role=message.role, kind=message.kind, content=message.content)


async def _context(who: Requester, model: ResolvedModel, path: Sequence[Turn], language: str | None) -> Context:
    return await build_context(
        chat_messages(path, language),
        context_window=model.context_window,
        reserve_tokens=who.settings.answer_reserve_tokens,
        count=partial(who.generations.llm.count_tokens, model.endpoint),
    )


async def _launch(
    session: AsyncSession,
    who: Requester,
    conversation: Conversation,
    parent: Message,
    model: ResolvedModel,
    context: Context,
) -> Generation:
    """Store the new messages (committed: they survive whatever the upstream does) and start the task."""
    answer = Message(
        id=new_id(),
        conversation_id=conversation.id,
        user_id=who.user.id,
        parent_id=parent.id,
        role="assistant",
        kind="generation",
        content="",
        status="pending",
        model_id=model.id,
        model_name=model.endpoint.model,
        created_at=_after(parent.created_at),
    )
    reservation = None
    if who.limiter is not None:
        tokens = context.prompt_tokens + context.max_tokens
        reservation = await who.limiter.reserve_tokens(who.user, who.settings, tokens, server_key=model.paid_by_server)
    session.add(answer)
    await models.remember_model(session, who.user, model.id)
    try:
        await session.commit()
    except BaseException:
        if reservation is not None and who.limiter is not None:
            await who.limiter.settle(reservation, 0)
        raise
    job = Job(answer.id, conversation.id, who.user.id, model, context, reservation)
    generation = Generation(
        message_id=answer.id,
        conversation_id=conversation.id,
        user_id=who.user.id,
        parent_id=parent.id,
        model_id=model.id,
    )
    who.generations.start(generation, partial(_run, who.generations, who.limiter, job))
    return generation


async def _ensure_idle(session: AsyncSession, conversation_id: str) -> None:
    """409 when another process runs a generation in this conversation (this one's are in the manager)."""
    query = select(Message.id).where(Message.conversation_id == conversation_id, Message.status.in_(ACTIVE_STATUSES))
    if (await session.execute(query.limit(1))).first() is not None:
        raise GenerationInProgress(
            "A generation is already running in this conversation: wait for it to finish or cancel it."
        )


async def _messages(session: AsyncSession, conversation_id: str) -> dict[str, Message]:
    result = await session.execute(select(Message).where(Message.conversation_id == conversation_id))
    return {message.id: message for message in result.scalars()}


def _feedback_parent(messages: dict[str, Message], parent_id: str | None) -> Message:
    if parent_id is None:
        answers = [m for m in messages.values() if m.role == "assistant"]
        if not answers:
            raise ValidationFailed("This conversation has no answer to give feedback on.", loc=["body", "parent_id"])
        return max(answers, key=lambda m: (m.created_at, m.id))
    parent = messages.get(parent_id)
    if parent is None or parent.role != "assistant":
        raise ValidationFailed(
            "parent_id must be an assistant message of this conversation.", loc=["body", "parent_id"]
        )
    return parent


def _edited_message(messages: dict[str, Message], message_id: str) -> Message:
    """The user message that `edit_of` names: a request or feedback of this conversation (else 422)."""
    original = messages.get(message_id)
    if original is None or original.role != "user":
        raise ValidationFailed("edit_of must be a user message of this conversation.", loc=["body", "edit_of"])
    return original


def _path_to(messages: dict[str, Message], node: Message) -> list[Turn]:
    """The messages from the root down to `node`: what the model sees (siblings never are)."""
    path: list[Message] = []
    current: Message | None = node
    while current is not None and len(path) <= len(messages):
        path.append(current)
        current = messages.get(current.parent_id) if current.parent_id else None
    return [_turn(message) for message in reversed(path)]


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
    if message.role != "assistant":
        raise ValidationFailed("This is a user message, not a generation.", loc=["path", "message_id"])
    return message


async def _message_view(session: AsyncSession, message_id: str) -> MessagePublic:
    session.expunge_all()  # forget what this request loaded: the task has written since
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFound("message")
    return message_public(message, await _snippets_of(session, message))


async def _snippets_of(session: AsyncSession, message: Message) -> list[Snippet]:
    return (await snippets_of_messages(session, message.conversation_id)).get(message.id, [])


async def _done_event(session: AsyncSession, message: Message) -> bytes:
    public = message_public(message, await _snippets_of(session, message))
    return sse.encode_raw("done", public.__pydantic_serializer__.to_json(public), len(message.content))


async def _once(event: bytes) -> AsyncIterator[bytes]:
    yield event


async def _poll(
    sessionmaker: async_sessionmaker[AsyncSession], message_id: str, offset: int, heartbeat: float
) -> AsyncIterator[bytes]:
    """Follow a generation that another process runs, through the batches it writes."""
    ACTIVE_STREAMS.inc()
    try:
        async for event in _polled_events(sessionmaker, message_id, offset, heartbeat):
            yield event
    finally:
        ACTIVE_STREAMS.dec()


async def _polled_events(
    sessionmaker: async_sessionmaker[AsyncSession], message_id: str, offset: int, heartbeat: float
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    sent, quiet_since = offset, loop.time()
    while True:
        async with sessionmaker() as session:
            message = await session.get(Message, message_id)
            if message is None:
                yield sse.error("not_found", "The conversation was deleted.", message_id, sent)
                return
            if sent > len(message.content):
                sent = 0
            if len(message.content) > sent:
                yield sse.delta(message.content[sent:], len(message.content))
                sent, quiet_since = len(message.content), loop.time()
            if message.status not in ACTIVE_STATUSES:
                yield await _final_event(session, message, sent)
                return
        if loop.time() - quiet_since >= heartbeat:
            yield sse.PING
            quiet_since = loop.time()
        await asyncio.sleep(FLUSH_SECONDS)


async def _final_event(session: AsyncSession, message: Message, offset: int) -> bytes:
    """`error` for an answer that ended with an error, else `done` with the message."""
    if message.status in ("failed", "rejected") and message.error_code:
        return sse.error(message.error_code, message.error_detail or "", message.id, offset)
    public = message_public(message, await _snippets_of(session, message))
    return sse.encode_raw("done", public.__pydantic_serializer__.to_json(public), offset)


# -- the generation's task ------------------------------------------------------------------------------
@dataclass(slots=True)
class Outcome:
    status: str
    error_code: str | None = None
    error_detail: str | None = None
    usage: Usage | None = None
    content: str | None = None  # None: the text the subscribers got


async def _run(generations: GenerationManager, limiter: UsageLimiter | None, job: Job, generation: Generation) -> bytes:
    generations.writer.watch(generation)
    outcome = await _generate(generations.llm, generations.settings, job, generation)
    generation.closing = True  # from here on, a cancel is too late: the outcome gets stored as it is
    # First what must happen whatever fails later: the day's reservation is replaced by what was used.
    await _settle(limiter, job, outcome)
    await generations.writer.unwatch(generation)
    # The final write must happen even when a shutdown cancels this task again meanwhile.
    final = asyncio.ensure_future(_finish(generations.sessionmaker, job, generation, outcome))
    try:
        return await asyncio.shield(final)
    finally:
        _count(job, outcome)


async def _settle(limiter: UsageLimiter | None, job: Job, outcome: Outcome) -> None:
    """Replace the day's token reservation with what was used (nothing, when the upstream gave nothing)."""
    if limiter is None or job.reservation is None:
        return
    used = outcome.usage.prompt_tokens + outcome.usage.completion_tokens if outcome.usage else 0
    try:
        await limiter.settle(job.reservation, used)
    except Exception:  # a limiter store that is down must not turn a stored answer into an error
        logger.exception("settling the token reservation failed", extra={"message_id": job.message_id})


async def _generate(llm: ChatClient, settings: Settings, job: Job, generation: Generation) -> Outcome:
    """Stream the answer into `generation`; how it ended, never an exception (but for bugs)."""
    gate = MarkerGate()  # holds back the start until it knows the answer is not a NOT_CODE refusal
    usage: Usage | None = None
    too_long = False
    labels = job.model.metric_labels
    started = time.perf_counter()
    try:
        # The endpoint is untrusted: however it streams, the whole generation has a deadline.
        async with asyncio.timeout(settings.max_generation_seconds):
            stream = llm.stream_chat(
                job.model.endpoint,
                job.context.messages,
                max_tokens=job.context.max_tokens,
                min_interval=COALESCE_SECONDS,  # faster tokens come together: one append, one write
            )
            # Closed on every exit (a refusal's early stop, a cancel): the upstream connection goes with it.
            async with aclosing(cast(AsyncGenerator[ChatEvent, None], stream)) as events:
                async for event in events:
                    if type(event) is TextDelta:
                        if generation.status == "pending":
                            generation.status = "streaming"
                            TIME_TO_FIRST_TOKEN.labels(*labels).observe(time.perf_counter() - started)
                        released = gate.feed(event.text)
                        if released:
                            too_long = _append_within(generation, released, settings.max_answer_chars)
                            if too_long:
                                break  # an endpoint that ignores max_tokens: keep what fits, stop paying
                        elif gate.refused and gate.reason is not None:
                            break  # the refusal's reason is complete: stop paying for the rest
                    else:
                        usage = cast(Usage, event)
            tail = "" if too_long else gate.finish()
            if tail:
                too_long = _append_within(generation, tail, settings.max_answer_chars)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # handled: the task goes on to store the partial answer
        status = _STOP_STATUS.get(generation.stop_reason or "", "interrupted")
        return Outcome(status, usage=_usage(usage, job, generation))
    except TimeoutError:
        UPSTREAM_ERRORS.labels("upstream_timeout").inc()
        detail = f"The answer took longer than {settings.max_generation_seconds:g} seconds and was stopped."
        return Outcome("failed", "upstream_timeout", detail, _usage(usage, job, generation))
    except AppError as exc:
        UPSTREAM_ERRORS.labels(exc.code).inc()
        return Outcome("failed", exc.code, exc.detail, _usage(usage, job, generation))
    except Exception:  # a bug: the partial answer is still stored, as failed
        logger.exception("generation failed", extra={"message_id": job.message_id})
        return Outcome(
            "failed", "internal_error", "The generation failed unexpectedly.", _usage(usage, job, generation)
        )
    finally:
        UPSTREAM_LATENCY.labels(*labels).observe(time.perf_counter() - started)
    if too_long:
        UPSTREAM_ERRORS.labels("answer_too_long").inc()
        detail = f"The answer passed {settings.max_answer_chars} characters and was stopped; what came is kept."
        return Outcome("failed", "answer_too_long", detail, _usage(usage, job, generation))
    if gate.refused:
        reason = gate.reason or "the request is not about code"
        record_refusal(job.user_id, "model", reason)
        detail = f"Codesmith only writes code, and the model declined this request: {reason}"
        refusal = f"NOT_CODE: {reason}"
        return Outcome("rejected", "not_a_code_request", detail, _usage(usage, job, refusal), content="")
    if settings.require_code_in_answer and not has_code_block(generation.text()):
        record_refusal(job.user_id, "answer", "the answer contains no code block")
        detail = "The model's answer contained no code. Rephrase the request, or regenerate the answer."
        return Outcome("rejected", "no_code_in_answer", detail, _usage(usage, job, generation))
    return Outcome("complete", usage=_usage(usage, job, generation))


def _append_within(generation: Generation, text: str, max_chars: int) -> bool:
    """Append what fits under `max_chars`; True when the answer has reached the limit."""
    room = max_chars - generation.length
    if len(text) > room:
        if room > 0:
            generation.append(text[:room])
        return True
    generation.append(text)
    return False


def _usage(reported: Usage | None, job: Job, received: Generation | str) -> Usage | None:
    """What the upstream reported; else, once some text came, Codesmith's own (estimated) count."""
    if reported is not None and reported.prompt_tokens >= 0 and reported.completion_tokens >= 0:
        return reported
    text = received if isinstance(received, str) else received.text()
    if not text:
        return None
    return Usage(job.context.prompt_tokens, estimate_text_tokens(text), estimated=True)


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession], job: Job, generation: Generation, outcome: Outcome
) -> bytes:
    """Store the final state (and the snippets of a complete answer); the event that ends the stream."""
    content = generation.text() if outcome.content is None else outcome.content
    usage = outcome.usage
    values: dict[str, Any] = {
        "status": outcome.status,
        "content": content,
        "error_code": outcome.error_code,
        "error_detail": outcome.error_detail,
        "completed_at": utcnow(),
    }
    if usage is not None:
        values |= {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "usage_estimated": usage.estimated,
            "cost_usd": cost_usd(
                usage.prompt_tokens,
                usage.completion_tokens,
                job.model.input_cost_per_mtok,
                job.model.output_cost_per_mtok,
            ),
        }
    for attempt in range(1, FINAL_WRITE_ATTEMPTS + 1):
        try:
            return await _store_final(sessionmaker, job, generation, outcome, values)
        except Exception:  # a locked or unreachable database: try again, the answer must not be lost
            logger.exception("storing a generation failed", extra={"message_id": job.message_id, "attempt": attempt})
            if attempt < FINAL_WRITE_ATTEMPTS:
                await asyncio.sleep(attempt)
    return sse.error("internal_error", "The answer could not be stored.", job.message_id, generation.length)


async def _store_final(
    sessionmaker: async_sessionmaker[AsyncSession],
    job: Job,
    generation: Generation,
    outcome: Outcome,
    values: dict[str, Any],
) -> bytes:
    # Parsed before the write: SQLite's one write lock is never held while an answer is parsed.
    extracted = await extract_off_the_loop(values["content"]) if outcome.status == "complete" else []
    async with sessionmaker() as session:
        message = await finish_if_active(session, job.message_id, **values)
        if message is None:  # cancelled by another process meanwhile (its state stands), or deleted
            message = await session.get(Message, job.message_id)
            # The tokens were spent (and counted in the day's budget) whatever became of the message.
            await _record_usage(session, job, outcome, values, message, written=False)
            await session.commit()
            if message is None:
                return sse.error("not_found", "The conversation was deleted.", job.message_id, generation.length)
            return await _final_event(session, message, generation.length)
        snippets = await store_snippets(session, message, extracted) if outcome.status == "complete" else []
        await _record_usage(session, job, outcome, values, message, written=True)
        if outcome.status == "complete":
            await models.mark_ok(session, job.model.id)  # the model answers: whatever its last check said
        await session.commit()
        if message.status in ("failed", "rejected") and message.error_code:
            return sse.error(message.error_code, message.error_detail or "", message.id, generation.length)
        public = message_public(message, snippets)
        return sse.encode_raw("done", public.__pydantic_serializer__.to_json(public), generation.length)


async def _record_usage(
    session: AsyncSession,
    job: Job,
    outcome: Outcome,
    values: dict[str, Any],
    message: Message | None,
    *,
    written: bool,
) -> None:
    """The generation's record in the usage ledger (keyed by its message id: one per generation), in the
    final write's transaction; none without usage. `written`: this transaction stored the final state."""
    usage = outcome.usage
    if usage is None:
        return
    if not written:
        if await session.get(UsageRecord, job.message_id) is not None:
            return  # an earlier attempt of this final write got as far as committing
        if message is None and await session.get(User, job.user_id) is None:
            return  # the account was deleted meanwhile: its ledger went with it
    spent = usage_ledger.Spent(usage.prompt_tokens, usage.completion_tokens, values.get("cost_usd"), usage.estimated)
    usage_ledger.record(
        session,
        record_id=job.message_id,
        user_id=job.user_id,
        message_id=job.message_id,
        conversation_id=job.conversation_id,
        model_id=job.model.id,
        model_name=job.model.endpoint.model,
        provider=job.model.provider,
        paid_by_server=job.model.paid_by_server,
        spent=spent,
        created_at=message.created_at if message is not None else utcnow(),
    )


def _count(job: Job, outcome: Outcome) -> None:
    GENERATIONS.labels(outcome.status).inc()
    usage = outcome.usage
    if usage is None:
        return
    labels = job.model.metric_labels
    # Counters refuse negative increments: whatever an endpoint reported, only what is >= 0 is counted.
    TOKENS.labels(*labels, "prompt").inc(max(usage.prompt_tokens, 0))
    TOKENS.labels(*labels, "completion").inc(max(usage.completion_tokens, 0))
    cost = cost_usd(
        usage.prompt_tokens, usage.completion_tokens, job.model.input_cost_per_mtok, job.model.output_cost_per_mtok
    )
    if cost and cost > 0:
        COST.labels(*labels).inc(cost)


async def recover_interrupted(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """At start-up: generations a previous process left running are `interrupted`, partial text kept."""
    async with sessionmaker() as session:
        owned = cast(
            CursorResult[Any],
            await session.execute(
                update(Message)
                .where(Message.status.in_(ACTIVE_STATUSES))
                .values(status="interrupted", completed_at=utcnow())
                .execution_options(synchronize_session=False)
            ),
        )
        await session.commit()
    if owned.rowcount:
        logger.warning("marked unfinished generations interrupted", extra={"count": owned.rowcount})
    return int(owned.rowcount)
