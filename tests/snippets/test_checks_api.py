"""Checks through the API: a streamed answer's snippets are checked when it completes, and every response
that carries them (the `done` event, the conversation's detail, the snippet list, search, one snippet) says
what the check found. Runs on SQLite and PostgreSQL (CODESMITH_TEST_DATABASE)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, UserHandle
from tests.conversations.helpers import add_model, collect
from tests.fakes.upstream import FakeUpstream

BROKEN_PYTHON = "def total(numbers):\n    result = 0\n    for n in numbers\n        result += n\n    return result\n"
GOOD_GO = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hello")\n}\n'
UNDEFINED = "def greet(name):\n    return f'Hello, {nme}'\n"
REPLY = (
    f"Here is the sum:\n\n```python\n{BROKEN_PYTHON}```\n\nAnd a Go program:\n\n```go\n{GOOD_GO}```\n\n"
    f"And a greeting:\n\n```python\n{UNDEFINED}```\n\nAnd a note:\n\n```text\njust words\n```\n"
)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "allow_private_model_hosts": True,
        "openai_models": [],
        "rate_limit_requests_per_minute": 0,
        "rate_limit_tokens_per_day": 0,
        "auto_repair": False,  # the check alone: no repair round after a failed one
    }


@pytest.fixture
async def fake_model(app: Any, fake_upstream: FakeUpstream) -> str:
    return await add_model(app, fake_upstream)


def _checks(snippets: list[dict[str, Any]]) -> list[tuple[str | None, str, str | None, list[tuple[int, Any]]]]:
    return [
        (
            item["language"],
            item["check"]["status"],
            item["check"]["checker"],
            [(found["line"], found["code"]) for found in item["check"]["diagnostics"]],
        )
        for item in snippets
    ]


EXPECTED = [
    ("python", "failed", "ruff", [(3, "invalid-syntax")]),
    ("go", "passed", "tree-sitter-go", []),
    ("python", "failed", "ruff", [(2, "F821")]),
    ("text", "unchecked", None, []),
]


class TestChecksInResponses:
    async def test_a_streamed_answer_carries_its_checks_everywhere(
        self, live_server: LiveServer, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.reply = REPLY
        body = {"prompt": "Sum numbers in Python, hello in Go", "stream": True}
        async with (
            live_server.client() as http,
            http.stream("POST", "/conversations", json=body, headers=user.headers) as response,
        ):
            events = await collect(response)
            done = events[-1]
            assert done.event == "done"
            assert _checks(done.data["snippets"]) == EXPECTED
            syntax = done.data["snippets"][0]["check"]["diagnostics"][0]
            assert syntax["column"] >= 1 and syntax["message"]
            undefined = done.data["snippets"][2]["check"]["diagnostics"][0]
            assert (undefined["column"], undefined["message"]) == (22, "Undefined name `nme`")

            detail = await self._get(http, f"/conversations/{done.data['conversation_id']}", user)
            [answer] = [item for item in detail["messages"] if item["role"] == "assistant"]
            assert _checks(answer["snippets"]) == EXPECTED
            listed = (await self._get(http, "/snippets", user))["items"]
            assert sorted(_checks(listed)) == sorted(EXPECTED)
            found = (await self._get(http, "/snippets?q=fmt.Println", user))["items"]
            assert _checks(found) == [EXPECTED[1]]
            found = (await self._get(http, "/snippets?q=numbers", user))["items"]
            assert _checks(found) == [EXPECTED[0]]
            one = await self._get(http, f"/snippets/{done.data['snippets'][2]['id']}", user)
            assert one["check"] == done.data["snippets"][2]["check"]

    async def test_a_non_streamed_answer_is_checked_too(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.reply = f"```go\n{GOOD_GO}```\n"
        response = await client.post("/conversations", json={"prompt": "hello in Go"}, headers=user.headers)
        assert response.status_code in (200, 201)
        [answer] = [item for item in response.json()["messages"] if item["role"] == "assistant"]
        assert _checks(answer["snippets"]) == [EXPECTED[1]]

    async def _get(self, http: httpx.AsyncClient, path: str, user: UserHandle) -> Any:
        response = await http.get(path, headers=user.headers)
        assert response.status_code == 200, response.text
        return response.json()
