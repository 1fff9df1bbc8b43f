"""The OpenAI-compatible operations over Codesmith's services: models by readable ids, and chat
completions run as generations (conversations.handling.exchange), answered whole or streamed from the
running Generation's text (no detour through the app's own event stream)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from codesmith.conversations import handling, sse
from codesmith.conversations.handling import Requester
from codesmith.conversations.prompt import answer_reserve
from codesmith.conversations.running import Generation
from codesmith.conversations.tables import MessageStatus
from codesmith.metrics import ACTIVE_STREAMS
from codesmith.models import service as models
from codesmith.models.tables import Model as ModelRow
from codesmith.openai_compat import names, translate
from codesmith.openai_compat.errors import OpenAIError, from_outcome
from codesmith.openai_compat.schemas import ChatCompletionRequest, Model, ModelList
from codesmith.users.tables import User
from codesmith.waitlimit import WaitLimit

JSON = "application/json"


# -- models --------------------------------------------------------------------------------------------------
def _model(entry: names.Named) -> Model:
    row = entry.model
    return Model(
        id=entry.name,
        created=int(row.created_at.timestamp()),
        owned_by="system" if row.owner_id is None else "user",
        name=row.name,
        context_window=row.context_window,
        codesmith_id=row.id,
    )


async def list_models(session: AsyncSession, user: User) -> ModelList:
    """What `GET /api/v1/models` shows the user, in its order, under OpenAI ids."""
    return ModelList(data=[_model(entry) for entry in names.named(await models.visible(session, user))])


async def get_model(session: AsyncSession, user: User, model_id: str) -> Model:
    rows = await models.visible(session, user)
    row = _find(rows, model_id)
    return _model(names.Named(names.name_of(rows, row.id), row))


def _find(rows: list[ModelRow], model_id: str) -> ModelRow:
    row = names.find(rows, model_id)
    if row is None:
        raise OpenAIError(
            404,
            f"The model `{model_id}` does not exist or you do not have access to it.",
            "model_not_found",
            param="model",
        )
    return row


# -- chat completions ----------------------------------------------------------------------------------------
async def chat(session: AsyncSession, who: Requester, body: ChatCompletionRequest) -> Response:
    """Run the chat through the generation pipeline; answer it whole, or stream it. Every refusal, and a
    failure before the answer's first text, is an HTTP error: a stream only starts with the answer."""
    row = _find(await models.visible(session, who.user), body.model)
    data = translate.exchange_of(body, row)
    reserve = who.settings.answer_reserve_tokens
    max_tokens = answer_reserve(row.context_window, min(reserve, data.max_tokens) if data.max_tokens else reserve)
    release = who.generations.streams.acquire(who.user.id) if body.stream else None
    try:
        generation = await handling.exchange(session, who, data)
        await session.commit()  # hold no transaction while the answer runs
        await _started(generation)
    except BaseException:
        if release is not None:
            release()
        raise
    if body.stream and generation.chunks:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        chunks = translate.Chunks(_completion_id(generation), int(time.time()), body.model, include_usage=include_usage)
        events = _stream(generation, chunks, max_tokens, who.settings.sse_heartbeat_seconds, include_usage)
        response = sse.EventStreamResponse(events, on_close=release)
        response.headers.update(_headers(generation))
        return response
    if release is not None:
        release()
    await generation.finished.wait()
    outcome = generation.outcome
    if outcome is None or outcome.status != MessageStatus.COMPLETE:
        raise _failure(generation)
    answer = translate.completion(
        _completion_id(generation),
        int(time.time()),
        body.model,
        generation.text(),
        translate.finish_reason(outcome.usage, max_tokens),
        outcome.usage,
    )
    return Response(answer, media_type=JSON, headers=_headers(generation))


async def _started(generation: Generation) -> None:
    """Until the answer's first text, or its end: the model's NOT_CODE refusal is held back until it is
    known, so a refused request still gets its 400 instead of a stream."""
    while not generation.chunks and generation.final is None:
        await generation.changed()


async def _stream(
    generation: Generation, chunks: translate.Chunks, max_tokens: int, heartbeat: float, include_usage: bool
) -> AsyncIterator[bytes]:
    """The role chunk, the text as it comes (what arrived since the last wake-up as one chunk), then the
    finish and usage chunks and [DONE], or an error object. A client that goes away stops the answer
    (an OpenAI client has no other way to): it is stored `cancelled` with what came."""
    ACTIVE_STREAMS.inc()
    quiet = WaitLimit(heartbeat)  # a ping after this long without a change
    try:
        yield chunks.role()
        index = 0
        while True:
            parts = generation.chunks
            if index < len(parts):
                text = parts[index] if index == len(parts) - 1 else "".join(parts[index:])
                index = len(parts)
                yield chunks.text(text)
                continue
            if generation.final is not None:
                break
            try:
                await quiet.within(generation.changed())
            except TimeoutError:
                yield sse.PING
        outcome = generation.outcome
        if outcome is None or outcome.status != MessageStatus.COMPLETE:
            yield translate.error_event(_failure(generation))
            return
        yield chunks.finish(translate.finish_reason(outcome.usage, max_tokens))
        if include_usage:
            yield chunks.usage(outcome.usage)
        yield chunks.DONE
    finally:
        ACTIVE_STREAMS.dec()
        quiet.close()
        if generation.final is None:
            generation.stop("cancelled")


def _failure(generation: Generation) -> OpenAIError:
    outcome = generation.outcome
    if outcome is None:
        return OpenAIError(500, "The generation stopped unexpectedly.", "internal_error")
    if outcome.error_code is not None:
        return from_outcome(outcome.error_code, outcome.error_detail or "The generation failed.")
    if outcome.status == MessageStatus.CANCELLED:
        return from_outcome("cancelled", "The generation was cancelled.")
    return from_outcome("interrupted", "The generation was interrupted (the server is restarting): try again.")


def _completion_id(generation: Generation) -> str:
    return "chatcmpl-" + generation.message_id.replace("-", "")


def _headers(generation: Generation) -> dict[str, str]:
    """Where the exchange is in the user's history (nothing for `"store": false`)."""
    stored = generation.parent_id is not None  # an unstored generation hangs under no message
    return {"X-Codesmith-Conversation-Id": generation.conversation_id} if stored else {}
