"""Leases: a running generation belongs to the replica that renews its lease; any replica reaps those
whose lease expired (partial text kept), and a reaped owner cannot write over the result later. One
generation per conversation is kept by the database itself, whichever replica starts it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update
from sqlalchemy.exc import IntegrityError

from codesmith.config import Settings
from codesmith.conversations import handling, store
from codesmith.conversations.generations import GenerationService
from codesmith.conversations.running import Generation
from codesmith.conversations.store import store_texts
from codesmith.conversations.tables import Message
from codesmith.db import utcnow
from tests.conftest import LiveServer, UserHandle
from tests.conversations.helpers import events_of, message_row, message_rows, sessionmaker_of, text_of
from tests.conversations.test_recovery import PROMPT, seed, started, wait_until
from tests.fakes.upstream import DEFAULT_REPLY, FakeUpstream


async def set_lease(app: FastAPI, message_id: str, owner: str | None, seconds_from_now: float) -> None:
    async with sessionmaker_of(app)() as session:
        lease = utcnow() + timedelta(seconds=seconds_from_now)
        await session.execute(update(Message).where(Message.id == message_id).values(owner=owner, lease_until=lease))
        await session.commit()


async def wait_until_written(app: FastAPI, message_id: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (await message_row(app, message_id)).content:
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


class TestReaper:
    async def test_a_live_lease_of_another_replica_survives_a_start_up_and_an_expired_one_is_reaped(
        self, app: FastAPI, settings: Settings, user: UserHandle
    ) -> None:
        _, (live,) = await seed(app, user.id, [("streaming", "def alive(")])
        _, (dead,) = await seed(app, user.id, [("streaming", "def dead(")])
        await set_lease(app, live, "replica-a:1:aa", 60)
        await set_lease(app, dead, "replica-b:2:bb", -1)
        async with started(settings):  # another replica starting: it reaps only what has expired
            pass
        alive, reaped = await message_row(app, live), await message_row(app, dead)
        assert (alive.status, alive.owner) == ("streaming", "replica-a:1:aa")
        assert (reaped.status, reaped.content, reaped.owner, reaped.lease_until) == (
            "interrupted",
            "def dead(",
            None,
            None,
        )
        assert reaped.completed_at is not None

    async def test_the_owner_renews_its_leases_so_no_other_replica_reaps_a_live_generation(
        self,
        live_server: LiveServer,
        settings: Settings,
        user: UserHandle,
        fake_model: str,
        fake_upstream: FakeUpstream,
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.08  # about 3 s of answer, the lease is 0.6 s
        generations: GenerationService = live_server.app.state.generations
        async with (
            started(settings) as other,
            live_server.client() as http,
            http.stream("POST", "/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers) as r,
        ):
            events = [event async for event in events_of(r) if event.event != "comment"]
            reaped_by_other = await other.state.generations.reap()
        assert generations.lease_seconds == pytest.approx(0.6)
        assert reaped_by_other == 0
        assert events[-1].event == "done" and events[-1].data["status"] == "complete"
        assert text_of(events) == DEFAULT_REPLY

    async def test_a_reaped_owner_cannot_write_over_the_result_and_its_watchers_get_the_end(
        self,
        live_server: LiveServer,
        settings: Settings,
        user: UserHandle,
        fake_model: str,
        fake_upstream: FakeUpstream,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.05
        generations: GenerationService = live_server.app.state.generations

        async def stuck() -> int:  # an owner too slow to renew (a long pause, a partition)
            return 0

        monkeypatch.setattr(generations, "renew", stuck)
        async with (
            live_server.client() as http,
            http.stream("POST", "/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers) as r,
        ):
            stream = events_of(r)
            start = await anext(stream)
            message_id = start.data["message_id"]
            await wait_until(lambda: (generations.get(message_id) or _NONE).length > 20)
            await wait_until_written(live_server.app, message_id)  # the reaper keeps what reached the database
            # The owner looks dead to the others (its lease is in the past): another replica reaps it.
            await set_lease(live_server.app, message_id, generations.replica_id, -1)
            async with started(settings):  # another replica starting reaps it
                pass
            reaped = await message_row(live_server.app, message_id)
            rest = [event async for event in stream if event.event != "comment"]
        stored = await message_row(live_server.app, message_id)
        assert (stored.status, stored.content) == ("interrupted", reaped.content)  # nothing written over it
        assert 0 < len(stored.content) < len(DEFAULT_REPLY)
        assert rest[-1].event == "done" and rest[-1].data["status"] == "interrupted"
        assert rest[-1].data["content"] == stored.content
        assert not generations.running()

    async def test_a_replica_reaps_its_own_generation_whose_final_write_never_landed(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        """Its task has ended (the database was down for its final write): the renewals of the replica's
        live generations must not keep it running forever."""
        fake_upstream.behaviour.token_delay = 0.05
        generations: GenerationService = live_server.app.state.generations
        _, (orphan,) = await seed(live_server.app, user.id, [("streaming", "def lost(")])
        await set_lease(live_server.app, orphan, generations.replica_id, 0.3)
        async with (
            live_server.client() as http,
            http.stream("POST", "/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers) as r,
        ):
            start = await anext(events_of(r))
            assert generations.get(start.data["message_id"]) is not None
            await asyncio.sleep(1.0)  # a few rounds of the upkeep: renewals (0.2 s) and the reaper
            assert await generations.renew() == 1  # the live one only
            live = await message_row(live_server.app, start.data["message_id"])
            assert live.status in ("pending", "streaming")
        row = await message_row(live_server.app, orphan)
        assert (row.status, row.content, row.owner) == ("interrupted", "def lost(", None)


class _Empty:
    length = 0


_NONE: Any = _Empty()


class TestOneGenerationPerConversation:
    async def test_the_database_refuses_a_second_running_generation_in_a_conversation(
        self, app: FastAPI, user: UserHandle
    ) -> None:
        # Owned by a live replica from the start: this app's reaper (every 0.2 s here) leaves it running.
        cid, _ = await seed(app, user.id, [("streaming", "")], lease=("replica-b:2:bb", 60))
        with pytest.raises(IntegrityError):
            await seed_into(app, cid, user.id, "pending")
        await seed_into(app, cid, user.id, "complete")  # finished ones are not limited

    async def test_a_start_that_loses_the_race_answers_409_and_stores_nothing(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        user: UserHandle,
        fake_model: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Another replica's generation started between this one's check and its insert: the unique index
        decides (the in-process check cannot see another replica)."""
        cid, _ = await seed(app, user.id, [("streaming", "def other_replica(")], lease=("replica-b:2:bb", 60))
        before = len(await message_rows(app, cid))
        monkeypatch.setattr(handling, "_ensure_idle", lambda messages: None)
        response = await client.post(
            f"/conversations/{cid}/messages", json={"content": "Add type hints"}, headers=user.headers
        )
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "generation_in_progress"
        assert len(await message_rows(app, cid)) == before  # the feedback was not stored either
        usage = await client.get("/usage", headers=user.headers)
        assert usage.status_code == 200

    async def test_concurrent_starts_across_two_replicas_let_exactly_one_win(
        self,
        live_server: LiveServer,
        settings: Settings,
        user: UserHandle,
        fake_model: str,
        fake_upstream: FakeUpstream,
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.02
        async with live_server.client() as http:
            created = await http.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
            cid = created.json()["id"]
            async with started(settings) as other:
                transport = httpx.ASGITransport(app=other)
                async with httpx.AsyncClient(transport=transport, base_url="http://b/api/v1") as http_b:
                    body = {"content": "Add type hints"}
                    path = f"/conversations/{cid}/messages"
                    responses = await asyncio.gather(
                        *((http if n % 2 else http_b).post(path, json=body, headers=user.headers) for n in range(6))
                    )
        codes = sorted(response.status_code for response in responses)
        assert codes == [201, 409, 409, 409, 409, 409], [r.text for r in responses]


async def seed_into(app: FastAPI, conversation_id: str, user_id: str, status: str) -> None:
    async with sessionmaker_of(app)() as session:
        session.add(
            Message(
                conversation_id=conversation_id,
                user_id=user_id,
                role="assistant",
                kind="generation",
                content="",
                status=status,
                created_at=utcnow(),
            )
        )
        await session.commit()


@pytest.fixture
def settings_overrides(settings_overrides: dict[str, Any]) -> dict[str, Any]:
    return {**settings_overrides, "generation_lease_seconds": 0.6}


class TestBatches:
    async def test_one_statement_writes_a_batch_and_names_the_answers_no_longer_this_replicas(
        self, live_server: LiveServer, user: UserHandle
    ) -> None:
        app = live_server.app
        _, (mine,) = await seed(app, user.id, [("streaming", "")], lease=("replica-a", 60))
        _, (taken,) = await seed(app, user.id, [("streaming", "")], lease=("replica-b", 60))
        _, (ended,) = await seed(app, user.id, [("complete", "the final answer")])
        running = [
            Generation(message_id=mid, conversation_id="-", user_id=user.id, parent_id=None, model_id="-")
            for mid in (mine, taken, ended)
        ]
        for generation in running:
            generation.append("text so far")
        updates: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if statement.lstrip().upper().startswith(("UPDATE", "WITH")):
                updates.append(statement)

        engine = app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            async with sessionmaker_of(app)() as session:
                gone = await store_texts(session, "replica-a", [(generation, "streaming") for generation in running])
                await session.commit()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert gone == running[1:]
        assert len(updates) == 1
        assert ((await message_row(app, mine)).status, (await message_row(app, mine)).content) == (
            "streaming",
            "text so far",
        )
        assert (await message_row(app, taken)).content == ""  # another replica's: untouched
        assert (await message_row(app, ended)).content == "the final answer"  # a final state stands

    async def test_a_batch_statement_is_compiled_once_per_size_and_larger_batches_are_split(
        self, live_server: LiveServer, user: UserHandle
    ) -> None:
        """Batches run twice a second: their statement comes from SQLAlchemy's compiled cache, never built
        again (a VALUES list is never cached by SQLAlchemy itself), and a batch above BATCH_ROWS is split."""
        app = live_server.app
        _, (mine,) = await seed(app, user.id, [("streaming", "")], lease=("replica-a", 60))
        owned = Generation(message_id=mine, conversation_id="-", user_id=user.id, parent_id=None, model_id="-")
        strangers = [
            Generation(message_id=f"gone-{index}", conversation_id="-", user_id=user.id, parent_id=None, model_id="-")
            for index in range(store.BATCH_ROWS + 2)
        ]
        owned.append("text so far")
        caching: list[Any] = []

        def record(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
            if statement.lstrip().upper().startswith("WITH"):
                caching.append(context.cache_hit)

        engine = app.state.engine.sync_engine
        event.listen(engine, "after_cursor_execute", record)
        try:
            for _ in range(2):
                async with sessionmaker_of(app)() as session:
                    gone = await store_texts(session, "replica-a", [(owned, "streaming"), (strangers[0], "streaming")])
                    await session.commit()
                assert gone == [strangers[0]]
            async with sessionmaker_of(app)() as session:
                gone = await store_texts(session, "replica-a", [(g, "streaming") for g in [*strangers, owned]])
                await session.commit()
        finally:
            event.remove(engine, "after_cursor_execute", record)
        assert gone == strangers
        assert caching[1] == engine.dialect.CACHE_HIT
        assert len(caching) == 4  # two batches of two, then BATCH_ROWS and the 3 left
        assert (await message_row(app, mine)).content == "text so far"
