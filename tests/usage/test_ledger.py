"""The usage ledger: one record per generation, written with its final state, that outlives its conversation.
The usage page (totals, by model, by day) and the day's token budget read it, and always agree."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from codesmith.db import utcnow
from codesmith.ratelimit import Limiter, make_storage
from codesmith.usage.limits import UsageLimiter, server_tokens_recorded_today, tokens_recorded_today
from codesmith.usage.tables import UsageRecord
from codesmith.users.tables import User
from tests.conftest import UserHandle
from tests.conversations.helpers import add_model, sessionmaker_of
from tests.fakes.upstream import FakeUpstream

PROMPT = "Write a Python function that reverses the words of a sentence"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "allow_private_model_hosts": True,  # the fake upstream listens on 127.0.0.1
        "openai_models": [],
        "rate_limit_requests_per_minute": 0,
        "rate_limit_tokens_per_day": 200_000,  # on: the day's counter is kept
    }


@pytest.fixture
async def priced_model(app: FastAPI, fake_upstream: FakeUpstream) -> str:
    return await add_model(app, fake_upstream, prices=(1.0, 2.0))


async def records(app: FastAPI) -> list[UsageRecord]:
    async with sessionmaker_of(app)() as session:
        return list((await session.execute(select(UsageRecord).order_by(UsageRecord.created_at))).scalars())


async def usage(client: httpx.AsyncClient, user: UserHandle) -> dict[str, Any]:
    response = await client.get("/usage", params={"days": 7}, headers=user.headers)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def assert_consistent(report: dict[str, Any]) -> None:
    """Totals, by model, today's row of by_day and the day's budget say the same."""
    totals = report["totals"]
    tokens = totals["prompt_tokens"] + totals["completion_tokens"]
    for key in ("requests", "prompt_tokens", "completion_tokens"):
        assert sum(row[key] for row in report["by_model"]) == totals[key]
        assert sum(row[key] for row in report["by_day"]) == totals[key]
    assert report["by_day"][-1]["requests"] == totals["requests"]  # everything happened today
    assert sum(row["cost_usd"] for row in report["by_day"]) == pytest.approx(totals["cost_usd"])
    assert report["limits"]["tokens_used_today"] == tokens


async def generate_twice(client: httpx.AsyncClient, user: UserHandle) -> dict[str, Any]:
    created = await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
    assert created.status_code == 201, created.text
    conversation: dict[str, Any] = created.json()
    answer = conversation["messages"][1]
    again = await client.post(
        f"/conversations/{conversation['id']}/messages/{answer['id']}/regenerate", json={}, headers=user.headers
    )
    assert again.status_code == 201, again.text
    detail: dict[str, Any] = again.json()
    return detail


class TestOneRecordPerGeneration:
    async def test_the_record_carries_the_generations_usage(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, priced_model: str
    ) -> None:
        conversation = await generate_twice(client, user)
        answers = [m for m in conversation["messages"] if m["role"] == "assistant"]
        stored = {record.id: record for record in await records(app)}
        assert set(stored) == {answer["id"] for answer in answers}  # keyed by the message: never twice
        for answer in answers:
            record = stored[answer["id"]]
            assert record.user_id == user.id
            assert (record.message_id, record.conversation_id) == (answer["id"], conversation["id"])
            assert (record.model_id, record.model_name, record.provider) == (
                priced_model,
                "fake-coder",
                "openai_compatible",
            )
            assert record.prompt_tokens == answer["usage"]["prompt_tokens"]
            assert record.completion_tokens == answer["usage"]["completion_tokens"]
            assert record.cost_usd == pytest.approx(answer["usage"]["cost_usd"])
            assert record.usage_estimated is False and record.paid_by_server is False

    async def test_a_generation_without_usage_records_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, priced_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.status = 500  # fails before any text: no usage
        created = await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
        assert created.status_code == 201, created.text
        answer = created.json()["messages"][1]
        assert answer["status"] == "failed" and answer["usage"] is None
        assert await records(app) == []
        assert (await usage(client, user))["totals"]["requests"] == 0


class TestDeletingAConversationKeepsItsUsage:
    async def test_usage_and_the_days_budget_are_unchanged_and_agree(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, priced_model: str
    ) -> None:
        conversation = await generate_twice(client, user)
        before = await usage(client, user)
        assert before["totals"]["requests"] == 2 and before["totals"]["cost_usd"] > 0
        assert_consistent(before)

        deleted = await client.delete(f"/conversations/{conversation['id']}", headers=user.headers)
        assert deleted.status_code == 204
        assert (await client.get(f"/conversations/{conversation['id']}", headers=user.headers)).status_code == 404

        after = await usage(client, user)
        assert after["totals"] == before["totals"]
        assert after["by_model"] == before["by_model"]
        assert after["by_day"] == before["by_day"]
        assert after["limits"]["tokens_used_today"] == before["limits"]["tokens_used_today"]
        assert_consistent(after)

    async def test_a_restarted_process_seeds_the_same_budget_from_the_ledger(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, priced_model: str
    ) -> None:
        conversation = await generate_twice(client, user)
        await client.delete(f"/conversations/{conversation['id']}", headers=user.headers)
        report = await usage(client, user)
        spent = report["totals"]["prompt_tokens"] + report["totals"]["completion_tokens"]
        fresh = UsageLimiter(Limiter(make_storage(None)))  # a new process: an empty in-memory counter
        async with sessionmaker_of(app)() as session:
            owner = await session.get(User, user.id)
            assert owner is not None
            assert await tokens_recorded_today(session, user.id) == spent
            assert await fresh.tokens_used(session, owner) == spent
            assert await server_tokens_recorded_today(session) == 0  # a user's model: not the server's keys

    async def test_records_go_with_the_account(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, priced_model: str
    ) -> None:
        await generate_twice(client, user)
        assert len(await records(app)) == 2
        async with sessionmaker_of(app)() as session:
            owner = await session.get(User, user.id)
            await session.delete(owner)
            await session.commit()
        assert await records(app) == []


class TestOldRecordsAndOtherUsers:
    async def test_only_the_window_and_the_callers_records_count(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, register_user: Any, priced_model: str
    ) -> None:
        other = await register_user()
        await generate_twice(client, other)
        async with sessionmaker_of(app)() as session:
            session.add(
                UsageRecord(
                    user_id=user.id,
                    prompt_tokens=5,
                    completion_tokens=5,
                    created_at=utcnow().replace(year=utcnow().year - 1),
                )
            )
            await session.commit()
        report = await usage(client, user)
        assert report["totals"]["requests"] == 0 and report["limits"]["tokens_used_today"] == 0
