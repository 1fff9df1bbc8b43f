"""Registration modes (open, invite, closed), invitations, and the first account of a fresh instance."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from codesmith import cli
from codesmith.admin.tables import Invitation
from codesmith.config import Settings, get_settings
from codesmith.db import utcnow
from tests.admin.conftest import problem_code
from tests.auth.helpers import sign_in
from tests.conftest import PASSWORD, TEST_SECRET, UserHandle, serving

CLOSED = {"registrations_per_hour": 0, "registration": "closed"}


async def register(client: httpx.AsyncClient, email: str, invitation: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"email": email, "password": PASSWORD}
    if invitation is not None:
        body["invitation"] = invitation
    return await client.post("/auth/register", json=body)


async def set_mode(client: httpx.AsyncClient, admin: UserHandle, mode: str) -> httpx.Response:
    return await client.put("/admin/registration", json={"mode": mode}, headers=admin.headers)


async def invite(client: httpx.AsyncClient, admin: UserHandle, **body: Any) -> dict[str, Any]:
    response = await client.post("/admin/invitations", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def invitations(client: httpx.AsyncClient, admin: UserHandle) -> list[dict[str, Any]]:
    response = await client.get("/admin/invitations", headers=admin.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestTheMode:
    async def test_is_open_by_default_and_public(self, client: httpx.AsyncClient, admin: UserHandle) -> None:
        assert (await client.get("/auth/registration")).json() == {"mode": "open"}
        described = await client.get("/admin/registration", headers=admin.headers)
        assert described.json() == {"mode": "open", "default_mode": "open"}
        assert (await register(client, "anyone@example.com")).status_code == 201

    async def test_closed_refuses_every_registration(self, client: httpx.AsyncClient, admin: UserHandle) -> None:
        changed = await set_mode(client, admin, "closed")
        assert changed.status_code == 200
        assert changed.json() == {"mode": "closed", "default_mode": "open"}
        assert (await client.get("/auth/registration")).json() == {"mode": "closed"}
        refused = await register(client, "late@example.com")
        assert refused.status_code == 403
        assert problem_code(refused) == "registration_closed"
        assert (await set_mode(client, admin, "open")).status_code == 200
        assert (await register(client, "late@example.com")).status_code == 201

    @pytest.mark.parametrize("body", [{"mode": "sometimes"}, {}, {"mode": None}])
    async def test_a_bad_mode_is_422(self, client: httpx.AsyncClient, admin: UserHandle, body: object) -> None:
        response = await client.put("/admin/registration", json=body, headers=admin.headers)
        assert response.status_code == 422
        assert problem_code(response) == "validation_error"

    @pytest.mark.parametrize("settings_overrides", [CLOSED])
    async def test_the_setting_is_the_starting_mode_and_the_first_account_may_always_register(
        self, client: httpx.AsyncClient
    ) -> None:
        assert (await client.get("/auth/registration")).json() == {"mode": "closed"}
        first = await register(client, "founder@example.com")
        assert first.status_code == 201, first.text
        assert first.json()["is_admin"] is True
        second = await register(client, "second@example.com")
        assert second.status_code == 403
        assert problem_code(second) == "registration_closed"

    @pytest.mark.parametrize("settings_overrides", [CLOSED])
    async def test_create_admin_still_works_when_closed(
        self, client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert (await register(client, "founder@example.com")).status_code == 201
        for name, value in {
            "DATABASE_URL": settings.database_url,
            "SECRET_KEY": TEST_SECRET,
            "REGISTRATION": "closed",
            "DATA_DIR": str(settings.data_dir),
        }.items():
            monkeypatch.setenv(f"CODESMITH_{name}", value)
        get_settings.cache_clear()
        try:
            assert "created" in await cli._create_admin("boss@example.com", PASSWORD)
        finally:
            get_settings.cache_clear()
        signed_in = await sign_in(client, "boss@example.com", PASSWORD)
        assert signed_in.status_code == 200, signed_in.text
        # The audit log says so, by the command line (no one signed in).
        boss = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        events = (await client.get("/admin/audit?action=user.create", headers=boss)).json()["items"]
        assert [(e["actor"], e["details"]) for e in events] == [(None, {"is_admin": True, "by": "cli"})]

    async def test_a_change_reaches_every_replica(self, settings: Settings) -> None:
        async with (
            serving(settings) as first,
            serving(settings) as second,
            first.client() as one,
            second.client() as other,
        ):
            founder = await register(one, "founder@example.com")
            assert founder.status_code == 201
            token = (await sign_in(one, "founder@example.com", PASSWORD)).json()["access_token"]
            admin = UserHandle(founder.json()["id"], "founder@example.com", PASSWORD, token)
            assert (await register(other, "before@example.com")).status_code == 201
            assert (await set_mode(one, admin, "closed")).status_code == 200
            assert (await other.get("/auth/registration")).json() == {"mode": "closed"}
            refused = await register(other, "after@example.com")
            assert refused.status_code == 403
            assert problem_code(refused) == "registration_closed"


class TestInvitations:
    async def test_created_shows_its_token_once(self, client: httpx.AsyncClient, admin: UserHandle) -> None:
        created = await invite(client, admin, email="Guest@Example.com", expires_in_days=3)
        token = created["token"]
        assert token.startswith("csi_") and len(token) == 47
        assert created["url"] == f"/sign-up?invitation={token}"
        assert created["email"] == "guest@example.com"
        assert created["used_at"] is None and created["revoked_at"] is None
        lifetime = datetime.fromisoformat(created["expires_at"]) - datetime.fromisoformat(created["created_at"])
        assert lifetime == timedelta(days=3)
        listing = await client.get("/admin/invitations", headers=admin.headers)
        assert [item["id"] for item in listing.json()["items"]] == [created["id"]]
        assert token not in listing.text and "token" not in listing.json()["items"][0]
        assert "url" not in listing.json()["items"][0]

    @pytest.mark.parametrize(
        "body", [{"expires_in_days": 0}, {"expires_in_days": 91}, {"email": "not an email"}, {"expires_in_days": "x"}]
    )
    async def test_a_bad_body_is_422(self, client: httpx.AsyncClient, admin: UserHandle, body: object) -> None:
        response = await client.post("/admin/invitations", json=body, headers=admin.headers)
        assert response.status_code == 422
        assert problem_code(response) == "validation_error"

    async def test_revoking_an_unknown_one_is_404(self, client: httpx.AsyncClient, admin: UserHandle) -> None:
        response = await client.delete("/admin/invitations/no-such-invitation", headers=admin.headers)
        assert response.status_code == 404
        assert problem_code(response) == "not_found"

    async def test_lists_page_by_page(self, client: httpx.AsyncClient, admin: UserHandle) -> None:
        made = [(await invite(client, admin))["id"] for _ in range(3)]
        first = (await client.get("/admin/invitations", params={"limit": 2}, headers=admin.headers)).json()
        cursor = {"limit": 2, "cursor": first["next_cursor"]}
        second = (await client.get("/admin/invitations", params=cursor, headers=admin.headers)).json()
        assert [item["id"] for item in first["items"] + second["items"]] == list(reversed(made))
        assert second["next_cursor"] is None


class TestInviteMode:
    @pytest.fixture(autouse=True)
    async def invite_only(self, client: httpx.AsyncClient, admin: UserHandle) -> None:
        assert (await set_mode(client, admin, "invite")).status_code == 200

    async def test_a_valid_invitation_registers_one_account_and_is_used(
        self, client: httpx.AsyncClient, admin: UserHandle
    ) -> None:
        created = await invite(client, admin)
        registered = await register(client, "guest@example.com", created["token"])
        assert registered.status_code == 201, registered.text
        assert registered.json()["is_admin"] is False
        [listed] = await invitations(client, admin)
        assert listed["used_at"] is not None
        again = await register(client, "another@example.com", created["token"])
        assert again.status_code == 403
        assert problem_code(again) == "invitation_invalid"

    async def test_an_invitation_for_an_email_is_for_that_email_only(
        self, client: httpx.AsyncClient, admin: UserHandle
    ) -> None:
        created = await invite(client, admin, email="guest@example.com")
        other = await register(client, "intruder@example.com", created["token"])
        assert other.status_code == 403
        assert problem_code(other) == "invitation_invalid"
        assert (await register(client, "GUEST@example.com", created["token"])).status_code == 201

    async def test_refuses_without_or_with_an_unusable_invitation(
        self, app: FastAPI, client: httpx.AsyncClient, admin: UserHandle
    ) -> None:
        expired = await invite(client, admin)
        async with app.state.sessionmaker() as session:
            await session.execute(
                update(Invitation)
                .where(Invitation.id == expired["id"])
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
        revoked = await invite(client, admin)
        assert (await client.delete(f"/admin/invitations/{revoked['id']}", headers=admin.headers)).status_code == 204
        [listed_revoked] = [item for item in await invitations(client, admin) if item["id"] == revoked["id"]]
        assert listed_revoked["revoked_at"] is not None
        for token in (None, "csi_" + "x" * 43, "garbage", expired["token"], revoked["token"]):
            refused = await register(client, "guest@example.com", token)
            assert refused.status_code == 403, token
            assert problem_code(refused) == "invitation_invalid"

    async def test_a_failed_registration_leaves_the_invitation_unused(
        self, client: httpx.AsyncClient, admin: UserHandle
    ) -> None:
        created = await invite(client, admin)
        taken = await register(client, admin.email, created["token"])
        assert taken.status_code == 409
        [listed] = await invitations(client, admin)
        assert listed["used_at"] is None
        assert (await register(client, "guest@example.com", created["token"])).status_code == 201

    async def test_two_registrations_with_one_invitation_at_once_create_one_account(
        self, client: httpx.AsyncClient, admin: UserHandle
    ) -> None:
        created = await invite(client, admin)
        answers = await asyncio.gather(
            register(client, "first@example.com", created["token"]),
            register(client, "second@example.com", created["token"]),
        )
        assert sorted(answer.status_code for answer in answers) == [201, 403]
        listing = (await client.get("/admin/users", headers=admin.headers)).json()["items"]
        assert len(listing) == 2  # the administrator and one guest
