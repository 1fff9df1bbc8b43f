"""Fixtures for your-data tests: a model served by the fake upstream, and users with conversations."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from tests.conversations.helpers import add_model
from tests.fakes.upstream import FakeUpstream


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "allow_private_model_hosts": True,  # the fake upstream listens on 127.0.0.1
        "openai_models": [],
        "rate_limit_requests_per_minute": 0,
        "rate_limit_tokens_per_day": 0,
    }


@pytest.fixture
async def fake_model(app: FastAPI, fake_upstream: FakeUpstream) -> str:
    return await add_model(app, fake_upstream)
