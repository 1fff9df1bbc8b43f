"""Registration: the password policy and the per-address throttle."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from codesmith.auth.passwords import common_passwords, password_problem
from tests.auth.helpers import assert_rate_limited, client_from
from tests.conftest import PASSWORD


async def register(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await http.post("/auth/register", json={"email": email, "password": password})


class TestPasswordPolicy:
    @pytest.mark.parametrize(
        "password",
        [
            "12345678",
            "password",
            "PASSWORD",
            "Iloveyou",
            "qwertyuiop",
            " " * 8,
            "\u3000" * 8,  # ideographic spaces: whitespace too
            "\x00" * 8,
            "abc\x07defgh",
            "new\nline-pass",
        ],
    )
    async def test_is_refused_with_a_422_naming_the_field(self, client: httpx.AsyncClient, password: str) -> None:
        response = await register(client, "weak@example.com", password)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"][0]["loc"] == ["body", "password"]
        assert problem["errors"][0]["msg"]
        assert set(problem["errors"][0]) == {"loc", "msg"}  # the password itself is not echoed back

    @pytest.mark.parametrize("password", [PASSWORD, "Zx9!qLm2#vB", "pässwört-über-alles", "  spaced  out  "])
    async def test_reasonable_passwords_are_accepted(self, client: httpx.AsyncClient, password: str) -> None:
        assert (await register(client, "fine@example.com", password)).status_code == 201

    def test_the_bundled_list_has_ten_thousand_lower_case_entries(self) -> None:
        entries = common_passwords()
        assert len(entries) == 10_000
        assert {"123456", "password", "12345678", "qwerty"} <= entries
        assert all(entry == entry.lower() and entry.strip() == entry and entry for entry in entries)

    def test_the_check_ignores_case(self) -> None:
        assert password_problem("PaSsWoRd") is not None
        assert password_problem("correct horse battery") is None

    def test_a_lone_surrogate_is_refused(self) -> None:
        # It could not even be encoded to be hashed (the JSON parser usually refuses it first).
        assert password_problem("lone\ud800surrogate") is not None


class TestThrottle:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"registrations_per_hour": 3}

    async def test_a_client_may_register_only_so_many_accounts_an_hour(self, app: FastAPI) -> None:
        async with client_from(app, "198.51.100.1") as bot, client_from(app, "198.51.100.2") as other:
            for i in range(3):
                assert (await register(bot, f"bot{i}@example.com")).status_code == 201
            assert_rate_limited(await register(bot, "bot3@example.com"), window_seconds=3600)
            assert (await register(other, "person@example.com")).status_code == 201

    async def test_every_attempt_counts_even_a_taken_email(self, app: FastAPI) -> None:
        # So that registration cannot be used to probe which emails have accounts, 3 at a time.
        async with client_from(app, "198.51.100.1") as http:
            assert (await register(http, "taken@example.com")).status_code == 201
            assert (await register(http, "taken@example.com")).status_code == 409
            assert (await register(http, "taken@example.com")).status_code == 409
            assert_rate_limited(await register(http, "new@example.com"), window_seconds=3600)

    async def test_a_refused_body_does_not_count(self, app: FastAPI) -> None:
        async with client_from(app, "198.51.100.1") as http:
            for _ in range(5):
                assert (await register(http, "weak@example.com", "password")).status_code == 422
            assert (await register(http, "strong@example.com")).status_code == 201


class TestThrottleDisabled:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"registrations_per_hour": 0}

    async def test_zero_means_no_limit(self, client: httpx.AsyncClient) -> None:
        for i in range(8):
            assert (await register(client, f"many{i}@example.com")).status_code == 201


class TestThrottleDefault:
    async def test_the_default_allows_five_an_hour(self, client: httpx.AsyncClient) -> None:
        for i in range(5):
            assert (await register(client, f"user{i}@example.com")).status_code == 201
        assert_rate_limited(await register(client, "user5@example.com"), window_seconds=3600)
