"""Password hashing and verifying run off the event loop: other requests are served meanwhile."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from codesmith import security
from tests.auth.helpers import sign_in
from tests.conftest import PASSWORD, UserHandle


class Gate:
    """Holds every call of a wrapped function until opened, counting the calls it holds right now."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.held = 0
        self._lock = threading.Lock()

    def wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.held += 1
            self.entered.set()
            # On the event loop this wait blocks everything: bounded, so a regression fails instead of hanging.
            self.opened.wait(timeout=1.5)
            with self._lock:
                self.held -= 1
            return real(*args, **kwargs)

        return held


@contextmanager
def gated(monkeypatch: pytest.MonkeyPatch, name: str) -> Iterator[Gate]:
    gate = Gate()
    context = security._hashing.context
    monkeypatch.setattr(context, name, gate.wrap(getattr(context, name)))
    try:
        yield gate
    finally:
        gate.opened.set()


async def assert_served_while_held(
    client: httpx.AsyncClient, gate: Gate, calls: list[Callable[[], Awaitable[httpx.Response]]]
) -> list[httpx.Response]:
    """Start `calls`, wait until one is inside the gate, then /healthz must answer while it still is."""
    tasks = [asyncio.create_task(call()) for call in calls]
    for _ in range(500):
        if gate.entered.is_set():
            break
        await asyncio.sleep(0.01)
    assert gate.entered.is_set()
    health = await client.get("http://test/healthz")
    held_when_answered = gate.held
    finished_first = [task for task in tasks if task.done()]
    gate.opened.set()
    responses = await asyncio.gather(*tasks)
    assert health.status_code == 200
    assert held_when_answered > 0, "/healthz only answered once the password work had finished"
    assert finished_first == []
    return list(responses)


class TestTheLoopIsNotBlocked:
    async def test_by_concurrent_sign_ins(
        self, client: httpx.AsyncClient, user: UserHandle, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        emails = [user.email, "ghost1@example.com", "ghost2@example.com"]
        with gated(monkeypatch, "verify") as gate:
            calls = [lambda email=email: sign_in(client, email, "wrong-password") for email in emails]
            responses = await assert_served_while_held(client, gate, calls)
        assert [response.status_code for response in responses] == [401, 401, 401]

    async def test_by_a_registration(self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
        with gated(monkeypatch, "hash") as gate:
            body = {"email": "new@example.com", "password": PASSWORD}
            responses = await assert_served_while_held(client, gate, [lambda: client.post("/auth/register", json=body)])
        assert responses[0].status_code == 201

    async def test_by_a_password_change(
        self, client: httpx.AsyncClient, user: UserHandle, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        body = {"current_password": PASSWORD, "new_password": "a brand new password"}
        with gated(monkeypatch, "verify") as gate:
            responses = await assert_served_while_held(
                client, gate, [lambda: client.post("/users/me/password", json=body, headers=user.headers)]
            )
        assert responses[0].status_code == 204
