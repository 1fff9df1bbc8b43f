"""Changing the password: wrong current passwords are throttled, the new one must be a reasonable one."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.auth.helpers import assert_rate_limited, client_from
from tests.conftest import PASSWORD, UserHandle


async def change(
    http: httpx.AsyncClient, user: UserHandle, current: str, new: str = "a brand new password"
) -> httpx.Response:
    body = {"current_password": current, "new_password": new}
    return await http.post("/users/me/password", json=body, headers=user.headers)


class TestWrongCurrentPasswords:
    async def test_are_throttled_after_the_allowed_failures(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        for _ in range(5):
            wrong = await change(client, user, "not my password")
            assert wrong.status_code == 422
            assert wrong.json()["errors"][0]["loc"] == ["body", "current_password"]
        assert_rate_limited(await change(client, user, PASSWORD))
        assert (await client.get("/users/me", headers=user.headers)).status_code == 200  # nothing changed

    async def test_do_not_lock_out_another_address(self, app: FastAPI, user: UserHandle) -> None:
        async with client_from(app, "198.51.100.1") as thief, client_from(app, "198.51.100.2") as owner:
            for _ in range(5):
                assert (await change(thief, user, "not my password")).status_code == 422
            assert_rate_limited(await change(thief, user, PASSWORD))
            assert (await change(owner, user, PASSWORD)).status_code == 204

    async def test_share_the_budget_of_sign_in_guesses(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        # A guess at the password is a guess, whichever endpoint it comes through.
        for _ in range(5):
            assert (await change(client, user, "not my password")).status_code == 422
        signed_in = await client.post("/auth/token", data={"username": user.email, "password": PASSWORD})
        assert_rate_limited(signed_in)

    async def test_an_overlong_current_password_is_422_not_500(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        accepted = await change(client, user, "x" * 1024)
        assert accepted.status_code == 422
        assert accepted.json()["errors"][0]["loc"] == ["body", "current_password"]
        too_long = await change(client, user, "x" * 1025)
        assert too_long.status_code == 422
        assert too_long.json()["code"] == "validation_error"
        assert too_long.json()["errors"][0]["loc"] == ["body", "current_password"]


class TestTheNewPassword:
    @pytest.mark.parametrize(
        "new",
        ["12345678", "password", "PassWord", "qwertyuiop", " " * 8, "\x00" * 8, "tab\there-123", "line\nbreak-99"],
    )
    async def test_weak_or_odd_passwords_are_refused(
        self, client: httpx.AsyncClient, user: UserHandle, new: str
    ) -> None:
        response = await change(client, user, PASSWORD, new)
        assert response.status_code == 422
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"][0]["loc"] == ["body", "new_password"]
        signed_in = await client.post("/auth/token", data={"username": user.email, "password": PASSWORD})
        assert signed_in.status_code == 200  # the old password still works

    @pytest.mark.parametrize("new", ["x" * 129, "short"])
    async def test_keeps_the_length_contract(self, client: httpx.AsyncClient, user: UserHandle, new: str) -> None:
        response = await change(client, user, PASSWORD, new)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "new_password"]
