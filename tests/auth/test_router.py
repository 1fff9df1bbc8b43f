"""Registration, sign-in, tokens and the login throttle."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from jose import jwt

from codesmith.security import JWT_ALGORITHM, Keyring
from tests.conftest import PASSWORD, TEST_SECRET, RegisterUser, UserHandle


class TestRegister:
    async def test_register_then_login_then_me(self, client: httpx.AsyncClient) -> None:
        created = await client.post("/auth/register", json={"email": "Bob@Example.com", "password": PASSWORD})
        assert created.status_code == 201
        body = created.json()
        assert body["email"] == "bob@example.com"
        assert body["has_openai_key"] is False and body["openai_key_hint"] is None
        assert body["is_admin"] is True, "the first account of a fresh instance administers it"
        assert body["created_at"].endswith("Z") or "+00:00" in body["created_at"]

        token = await client.post("/auth/token", data={"username": "BOB@example.com", "password": PASSWORD})
        assert token.status_code == 200
        assert token.json()["token_type"] == "bearer"
        assert token.json()["expires_in"] == 60 * 60

        me = await client.get("/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert me.status_code == 200
        assert me.json()["id"] == body["id"]

    @pytest.mark.parametrize("email", ["alice@example.com", "ALICE@Example.COM"])
    async def test_duplicate_email_is_409_whatever_the_case(
        self, client: httpx.AsyncClient, user: UserHandle, email: str
    ) -> None:
        again = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
        assert again.status_code == 409
        assert again.json()["code"] == "email_taken"
        assert again.headers["content-type"] == "application/problem+json"

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"email": "not-an-email", "password": PASSWORD}, "email"),
            ({"email": "a@example.com", "password": "short"}, "password"),
            ({"email": "a@example.com", "password": "x" * 129}, "password"),
            ({"password": PASSWORD}, "email"),
        ],
    )
    async def test_invalid_input_is_422_with_errors(
        self, client: httpx.AsyncClient, payload: dict[str, str], field: str
    ) -> None:
        response = await client.post("/auth/register", json=payload)
        assert response.status_code == 422
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert problem["status"] == 422
        assert any(field in error["loc"] for error in problem["errors"])

    async def test_register_with_openai_key_shows_only_hint(self, client: httpx.AsyncClient) -> None:
        key = "sk-proj-secretvalue-9876"
        created = await client.post(
            "/auth/register", json={"email": "k@example.com", "password": PASSWORD, "openai_api_key": key}
        )
        assert created.status_code == 201
        assert created.json()["has_openai_key"] is True
        assert created.json()["openai_key_hint"] == "sk-…9876"
        assert key not in created.text


class TestLogin:
    async def test_wrong_password_and_unknown_email_answer_the_same(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        wrong = await client.post("/auth/token", data={"username": user.email, "password": "wrong-password"})
        unknown = await client.post("/auth/token", data={"username": "nobody@example.com", "password": "x"})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
        assert wrong.json()["code"] == "invalid_credentials"

    async def test_unknown_email_takes_as_long_as_a_known_one(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        async def timed(email: str) -> float:
            started = time.perf_counter()
            await client.post("/auth/token", data={"username": email, "password": "wrong-password"})
            return time.perf_counter() - started

        known = min([await timed(user.email) for _ in range(3)])
        unknown = min([await timed(f"ghost{i}@example.com") for i in range(3)])
        # Both hash a password with argon2: an unknown email must not answer much faster.
        assert unknown > known * 0.5

    async def test_five_failures_then_429_with_retry_after(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        for _ in range(5):
            failed = await client.post("/auth/token", data={"username": user.email, "password": "nope-nope"})
            assert failed.status_code == 401
        blocked = await client.post("/auth/token", data={"username": user.email, "password": user.password})
        assert blocked.status_code == 429
        assert blocked.json()["code"] == "rate_limited"
        retry_after = int(blocked.headers["Retry-After"])
        assert 0 < retry_after <= 15 * 60
        # Another email is not affected.
        other = await client.post("/auth/token", data={"username": "x@example.com", "password": "nope"})
        assert other.status_code == 401


class TestAccessTokens:
    async def _claims(self, user: UserHandle) -> dict[str, object]:
        return dict(jwt.get_unverified_claims(user.token))

    async def test_expired_token_is_401(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        keyring = Keyring(TEST_SECRET)
        expired = keyring.create_access_token(user.id, 0, minutes=-1)
        response = await client.get("/users/me", headers={"Authorization": f"Bearer {expired}"})
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"

    async def test_tampered_token_is_401(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        header, payload, signature = user.token.split(".")
        flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
        response = await client.get("/users/me", headers={"Authorization": f"Bearer {header}.{payload}.{flipped}"})
        assert response.status_code == 401

    async def test_token_signed_with_another_secret_is_401(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        forged = Keyring("another-secret-of-sufficient-length-1234567890").create_access_token(user.id, 0, 5)
        response = await client.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401

    async def test_alg_none_token_is_401(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        import base64
        import json

        def b64(data: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

        claims = await self._claims(user)
        unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
        response = await client.get("/users/me", headers={"Authorization": f"Bearer {unsigned}"})
        assert response.status_code == 401

    async def test_missing_token_is_401_with_www_authenticate(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/me")
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["code"] == "not_authenticated"

    async def test_token_of_a_deleted_subject_is_401(self, client: httpx.AsyncClient) -> None:
        token = Keyring(TEST_SECRET).create_access_token("00000000-0000-0000-0000-000000000000", 0, 5)
        response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401

    async def test_claims_carry_expiry_in_the_future(self, user: UserHandle) -> None:
        claims = jwt.decode(user.token, Keyring(TEST_SECRET)._jwt_key, algorithms=[JWT_ALGORITHM])
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        assert timedelta(minutes=55) < expires - datetime.now(UTC) <= timedelta(minutes=60)


async def test_second_user_gets_own_identity(register_user: RegisterUser, client: httpx.AsyncClient) -> None:
    first = await register_user()
    second = await register_user()
    me = await client.get("/users/me", headers=second.headers)
    assert me.json()["id"] == second.id != first.id
