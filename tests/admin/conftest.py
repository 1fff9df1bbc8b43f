"""Fixtures for the admin console: the instance's administrator (its first account) and a plain member."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import RegisterUser, UserHandle


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # These tests register many accounts from one client address.
    return {"registrations_per_hour": 0}


@pytest.fixture
async def admin(register_user: RegisterUser) -> UserHandle:
    """The first account of the fresh instance: its administrator."""
    return await register_user("root@example.com")


@pytest.fixture
async def member(admin: UserHandle, register_user: RegisterUser) -> UserHandle:
    """A plain user, registered after the administrator."""
    return await register_user("member@example.com")


async def patch_user(client: httpx.AsyncClient, actor: UserHandle, user_id: str, **changes: Any) -> httpx.Response:
    return await client.patch(f"/admin/users/{user_id}", json=changes, headers=actor.headers)


def problem_code(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    code: str = response.json()["code"]
    return code
