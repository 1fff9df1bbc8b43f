"""Two replicas on one database and one Redis: a generation running on A is followed live on B (Redis
Streams), cancelled from B within a moment, and survives Redis losing its data."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from codesmith.config import Settings
from codesmith.conversations.generations import GenerationService
from tests.conftest import LiveServer, UserHandle, serving
from tests.conversations.helpers import Event, events_of, message_row, text_of
from tests.conversations.test_recovery import PROMPT, wait_until
from tests.fakes.upstream import DEFAULT_REPLY, FakeUpstream

REDIS_URL = os.environ.get("CODESMITH_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="no Redis server (make test and CI start one)")


@pytest.fixture
def settings_overrides(settings_overrides: dict[str, Any]) -> dict[str, Any]:
    return {**settings_overrides, "redis_url": REDIS_URL}


@pytest.fixture
async def replica_b(settings: Settings, live_server: LiveServer) -> AsyncIterator[LiveServer]:
    """A second replica beside `live_server` (replica A)."""
    async with serving(settings) as server:
        yield server


async def start_on(replica: LiveServer, user: UserHandle) -> tuple[Any, AsyncIterator[Event], Any]:
    http = replica.client()
    response = await http.send(
        http.build_request("POST", "/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers),
        stream=True,
    )
    events = events_of(response)
    start = await anext(events)
    assert start.event == "start"
    return start.data, events, (http, response)


async def close(handles: Any) -> None:
    http, response = handles
    await response.aclose()
    await http.aclose()


def stream_path(start: dict[str, str]) -> str:
    return f"/conversations/{start['conversation_id']}/messages/{start['message_id']}/stream"


class TestFollowingAnotherReplica:
    async def test_deltas_reach_the_other_replica_live_and_the_text_is_what_is_stored(
        self,
        live_server: LiveServer,
        replica_b: LiveServer,
        user: UserHandle,
        fake_model: str,
        fake_upstream: FakeUpstream,
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.04  # ~1.3 s of answer
        start, _, handles = await start_on(live_server, user)
        arrivals: list[tuple[float, Event]] = []
        async with replica_b.client() as http, http.stream("GET", stream_path(start), headers=user.headers) as response:
            async for event in events_of(response):
                if event.event != "comment":
                    arrivals.append((time.monotonic(), event))
        await close(handles)
        assert replica_b.app.state.generations.get(start["message_id"]) is None  # it ran on A
        deltas = [at for at, event in arrivals if event.event == "delta"]
        assert len(deltas) >= 5 and deltas[-1] - deltas[0] > 0.5  # live, not one lump
        events = [event for _, event in arrivals]
        stored = await message_row(live_server.app, start["message_id"])
        assert text_of(events) == stored.content == DEFAULT_REPLY
        assert events[-1].event == "done" and events[-1].data["status"] == "complete"
        assert [event.id for event in events if event.event == "delta"] == sorted(
            event.id for event in events if event.event == "delta"
        )

    async def test_last_event_id_resumes_on_the_other_replica(
        self,
        live_server: LiveServer,
        replica_b: LiveServer,
        user: UserHandle,
        fake_model: str,
        fake_upstream: FakeUpstream,
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.03
        start, events, handles = await start_on(live_server, user)
        first = await anext(events)
        assert first.event == "delta" and first.id is not None
        headers = {**user.headers, "Last-Event-ID": str(first.id)}
        async with replica_b.client() as http, http.stream("GET", stream_path(start), headers=headers) as response:
            rest = [event async for event in events_of(response) if event.event != "comment"]
        await close(handles)
        assert first.data["text"] + text_of(rest) == DEFAULT_REPLY
        assert rest[-1].event == "done"

    async def test_a_cancel_sent_to_the_other_replica_stops_the_generation_within_a_second(
        self,
        live_server: LiveServer,
        replica_b: LiveServer,
        user: UserHandle,
        fake_model: str,
        fake_upstream: FakeUpstream,
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.1  # ~3 s of answer
        start, events, handles = await start_on(live_server, user)
        await anext(events)  # some text has come
        asked = time.monotonic()
        async with replica_b.client() as http:
            cancelled = await http.post(
                f"/conversations/{start['conversation_id']}/messages/{start['message_id']}/cancel", headers=user.headers
            )
        rest = [event async for event in events if event.event != "comment"]
        ended = time.monotonic()
        await close(handles)
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"
        assert ended - asked < 1.0
        assert rest[-1].event == "done" and rest[-1].data["status"] == "cancelled"
        stored = await message_row(live_server.app, start["message_id"])
        assert stored.status == "cancelled" and 0 < len(stored.content) < len(DEFAULT_REPLY)
        assert cancelled.json()["content"] == stored.content


class TestRedisLosingItsData:
    async def test_the_generation_is_stored_whole_and_a_watcher_gets_all_of_it(
        self,
        live_server: LiveServer,
        replica_b: LiveServer,
        user: UserHandle,
        fake_model: str,
        fake_upstream: FakeUpstream,
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.05
        generations: GenerationService = live_server.app.state.generations
        start, _, handles = await start_on(live_server, user)
        redis = Redis.from_url(str(REDIS_URL))
        watched: list[Event] = []

        async def watch() -> None:
            async with (
                replica_b.client() as http,
                http.stream("GET", stream_path(start), headers=user.headers) as response,
            ):
                async for event in events_of(response):
                    if event.event != "comment":
                        watched.append(event)

        watcher = asyncio.create_task(watch())
        await wait_until(lambda: (generations.get(start["message_id"]) is not None) and len(watched) >= 2)
        await redis.flushdb()  # what a Redis restart without persistence does to the streams
        await asyncio.wait_for(watcher, timeout=20)
        await redis.aclose()
        await close(handles)
        stored = await message_row(live_server.app, start["message_id"])
        assert (stored.status, stored.content) == ("complete", DEFAULT_REPLY)
        assert text_of(watched) == DEFAULT_REPLY
        assert watched[-1].event == "done" and watched[-1].data["content"] == DEFAULT_REPLY
