"""The audit log: each administrative action is recorded with who did it and what changed, never a secret,
and GET /admin/audit lists the events newest first, filtered and page by page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.admin.conftest import patch_user
from tests.conftest import UserHandle
from tests.fakes.upstream import FakeUpstream

MODEL_KEY = "sk-audit-never-shows-this-key-0123456789"
NEW_MODEL_KEY = "sk-audit-nor-this-replacement-9876543210"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"registrations_per_hour": 0, "allow_private_model_hosts": True}  # the fake upstream is on 127.0.0.1


async def events(client: httpx.AsyncClient, admin: UserHandle, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/admin/audit", params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestRecorded:
    async def test_a_user_update_with_its_changes_and_its_actor(
        self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        assert (await patch_user(client, admin, member.id, disabled=True, is_admin=False)).status_code == 200
        [event] = await events(client, admin)
        assert event["action"] == "user.update"
        assert event["actor"] == {"id": admin.id, "email": admin.email}
        assert (event["target_type"], event["target_id"]) == ("user", member.id)
        assert event["details"] == {"disabled": True}, "only what changed"
        assert set(event) == {"id", "created_at", "actor", "action", "target_type", "target_id", "details"}

    async def test_nothing_for_a_change_that_changes_nothing_or_is_refused(
        self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        assert (await patch_user(client, admin, member.id, disabled=False)).status_code == 200
        assert (await patch_user(client, admin, admin.id, is_admin=False)).status_code == 409
        assert await events(client, admin) == []

    async def test_user_limits(self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle) -> None:
        limits = {"requests_per_minute": 3, "tokens_per_day": 1000}
        response = await client.put(f"/admin/users/{member.id}/limits", json=limits, headers=admin.headers)
        assert response.status_code == 200
        [event] = await events(client, admin)
        assert (event["action"], event["target_id"], event["details"]) == ("user.limits", member.id, limits)

    async def test_registration_and_invitations_without_the_token(
        self, client: httpx.AsyncClient, admin: UserHandle
    ) -> None:
        assert (await client.put("/admin/registration", json={"mode": "invite"}, headers=admin.headers)).is_success
        created = await client.post("/admin/invitations", json={"email": "guest@example.com"}, headers=admin.headers)
        invitation = created.json()
        assert (await client.delete(f"/admin/invitations/{invitation['id']}", headers=admin.headers)).is_success
        response = await client.get("/admin/audit", headers=admin.headers)
        assert invitation["token"] not in response.text
        revoke, create, mode = response.json()["items"]
        assert (mode["action"], mode["details"]) == ("registration.update", {"mode": "invite", "previous": "open"})
        assert (create["action"], create["target_id"]) == ("invitation.create", invitation["id"])
        assert create["details"]["email"] == "guest@example.com"
        assert (revoke["action"], revoke["target_id"]) == ("invitation.revoke", invitation["id"])

    async def test_system_models_without_their_key(
        self, client: httpx.AsyncClient, admin: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = {
            "name": "Team coder",
            "provider": "openai_compatible",
            "model": "fake-coder",
            "base_url": fake_upstream.base_url,
            "api_key": MODEL_KEY,
            "system": True,
        }
        created = await client.post("/models", json=body, headers=admin.headers)
        assert created.status_code == 201, created.text
        model_id = created.json()["id"]
        changes = {"name": "Team coder 2", "api_key": NEW_MODEL_KEY}
        assert (await client.patch(f"/models/{model_id}", json=changes, headers=admin.headers)).status_code == 200
        assert (await client.delete(f"/models/{model_id}", headers=admin.headers)).status_code == 204

        response = await client.get("/admin/audit", headers=admin.headers)
        assert MODEL_KEY not in response.text and NEW_MODEL_KEY not in response.text
        assert "audit-n" not in response.text, "not even a part of a key"
        deleted, updated, made = response.json()["items"]
        assert [e["action"] for e in (made, updated, deleted)] == ["model.create", "model.update", "model.delete"]
        assert {e["target_id"] for e in (made, updated, deleted)} == {model_id}
        assert made["details"]["api_key"] == "changed"
        assert made["details"]["base_url"] == fake_upstream.base_url
        assert made["details"]["model"] == "fake-coder"
        assert updated["details"] == {"name": "Team coder 2", "api_key": "changed"}
        assert deleted["details"]["name"] == "Team coder 2"

    async def test_not_an_administrators_own_model(
        self, client: httpx.AsyncClient, admin: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        body = {"name": "Mine", "provider": "openai_compatible", "model": "fake-coder"}
        body["base_url"] = fake_upstream.base_url
        created = await client.post("/models", json=body, headers=admin.headers)
        assert created.status_code == 201, created.text
        assert (await client.delete(f"/models/{created.json()['id']}", headers=admin.headers)).status_code == 204
        assert await events(client, admin) == []


class TestTheListing:
    async def test_filters_by_action_and_target_and_pages(
        self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        for disabled in (True, False, True):
            assert (await patch_user(client, admin, member.id, disabled=disabled)).status_code == 200
        assert (await client.put("/admin/registration", json={"mode": "closed"}, headers=admin.headers)).is_success

        assert [e["action"] for e in await events(client, admin, action="registration.update")] == [
            "registration.update"
        ]
        for_member = await events(client, admin, target_id=member.id)
        assert [e["details"] for e in for_member] == [{"disabled": True}, {"disabled": False}, {"disabled": True}]
        assert await events(client, admin, action="user.update", target_id=admin.id) == []

        seen: list[str] = []
        cursor: str | None = None
        while True:
            params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/admin/audit", params=params, headers=admin.headers)).json()
            seen += [e["action"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ["registration.update", "user.update", "user.update", "user.update"]

    async def test_a_bad_cursor_is_422(self, client: httpx.AsyncClient, admin: UserHandle) -> None:
        response = await client.get("/admin/audit", params={"cursor": "%%%"}, headers=admin.headers)
        assert response.status_code == 422
