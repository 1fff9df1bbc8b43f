"""Streamed generations against a real server: event order, disconnects, re-attaching, cancel, failures,
Last-Event-ID, heartbeats, conflicts, concurrency and batched database writes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from codesmith.conversations.prompt import SYSTEM_PROMPT
from tests.conftest import LiveServer, RegisterUser, UserHandle
from tests.conversations.helpers import Event, collect, events_of, message_row, text_of
from tests.fakes.upstream import DEFAULT_REPLY, FakeUpstream, words

PROMPT = "Write a Python function that reverses the words of a sentence"
HEARTBEAT = 0.3


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "allow_private_model_hosts": True,
        "openai_models": [],
        "rate_limit_requests_per_minute": 0,
        "rate_limit_tokens_per_day": 0,
        "sse_heartbeat_seconds": HEARTBEAT,
    }


def stream_body(**extra: Any) -> dict[str, Any]:
    return {"prompt": PROMPT, "stream": True, **extra}


async def next_event(events: Any, kind: str | None = None) -> Event:
    """The next event (skipping comments), of the given kind when one is named."""
    async for item in events:
        if item.event == "comment" or (kind is not None and item.event != kind):
            continue
        return item  # type: ignore[no-any-return]
    raise AssertionError("the stream ended")


class TestEventStream:
    async def test_start_deltas_then_done_with_ids_counting_characters(
        self, live_server: LiveServer, user: UserHandle, fake_model: str
    ) -> None:
        async with (
            live_server.client() as http,
            http.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            events = await collect(response)
        start, *deltas, done = events
        assert start.event == "start"
        assert set(start.data) == {"conversation_id", "message_id", "parent_id", "model_id"}
        assert start.data["model_id"] == fake_model
        assert deltas and all(item.event == "delta" for item in deltas)
        assert text_of(deltas) == DEFAULT_REPLY
        # Each id is the offset where the text so far ends: strictly increasing, the last one the length.
        offsets = [item.id for item in events]
        assert offsets[0] == 0
        assert offsets == sorted(offsets) and len(set(offsets[1:-1])) == len(deltas)
        ends = [sum(len(d.data["text"]) for d in deltas[: i + 1]) for i in range(len(deltas))]
        assert [d.id for d in deltas] == ends
        assert done.event == "done" and done.id == len(DEFAULT_REPLY)
        message = done.data
        assert message["id"] == start.data["message_id"]
        assert message["parent_id"] == start.data["parent_id"]
        assert message["conversation_id"] == start.data["conversation_id"]
        assert (message["status"], message["content"]) == ("complete", DEFAULT_REPLY)
        assert message["usage"]["completion_tokens"] == len(words(DEFAULT_REPLY))
        assert [s["language"] for s in message["snippets"]] == ["python"]

    async def test_the_request_is_stored_before_the_upstream_answers(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.first_token_delay = 1.0
        async with (
            live_server.client() as http,
            http.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response,
        ):
            events = events_of(response)
            start = await next_event(events, "start")
            request = await message_row(live_server.app, start.data["parent_id"])
            assert (request.content, request.status) == (PROMPT, "complete")
            answer = await message_row(live_server.app, start.data["message_id"])
            assert answer.status == "pending"
            await next_event(events, "done")

    async def test_an_idle_stream_gets_heartbeat_comments(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.first_token_delay = HEARTBEAT * 3.5
        async with (
            live_server.client() as http,
            http.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response,
        ):
            kinds = [item.event for item in [e async for e in events_of(response)]]
        first_delta = kinds.index("delta")
        assert kinds[0] == "start"
        assert kinds[1:first_delta].count("comment") >= 2
        assert kinds[-1] == "done"


class TestDisconnectAndReattach:
    async def test_disconnect_does_not_lose_the_generation(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.03
        async with live_server.client() as http:
            async with http.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response:
                events = events_of(response)
                start = await next_event(events, "start")
                await next_event(events, "delta")
            # Disconnected. Re-attach: the text so far as one delta, live deltas, then done.
            cid, mid = start.data["conversation_id"], start.data["message_id"]
            async with http.stream("GET", f"/conversations/{cid}/messages/{mid}/stream", headers=user.headers) as again:
                events_again = await collect(again)
        assert events_again[0].event == "delta" and len(events_again[0].data["text"]) > 0
        assert text_of(events_again) == DEFAULT_REPLY
        assert events_again[-1].event == "done"
        assert events_again[-1].data["content"] == DEFAULT_REPLY
        stored = await message_row(live_server.app, mid)
        assert (stored.status, stored.content) == ("complete", DEFAULT_REPLY)

    async def test_a_client_that_never_comes_back_still_gets_its_answer_stored(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.02
        async with live_server.client() as http:
            async with http.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response:
                start = await next_event(events_of(response), "start")
            generations = live_server.app.state.generations
            running = generations.get(start.data["message_id"])
            assert running is not None
            await asyncio.wait_for(running.finished.wait(), timeout=20)
            detail = await http.get(f"/conversations/{start.data['conversation_id']}", headers=user.headers)
        answer = detail.json()["messages"][1]
        assert (answer["status"], answer["content"]) == ("complete", DEFAULT_REPLY)

    async def test_two_clients_on_one_generation_see_the_same_text(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.02
        async with (
            live_server.client() as first,
            live_server.client() as second,
            first.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response,
        ):
            events = events_of(response)
            start = await next_event(events, "start")
            path = f"/conversations/{start.data['conversation_id']}/messages/{start.data['message_id']}/stream"

            async def watch() -> list[Event]:
                async with second.stream("GET", path, headers=user.headers) as attached:
                    return await collect(attached)

            watcher = asyncio.create_task(watch())
            own = [item async for item in events if item.event != "comment"]
            seen = await watcher
        assert text_of(own) == text_of(seen) == DEFAULT_REPLY
        assert own[-1].event == seen[-1].event == "done"
        assert own[-1].data == seen[-1].data

    async def test_last_event_id_resumes_after_what_the_client_has(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.03
        async with live_server.client() as http:
            async with http.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response:
                events = events_of(response)
                start = await next_event(events, "start")
                received = [await next_event(events, "delta") for _ in range(3)]
            have = text_of(received)
            last_id = received[-1].id
            assert last_id == len(have)
            path = f"/conversations/{start.data['conversation_id']}/messages/{start.data['message_id']}/stream"
            headers = {**user.headers, "Last-Event-ID": str(last_id)}
            async with http.stream("GET", path, headers=headers) as again:
                resumed = await collect(again)
        rest = text_of(resumed)
        assert have + rest == DEFAULT_REPLY
        assert resumed[0].id is not None and resumed[0].id == last_id + len(resumed[0].data["text"])

    async def test_a_finished_generation_answers_done_at_once(
        self, live_server: LiveServer, user: UserHandle, fake_model: str
    ) -> None:
        async with live_server.client() as http:
            created = await http.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
            conversation = created.json()
            answer = conversation["messages"][1]
            path = f"/conversations/{conversation['id']}/messages/{answer['id']}/stream"
            async with http.stream("GET", path, headers=user.headers) as response:
                assert response.status_code == 200
                events = await collect(response)
        assert [item.event for item in events] == ["done"]
        assert events[0].data == answer
        assert events[0].id == len(DEFAULT_REPLY)


class TestCancelAndFailure:
    async def test_cancel_mid_stream_keeps_the_partial_answer(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.05
        async with (
            live_server.client() as http,
            http.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response,
        ):
            events = events_of(response)
            start = await next_event(events, "start")
            await next_event(events, "delta")
            cid, mid = start.data["conversation_id"], start.data["message_id"]
            cancelled = await http.post(f"/conversations/{cid}/messages/{mid}/cancel", headers=user.headers)
            rest = [item async for item in events if item.event != "comment"]
        assert cancelled.status_code == 200, cancelled.text
        message = cancelled.json()
        assert message["status"] == "cancelled"
        assert 0 < len(message["content"]) < len(DEFAULT_REPLY)
        assert DEFAULT_REPLY.startswith(message["content"])
        assert message["completed_at"] is not None
        assert rest[-1].event == "done" and rest[-1].data["status"] == "cancelled"
        assert rest[-1].data["content"] == message["content"]
        stored = await message_row(live_server.app, mid)
        assert (stored.status, stored.content) == ("cancelled", message["content"])
        assert stored.usage_estimated and stored.completion_tokens

    async def test_an_upstream_that_dies_mid_stream_leaves_a_failed_partial_answer(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.fail_after_tokens = 5
        async with (
            live_server.client() as http,
            http.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response,
        ):
            events = await collect(response)
        start, error = events[0], events[-1]
        partial = "".join(words(DEFAULT_REPLY)[:5])
        assert text_of(events) == partial
        assert error.event == "error"
        assert error.data == {
            "code": "upstream_error",
            "detail": error.data["detail"],
            "message_id": start.data["message_id"],
        }
        stored = await message_row(live_server.app, start.data["message_id"])
        assert (stored.status, stored.error_code, stored.content) == ("failed", "upstream_error", partial)

    async def test_a_model_refusal_sends_nothing_of_it_and_ends_with_an_error(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.reply = "NOT_CODE: that is a request for a poem.\nRoses are red."
        async with (
            live_server.client() as http,
            http.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response,
        ):
            events = await collect(response)
        assert [item.event for item in events] == ["start", "error"]
        assert events[1].data["code"] == "not_a_code_request"
        stored = await message_row(live_server.app, events[0].data["message_id"])
        assert (stored.status, stored.error_code, stored.content) == ("rejected", "not_a_code_request", "")


class TestConcurrency:
    async def test_a_second_generation_in_the_same_conversation_is_409(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.03
        async with live_server.client() as http:
            async with http.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response:
                events = events_of(response)
                start = await next_event(events, "start")
                cid, mid = start.data["conversation_id"], start.data["message_id"]
                for path, body in [
                    (f"/conversations/{cid}/messages", {"content": "Add tests", "parent_id": mid, "stream": True}),
                    (f"/conversations/{cid}/messages/{mid}/regenerate", {"stream": True}),
                ]:
                    refused = await http.post(path, json=body, headers=user.headers)
                    assert refused.status_code == 409, refused.text
                    assert refused.headers["content-type"] == "application/problem+json"
                    assert refused.json()["code"] == "generation_in_progress"
                await next_event(events, "done")
            # Once it has ended, the conversation takes the next one at once.
            after = await http.post(
                f"/conversations/{cid}/messages", json={"content": "Add tests", "parent_id": mid}, headers=user.headers
            )
        assert after.status_code == 201, after.text
        assert len(after.json()["messages"]) == 4

    async def test_different_users_generate_at_the_same_time(
        self, live_server: LiveServer, register_user: RegisterUser, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.01
        people = [await register_user(f"coder{i}@example.com") for i in range(3)]

        async def generate(person: UserHandle, http: httpx.AsyncClient) -> list[Event]:
            async with http.stream("POST", "/conversations", json=stream_body(), headers=person.headers) as response:
                return await collect(response)

        async with live_server.client() as http:
            results = await asyncio.gather(*(generate(person, http) for person in people))
        assert len(fake_upstream.requests) == 3
        conversations = {events[0].data["conversation_id"] for events in results}
        assert len(conversations) == 3
        for events in results:
            assert text_of(events) == DEFAULT_REPLY
            assert events[-1].event == "done" and events[-1].data["status"] == "complete"
        assert all(request["messages"][0]["content"] == SYSTEM_PROMPT for request in fake_upstream.requests)


class TestPersistence:
    async def test_a_long_stream_is_written_in_batches_not_per_token(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        body = "".join(f"x{i} " for i in range(2000))
        fake_upstream.behaviour.reply = f"```python\n{body}\n```"
        fake_upstream.behaviour.token_delay = 0.0005
        tokens = len(words(fake_upstream.behaviour.reply))
        assert tokens >= 2000
        writes: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            sql = " ".join(statement.split()).upper()
            if sql.startswith(("UPDATE MESSAGES", "INSERT INTO MESSAGES")):
                writes.append(sql.split(" SET ")[0][:40])

        engine = live_server.app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            async with (
                live_server.client() as http,
                http.stream("POST", "/conversations", json=stream_body(), headers=user.headers) as response,
            ):
                events = await collect(response)
            elapsed = loop.time() - started
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert events[-1].event == "done" and events[-1].data["content"] == fake_upstream.behaviour.reply
        assert elapsed > 0.5  # long enough for batching to matter
        inserts = [w for w in writes if w.startswith("INSERT")]
        updates = [w for w in writes if w.startswith("UPDATE")]
        assert 1 <= len(inserts) <= 2  # the request and the pending answer (SQLAlchemy may batch them)
        # About one write every 0.5 s while streaming, and the final one: a handful, not one per token.
        assert 1 <= len(updates) <= 2 + elapsed / 0.5 + 2, (len(updates), elapsed)
        # Deltas were coalesced too: far fewer events than tokens is allowed, never more.
        assert len(events) - 2 <= tokens
