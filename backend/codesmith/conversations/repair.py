"""Automatic repair: when a complete answer's code fails its check, the model is asked once more, with the
problems the checkers found, and its answer is stored as a new version of the same answer (a sibling with
`repair_of`). One round only: a repair is never repaired, even when its own check fails.

Published results on self-repair (Self-Debugging, LDB) find one round guided by the compiler's or
linter's messages fixes most syntax and name errors; further rounds add little and cost as much again.

The repair is a generation like any other: the same runner, the minute's request limit, the day's tokens
and the server's budget (a refused repair simply does not happen), the model's own guard (NOT_CODE, no
code). The answer's stream goes on with it (handling.py): its `done`, then `repair`, its deltas, its end.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.conversations.jobs import Job
from codesmith.conversations.prompt import build_context
from codesmith.conversations.running import Generation
from codesmith.conversations.store import lease_end
from codesmith.conversations.tables import Conversation, Message, MessageKind, MessageStatus, Role
from codesmith.conversations.tree import after
from codesmith.db import new_id, utcnow
from codesmith.errors import AppError
from codesmith.llm.types import ChatMessage
from codesmith.snippets.filenames import filename_for
from codesmith.snippets.tables import Snippet
from codesmith.users.tables import User

if TYPE_CHECKING:
    from codesmith.conversations.generations import GenerationService

logger = logging.getLogger("codesmith.generations")

# What the model is shown of each failed block: enough to fix it, not a novel.
MAX_DIAGNOSTICS_PER_SNIPPET = 20
MAX_MESSAGE_CHARS = 300
# A stream waits this long after the answer's end for the decision (a query, perhaps a token count).
DECISION_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class FailedSnippet:
    position: int
    filename: str
    checker: str | None
    diagnostics: list[dict[str, Any]]


def failed_snippets(snippets: list[Snippet]) -> list[FailedSnippet]:
    """The answer's snippets whose check failed, in answer order."""
    failed = []
    for snippet in sorted(snippets, key=lambda s: s.position):
        check = snippet.check or {}
        if check.get("status") == "failed":
            failed.append(
                FailedSnippet(
                    snippet.position,
                    filename_for(snippet.title, snippet.language),
                    check.get("checker"),
                    list(check.get("diagnostics") or []),
                )
            )
    return failed


def problem_count(failed: list[FailedSnippet]) -> int:
    return sum(max(len(snippet.diagnostics), 1) for snippet in failed)


def repair_prompt(failed: list[FailedSnippet]) -> str:
    """The user message that asks for the repair: each failing block with what its checker said."""
    parts = ["The code in your answer does not pass its checks:"]
    for snippet in failed:
        by = f", checked with {snippet.checker}" if snippet.checker else ""
        parts.append(f"\nCode block {snippet.position + 1} ({snippet.filename}{by}):")
        for diagnostic in snippet.diagnostics[:MAX_DIAGNOSTICS_PER_SNIPPET]:
            code = f" {diagnostic.get('code')}" if diagnostic.get("code") else ""
            message = str(diagnostic.get("message", ""))[:MAX_MESSAGE_CHARS]
            parts.append(f"- line {diagnostic.get('line')}, column {diagnostic.get('column')}:{code} {message}")
        if len(snippet.diagnostics) > MAX_DIAGNOSTICS_PER_SNIPPET:
            parts.append(f"- and {len(snippet.diagnostics) - MAX_DIAGNOSTICS_PER_SNIPPET} more")
    parts.append(
        "\nAnswer again with the whole corrected answer: fix these problems, keep everything else as it was, "
        "and write every code block in full."
    )
    return "\n".join(parts)


async def after_answer(service: GenerationService, job: Job, generation: Generation) -> None:
    """Decide, once the answer is stored, whether it is repaired; start the repair if so. Whatever happens,
    the generation's `repair` future ends up with the repair or None (its streams wait on it)."""
    decision = generation.repair
    if decision is None:
        return
    repair: Generation | None = None
    try:
        repair = await _repair_if_failed(service, job, generation)
    except AppError as refused:  # a limit, the context window, a generation started meanwhile: no repair
        logger.info("no repair", extra={"message_id": job.message_id, "reason": refused.code})
    except IntegrityError:  # another replica started a generation in the conversation meanwhile
        logger.info("no repair", extra={"message_id": job.message_id, "reason": "generation_in_progress"})
    except Exception:
        logger.exception("starting a repair failed", extra={"message_id": job.message_id})
    finally:
        if not decision.done():
            decision.set_result(repair)


async def _repair_if_failed(service: GenerationService, job: Job, generation: Generation) -> Generation | None:
    outcome = generation.outcome
    if outcome is None or outcome.status != MessageStatus.COMPLETE or service.stopping:
        return None
    async with service.sessionmaker() as session:
        snippets = (await session.scalars(select(Snippet).where(Snippet.message_id == job.message_id))).all()
        failed = failed_snippets(list(snippets))
        if not failed:
            return None
        user = await session.get(User, job.user_id)
        answer = await session.get(Message, job.message_id)
        if user is None or user.disabled or not user.auto_repair or answer is None:
            return None
        with service.reserve(job.conversation_id):
            return await _launch(service, session, job, user, answer, failed)


async def _launch(
    service: GenerationService,
    session: AsyncSession,
    job: Job,
    user: User,
    answer: Message,
    failed: list[FailedSnippet],
) -> Generation:
    settings, limiter = service.settings, service.limiter
    if limiter is not None:
        await limiter.admit_request(user, settings)
        await limiter.prepare(session, user.id)
        await limiter.prepare_server(session, settings)
    path: list[ChatMessage] = [
        *job.context.messages[1:],  # the system prompt goes first again in build_context
        {"role": "assistant", "content": answer.content},
        {"role": "user", "content": repair_prompt(failed)},
    ]
    context = await build_context(
        path,
        context_window=job.model.context_window,
        reserve_tokens=settings.answer_reserve_tokens,
        count=partial(service.llm.count_tokens, job.model.endpoint),
    )
    tokens = context.prompt_tokens + context.max_tokens
    reservation = (
        await limiter.reserve_tokens(user, settings, tokens, server_key=job.model.paid_by_server)
        if limiter is not None
        else None
    )
    repair = Message(
        id=new_id(),
        conversation_id=job.conversation_id,
        user_id=user.id,
        parent_id=answer.parent_id,
        role=Role.ASSISTANT,
        kind=MessageKind.GENERATION,
        content="",
        status=MessageStatus.PENDING,
        model_id=job.model.id,
        model_name=job.model.endpoint.model,
        created_at=after(answer.created_at),
        owner=service.replica_id,
        lease_until=lease_end(service.lease_seconds),
        repair_of=answer.id,
    )
    try:
        session.add(repair)
        await session.execute(
            update(Conversation).where(Conversation.id == job.conversation_id).values(updated_at=utcnow())
        )
        await session.commit()
    except BaseException:
        if limiter is not None and reservation is not None:
            await limiter.settle(reservation, 0)
        raise
    repair_job = Job(repair.id, job.conversation_id, user.id, job.model, context, reservation)
    started = service.start(repair_job, answer.parent_id)
    started.repair_of = answer.id
    started.problems = problem_count(failed)
    return started


async def repair_of(generation: Generation) -> Generation | None:
    """The repair that follows `generation`, once decided (None: none, or no decision in time)."""
    if generation.repair is None:
        return None
    try:
        return await asyncio.wait_for(asyncio.shield(generation.repair), DECISION_SECONDS)
    except TimeoutError:
        return None
