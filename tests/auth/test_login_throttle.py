"""The sign-in throttle: attempts reserved before the password is checked, per (email, address) and per email."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.auth.helpers import assert_rate_limited, client_from, sign_in
from tests.conftest import PASSWORD, UserHandle


class TestConcurrentWrongPasswords:
    async def test_forty_at_once_check_at_most_the_allowed_number(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        responses = await asyncio.gather(*(sign_in(client, user.email, f"wrong-{i}") for i in range(40)))
        statuses = Counter(response.status_code for response in responses)
        allowed = app.state.settings.login_failures_allowed
        assert statuses == {401: allowed, 429: 40 - allowed}
        for response in responses:
            if response.status_code == 429:
                assert_rate_limited(response)

    async def test_the_right_password_after_the_budget_is_spent_is_refused_too(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        await asyncio.gather(*(sign_in(client, user.email, "wrong-password") for _ in range(10)))
        assert_rate_limited(await sign_in(client, user.email, user.password))


class TestPerAddress:
    async def test_failures_from_one_address_do_not_lock_the_email_out_from_another(
        self, app: FastAPI, user: UserHandle
    ) -> None:
        async with client_from(app, "198.51.100.1") as attacker, client_from(app, "198.51.100.2") as owner:
            for _ in range(5):
                assert (await sign_in(attacker, user.email, "wrong-password")).status_code == 401
            assert_rate_limited(await sign_in(attacker, user.email, user.password))
            assert (await sign_in(owner, user.email, user.password)).status_code == 200
            assert (await sign_in(owner, user.email, "wrong-password")).status_code == 401

    async def test_ipv6_clients_are_counted_by_their_slash_64(self, app: FastAPI, user: UserHandle) -> None:
        for i in range(5):
            async with client_from(app, f"2001:db8:1:2::{i + 1}") as http:
                assert (await sign_in(http, user.email, "wrong-password")).status_code == 401
        async with client_from(app, "2001:db8:1:2:ffff::9") as same_network:
            assert_rate_limited(await sign_in(same_network, user.email, user.password))
        async with client_from(app, "2001:db8:1:3::1") as next_network:
            assert (await sign_in(next_network, user.email, user.password)).status_code == 200

    async def test_a_successful_sign_in_clears_the_failures_from_its_address(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        for _ in range(4):
            assert (await sign_in(client, user.email, "wrong-password")).status_code == 401
        assert (await sign_in(client, user.email, user.password)).status_code == 200
        for _ in range(4):
            assert (await sign_in(client, user.email, "wrong-password")).status_code == 401


class TestPerEmailCeiling:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"login_failures_allowed": 2, "login_failures_per_email": 4}

    async def test_failures_from_every_address_together_are_capped(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        email = "target@example.com"
        assert (await client.post("/auth/register", json={"email": email, "password": PASSWORD})).status_code == 201
        for host in ("198.51.100.1", "198.51.100.2"):
            async with client_from(app, host) as http:
                for _ in range(2):
                    assert (await sign_in(http, email, "wrong-password")).status_code == 401
        async with client_from(app, "198.51.100.3") as fresh:
            assert_rate_limited(await sign_in(fresh, email, PASSWORD))

    async def test_attempts_refused_by_the_address_limit_do_not_spend_the_ceiling(
        self, app: FastAPI, user: UserHandle
    ) -> None:
        async with client_from(app, "198.51.100.1") as attacker:
            for _ in range(2):
                assert (await sign_in(attacker, user.email, "wrong-password")).status_code == 401
            for _ in range(10):
                assert_rate_limited(await sign_in(attacker, user.email, "wrong-password"))
        async with client_from(app, "198.51.100.2") as owner:
            assert (await sign_in(owner, user.email, user.password)).status_code == 200


class TestForwardedFor:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"trusted_proxies": ["10.0.0.0/24", "192.168.1.1"]}

    async def test_ignored_from_an_untrusted_peer(self, app: FastAPI, user: UserHandle) -> None:
        async with client_from(app, "203.0.113.9") as http:
            for i in range(5):
                forged = {"X-Forwarded-For": f"198.51.100.{i}"}
                assert (await sign_in(http, user.email, "wrong-password", **forged)).status_code == 401
            forged = {"X-Forwarded-For": "198.51.100.99"}
            assert_rate_limited(await sign_in(http, user.email, user.password, **forged))

    async def test_honoured_from_a_trusted_proxy(self, app: FastAPI, user: UserHandle) -> None:
        async with client_from(app, "10.0.0.5") as proxy:
            attacker = {"X-Forwarded-For": "198.51.100.7"}
            for _ in range(5):
                assert (await sign_in(proxy, user.email, "wrong-password", **attacker)).status_code == 401
            assert_rate_limited(await sign_in(proxy, user.email, user.password, **attacker))
            # A client can prepend anything; the right-most untrusted hop is who reached the proxy.
            spoofed = {"X-Forwarded-For": "1.2.3.4, 198.51.100.7, 192.168.1.1"}
            assert_rate_limited(await sign_in(proxy, user.email, user.password, **spoofed))
            owner = {"X-Forwarded-For": "198.51.100.8"}
            assert (await sign_in(proxy, user.email, user.password, **owner)).status_code == 200


class TestOverlongPasswords:
    async def test_known_and_unknown_email_answer_the_same_401(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        known = await sign_in(client, user.email, "x" * 5000)
        unknown = await sign_in(client, "ghost@example.com", "x" * 5000)
        assert known.status_code == unknown.status_code == 401
        assert known.json() == unknown.json()
        assert known.json()["code"] == "invalid_credentials"

    @pytest.mark.parametrize("length", [1025, 5000])
    async def test_overlong_attempts_are_counted(self, client: httpx.AsyncClient, length: int) -> None:
        for _ in range(5):
            assert (await sign_in(client, "ghost@example.com", "x" * length)).status_code == 401
        assert_rate_limited(await sign_in(client, "ghost@example.com", "x" * length))

    async def test_unknown_email_probes_are_counted(self, client: httpx.AsyncClient) -> None:
        for _ in range(5):
            assert (await sign_in(client, "ghost@example.com", "wrong-password")).status_code == 401
        assert_rate_limited(await sign_in(client, "ghost@example.com", "wrong-password"))

    async def test_a_password_of_the_longest_accepted_length_is_checked(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        response = await sign_in(client, user.email, "y" * 1024)
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"
        assert (await sign_in(client, user.email, PASSWORD)).status_code == 200
