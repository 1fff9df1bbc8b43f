"""Automatic repair: an answer whose code fails its check is answered once more with the diagnostics, the
repair stored as a new version (`repair_of`), streamed in the same stream; exactly one round."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, UserHandle
from tests.conversations.helpers import Event, collect, text_of
from tests.fakes.upstream import BROKEN_REPLY, FIXED_REPLY, REPAIR_REQUEST_START, FakeUpstream

PROMPT = "Write a Python function that adds two numbers [[reply:broken]]"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "allow_private_model_hosts": True,
        "openai_models": [],
        "rate_limit_requests_per_minute": 0,
        "rate_limit_tokens_per_day": 0,
        "auto_repair": True,
    }


def chat_requests(upstream: FakeUpstream) -> list[list[dict[str, Any]]]:
    return [request["messages"] for request in upstream.requests]


def failed_check(message: dict[str, Any]) -> dict[str, Any]:
    [snippet] = message["snippets"]
    assert snippet["check"]["status"] == "failed", snippet["check"]
    return dict(snippet["check"])


async def stream_events(live_server: LiveServer, user: UserHandle, body: dict[str, Any]) -> list[Event]:
    async with (
        live_server.client() as http,
        http.stream("POST", "/conversations", json={**body, "stream": True}, headers=user.headers) as response,
    ):
        assert response.status_code == 200
        return [event for event in await collect(response) if event.event != "comment"]


class TestStreamed:
    async def test_the_stream_goes_on_with_the_repair_after_the_checked_answers_done(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        events = await stream_events(live_server, user, {"prompt": PROMPT})
        kinds = [event.event for event in events]
        first_done = kinds.index("done")
        assert kinds[0] == "start" and kinds[first_done + 1] == "repair" and kinds[-1] == "done"
        assert set(kinds[1:first_done]) == {"delta"} and set(kinds[first_done + 2 : -1]) == {"delta"}
        checked, announced, repaired = events[first_done].data, events[first_done + 1].data, events[-1].data
        assert checked["content"] == BROKEN_REPLY and checked["repair_of"] is None
        diagnostics = failed_check(checked)["diagnostics"]
        assert [d["line"] for d in diagnostics] == [2]  # `return a + c`: c is not defined
        assert announced == {
            "conversation_id": checked["conversation_id"],
            "message_id": repaired["id"],
            "parent_id": checked["parent_id"],
            "model_id": fake_model,
            "repair_of": checked["id"],
            "problems": len(diagnostics),
        }
        assert events[first_done + 1].id == 0
        repair_deltas = events[first_done + 2 : -1]
        assert text_of(repair_deltas) == FIXED_REPLY and repair_deltas[-1].id == len(FIXED_REPLY)
        assert repaired["repair_of"] == checked["id"] and repaired["parent_id"] == checked["parent_id"]
        assert repaired["status"] == "complete" and repaired["content"] == FIXED_REPLY
        assert repaired["snippets"][0]["check"]["status"] == "passed"

    async def test_the_model_is_sent_its_answer_and_the_diagnostics_once(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        events = await stream_events(live_server, user, {"prompt": PROMPT})
        checked = next(event.data for event in events if event.event == "done")
        first, second = chat_requests(fake_upstream)
        assert second[: len(first)] == first  # the same conversation, then the answer and the request
        answer, request = second[len(first) :]
        assert answer == {"role": "assistant", "content": BROKEN_REPLY}
        assert request["role"] == "user" and request["content"].startswith(REPAIR_REQUEST_START)
        for diagnostic in failed_check(checked)["diagnostics"]:
            assert f"line {diagnostic['line']}, column {diagnostic['column']}" in request["content"]
            assert diagnostic["message"] in request["content"]


class TestNotStreamed:
    async def test_the_answer_comes_once_the_repair_has_ended_with_both_versions(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        response = await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
        assert response.status_code == 201, response.text
        request, checked, repaired = response.json()["messages"]
        assert checked["parent_id"] == repaired["parent_id"] == request["id"]  # siblings: two versions
        assert checked["repair_of"] is None and repaired["repair_of"] == checked["id"]
        assert repaired["status"] == "complete" and repaired["content"] == FIXED_REPLY
        failed_check(checked)
        assert repaired["snippets"][0]["check"]["status"] == "passed"
        assert len(fake_upstream.requests) == 2

    async def test_a_repair_that_fails_its_check_is_not_repaired_again(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.replies = [BROKEN_REPLY, BROKEN_REPLY, BROKEN_REPLY]
        response = await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
        _, checked, repaired = response.json()["messages"]
        assert repaired["repair_of"] == checked["id"]
        failed_check(repaired)
        assert len(fake_upstream.requests) == 2  # one round only

    async def test_the_repair_counts_in_usage_like_any_generation(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        response = await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
        _, checked, repaired = response.json()["messages"]
        usage = (await client.get("/usage", headers=user.headers)).json()
        assert usage["totals"]["requests"] == 2
        spent = checked["usage"]["completion_tokens"] + repaired["usage"]["completion_tokens"]
        assert usage["totals"]["completion_tokens"] == spent


class TestWhenThereIsNoRepair:
    async def test_code_that_passes_is_not_repaired(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        response = await client.post(
            "/conversations", json={"prompt": "Add two numbers in Python"}, headers=user.headers
        )
        messages = response.json()["messages"]
        assert len(messages) == 2 and messages[1]["snippets"][0]["check"]["status"] == "passed"
        assert len(fake_upstream.requests) == 1

    async def test_the_users_switch_turns_it_off(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        switched = await client.patch("/users/me", json={"auto_repair": False}, headers=user.headers)
        assert switched.status_code == 200 and switched.json()["auto_repair"] is False
        response = await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
        [_, checked] = response.json()["messages"]
        failed_check(checked)
        assert len(fake_upstream.requests) == 1
        me = (await client.get("/users/me", headers=user.headers)).json()
        assert me["auto_repair"] is False and me["auto_repair_available"] is True


class TestRefusedByTheLimits:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        # One request a minute: the answer takes it, and the same limit refuses the repair.
        return {
            "allow_private_model_hosts": True,
            "openai_models": [],
            "rate_limit_requests_per_minute": 1,
            "rate_limit_tokens_per_day": 0,
            "auto_repair": True,
        }

    async def test_the_checked_answer_stays_as_it_is_and_the_stream_ends(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        events = await stream_events(live_server, user, {"prompt": PROMPT})
        assert [event.event for event in events if event.event != "delta"] == ["start", "done"]
        failed_check(events[-1].data)
        assert len(fake_upstream.requests) == 1


class TestServerSetting:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {
            "allow_private_model_hosts": True,
            "openai_models": [],
            "rate_limit_requests_per_minute": 0,
            "rate_limit_tokens_per_day": 0,
            "auto_repair": False,
        }

    async def test_off_for_the_server_means_no_repair_whatever_the_user_says(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        response = await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
        [_, checked] = response.json()["messages"]
        failed_check(checked)
        assert len(fake_upstream.requests) == 1
        me = (await client.get("/users/me", headers=user.headers)).json()
        assert me["auto_repair"] is True and me["auto_repair_available"] is False
