"""A hostile or careless model endpoint and concurrent first requests cannot freeze, fill or fool the instance."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from codesmith.conversations import sse
from codesmith.usage.limits import UsageLimiter, utc_day
from tests.conftest import LiveServer, RegisterUser, UserHandle
from tests.conversations.helpers import collect, events_of, message_row, text_of
from tests.fakes.upstream import DEFAULT_REPLY, FakeUpstream

PROMPT = "Write a Python function that reverses the words of a sentence"


SETTINGS: dict[str, Any] = {
    "allow_private_model_hosts": True,
    "openai_models": [],
    "rate_limit_requests_per_minute": 0,
    "rate_limit_tokens_per_day": 1_000_000,  # on: the first request of the day seeds the counter
    "max_answer_chars": 5_000,
    "max_generation_seconds": 60,
    "max_streams_per_user": 3,
}


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(getattr(request, "param", SETTINGS))


async def next_event(events: Any) -> Any:
    async for item in events:
        if item.event != "comment":
            return item
    raise AssertionError("the stream ended")


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/conversations", json={"prompt": PROMPT, **body}, headers=headers)


async def tokens_counted_today(app: FastAPI, user_id: str) -> int:
    limiter: UsageLimiter = app.state.usage_limiter
    key = limiter._key(user_id, utc_day())
    return int(await limiter._limiter.storage.get(key) or 0)


class TestConcurrentFirstRequests:
    async def test_mixed_jwt_and_api_token_first_requests_never_lock_the_database(
        self, live_server: LiveServer, register_user: RegisterUser, fake_model: str
    ) -> None:
        async with live_server.client() as http:
            users = [await register_user(f"fresh{i}@example.com") for i in range(3)]
            token_headers = []
            for handle in users:
                made = await http.post("/users/me/api-tokens", json={"name": "script"}, headers=handle.headers)
                token_headers.append({"Authorization": f"Bearer {made.json()['token']}"})

            async def timed(call: Any) -> tuple[int, float]:
                started = time.perf_counter()
                response = await call
                return response.status_code, time.perf_counter() - started

            calls = []
            for handle, token in zip(users, token_headers, strict=True):
                for _ in range(3):  # each user's first requests of the day, through both kinds of credential
                    calls.append(timed(create(http, token)))
                    calls.append(timed(create(http, handle.headers)))
            # Another user's write meanwhile: a registration must not wait on anyone's lock either.
            late = {"email": "late@example.com", "password": "x9!kQ#2vLp-late"}
            calls.append(timed(http.post("/auth/register", json=late)))
            results = await asyncio.gather(*calls)
        statuses = [status for status, _ in results]
        assert all(status < 500 for status in statuses), statuses
        assert statuses.count(201) == len(statuses), statuses
        slowest = max(seconds for _, seconds in results)
        assert slowest < 10, f"a request waited {slowest:.1f} s (SQLite's lock wait is 30 s)"


class TestHostileAnswers:
    async def test_an_answer_past_the_size_limit_is_cut_and_failed_with_what_fits(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.repeat_reply = 500  # ~130 kB whatever max_tokens says
        response = await create(client, user.headers)
        assert response.status_code == 201, response.text
        answer = response.json()["messages"][1]
        assert answer["status"] == "failed"
        assert answer["error"]["code"] == "answer_too_long"
        assert len(answer["content"]) == 5_000
        assert DEFAULT_REPLY.startswith(answer["content"][:100])

    async def test_a_streamed_answer_past_the_limit_ends_with_an_error_event(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.repeat_reply = 500
        async with client.stream(
            "POST", "/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers
        ) as response:
            events = await collect(response)
        assert events[-1].event == "error"
        assert events[-1].data["code"] == "answer_too_long"
        assert sum(len(e.data["text"]) for e in events if e.event == "delta") == 5_000

    @pytest.mark.parametrize("settings_overrides", [{**SETTINGS, "max_generation_seconds": 1.5}], indirect=True)
    async def test_a_generation_past_its_time_limit_fails_as_a_timeout_keeping_its_text(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.1  # 50 words: 5 s, past the 1.5 s limit
        started = time.perf_counter()
        response = await create(client, user.headers)
        assert time.perf_counter() - started < 5
        answer = response.json()["messages"][1]
        assert answer["status"] == "failed"
        assert answer["error"]["code"] == "upstream_timeout"
        assert answer["content"] and DEFAULT_REPLY.startswith(answer["content"])
        stored = await message_row(app, answer["id"])
        assert stored.content == answer["content"]

    @pytest.mark.parametrize(
        "reported",
        [
            {"prompt_tokens": -1_000_000, "completion_tokens": -1_000_000, "total_tokens": -2_000_000},
            {"prompt_tokens": 10, "completion_tokens": -5, "total_tokens": 5},
        ],
    )
    async def test_negative_reported_usage_is_not_trusted_and_the_reservation_is_settled(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: UserHandle,
        fake_model: str,
        fake_upstream: FakeUpstream,
        reported: dict[str, int],
    ) -> None:
        fake_upstream.behaviour.usage_override = reported
        response = await create(client, user.headers, stream=True)
        assert response.status_code == 200
        assert "event: done" in response.text and "internal_error" not in response.text
        detail = (await client.get("/conversations", headers=user.headers)).json()["items"][0]
        answer = (await client.get(f"/conversations/{detail['id']}", headers=user.headers)).json()["messages"][1]
        assert answer["status"] == "complete"
        usage = answer["usage"]
        assert usage["prompt_tokens"] >= 0 and usage["completion_tokens"] > 0
        assert usage["cost_usd"] is None or usage["cost_usd"] >= 0
        # The ~2,000-token reservation was replaced by what was counted, not left behind.
        assert await tokens_counted_today(app, user.id) == usage["prompt_tokens"] + usage["completion_tokens"]


class TestStreamsPerUser:
    async def test_past_the_cap_a_stream_answers_429_and_a_closed_one_frees_its_slot(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.2  # ~7 s: long enough to hold streams on it
        async with live_server.client() as http, AsyncExitStack() as streams:
            first = await streams.enter_async_context(
                http.stream("POST", "/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers)
            )
            first_events = events_of(first)  # kept: a closed iterator would close the connection
            start = await next_event(first_events)
            url = f"/conversations/{start.data['conversation_id']}/messages/{start.data['message_id']}/stream"
            for _ in range(2):  # three open: the cap
                attached = await streams.enter_async_context(http.stream("GET", url, headers=user.headers))
                assert attached.status_code == 200
            refused = await http.get(url, headers=user.headers)
            assert refused.status_code == 429
            assert refused.json()["code"] == "too_many_streams"
            assert "Retry-After" in refused.headers
            # A streamed request past the cap is refused before it starts anything.
            again = await http.post("/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers)
            assert again.status_code == 429
            listed = await http.get("/conversations", headers=user.headers)
            assert len(listed.json()["items"]) == 1
            await attached.aclose()
            for _ in range(50):  # the server notices the closed connection
                if live_server.app.state.generations.streams.open_count(user.id) < 3:
                    break
                await asyncio.sleep(0.05)
            async with http.stream("GET", url, headers=user.headers) as reopened:
                assert reopened.status_code == 200

    @pytest.mark.parametrize("settings_overrides", [{**SETTINGS, "max_answer_chars": 20_000_000}], indirect=True)
    async def test_a_reader_that_stops_reading_is_closed_and_the_others_get_everything(
        self,
        live_server: LiveServer,
        user: UserHandle,
        fake_model: str,
        fake_upstream: FakeUpstream,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(sse, "SLOW_READER_SECONDS", 0.5)
        big = "x" * 1_000_000  # one "token" of a megabyte: 12 of them fill any socket buffer
        fake_upstream.behaviour.reply = f"```python\n{big}\n```\n"
        fake_upstream.behaviour.repeat_reply = 12
        fake_upstream.behaviour.token_delay = 0.05
        async with (
            live_server.client() as http,
            http.stream(
                "POST", "/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers
            ) as reader,
        ):
            reader_events = events_of(reader)
            start = await next_event(reader_events)
            path = f"/conversations/{start.data['conversation_id']}/messages/{start.data['message_id']}/stream"
            stalled = await _never_reading(live_server.url, f"/api/v1{path}", user.token)
            try:
                events = [event async for event in reader_events if event.event != "comment"]
                assert events[-1].event == "done"
                assert text_of(events) == fake_upstream.behaviour.reply * 12
                received = await asyncio.wait_for(_drain(stalled), timeout=10)
            finally:
                stalled[1].close()
        assert received < 12 * len(big), "the stalled reader should have been cut off"
        assert live_server.app.state.generations.streams.open_count(user.id) == 0


async def _never_reading(url: str, path: str, token: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that sends its request and then reads nothing (until _drain)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def _drain(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> int:
    """Read what the server sent until it closes the connection; the byte count."""
    reader, _ = stream
    total = 0
    while chunk := await reader.read(1 << 20):
        total += len(chunk)
    return total


class TestMetricLabels:
    async def test_user_model_names_never_become_metric_labels(
        self, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        chosen = "attacker-chosen-name-1234"
        fake_upstream.behaviour.models.append(chosen)
        made = await client.post(
            "/models",
            json={"name": chosen, "provider": "openai_compatible", "model": chosen, "base_url": fake_upstream.base_url},
            headers=user.headers,
        )
        assert made.status_code == 201, made.text
        response = await create(client, user.headers, model_id=made.json()["id"])
        assert response.json()["messages"][1]["status"] == "complete"
        text = (await client.get("http://test/metrics")).text
        assert chosen not in text
        assert 'model="user-model",provider="openai_compatible"' in text
        labels = {
            value
            for metric in REGISTRY.collect()
            if metric.name.startswith("codesmith_")
            for sample in metric.samples
            for value in sample.labels.values()
        }
        assert chosen not in labels
