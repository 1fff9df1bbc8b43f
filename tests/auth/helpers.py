"""Clients that call the app from a chosen socket address, and small assertions shared by auth tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI


@asynccontextmanager
async def client_from(app: FastAPI, host: str) -> AsyncIterator[httpx.AsyncClient]:
    """An API client whose requests arrive from `host` (what the server sees as the socket's peer)."""
    transport = httpx.ASGITransport(app=app, client=(host, 123))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as http:
        yield http


async def sign_in(http: httpx.AsyncClient, email: str, password: str, **headers: str) -> httpx.Response:
    return await http.post("/auth/token", data={"username": email, "password": password}, headers=headers)


def assert_rate_limited(response: httpx.Response, *, window_seconds: int = 15 * 60) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= window_seconds
