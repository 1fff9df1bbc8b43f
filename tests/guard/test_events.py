"""Refusals are logged as structured events (never with the prompt) and counted in /metrics."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
from fastapi import FastAPI

from codesmith.guard import record_refusal


def test_record_refusal_counts_by_layer(refusals: Callable[[str], float]) -> None:
    before_local, before_model = refusals("local"), refusals("model")
    record_refusal("user-1", "local", "non_code: small talk")
    record_refusal("user-1", "local", "injection: asks to reveal instructions")
    assert refusals("local") == before_local + 2
    assert refusals("model") == before_model


def test_record_refusal_logs_who_where_and_why(guard_log: list[logging.LogRecord]) -> None:
    record_refusal("user-42", "model", "the request is a trivia question")
    [record] = guard_log
    assert record.name == "codesmith.guard"
    assert record.levelno == logging.INFO
    assert record.__dict__["user_id"] == "user-42"
    assert record.__dict__["layer"] == "model"
    assert record.__dict__["reason"] == "the request is a trivia question"


def test_a_long_reason_is_cut(guard_log: list[logging.LogRecord]) -> None:
    record_refusal("user-42", "model", "because " * 200)
    assert len(guard_log[0].__dict__["reason"]) <= 200


async def test_refusals_show_in_metrics(app: FastAPI) -> None:
    record_refusal("user-1", "answer", "no code block")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert 'codesmith_refusals_total{layer="answer"}' in response.text
