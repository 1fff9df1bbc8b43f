"""The daily rollup the usage page reads gives the figures the ledger's own rows give, whatever happened:
generations priced or not, failed, estimated, on other days; conversations and accounts deleted."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import Connection, column, delete, select, table
from sqlalchemy.orm import Session

from codesmith.migrations import alembic_config, upgrade
from codesmith.usage.rollup import backfill
from codesmith.usage.tables import UsageDay, UsageRecord
from codesmith.users.tables import User
from tests.conftest import UserHandle
from tests.conversations.helpers import add_model, sessionmaker_of
from tests.databases import run_sync_on
from tests.fakes.upstream import FakeUpstream
from tests.usage.test_ledger import PROMPT, generate_twice
from tests.usage.test_usage import add_generation

DAYS = 30


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"allow_private_model_hosts": True, "openai_models": [], "rate_limit_requests_per_minute": 0}


def _group() -> dict[str, Any]:
    return {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0, "priced": 0}


def _add(group: dict[str, Any], record: UsageRecord) -> None:
    group["requests"] += 1
    group["prompt_tokens"] += record.prompt_tokens
    group["completion_tokens"] += record.completion_tokens
    if record.cost_usd is not None:
        group["cost"] += record.cost_usd
        group["priced"] += 1


def report_from_ledger(records: list[UsageRecord], days: int) -> dict[str, Any]:
    """The usage page as it was computed before the rollup: straight from the ledger's rows."""
    first_day = datetime.now(UTC).date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    kept = [record for record in records if record.created_at >= since]
    totals, by_model, by_day = _group(), defaultdict(_group), defaultdict(_group)
    for record in kept:
        _add(totals, record)
        _add(by_model[(record.model_id, record.model_name)], record)
        _add(by_day[record.created_at.astimezone(UTC).date()], record)
    return {
        "totals": {
            "requests": totals["requests"],
            "prompt_tokens": totals["prompt_tokens"],
            "completion_tokens": totals["completion_tokens"],
            "cost_usd": round(totals["cost"], 8),
            "unpriced_requests": totals["requests"] - totals["priced"],
            "estimated_requests": sum(1 for record in kept if record.usage_estimated),
        },
        "by_model": sorted(
            (
                {
                    "model_id": model_id,
                    "model_name": model_name or "unknown",
                    "requests": group["requests"],
                    "prompt_tokens": group["prompt_tokens"],
                    "completion_tokens": group["completion_tokens"],
                    "cost_usd": round(group["cost"], 8) if group["priced"] else None,
                    "priced": bool(group["priced"]),
                }
                for (model_id, model_name), group in by_model.items()
            ),
            key=_model_key,
        ),
        "by_day": [_day(first_day + timedelta(days=offset), by_day) for offset in range(days)],
    }


def _day(day: date, by_day: dict[date, dict[str, Any]]) -> dict[str, Any]:
    group = by_day.get(day, _group())
    return {
        "date": day.isoformat(),
        "requests": group["requests"],
        "prompt_tokens": group["prompt_tokens"],
        "completion_tokens": group["completion_tokens"],
        "cost_usd": round(group["cost"], 8),
    }


def _model_key(row: dict[str, Any]) -> tuple[str, str]:
    return (row["model_name"], row["model_id"] or "")


async def ledger_of(app: FastAPI, user_id: str) -> list[UsageRecord]:
    async with sessionmaker_of(app)() as session:
        return list((await session.execute(select(UsageRecord).where(UsageRecord.user_id == user_id))).scalars())


async def rollup_rows(app: FastAPI) -> list[tuple[Any, ...]]:
    async with sessionmaker_of(app)() as session:
        rows = await session.execute(select(UsageDay.__table__).order_by(*UsageDay.__table__.primary_key))
        return [tuple(row) for row in rows]


async def assert_rollup_report_is_the_ledgers(client: httpx.AsyncClient, app: FastAPI, user: UserHandle) -> None:
    response = await client.get("/usage", params={"days": DAYS}, headers=user.headers)
    assert response.status_code == 200, response.text
    served = response.json()
    expected = report_from_ledger(await ledger_of(app, user.id), DAYS)
    assert served["totals"] == expected["totals"]
    assert sorted(served["by_model"], key=_model_key) == expected["by_model"]
    assert served["by_day"] == expected["by_day"]
    requests = [row["requests"] for row in served["by_model"]]
    assert requests == sorted(requests, reverse=True)  # most used first


