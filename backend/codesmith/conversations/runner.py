"""The runner: the task that owns a running generation from its first token to its final write.

It streams the answer from the upstream into the Generation (the only code that writes to one), settles
the day's token reservation with what was used, stores the final state through store.py and publishes
the event that ends the stream. Whatever happens (a failing upstream, a cancel, a shutdown) it ends
with a stored state; only a bug raises.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING, cast

from codesmith.config import Settings
from codesmith.conversations import repair, sse
from codesmith.conversations.jobs import Job, Outcome
from codesmith.conversations.running import Generation
from codesmith.conversations.store import store_final, store_usage_only
from codesmith.conversations.tables import MessageStatus
from codesmith.errors import AppError
from codesmith.guard import record_refusal
from codesmith.guard.answer import has_code_block
from codesmith.guard.marker import MarkerGate
from codesmith.llm.client import ChatClient, Interval
from codesmith.llm.pricing import cost_usd
from codesmith.llm.tokens import estimate_text_tokens
from codesmith.llm.types import ChatEvent, TextDelta, Usage
from codesmith.metrics import COST, GENERATIONS, TIME_TO_FIRST_TOKEN, TOKENS, UPSTREAM_ERRORS, UPSTREAM_LATENCY
from codesmith.usage.limits import UsageLimiter

if TYPE_CHECKING:
    from codesmith.conversations.generations import GenerationService

logger = logging.getLogger("codesmith.generations")

# Text reaches subscribers at most this often: faster tokens travel together. Each delta costs a wake-up, a
# write to the client and its share of the event loop (50 ms instead of 20 took a third off the CPU of a
# 300-token answer at 5 ms a token), so the interval widens as the replica gets busy: 50 ms (twenty updates
# a second, below what a reader notices) while it runs up to QUIET_GENERATIONS, then in proportion up to
# 100 ms (ten a second) from twice as many (docs/performance.md §6).
COALESCE_SECONDS = 0.05
BUSY_COALESCE_SECONDS = 0.1
QUIET_GENERATIONS = 8
# The OpenAI-compatible API's answers go to programs (editors, agents, SDK scripts), not to a person watching
# text appear: ten deltas a second whatever the load. Each chunk costs such a client a parse and often a
# re-render of the whole answer so far (a terminal's Markdown, an editor's diff), and the replica a wake-up
# and a write (docs/performance.md §6).
API_COALESCE_SECONDS = BUSY_COALESCE_SECONDS


def coalesce_seconds(running: int) -> float:
    """How far apart a stream's deltas are while the replica runs `running` generations."""
    return min(BUSY_COALESCE_SECONDS, COALESCE_SECONDS * max(1.0, running / QUIET_GENERATIONS))


def pacing(service: GenerationService, job: Job) -> Interval:
    """The job's own interval between deltas, else the replica's, asked at each wait."""
    return job.min_interval if job.min_interval is not None else lambda: coalesce_seconds(service.count)


# What the database says when a stopped task no longer owns its message.
_STOP_STATUS = {
    "cancelled": MessageStatus.CANCELLED,
    "interrupted": MessageStatus.INTERRUPTED,
    "gone": MessageStatus.CANCELLED,
}


async def run(service: GenerationService, job: Job, generation: Generation) -> None:
    """The generation's task: stream, settle, store, publish."""
    if job.store:
        service.writer.watch(generation)
    outcome = await _generate(service.llm, service.settings, job, generation, pacing(service, job))
    generation.outcome = outcome
    generation.closing = True  # from here on, a cancel is too late: the outcome gets stored as it is
    # First what must happen whatever fails later: the day's reservation is replaced by what was used.
    await _settle(service.limiter, job, outcome)
    if job.store:
        await service.writer.unwatch(generation)
    # The final write must happen even when a shutdown cancels this task again meanwhile: it runs on,
    # and publishes the stream's last event when it is done.
    if job.store:
        storing = store_final(service.sessionmaker, service.replica_id, job, outcome, generation.text())
    else:
        storing = store_usage_only(service.sessionmaker, job, outcome, generation.length)
    final = asyncio.ensure_future(storing)
    final.add_done_callback(lambda stored: _publish(service, generation, stored))
    try:
        await asyncio.shield(final)
    finally:
        _count(job, outcome)
    await repair.after_answer(service, job, generation)


