"""Every your-data route answers 401 without a sign-in (or with a revoked token), before reading a body."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import UserHandle
from tests.yourdata.helpers import PROMPT

ROUTES = [
    ("GET", "/users/me/export", None),
    ("POST", "/users/me/import", []),
    ("PATCH", "/users/me", {"retention_days": 7}),
    ("DELETE", "/users/me", {"password": "whatever-it-is"}),
    ("GET", "/conversations/{id}/export", None),
    ("GET", "/conversations/{id}/export?format=json", None),
    ("GET", "/conversations/{id}/snippets.zip", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_no_sign_in_is_401_and_changes_nothing(
    client: httpx.AsyncClient, user: UserHandle, fake_model: str, method: str, path: str, body: object
) -> None:
    created = await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
    conversation_id = created.json()["id"]
    url = path.format(id=conversation_id)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "not_authenticated"
    me = await client.get("/users/me", headers=user.headers)
    assert me.status_code == 200 and me.json()["retention_days"] is None  # the account is untouched
    assert (await client.get(f"/conversations/{conversation_id}", headers=user.headers)).status_code == 200


class TestDeletionBody:
    @pytest.mark.parametrize("body", [None, {}, {"password": ""}])
    async def test_a_missing_or_empty_password_deletes_nothing(
        self, client: httpx.AsyncClient, user: UserHandle, body: object
    ) -> None:
        response = await client.request("DELETE", "/users/me", json=body, headers=user.headers)
        assert response.status_code == 422, response.text
        assert (await client.get("/users/me", headers=user.headers)).status_code == 200