async def a_mix_of_usage(app: FastAPI, client: httpx.AsyncClient, user: UserHandle, upstream: FakeUpstream) -> None:
    """Priced and unpriced generations through the API, a failed one with and without usage, estimated
    usage, a deleted conversation, and records of other days (one at midnight, one outside the window)."""
    await add_model(app, upstream, prices=(1.0, 2.0))
    kept = await generate_twice(client, user)
    deleted = await generate_twice(client, user)
    await add_model(app, upstream, name="Free coder")  # unpriced, now the default
    await generate_twice(client, user)
    upstream.behaviour.include_usage = False  # Codesmith counts the tokens: estimated
    await generate_twice(client, user)
    upstream.behaviour.include_usage = True
    upstream.behaviour.fail_after_tokens = 3  # fails mid-answer, tokens spent
    await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
    upstream.behaviour.fail_after_tokens, upstream.behaviour.status = None, 500  # fails before any token
    await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
    upstream.behaviour.status = None
    assert (await client.delete(f"/conversations/{deleted['id']}", headers=user.headers)).status_code == 204
    assert kept["id"] != deleted["id"]

    midnight = datetime.combine(datetime.now(UTC).date() - timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    for when, name, cost in [
        (midnight, "gpt-4o", 0.125),
        (midnight - timedelta(microseconds=1), "gpt-4o", 0.5),
        (midnight + timedelta(days=1, hours=23), "gpt-4o", None),
        (midnight - timedelta(days=DAYS), "gpt-4o", 3.0),  # before the window
        (midnight - timedelta(days=10), "", 0.25),  # no model name
    ]:
        await add_generation(app, user.id, when=when, model_name=name, prompt=11, completion=7, cost=cost)


class TestTheRollupReportsWhatTheLedgerHolds:
    async def test_after_generations_failures_and_deletions(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        await a_mix_of_usage(app, client, user, fake_upstream)
        records = await ledger_of(app, user.id)
        assert any(r.usage_estimated for r in records) and any(r.cost_usd is None for r in records)
        await assert_rollup_report_is_the_ledgers(client, app, user)

    async def test_what_generations_add_is_what_the_backfill_sums(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        await a_mix_of_usage(app, client, user, fake_upstream)
        maintained = await rollup_rows(app)
        async with sessionmaker_of(app)() as session:
            await session.execute(delete(UsageDay))
            await (await session.connection()).run_sync(backfill)
            await session.commit()
        assert await rollup_rows(app) == maintained

    async def test_another_users_usage_and_a_deleted_account(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: UserHandle,
        register_user: Any,
        fake_upstream: FakeUpstream,
    ) -> None:
        other = await register_user()
        await a_mix_of_usage(app, client, user, fake_upstream)
        await generate_twice(client, other)
        await assert_rollup_report_is_the_ledgers(client, app, user)
        async with sessionmaker_of(app)() as session:
            await session.delete(await session.get(User, other.id))
            await session.commit()
        assert {row[0] for row in await rollup_rows(app)} == {user.id}
        await assert_rollup_report_is_the_ledgers(client, app, user)


WHEN = datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC)


def test_the_migration_sums_the_existing_ledger(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url, "0013")
    run_sync_on(url, _seed_ledger, commit=True)
    upgrade(url)
    rows = run_sync_on(url, lambda connection: [tuple(row) for row in connection.execute(select(UsageDay.__table__))])
    user_id = rows[0][0]
    assert sorted(rows) == [
        (user_id, date(2026, 11, 20), "", "", 1, 5, 5, 0.0, 0, 0),
        (user_id, date(2026, 11, 20), "m1", "gpt-4o", 2, 30, 12, 0.75, 2, 1),
        (user_id, date(2026, 11, 21), "m1", "gpt-4o", 1, 1, 1, 0.0, 0, 0),
    ]
    command.downgrade(alembic_config(url), "0013")


def _seed_ledger(connection: Connection) -> None:
    # The user as the schema of 0013 has it (the ORM's User has columns of later migrations).
    user_id = str(uuid4())
    fields = {"id": user_id, "email": "old@example.com", "password_hash": "-", "is_admin": False, "token_version": 0}
    fields |= {"created_at": WHEN, "updated_at": WHEN}
    connection.execute(table("users", *(column(name) for name in fields)).insert().values(fields))
    with Session(bind=connection) as session:
        same = {"user_id": user_id, "model_id": "m1", "model_name": "gpt-4o"}
        session.add_all(
            [
                UsageRecord(**same, prompt_tokens=10, completion_tokens=2, cost_usd=0.25, created_at=WHEN),
                UsageRecord(
                    **same, prompt_tokens=20, completion_tokens=10, cost_usd=0.5, usage_estimated=True, created_at=WHEN
                ),
                UsageRecord(**same, prompt_tokens=1, completion_tokens=1, created_at=WHEN + timedelta(seconds=1)),
                UsageRecord(user_id=user_id, prompt_tokens=5, completion_tokens=5, created_at=WHEN),
            ]
        )
        session.commit()
