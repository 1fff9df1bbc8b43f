"""How running generations reach the database: the text so far in batches, the final state once, the
leases that say which replica owns each one, and the reaper that ends those whose replica is gone.

Every write of a running generation is a compare-and-set on (status active, owner = this replica): a
replica whose generation was reaped (its lease expired), cancelled elsewhere or deleted gets nothing
written and learns that the message is no longer its own. The final write clears the owner and lease.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import CursorResult, Table, TextClause, Update, bindparam, inspect, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.conversations import sse
from codesmith.conversations.jobs import Job, Outcome
from codesmith.conversations.running import Generation
from codesmith.conversations.schemas import message_public
from codesmith.conversations.tables import ACTIVE_SQL, ACTIVE_STATUSES, Message, MessageStatus
from codesmith.db import utcnow
from codesmith.llm.pricing import cost_usd
from codesmith.models import service as models
from codesmith.snippets.checks import check_off_the_loop
from codesmith.snippets.service import extract_off_the_loop, snippets_of_messages, store_snippets
from codesmith.snippets.tables import Snippet
from codesmith.usage import service as usage_ledger
from codesmith.usage.tables import UsageRecord
from codesmith.users.tables import User

logger = logging.getLogger("codesmith.generations")

# The text so far is written to the database this often while an answer streams (never per token).
FLUSH_SECONDS = 0.5


# -- events of a stored message ------------------------------------------------------------------------
def terminal_event(message: Message, snippets: Sequence[Snippet], offset: int) -> bytes:
    """The event that ends a generation's stream: `error` for one that ended with an error, else `done`
    with the message. The one place either is encoded."""
    if message.status in (MessageStatus.FAILED, MessageStatus.REJECTED) and message.error_code:
        return sse.error(message.error_code, message.error_detail or "", message.id, offset)
    public = message_public(message, snippets)
    return sse.encode_raw("done", public.__pydantic_serializer__.to_json(public), offset)


async def stored_terminal_event(session: AsyncSession, message: Message, offset: int | None = None) -> bytes:
    """terminal_event() of a message as stored, with its snippets."""
    snippets = (await snippets_of_messages(session, message.conversation_id)).get(message.id, [])
    return terminal_event(message, snippets, len(message.content) if offset is None else offset)


# -- compare-and-set writes of the owner ---------------------------------------------------------------
def _owned(message_id: str, owner: str | None) -> Update:
    statement = update(Message).where(Message.id == message_id, Message.status.in_(ACTIVE_STATUSES))
    if owner is not None:
        statement = statement.where(Message.owner == owner)
    return statement.execution_options(synchronize_session=False)


async def store_if_active(session: AsyncSession, message_id: str, owner: str | None = None, **values: Any) -> bool:
    """Write to a message only while it is still running (and, given `owner`, still that replica's): a
    task that lost it (cancelled elsewhere, reaped, deleted) gets False; a late write never undoes a final state."""
    result = cast(CursorResult[Any], await session.execute(_owned(message_id, owner).values(**values)))
    return result.rowcount > 0


# Rows of one batch statement: three bound values each, far below any database's limit on them.
BATCH_ROWS = 512
_MESSAGES = Message.__tablename__


async def store_texts(session: AsyncSession, owner: str, rows: Sequence[tuple[Generation, str]]) -> list[Generation]:
    """The text so far and status of many running generations, one statement per BATCH_ROWS (a compare-and-set
    as store_if_active's): those whose message was not written, no longer this replica's to write."""
    written: set[str] = set()
    for start in range(0, len(rows), BATCH_ROWS):
        part = rows[start : start + BATCH_ROWS]
        size = _batch_size(len(part))
        values: list[tuple[str | None, ...]] = [(g.message_id, g.text(), status) for g, status in part]
        values += [(None, None, None)] * (size - len(part))  # padding rows: NULL ids match no message
        params: dict[str, Any] = {"owner": owner}
        for index, (message_id, content, status) in enumerate(values):
            params |= {f"i{index}": message_id, f"c{index}": content, f"s{index}": status}
        written.update((await session.execute(_batch_statement(size), params)).scalars())
    return [generation for generation, _ in rows if generation.message_id not in written]


def _batch_size(rows: int) -> int:
    """The next power of two: a handful of statement shapes, each built and compiled once."""
    return 1 << max(0, rows - 1).bit_length()


@cache
def _batch_statement(rows: int) -> TextClause:
    """`WITH batch(id, content, status) AS (VALUES ...) UPDATE messages ... FROM batch ... RETURNING id`, every
    value bound. Text, not Core: SQLAlchemy never caches a statement with a VALUES list (it compiled one per
    batch, about half of a batch's CPU); a text statement's compiled form is cached like any other."""
    listed = ", ".join(
        f"(CAST(:i{index} AS VARCHAR), CAST(:c{index} AS TEXT), CAST(:s{index} AS VARCHAR))" for index in range(rows)
    )
    # Constants and numbered placeholders only: every value is bound.
    return text(
        f"WITH batch(id, content, status) AS (VALUES {listed}) "  # noqa: S608
        f"UPDATE {_MESSAGES} SET content = batch.content, status = batch.status FROM batch "
        f"WHERE {_MESSAGES}.id = batch.id AND {_MESSAGES}.owner = :owner AND {_MESSAGES}.{ACTIVE_SQL} "
        f"RETURNING {_MESSAGES}.id"
    )


async def finish_if_owned(session: AsyncSession, message_id: str, owner: str, **values: Any) -> Message | None:
    """The final write, in one statement: the message as stored (an object outside the session), or None
    when it was no longer this replica's to write. The owner and lease go with it."""
    params = {"message_id_": message_id, "owner_": owner} | {f"{key}_": value for key, value in values.items()}
    row = (await session.execute(_finish_statement(tuple(values)), params)).one_or_none()
    return None if row is None else Message(**dict(zip(_MESSAGE_COLUMNS, row, strict=True)))


# A message's columns by ORM attribute name.
_MESSAGE_COLUMNS = {attr.key: attr.columns[0] for attr in inspect(Message).column_attrs}


@cache
def _finish_statement(keys: tuple[str, ...]) -> Update:
    """finish_if_owned's statement for the columns written, built once (Core, every value a bound parameter:
    no statement building and no cache key computed per write; the ORM's bulk UPDATE with RETURNING cost
    more for the same SQL)."""
    table = cast(Table, Message.__table__)
    return (
        update(table)
        .where(
            table.c.id == bindparam("message_id_"),
            table.c.owner == bindparam("owner_"),
            table.c.status.in_(ACTIVE_STATUSES),
        )
        .values({key: bindparam(f"{key}_") for key in keys} | {"owner": None, "lease_until": None})
        .returning(*_MESSAGE_COLUMNS.values())
    )


# -- leases --------------------------------------------------------------------------------------------
def lease_end(lease_seconds: float, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(seconds=lease_seconds)


async def renew_leases(session: AsyncSession, owner: str, message_ids: Sequence[str], lease_seconds: float) -> int:
    """Extend the leases of this replica's running generations, in one statement; how many it holds.
    Only those it still runs: one whose final write never landed (a database outage) is left to expire."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Message)
            .where(Message.owner == owner, Message.id.in_(message_ids), Message.status.in_(ACTIVE_STATUSES))
            .values(lease_until=lease_end(lease_seconds))
            .execution_options(synchronize_session=False)
        ),
    )
    return int(result.rowcount)


async def reap_expired(session: AsyncSession) -> list[Message]:
    """Running generations whose lease has expired (or that never had one: a previous version's), marked
    `interrupted` with their partial text: the messages as stored. The condition on the lease is the
    compare-and-set: a lease renewed meanwhile keeps its generation."""
    now = utcnow()
    statement = (
        update(Message)
        .where(
            Message.status.in_(ACTIVE_STATUSES),
            or_(Message.lease_until.is_(None), Message.lease_until < now),
        )
        .values(status=MessageStatus.INTERRUPTED, completed_at=now, owner=None, lease_until=None)
        .returning(Message)
        .execution_options(synchronize_session=False)
    )
    return list((await session.scalars(statement)).all())


async def reread(session: AsyncSession, message_id: str) -> Message | None:
    """The message as stored now, never a copy this session loaded earlier (None when deleted)."""
    statement = select(Message).where(Message.id == message_id).execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


# -- the text so far, in batches -------------------------------------------------------------------------
class BatchWriter:
    """Writes the text so far of every running generation of the replica, every FLUSH_SECONDS, in ONE
    transaction: never a write per token, and not a transaction per generation either (SQLite has a
    single writer, and hundreds of concurrent streams each committing twice a second queue up on it).

    It only reads the generations: those whose message is no longer theirs come back from flush()'s
    batches to the service, which stops them."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], owner: str) -> None:
        self._sessionmaker = sessionmaker
        self._owner = owner
        self._watched: dict[str, tuple[Generation, tuple[int, str]]] = {}
        self._batch: asyncio.Task[list[Generation]] | None = None

    @property
    def idle(self) -> bool:
        return not self._watched

    def watch(self, generation: Generation) -> None:
        self._watched[generation.message_id] = (generation, (0, MessageStatus.PENDING))

    async def unwatch(self, generation: Generation) -> None:
        """Stop writing it; a batch under way completes first, so it can never land after the final write."""
        self._watched.pop(generation.message_id, None)
        batch = self._batch
        if batch is not None and not batch.done():
            with suppress(Exception):
                await asyncio.shield(batch)

    async def flush(self) -> list[Generation]:
        """Write what changed since the last flush; the generations whose message is no longer theirs."""
        changed = [
            (generation, (generation.length, generation.status))
            for generation, saved in self._watched.values()
            if (generation.length, generation.status) != saved
        ]
        if not changed:
            return []
        self._batch = asyncio.create_task(self._save(changed))
        # Shielded: cancelling the caller must not cut a database write in half.
        gone = await asyncio.shield(self._batch)
        for generation, state in changed:
            if generation.message_id in self._watched:
                self._watched[generation.message_id] = (generation, state)
        return gone

    async def _save(self, changed: list[tuple[Generation, tuple[int, str]]]) -> list[Generation]:
        try:
            async with self._sessionmaker() as session:
                gone = await store_texts(
                    session, self._owner, [(generation, status) for generation, (_, status) in changed]
                )
                await session.commit()
        except Exception as exc:  # a busy database: the next batch or the final write will catch up
            logger.warning("saving partial answers failed", extra={"error": type(exc).__name__})
            return []
        return [generation for generation in gone if not generation.closing]


# -- the final state ---------------------------------------------------------------------------------------
FINAL_WRITE_ATTEMPTS = 3


async def store_final(
    sessionmaker: async_sessionmaker[AsyncSession], owner: str, job: Job, outcome: Outcome, text: str
) -> bytes:
    """Store the final state (and the snippets of a complete answer), retrying a failing database; the
    event that ends the stream."""
    values = _final_values(job, outcome, text)
    for attempt in range(1, FINAL_WRITE_ATTEMPTS + 1):
        try:
            return await _store_final_once(sessionmaker, owner, job, outcome, values, len(text))
        except Exception:  # a locked or unreachable database: try again, the answer must not be lost
            logger.exception("storing a generation failed", extra={"message_id": job.message_id, "attempt": attempt})
            if attempt < FINAL_WRITE_ATTEMPTS:
                await asyncio.sleep(attempt)
    return sse.error("internal_error", "The answer could not be stored.", job.message_id, len(text))


async def store_usage_only(
    sessionmaker: async_sessionmaker[AsyncSession], job: Job, outcome: Outcome, offset: int
) -> bytes:
    """The end of a generation that is not stored (`Job.store` false): only its record in the usage
    ledger, which the day's budget and the usage page count; the event that ends its stream."""
    values = _final_values(job, outcome, "")
    for attempt in range(1, FINAL_WRITE_ATTEMPTS + 1):
        try:
            async with sessionmaker() as session:
                # The first attempt writes at once (one statement); a retry first asks whether an earlier
                # one committed, and whether the account still exists.
                await _record_usage(session, job, outcome, values, None, written=attempt == 1)
                await session.commit()
            break
        except Exception:  # a locked or unreachable database: the tokens were spent, try again
            logger.exception("recording usage failed", extra={"message_id": job.message_id, "attempt": attempt})
            if attempt < FINAL_WRITE_ATTEMPTS:
                await asyncio.sleep(attempt)
    if outcome.status in (MessageStatus.FAILED, MessageStatus.REJECTED) and outcome.error_code:
        return sse.error(outcome.error_code, outcome.error_detail or "", job.message_id, offset)
    return sse.encode("done", {"id": job.message_id, "status": outcome.status, "stored": False}, offset)


def _final_values(job: Job, outcome: Outcome, text: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": outcome.status,
        "content": text if outcome.content is None else outcome.content,
        "error_code": outcome.error_code,
        "error_detail": outcome.error_detail,
        "completed_at": utcnow(),
    }
    usage = outcome.usage
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
    return values


async def _store_final_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    owner: str,
    job: Job,
    outcome: Outcome,
    values: dict[str, Any],
    offset: int,
) -> bytes:
    complete = outcome.status == MessageStatus.COMPLETE
    # Parsed and checked before the write: SQLite's one write lock is never held while an answer is parsed.
    extracted = await extract_off_the_loop(values["content"]) if complete else []
    checks = await check_off_the_loop(extracted) if extracted else []
    async with sessionmaker() as session:
        message = await finish_if_owned(session, job.message_id, owner, **values)
        if message is None:  # cancelled elsewhere or reaped meanwhile (that state stands), or deleted
            message = await reread(session, job.message_id)
            # The tokens were spent (and counted in the day's budget) whatever became of the message.
            await _record_usage(session, job, outcome, values, message, written=False)
            await session.commit()
            if message is None:
                return sse.error("not_found", "The conversation was deleted.", job.message_id, offset)
            return await stored_terminal_event(session, message, offset)
        snippets = await store_snippets(session, message, extracted, replace=False, checks=checks) if complete else []
        await _record_usage(session, job, outcome, values, message, written=True)
        if complete and not job.model.known_ok:
            await models.mark_ok(session, job.model.id)  # the model answers: whatever its last check said
        await session.commit()
        return terminal_event(message, snippets, offset)


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
    final write's transaction; none without usage. `written`: no record of it can exist yet (this transaction
    stored the final state, or it is the first attempt for an unstored generation, whose record would fail
    its foreign key if the account went meanwhile: the retry then finds it gone)."""
    usage = outcome.usage
    if usage is None:
        return
    if not written:
        if await session.get(UsageRecord, job.message_id) is not None:
            return  # an earlier attempt of this final write got as far as committing
        if message is None and await session.get(User, job.user_id) is None:
            return  # the account was deleted meanwhile: its ledger went with it
    spent = usage_ledger.Spent(usage.prompt_tokens, usage.completion_tokens, values.get("cost_usd"), usage.estimated)
    await usage_ledger.record(
        session,
        record_id=job.message_id,
        user_id=job.user_id,
        message_id=job.message_id,
        conversation_id=job.conversation_id if job.store else None,
        model_id=job.model.id,
        model_name=job.model.endpoint.model,
        provider=job.model.provider,
        paid_by_server=job.model.paid_by_server,
        spent=spent,
        created_at=message.created_at if message is not None else utcnow(),
    )