def _publish(service: GenerationService, generation: Generation, stored: asyncio.Future[bytes]) -> None:
    if stored.cancelled() or stored.exception() is not None:
        event = sse.error("internal_error", "The answer could not be stored.", generation.message_id, generation.length)
    else:
        event = stored.result()
    # Forget first, then publish: whoever sees the end can start the next generation at once.
    service.forget(generation)
    generation.publish(event)


async def _settle(limiter: UsageLimiter | None, job: Job, outcome: Outcome) -> None:
    """Replace the day's token reservation with what was used (nothing, when the upstream gave nothing)."""
    if limiter is None or job.reservation is None:
        return
    used = outcome.usage.prompt_tokens + outcome.usage.completion_tokens if outcome.usage else 0
    try:
        await limiter.settle(job.reservation, used)
    except Exception:  # a limiter store that is down must not turn a stored answer into an error
        logger.exception("settling the token reservation failed", extra={"message_id": job.message_id})


async def _generate(llm: ChatClient, settings: Settings, job: Job, generation: Generation, pace: Interval) -> Outcome:
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
                min_interval=pace,  # faster tokens come together: one append, one write
                headers=_session_headers(settings, job),
                options=job.options,
            )
            # Closed on every exit (a refusal's early stop, a cancel): the upstream connection goes with it.
            async with aclosing(cast(AsyncGenerator[ChatEvent, None], stream)) as events:
                async for event in events:
                    if type(event) is TextDelta:
                        if generation.status == MessageStatus.PENDING:
                            generation.status = MessageStatus.STREAMING
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
        status = _STOP_STATUS.get(generation.stop_reason or "", MessageStatus.INTERRUPTED)
        return Outcome(status, usage=_usage(usage, job, generation))
    except TimeoutError:
        UPSTREAM_ERRORS.labels("upstream_timeout").inc()
        detail = f"The answer took longer than {settings.max_generation_seconds:g} seconds and was stopped."
        return Outcome(MessageStatus.FAILED, "upstream_timeout", detail, _usage(usage, job, generation))
    except AppError as exc:
        UPSTREAM_ERRORS.labels(exc.code).inc()
        return Outcome(MessageStatus.FAILED, exc.code, exc.detail, _usage(usage, job, generation))
    except Exception:  # a bug: the partial answer is still stored, as failed
        logger.exception("generation failed", extra={"message_id": job.message_id})
        return Outcome(
            MessageStatus.FAILED,
            "internal_error",
            "The generation failed unexpectedly.",
            _usage(usage, job, generation),
        )
    finally:
        UPSTREAM_LATENCY.labels(*labels).observe(time.perf_counter() - started)
    if too_long:
        UPSTREAM_ERRORS.labels("answer_too_long").inc()
        detail = f"The answer passed {settings.max_answer_chars} characters and was stopped; what came is kept."
        return Outcome(MessageStatus.FAILED, "answer_too_long", detail, _usage(usage, job, generation))
    if gate.refused:
        reason = gate.reason or "the request is not about code"
        record_refusal(job.user_id, "model", reason)
        detail = f"Codesmith only writes code, and the model declined this request: {reason}"
        refusal = f"NOT_CODE: {reason}"
        return Outcome(MessageStatus.REJECTED, "not_a_code_request", detail, _usage(usage, job, refusal), content="")
    if settings.require_code_in_answer and not has_code_block(generation.text()):
        record_refusal(job.user_id, "answer", "the answer contains no code block")
        detail = "The model's answer contained no code. Rephrase the request, or regenerate the answer."
        return Outcome(MessageStatus.REJECTED, "no_code_in_answer", detail, _usage(usage, job, generation))
    return Outcome(MessageStatus.COMPLETE, usage=_usage(usage, job, generation))


def _session_headers(settings: Settings, job: Job) -> dict[str, str] | None:
    """The conversation as vLLM's router session key: its turns go to the replica that has their prefix
    cached. OpenAI gets no such header."""
    if job.model.provider == "openai" or not settings.vllm_session_header:
        return None
    return {settings.vllm_session_header: job.conversation_id}


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
