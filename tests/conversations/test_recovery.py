"""Nothing is lost across restarts and shutdowns, and generations another process runs stay reachable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from codesmith.config import Settings
from codesmith.conversations.generations import GenerationService
from codesmith.conversations.tables import Conversation, Message
from codesmith.db import utcnow
from codesmith.main import create_app
from tests.conftest import LiveServer, UserHandle
from tests.conversations.helpers import events_of, message_row, sessionmaker_of, text_of
from tests.fakes.upstream import DEFAULT_REPLY, FakeUpstream

PROMPT = "Write a Python function that reverses the words of a sentence"


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[FastAPI]:
    """Another process of the service on the same database: its own start-up and shutdown."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def seed(
    app: FastAPI, user_id: str, answers: list[tuple[str, str]], lease: tuple[str, float] | None = None
) -> tuple[str, list[str]]:
    """A conversation with a request and assistant messages of the given (status, content); with `lease`,
    (owner, seconds from now), the answers are owned by that replica from the start (no reaper sees them
    unowned in between)."""
    now = utcnow()
    async with sessionmaker_of(app)() as session:
        conversation = Conversation(user_id=user_id, title="Seeded", created_at=now, updated_at=now)
        session.add(conversation)
        await session.flush()
        request = Message(
            conversation_id=conversation.id,
            user_id=user_id,
            role="user",
            kind="request",
            content=PROMPT,
            status="complete",
            created_at=now,
        )
        session.add(request)
        await session.flush()
        ids = []
        for position, (status, content) in enumerate(answers, start=1):
            answer = Message(
                conversation_id=conversation.id,
                user_id=user_id,
                parent_id=request.id,
                role="assistant",
                kind="generation",
                content=content,
                status=status,
                created_at=now + timedelta(microseconds=position),
            )
            if lease is not None:
                answer.owner, answer.lease_until = lease[0], now + timedelta(seconds=lease[1])
            session.add(answer)
            await session.flush()
            ids.append(answer.id)
        await session.commit()
        return conversation.id, ids


