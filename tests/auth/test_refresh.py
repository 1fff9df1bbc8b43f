"""Refresh tokens: the sign-in cookie, rotation, reuse detection, logout and revocation on password change."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from codesmith.db import utcnow
from codesmith.users.tables import RefreshToken, User
from tests.conftest import PASSWORD, UserHandle

COOKIE = "codesmith_refresh"


def cookie_of(response: httpx.Response) -> tuple[str, list[str]]:
    """The refresh cookie's value and its attributes (lower case), from the response's Set-Cookie."""
    headers = [value for value in response.headers.get_list("set-cookie") if value.startswith(f"{COOKIE}=")]
    assert len(headers) == 1, response.headers
    first, *attributes = [part.strip() for part in headers[0].split(";")]
    return first.split("=", 1)[1].strip('"'), [attribute.lower() for attribute in attributes]


async def sign_in(http: httpx.AsyncClient, user: UserHandle) -> str:
    response = await http.post("/auth/token", data={"username": user.email, "password": user.password})
    assert response.status_code == 200, response.text
    return cookie_of(response)[0]


async def refresh(http: httpx.AsyncClient, token: str | None) -> httpx.Response:
    http.cookies.clear()  # only the cookie given here is sent
    headers = {"Cookie": f"{COOKIE}={token}"} if token else {}
    return await http.post("/auth/refresh", headers=headers)


def assert_ended(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"
    value, attributes = cookie_of(response)
    assert value == "" and "max-age=0" in attributes, "the cookie is cleared"


class TestCookie:
    async def test_sign_in_sets_an_httponly_strict_cookie_for_the_auth_routes(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        response = await client.post("/auth/token", data={"username": user.email, "password": PASSWORD})
        value, attributes = cookie_of(response)
        assert len(value) >= 40
        assert "httponly" in attributes and "samesite=strict" in attributes and "path=/api/v1/auth" in attributes
        assert f"max-age={30 * 24 * 3600}" in attributes
        assert "secure" not in attributes, "plain http (development) cannot keep a Secure cookie"
        assert value not in response.text, "the refresh token is only in the cookie"

    async def test_secure_over_https(self, app: FastAPI, user: UserHandle) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://test/api/v1") as https:
            response = await https.post("/auth/token", data={"username": user.email, "password": PASSWORD})
            assert "secure" in cookie_of(response)[1]
            refreshed = await refresh(https, cookie_of(response)[0])
            assert "secure" in cookie_of(refreshed)[1]

    async def test_only_a_hash_is_stored(self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle) -> None:
        token = await sign_in(client, user)
        async with app.state.sessionmaker() as session:
            rows = list((await session.execute(select(RefreshToken))).scalars())
        assert rows and all(token not in (row.token_hash, row.id, row.family_id) for row in rows)


class TestRotation:
    async def test_refresh_answers_a_working_access_token_and_rotates(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        first = await sign_in(client, user)
        response = await refresh(client, first)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"access_token", "token_type", "expires_in"}
        assert body["token_type"] == "bearer" and body["expires_in"] == 3600
        me = await client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.status_code == 200 and me.json()["id"] == user.id
        second, attributes = cookie_of(response)
        assert second != first and "httponly" in attributes
        assert (await refresh(client, second)).status_code == 200

    async def test_reusing_a_rotated_token_revokes_its_family(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        first = await sign_in(client, user)
        second = cookie_of(await refresh(client, first))[0]
        other_session = await sign_in(client, user)  # another browser: another family

        assert_ended(await refresh(client, first))
        assert_ended(await refresh(client, second))  # the thief's copy and the user's token both stop
        assert (await refresh(client, other_session)).status_code == 200

    async def test_missing_unknown_and_expired_tokens_end_the_session(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        assert_ended(await refresh(client, None))
        assert_ended(await refresh(client, "not-a-token"))
        token = await sign_in(client, user)
        async with app.state.sessionmaker() as session:
            await session.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
            await session.commit()
        assert_ended(await refresh(client, token))


class TestLogout:
    async def test_logout_revokes_and_clears(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        token = await sign_in(client, user)
        client.cookies.clear()
        response = await client.post("/auth/logout", headers={"Cookie": f"{COOKIE}={token}"})
        assert response.status_code == 204
        value, attributes = cookie_of(response)
        assert value == "" and "max-age=0" in attributes and "path=/api/v1/auth" in attributes
        assert_ended(await refresh(client, token))

    async def test_logout_without_a_cookie_is_204(self, client: httpx.AsyncClient) -> None:
        client.cookies.clear()
        assert (await client.post("/auth/logout")).status_code == 204


class TestRevocation:
    async def test_password_change_revokes_every_refresh_token(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        here, there = await sign_in(client, user), await sign_in(client, user)
        changed = await client.post(
            "/users/me/password",
            json={"current_password": PASSWORD, "new_password": "a brand new password"},
            headers=user.headers,
        )
        assert changed.status_code == 204
        assert_ended(await refresh(client, here))
        assert_ended(await refresh(client, there))

    async def test_deleting_the_user_deletes_the_tokens(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        await sign_in(client, user)
        async with app.state.sessionmaker() as session:
            await session.delete(await session.get(User, user.id))
            await session.commit()
            remaining: list[RefreshToken] = list((await session.execute(select(RefreshToken))).scalars())
        assert remaining == []
