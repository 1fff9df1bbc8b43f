"""GET /admin/users (search, paging, usage over 30 days), GET and PATCH /admin/users/{id}, the last-admin rule,
and who may call them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from codesmith.db import utcnow
from codesmith.usage.tables import UsageRecord
from codesmith.users.tables import User
from tests.admin.conftest import patch_user, problem_code
from tests.conftest import RegisterUser, UserHandle


async def all_pages(client: httpx.AsyncClient, admin: UserHandle, **params: str | int) -> list[list[str]]:
    """The emails of each page of the listing, following next_cursor to the end."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/admin/users", params=query, headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["email"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


class TestWhoMayCall:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", "/admin/users", None),
            ("GET", "/admin/users/{id}", None),
            ("PATCH", "/admin/users/{id}", {"disabled": True}),
            ("GET", "/admin/audit", None),
            ("GET", "/admin/registration", None),
            ("PUT", "/admin/registration", {"mode": "closed"}),
            ("POST", "/admin/invitations", {}),
            ("GET", "/admin/invitations", None),
            ("DELETE", "/admin/invitations/{id}", None),
            ("GET", "/admin/users/{id}/limits", None),
            ("PUT", "/admin/users/{id}/limits", {"requests_per_minute": 5, "tokens_per_day": None}),
        ],
    )
    async def test_a_member_is_forbidden_and_no_sign_in_is_401(
        self, client: httpx.AsyncClient, member: UserHandle, method: str, path: str, body: object
    ) -> None:
        url = path.format(id=member.id)
        as_member = await client.request(method, url, json=body, headers=member.headers)
        assert as_member.status_code == 403
        assert problem_code(as_member) == "forbidden"
        anonymous = await client.request(method, url, json=body)
        assert anonymous.status_code == 401
        assert problem_code(anonymous) == "not_authenticated"

    async def test_an_unknown_user_is_404(self, client: httpx.AsyncClient, admin: UserHandle) -> None:
        for response in (
            await client.get("/admin/users/no-such-user", headers=admin.headers),
            await patch_user(client, admin, "no-such-user", disabled=True),
        ):
            assert response.status_code == 404
            assert problem_code(response) == "not_found"

    @pytest.mark.parametrize("body", [{"disabled": "sometimes"}, {"is_admin": [1]}, []])
    async def test_a_bad_body_is_422(
        self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle, body: object
    ) -> None:
        response = await client.patch(f"/admin/users/{member.id}", json=body, headers=admin.headers)
        assert response.status_code == 422
        assert problem_code(response) == "validation_error"

    async def test_a_bad_cursor_or_limit_is_422(self, client: httpx.AsyncClient, admin: UserHandle) -> None:
        for params in ({"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 101}):
            response = await client.get("/admin/users", params=params, headers=admin.headers)
            assert response.status_code == 422, params


class TestTheListing:
    async def test_shows_every_field_of_an_account(
        self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        response = await client.get("/admin/users", headers=admin.headers)
        assert response.status_code == 200
        items = response.json()["items"]
        assert [item["email"] for item in items] == [member.email, admin.email]  # newest first
        first = items[0]
        assert set(first) == {"id", "email", "is_admin", "disabled", "created_at", "last_active_at", "usage_30d"}
        assert first["id"] == member.id and first["is_admin"] is False and first["disabled"] is False
        assert items[1]["is_admin"] is True
        assert first["usage_30d"] == {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
        assert "password_hash" not in response.text and "token_version" not in response.text

    async def test_pages_through_every_account_once(
        self, client: httpx.AsyncClient, admin: UserHandle, register_user: RegisterUser
    ) -> None:
        emails = [(await register_user(f"person{n}@example.com")).email for n in range(5)]
        pages = await all_pages(client, admin, limit=2)
        assert [len(page) for page in pages] == [2, 2, 2]
        assert [email for page in pages for email in page] == [*reversed(emails), admin.email]

    async def test_searches_part_of_the_email_ignoring_case(
        self, client: httpx.AsyncClient, admin: UserHandle, register_user: RegisterUser
    ) -> None:
        for name in ("ada.lovelace", "grace.hopper", "adam.smith", "bob"):
            await register_user(f"{name}@example.com")
        found = await all_pages(client, admin, q="ADA", limit=1)
        assert [email for page in found for email in page] == ["adam.smith@example.com", "ada.lovelace@example.com"]
        assert await all_pages(client, admin, q="hopper@EXAMPLE") == [["grace.hopper@example.com"]]
        # LIKE's wildcards are plain characters here.
        assert await all_pages(client, admin, q="%") == [[]]
        assert await all_pages(client, admin, q="_") == [[]]

    async def test_usage_30d_sums_the_ledger_of_the_last_30_days(
        self, app: FastAPI, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        now = utcnow()
        records = [
            (member.id, now - timedelta(days=1), 100, 20, 0.5),
            (member.id, now - timedelta(days=29), 10, 2, None),  # unpriced: tokens, no cost
            (member.id, now - timedelta(days=31), 1000, 1000, 9.0),  # older: not counted
            (admin.id, now - timedelta(hours=1), 7, 3, 0.25),
        ]
        async with app.state.sessionmaker() as session:
            for user_id, when, prompt, completion, cost in records:
                session.add(
                    UsageRecord(
                        user_id=user_id,
                        created_at=when,
                        model_name="gpt-4o-mini",
                        prompt_tokens=prompt,
                        completion_tokens=completion,
                        cost_usd=cost,
                    )
                )
            await session.commit()
        items = (await client.get("/admin/users", headers=admin.headers)).json()["items"]
        usage = {item["email"]: item["usage_30d"] for item in items}
        assert usage[member.email] == {"requests": 2, "prompt_tokens": 110, "completion_tokens": 22, "cost_usd": 0.5}
        assert usage[admin.email] == {"requests": 1, "prompt_tokens": 7, "completion_tokens": 3, "cost_usd": 0.25}
        one = await client.get(f"/admin/users/{member.id}", headers=admin.headers)
        assert one.json()["usage_30d"] == usage[member.email]

    async def test_gets_one_account(self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle) -> None:
        response = await client.get(f"/admin/users/{member.id}", headers=admin.headers)
        assert response.status_code == 200
        assert response.json()["email"] == member.email


class TestTheLastAdministrator:
    @pytest.mark.parametrize("change", [{"disabled": True}, {"is_admin": False}])
    async def test_cannot_demote_or_disable_themselves(
        self, client: httpx.AsyncClient, admin: UserHandle, change: dict[str, bool]
    ) -> None:
        response = await patch_user(client, admin, admin.id, **change)
        assert response.status_code == 409
        assert problem_code(response) == "last_admin"
        me = await client.get(f"/admin/users/{admin.id}", headers=admin.headers)
        assert me.json()["is_admin"] is True and me.json()["disabled"] is False

    @pytest.mark.parametrize("change", [{"disabled": True}, {"is_admin": False}])
    async def test_can_when_another_administrator_is_left(
        self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle, change: dict[str, bool]
    ) -> None:
        promoted = await patch_user(client, admin, member.id, is_admin=True)
        assert promoted.status_code == 200 and promoted.json()["is_admin"] is True
        response = await patch_user(client, admin, admin.id, **change)
        assert response.status_code == 200, response.text
        assert {key: response.json()[key] for key in change} == change
        # The member, now the only administrator, is held to the rule in turn.
        assert (await patch_user(client, member, member.id, is_admin=False)).status_code == 409

    async def test_a_disabled_administrator_does_not_count(
        self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        assert (await patch_user(client, admin, member.id, is_admin=True)).status_code == 200
        assert (await patch_user(client, admin, member.id, disabled=True)).status_code == 200
        response = await patch_user(client, admin, admin.id, is_admin=False)
        assert response.status_code == 409
        assert problem_code(response) == "last_admin"

    async def test_two_administrators_demoting_themselves_at_once_leave_one(
        self, app: FastAPI, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        assert (await patch_user(client, admin, member.id, is_admin=True)).status_code == 200
        answers = await asyncio.gather(
            patch_user(client, admin, admin.id, is_admin=False),
            patch_user(client, member, member.id, is_admin=False),
        )
        assert sorted(answer.status_code for answer in answers) == [200, 409]
        async with app.state.sessionmaker() as session:
            admins = await session.scalar(select(func.count()).select_from(User).where(User.is_admin))
        assert admins == 1

    async def test_promotes_and_demotes_another_account(
        self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        promoted = await patch_user(client, admin, member.id, is_admin=True)
        assert promoted.json()["is_admin"] is True
        assert (await client.get("/admin/users", headers=member.headers)).status_code == 200
        demoted = await patch_user(client, admin, member.id, is_admin=False)
        assert demoted.json()["is_admin"] is False
        assert (await client.get("/admin/users", headers=member.headers)).status_code == 403