async def wait_until(condition: object, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


class TestRestart:
    async def test_unfinished_generations_are_marked_interrupted_with_their_partial_text(
        self, app: FastAPI, settings: Settings, user: UserHandle
    ) -> None:
        # One running generation per conversation (a unique index): each in its own.
        _, (streaming, complete) = await seed(
            app, user.id, [("streaming", "def half_done("), ("complete", DEFAULT_REPLY)]
        )
        _, (pending,) = await seed(app, user.id, [("pending", "")])
        async with started(settings):
            pass
        rows = [await message_row(app, message_id) for message_id in (streaming, pending, complete)]
        assert [(row.status, row.content) for row in rows] == [
            ("interrupted", "def half_done("),
            ("interrupted", ""),
            ("complete", DEFAULT_REPLY),
        ]
        assert rows[0].completed_at is not None and rows[2].completed_at is None


class TestShutdown:
    async def test_a_generation_still_running_at_shutdown_is_stored_interrupted(
        self, settings: Settings, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.05
        async with started(settings) as service:
            generations: GenerationService = service.state.generations
            generations.shutdown_grace = 0.1
            transport = httpx.ASGITransport(app=service)
            async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as http:
                pending = asyncio.create_task(
                    http.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
                )
                await wait_until(lambda: any(g.length > 0 for g in generations.running()))
                running = generations.running()[0]
                await generations.shutdown()
                response = await pending
        assert running.finished.is_set()
        answer = response.json()["messages"][1]
        assert answer["status"] == "interrupted"
        assert 0 < len(answer["content"]) < len(DEFAULT_REPLY)
        assert DEFAULT_REPLY.startswith(answer["content"])
        stored = await message_row(service, running.message_id)
        assert (stored.status, stored.content) == ("interrupted", answer["content"])

    async def test_a_generation_that_ends_within_the_grace_period_completes(
        self, settings: Settings, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.01
        async with started(settings) as service:
            generations: GenerationService = service.state.generations
            generations.shutdown_grace = 10
            transport = httpx.ASGITransport(app=service)
            async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as http:
                pending = asyncio.create_task(
                    http.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
                )
                await wait_until(lambda: bool(generations.running()))
                await generations.shutdown()
                response = await pending
        answer = response.json()["messages"][1]
        assert (answer["status"], answer["content"]) == ("complete", DEFAULT_REPLY)


class TestAnotherProcess:
    """A generation this process does not run (another worker's) is followed through the database."""

    async def test_re_attaching_follows_the_stored_batches_until_it_ends(
        self, live_server: LiveServer, user: UserHandle
    ) -> None:
        partial = DEFAULT_REPLY[:30]
        cid, (mid,) = await seed(live_server.app, user.id, [("streaming", partial)])
        path = f"/conversations/{cid}/messages/{mid}/stream"

        async def finish_elsewhere() -> None:
            async with sessionmaker_of(live_server.app)() as session:
                values = {"content": DEFAULT_REPLY, "status": "complete", "completed_at": utcnow()}
                await session.execute(update(Message).where(Message.id == mid).values(**values))
                await session.commit()

        async with live_server.client() as http, http.stream("GET", path, headers=user.headers) as response:
            stream = events_of(response)
            events = [await anext(stream)]
            await finish_elsewhere()
            events += [event async for event in stream if event.event != "comment"]
        assert events[0].event == "delta" and events[0].data["text"] == partial
        assert text_of(events) == DEFAULT_REPLY
        assert events[-1].event == "done" and events[-1].data["status"] == "complete"

    async def test_cancelling_marks_it_cancelled_for_the_process_that_runs_it(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        cid, (mid,) = await seed(app, user.id, [("streaming", "def reverse_words(")])
        response = await client.post(f"/conversations/{cid}/messages/{mid}/cancel", headers=user.headers)
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["content"]) == ("cancelled", "def reverse_words(")
        assert (await message_row(app, mid)).status == "cancelled"

    async def test_a_generation_cancelled_by_another_process_stops_at_its_next_write(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.05
        generations: GenerationService = live_server.app.state.generations
        async with (
            live_server.client() as http,
            http.stream(
                "POST", "/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers
            ) as response,
        ):
            stream = events_of(response)
            start = await anext(stream)
            await wait_until(lambda: any(g.length > 0 for g in generations.running()))
            async with sessionmaker_of(live_server.app)() as session:  # what another worker's cancel writes
                cancelled = {"status": "cancelled", "completed_at": utcnow()}
                await session.execute(update(Message).where(Message.id == start.data["message_id"]).values(**cancelled))
                await session.commit()
            rest = [event async for event in stream if event.event != "comment"]
        assert rest[-1].event == "done" and rest[-1].data["status"] == "cancelled"
        assert len(text_of(rest)) < len(DEFAULT_REPLY)  # it stopped early
        assert not generations.running()

    async def test_a_new_generation_waits_for_the_other_process(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, fake_model: str
    ) -> None:
        cid, (mid,) = await seed(app, user.id, [("streaming", "def reverse_words(")])
        response = await client.post(f"/conversations/{cid}/messages/{mid}/regenerate", json={}, headers=user.headers)
        assert response.status_code == 409
        assert response.json()["code"] == "generation_in_progress"


class TestDeletion:
    async def test_deleting_a_conversation_stops_its_generation(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.05
        generations: GenerationService = live_server.app.state.generations
        async with (
            live_server.client() as http,
            http.stream(
                "POST", "/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers
            ) as response,
        ):
            lines = response.aiter_lines()
            await wait_until(lambda: any(g.length > 0 for g in generations.running()))
            running = generations.running()[0]
            deleted = await http.delete(f"/conversations/{running.conversation_id}", headers=user.headers)
            assert deleted.status_code == 204
            rest = [line async for line in lines]
        assert running.finished.is_set() and not generations.running()
        assert any(line == "event: done" for line in rest)
        async with sessionmaker_of(live_server.app)() as session:
            assert await session.get(Message, running.message_id) is None
