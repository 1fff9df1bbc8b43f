"""The caller's account: OpenAI key, password change and personal API tokens."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from codesmith.users.tables import ApiToken, User
from tests.conftest import PASSWORD, UserHandle

OPENAI_KEY = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz-7777"


class TestOpenAIKey:
    async def test_key_is_stored_encrypted_and_only_its_hint_returned(
        self, client: httpx.AsyncClient, user: UserHandle, app: object
    ) -> None:
        put = await client.put("/users/me/openai-key", json={"api_key": OPENAI_KEY}, headers=user.headers)
        assert put.status_code == 204
        me = await client.get("/users/me", headers=user.headers)
        assert me.json()["has_openai_key"] is True
        assert me.json()["openai_key_hint"] == "sk-…7777"
        assert OPENAI_KEY not in me.text

        async with app.state.sessionmaker() as session:  # type: ignore[attr-defined]
            row = (await session.execute(select(User).where(User.id == user.id))).scalar_one()
        assert row.openai_key_encrypted is not None
        assert OPENAI_KEY not in row.openai_key_encrypted
        assert app.state.keyring.decrypt(row.openai_key_encrypted) == OPENAI_KEY  # type: ignore[attr-defined]

    async def test_remove_key(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        await client.put("/users/me/openai-key", json={"api_key": OPENAI_KEY}, headers=user.headers)
        removed = await client.delete("/users/me/openai-key", headers=user.headers)
        assert removed.status_code == 204
        me = (await client.get("/users/me", headers=user.headers)).json()
        assert me["has_openai_key"] is False and me["openai_key_hint"] is None

    async def test_empty_key_is_rejected(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        response = await client.put("/users/me/openai-key", json={"api_key": ""}, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"


class TestPasswordChange:
    async def test_change_revokes_earlier_access_tokens(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        changed = await client.post(
            "/users/me/password",
            json={"current_password": PASSWORD, "new_password": "a brand new password"},
            headers=user.headers,
        )
        assert changed.status_code == 204
        stale = await client.get("/users/me", headers=user.headers)
        assert stale.status_code == 401

        old_login = await client.post("/auth/token", data={"username": user.email, "password": PASSWORD})
        assert old_login.status_code == 401
        new_login = await client.post("/auth/token", data={"username": user.email, "password": "a brand new password"})
        assert new_login.status_code == 200
        fresh = {"Authorization": f"Bearer {new_login.json()['access_token']}"}
        assert (await client.get("/users/me", headers=fresh)).status_code == 200

    async def test_wrong_current_password_is_422_and_changes_nothing(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        response = await client.post(
            "/users/me/password",
            json={"current_password": "not my password", "new_password": "another password"},
            headers=user.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "current_password"]
        assert (await client.get("/users/me", headers=user.headers)).status_code == 200

    async def test_new_password_must_be_long_enough(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        response = await client.post(
            "/users/me/password",
            json={"current_password": PASSWORD, "new_password": "short"},
            headers=user.headers,
        )
        assert response.status_code == 422


class TestApiTokens:
    async def test_token_works_is_listed_without_value_and_stops_when_deleted(
        self, client: httpx.AsyncClient, user: UserHandle, app: object
    ) -> None:
        created = await client.post("/users/me/api-tokens", json={"name": "ci script"}, headers=user.headers)
        assert created.status_code == 201
        body = created.json()
        token = body["token"]
        assert token.startswith("csk_") and len(token) > 40
        assert body["expires_at"] is None and body["last_used_at"] is None

        as_script = {"Authorization": f"Bearer {token}"}
        me = await client.get("/users/me", headers=as_script)
        assert me.status_code == 200 and me.json()["id"] == user.id
        await app.state.last_used.flush()  # type: ignore[attr-defined]  # the use is written outside the request

        listed = await client.get("/users/me/api-tokens", headers=user.headers)
        assert listed.status_code == 200
        items = listed.json()["items"]
        assert [item["name"] for item in items] == ["ci script"]
        assert "token" not in items[0]
        assert token not in listed.text
        assert items[0]["last_used_at"] is not None

        async with app.state.sessionmaker() as session:  # type: ignore[attr-defined]
            stored = (await session.execute(select(ApiToken))).scalar_one()
        assert token not in stored.token_hash  # only a hash is stored

        deleted = await client.delete(f"/users/me/api-tokens/{body['id']}", headers=user.headers)
        assert deleted.status_code == 204
        assert (await client.get("/users/me", headers=as_script)).status_code == 401

    async def test_expiring_token(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        created = await client.post(
            "/users/me/api-tokens", json={"name": "short", "expires_in_days": 7}, headers=user.headers
        )
        assert created.status_code == 201
        assert created.json()["expires_at"] is not None

    async def test_unknown_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/me", headers={"Authorization": "Bearer csk_not-a-real-token"})
        assert response.status_code == 401

    async def test_another_users_token_cannot_be_deleted(
        self, client: httpx.AsyncClient, user: UserHandle, register_user: object
    ) -> None:
        created = await client.post("/users/me/api-tokens", json={"name": "mine"}, headers=user.headers)
        other = await register_user()  # type: ignore[operator]
        response = await client.delete(f"/users/me/api-tokens/{created.json()['id']}", headers=other.headers)
        assert response.status_code == 404
        token = created.json()["token"]
        assert (await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200

    async def test_pagination_of_tokens(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        for index in range(5):
            await client.post("/users/me/api-tokens", json={"name": f"t{index}"}, headers=user.headers)
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/users/me/api-tokens", params=params, headers=user.headers)).json()
            seen += [item["name"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ["t4", "t3", "t2", "t1", "t0"]
