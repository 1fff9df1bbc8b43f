"""The usage page's figures, computed in SQL from what each generation recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from codesmith.conversations.tables import Conversation, Message
from codesmith.db import new_id
from codesmith.usage.service import Spent, record
from tests.conftest import UserHandle


async def add_generation(
    app: FastAPI,
    user_id: str,
    *,
    when: datetime,
    model_name: str,
    prompt: int,
    completion: int,
    cost: float | None,
    status: str = "complete",
    estimated: bool = False,
) -> None:
    async with app.state.sessionmaker() as session:
        conversation = Conversation(user_id=user_id, title="t", created_at=when, updated_at=when)
        session.add(conversation)
        await session.flush()
        common: dict[str, Any] = {"conversation_id": conversation.id, "user_id": user_id, "created_at": when}
        request = Message(id=new_id(), role="user", kind="request", content="p", status="complete", **common)
        session.add(request)
        await session.flush()
        answer = Message(
            parent_id=request.id,
            role="assistant",
            kind="generation",
            content="```py\nx\n```",
            status=status,
            model_id=f"id-{model_name}",
            model_name=model_name,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            usage_estimated=estimated,
            **common,
        )
        session.add(answer)
        await session.flush()
        # What a generation's final write does: its usage goes to the ledger too.
        await record(
            session,
            record_id=answer.id,
            user_id=user_id,
            message_id=answer.id,
            conversation_id=conversation.id,
            model_id=answer.model_id,
            model_name=model_name,
            provider="openai_compatible",
            paid_by_server=False,
            spent=Spent(prompt, completion, cost, estimated),
            created_at=when,
        )
        await session.commit()


@pytest.fixture
def now() -> datetime:
    """This test's time: taken when it starts, so that a run crossing midnight (UTC) stays on one day."""
    return datetime.now(UTC)


class TestUsageReport:
    async def test_totals_by_model_and_unpriced(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, now: datetime
    ) -> None:
        await add_generation(
            app, user.id, when=now, model_name="gpt-4o-mini", prompt=1000, completion=500, cost=0.00045
        )
        await add_generation(app, user.id, when=now, model_name="gpt-4o-mini", prompt=200, completion=100, cost=0.00009)
        await add_generation(app, user.id, when=now, model_name="my-vllm", prompt=300, completion=700, cost=None)
        await add_generation(
            app, user.id, when=now, model_name="my-vllm", prompt=10, completion=0, cost=None, status="rejected"
        )

        report = (await client.get("/usage", params={"days": 7}, headers=user.headers)).json()
        totals = report["totals"]
        assert totals["requests"] == 4
        assert totals["prompt_tokens"] == 1510
        assert totals["completion_tokens"] == 1300
        assert totals["cost_usd"] == pytest.approx(0.00054)
        assert totals["unpriced_requests"] == 2

        by_model = {row["model_name"]: row for row in report["by_model"]}
        assert by_model["gpt-4o-mini"]["requests"] == 2
        assert by_model["gpt-4o-mini"]["priced"] is True
        assert by_model["gpt-4o-mini"]["cost_usd"] == pytest.approx(0.00054)
        assert by_model["my-vllm"]["cost_usd"] is None and by_model["my-vllm"]["priced"] is False
        assert by_model["my-vllm"]["prompt_tokens"] == 310

    async def test_day_series_has_every_day_with_zeros(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, now: datetime
    ) -> None:
        await add_generation(
            app, user.id, when=now - timedelta(days=2), model_name="m", prompt=10, completion=20, cost=0.5
        )
        await add_generation(
            app, user.id, when=now - timedelta(days=30), model_name="m", prompt=99, completion=99, cost=9.0
        )
        report = (await client.get("/usage", params={"days": 5}, headers=user.headers)).json()
        days = report["by_day"]
        assert len(days) == 5
        assert days[-1]["date"] == now.date().isoformat()
        assert [d["requests"] for d in days] == [0, 0, 1, 0, 0]
        assert days[2]["completion_tokens"] == 20 and days[2]["cost_usd"] == 0.5
        assert report["totals"]["requests"] == 1  # the 30-day-old one is outside the window

    async def test_self_hosting_equivalent_gpu_hours(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, now: datetime
    ) -> None:
        await add_generation(app, user.id, when=now, model_name="gpt-4o", prompt=1, completion=1, cost=3.0)
        report = (await client.get("/usage", headers=user.headers)).json()
        assert report["self_hosting"] == {
            "gpu_hourly_usd": 1.0,
            "equivalent_gpu_hours": 3.0,
            "api_cost_usd": 3.0,
            "days": 30,
        }

    async def test_another_users_usage_is_not_counted(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, register_user: Any, now: datetime
    ) -> None:
        other = await register_user()
        await add_generation(app, other.id, when=now, model_name="m", prompt=5, completion=5, cost=1.0)
        report = (await client.get("/usage", headers=user.headers)).json()
        assert report["totals"]["requests"] == 0 and report["by_model"] == []

    async def test_limits_show_todays_recorded_tokens(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, now: datetime
    ) -> None:
        await add_generation(app, user.id, when=now, model_name="m", prompt=700, completion=300, cost=None)
        limits = (await client.get("/usage", headers=user.headers)).json()["limits"]
        assert limits["requests_per_minute"] == 20
        assert limits["tokens_per_day"] == 200_000
        assert limits["tokens_used_today"] == 1000
        assert limits["tokens_left_today"] == 199_000

    @pytest.mark.parametrize("days", [0, 367, -1])
    async def test_days_out_of_range(self, client: httpx.AsyncClient, user: UserHandle, days: int) -> None:
        response = await client.get("/usage", params={"days": days}, headers=user.headers)
        assert response.status_code == 422

    async def test_needs_authentication(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/usage")).status_code == 401
