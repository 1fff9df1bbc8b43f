"""Disabling an account: every credential stops at once (access token, refresh cookie, API token, /v1), sign-in
says why only to the right password, and re-enabling lets the person sign in again."""

from __future__ import annotations

import httpx
import openai
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from codesmith.users.tables import ApiToken, RefreshToken
from tests.admin.conftest import patch_user, problem_code
from tests.auth.helpers import sign_in
from tests.auth.test_refresh import refresh
from tests.conftest import LiveServer, UserHandle, register_and_login


async def api_token(client: httpx.AsyncClient, user: UserHandle) -> str:
    created = await client.post("/users/me/api-tokens", json={"name": "script"}, headers=user.headers)
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


async def refresh_cookie(client: httpx.AsyncClient, user: UserHandle) -> str:
    response = await sign_in(client, user.email, user.password)
    assert response.status_code == 200, response.text
    return response.cookies["codesmith_refresh"]


class TestDisabling:
    async def test_stops_every_credential_at_once(
        self, app: FastAPI, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        as_script = {"Authorization": f"Bearer {await api_token(client, member)}"}
        cookie = await refresh_cookie(client, member)
        assert (await client.get("/users/me", headers=member.headers)).status_code == 200
        assert (await client.get("/users/me", headers=as_script)).status_code == 200

        disabled = await patch_user(client, admin, member.id, disabled=True)
        assert disabled.status_code == 200
        assert disabled.json()["disabled"] is True

        with_access_token = await client.get("/users/me", headers=member.headers)
        assert with_access_token.status_code == 403
        assert problem_code(with_access_token) == "account_disabled"
        with_api_token = await client.get("/users/me", headers=as_script)
        assert with_api_token.status_code == 401, "personal API tokens are deleted"
        refreshed = await refresh(client, cookie)
        assert refreshed.status_code == 401
        assert problem_code(refreshed) == "not_authenticated"
        async with app.state.sessionmaker() as session:
            tokens = await session.scalar(select(func.count()).where(ApiToken.user_id == member.id))
            live = await session.scalar(
                select(func.count()).where(RefreshToken.user_id == member.id, RefreshToken.revoked_at.is_(None))
            )
        assert tokens == 0 and live == 0

    async def test_sign_in_says_disabled_only_to_the_right_password(
        self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        assert (await patch_user(client, admin, member.id, disabled=True)).status_code == 200
        right = await sign_in(client, member.email, member.password)
        assert right.status_code == 403
        assert problem_code(right) == "account_disabled"
        assert "set-cookie" not in right.headers, "no session is started"
        wrong = await sign_in(client, member.email, "not the password at all")
        assert wrong.status_code == 401
        assert problem_code(wrong) == "invalid_credentials"

    async def test_re_enabling_lets_the_user_sign_in_and_old_credentials_stay_revoked(
        self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        cookie = await refresh_cookie(client, member)
        assert (await patch_user(client, admin, member.id, disabled=True)).status_code == 200
        enabled = await patch_user(client, admin, member.id, disabled=False)
        assert enabled.status_code == 200 and enabled.json()["disabled"] is False

        assert (await client.get("/users/me", headers=member.headers)).status_code == 401
        assert (await refresh(client, cookie)).status_code == 401
        again = await sign_in(client, member.email, member.password)
        assert again.status_code == 200, again.text
        fresh = {"Authorization": f"Bearer {again.json()['access_token']}"}
        assert (await client.get("/users/me", headers=fresh)).status_code == 200

    async def test_a_disabled_administrator_loses_the_console(
        self, client: httpx.AsyncClient, admin: UserHandle, member: UserHandle
    ) -> None:
        assert (await patch_user(client, admin, member.id, is_admin=True)).status_code == 200
        assert (await patch_user(client, admin, member.id, disabled=True)).status_code == 200
        response = await client.get("/admin/users", headers=member.headers)
        assert response.status_code == 403
        assert problem_code(response) == "account_disabled"


class TestTheOpenAICompatibleApi:
    async def test_the_sdk_is_refused_once_the_account_is_disabled(self, live_server: LiveServer) -> None:
        async with live_server.client() as http:
            admin = await register_and_login(http, "root@example.com")
            member = await register_and_login(http, "member@example.com")
            token = await api_token(http, member)
            base_url = f"{live_server.url}/v1"
            with_api_token = openai.AsyncOpenAI(base_url=base_url, api_key=token, max_retries=0)
            with_access_token = openai.AsyncOpenAI(base_url=base_url, api_key=member.token, max_retries=0)
            await with_api_token.models.list()

            assert (await patch_user(http, admin, member.id, disabled=True)).status_code == 200

            with pytest.raises(openai.AuthenticationError):  # the API token is gone
                await with_api_token.models.list()
            with pytest.raises(openai.PermissionDeniedError) as refused:
                await with_access_token.models.list()
        assert refused.value.status_code == 403
        assert refused.value.code == "account_disabled"
        assert refused.value.type == "permission_error"
