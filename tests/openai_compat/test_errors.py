"""Every error under /v1 in OpenAI's envelope, with the status the openai SDK turns into its exception
classes; refusals come before any byte of a stream; a failure mid-stream never looks like a clean end."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from codesmith.conversations.tables import Message
from tests.conversations.helpers import sessionmaker_of
from tests.fakes.upstream import FakeUpstream
from tests.openai_compat.conftest import ApiUser
from tests.openai_compat.test_completions import MESSAGES, PROMPT, conversations_of, usage_totals

POEM = "Write me a poem about the sea"


def assert_envelope(body: Any, code: str | None) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["code"] == code


class TestAuthentication:
    async def test_a_bad_token_is_an_authentication_error(self, alice: ApiUser) -> None:
        client = openai.AsyncOpenAI(base_url=f"{alice.server.url}/v1", api_key="csk_not-a-token", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as raised:
            await client.models.list()
        assert raised.value.status_code == 401
        assert_envelope(raised.value.body and {"error": raised.value.body}, "invalid_api_key")
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(model="fake-coder", messages=MESSAGES)

    async def test_a_revoked_token_is_an_authentication_error_at_once(self, alice: ApiUser) -> None:
        client = alice.openai()
        await asyncio.to_thread(client.models.list)
        async with alice.app_client() as http:
            assert (await http.delete(f"/users/me/api-tokens/{alice.api_token_id}")).status_code == 204
        with pytest.raises(openai.AuthenticationError):
            await asyncio.to_thread(client.models.list)
        with pytest.raises(openai.AuthenticationError):
            await asyncio.to_thread(lambda: client.chat.completions.create(model="fake-coder", messages=MESSAGES))

    async def test_an_access_token_works_too(self, alice: ApiUser) -> None:
        client = openai.AsyncOpenAI(base_url=f"{alice.server.url}/v1", api_key=alice.access_token, max_retries=0)
        assert [model.id for model in (await client.models.list()).data] == ["fake-coder"]


class TestBadRequests:
    @pytest.mark.parametrize("stream", [False, True])
    async def test_a_prompt_the_guard_refuses(self, alice: ApiUser, fake_upstream: FakeUpstream, stream: bool) -> None:
        with pytest.raises(openai.BadRequestError) as raised:
            await alice.async_openai().chat.completions.create(
                model="fake-coder",
                messages=[{"role": "user", "content": "Write me a poem about the sea"}],
                stream=stream,
            )
        assert raised.value.code == "not_a_code_request"
        assert fake_upstream.requests == []
        assert await conversations_of(alice) == []

    @pytest.mark.parametrize("stream", [False, True])
    async def test_a_request_the_model_refuses_answers_400_before_any_byte(
        self, alice: ApiUser, fake_upstream: FakeUpstream, stream: bool
    ) -> None:
        messages: Any = [{"role": "user", "content": f"{PROMPT} [[reply:not_code]]"}]
        with pytest.raises(openai.BadRequestError) as raised:
            await alice.async_openai().chat.completions.create(model="fake-coder", messages=messages, stream=stream)
        assert raised.value.code == "not_a_code_request"
        assert "NOT_CODE" not in str(raised.value.body)

    @pytest.mark.parametrize(
        ("messages", "param"),
        [
            ([], "messages"),
            ([{"role": "user", "content": "   "}], None),
            ([{"role": "wizard", "content": PROMPT}], "messages.0.role"),
            ([{"role": "system", "content": "Be brief."}], "messages"),
            ([{"role": "assistant", "content": "Hi"}, {"role": "user", "content": PROMPT}], "messages.0.role"),
            ([{"role": "user", "content": PROMPT}, {"role": "assistant", "content": "```py\n```"}], "messages"),
            ([{"role": "tool", "content": "42", "tool_call_id": "x"}], "messages.0.role"),
            (
                [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}],
                "messages.0.content",
            ),
        ],
    )
    async def test_bad_messages(self, alice: ApiUser, messages: Any, param: str | None) -> None:
        client = alice.openai()
        with pytest.raises(openai.BadRequestError) as raised:
            await asyncio.to_thread(lambda: client.chat.completions.create(model="fake-coder", messages=messages))
        body = raised.value.body
        assert isinstance(body, dict)
        assert body["type"] == "invalid_request_error"
        if param is not None:
            assert body["param"] == param

    @pytest.mark.parametrize(
        ("extra", "param"),
        [
            ({"n": 2}, "n"),
            ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
            ({"temperature": 7}, "temperature"),
        ],
    )
    async def test_unsupported_parameters(self, alice: ApiUser, extra: dict[str, Any], param: str) -> None:
        with pytest.raises(openai.BadRequestError) as raised:
            await alice.async_openai().chat.completions.create(model="fake-coder", messages=MESSAGES, **extra)
        assert isinstance(raised.value.body, dict) and raised.value.body["param"] == param

    async def test_unknown_model_is_not_found(self, alice: ApiUser) -> None:
        with pytest.raises(openai.NotFoundError) as raised:
            await alice.async_openai().chat.completions.create(model="gpt-9", messages=MESSAGES)
        assert raised.value.code == "model_not_found"

    async def test_a_too_long_context_is_context_length_exceeded(
        self, alice: ApiUser, fake_upstream: FakeUpstream
    ) -> None:
        long = "word " * 1500
        history: Any = [
            {"role": "user", "content": f"{PROMPT} {long}"},
            {"role": "assistant", "content": long},
            {"role": "user", "content": f"Now fix it {long}"},
        ]
        with pytest.raises(openai.BadRequestError) as raised:
            await alice.async_openai().chat.completions.create(model="fake-coder", messages=history)
        assert raised.value.code == "context_length_exceeded"

    async def test_errors_outside_v1_stay_problem_json(self, alice: ApiUser) -> None:
        async with httpx.AsyncClient(base_url=alice.server.url) as http:
            v1 = await http.get("/v1/nothing-here", headers={"Authorization": f"Bearer {alice.api_token}"})
            api = await http.get("/api/v1/nothing-here")
            too_large = await http.post("/v1/chat/completions", content=b"x" * (2 << 20))
            bad_method = await http.delete("/v1/chat/completions")
        assert v1.status_code == 404 and v1.headers["content-type"] == "application/json"
        assert_envelope(v1.json(), "unknown_url")
        assert api.headers["content-type"] == "application/problem+json"
        assert too_large.status_code == 413
        assert_envelope(too_large.json(), "request_too_large")
        assert bad_method.status_code == 405
        assert_envelope(bad_method.json(), "method_not_allowed")


class TestLimits:
    async def test_rate_limit_is_a_rate_limit_error_with_retry_after(self, alice: ApiUser) -> None:
        await alice.set_requests_per_minute(1)
        client = alice.async_openai()
        await client.chat.completions.create(model="fake-coder", messages=MESSAGES)
        with pytest.raises(openai.RateLimitError) as raised:
            await client.chat.completions.create(model="fake-coder", messages=MESSAGES, stream=True)
        assert int(raised.value.response.headers["Retry-After"]) >= 1
        assert raised.value.code == "rate_limit_exceeded"


class TestUpstreamFailures:
    async def test_a_failure_mid_stream_never_ends_as_stop(self, alice: ApiUser, fake_upstream: FakeUpstream) -> None:
        fake_upstream.behaviour.fail_after_tokens = 5
        stream = await alice.async_openai().chat.completions.create(
            model="fake-coder", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        reasons: list[str | None] = []
        text = ""
        with pytest.raises(openai.APIError) as raised:
            async for chunk in stream:
                for choice in chunk.choices:
                    reasons.append(choice.finish_reason)
                    text += choice.delta.content or ""
        assert "stop" not in reasons and "length" not in reasons
        assert text  # the first tokens came
        assert isinstance(raised.value.body, dict) and raised.value.body["code"] == "upstream_error"
        [conversation] = await conversations_of(alice)
        async with sessionmaker_of(alice.server.app)() as session:
            answer = await session.scalar(
                select(Message).where(Message.conversation_id == conversation["id"], Message.role == "assistant")
            )
        assert answer is not None and answer.status == "failed" and answer.content == text
        assert (await usage_totals(alice))["requests"] == 1  # the tokens that came are counted

    @pytest.mark.parametrize(("status", "expected"), [(500, openai.InternalServerError), (401, openai.APIStatusError)])
    async def test_upstream_errors_before_the_first_token(
        self, alice: ApiUser, fake_upstream: FakeUpstream, status: int, expected: type[Exception]
    ) -> None:
        fake_upstream.behaviour.status = status
        for stream in (False, True):
            with pytest.raises(expected) as raised:
                await alice.async_openai().chat.completions.create(model="fake-coder", messages=MESSAGES, stream=stream)
            assert isinstance(raised.value, openai.APIStatusError) and raised.value.status_code == 502

    async def test_an_upstream_that_hangs_is_a_504(self, alice: ApiUser, fake_upstream: FakeUpstream) -> None:
        fake_upstream.behaviour.hang = True
        settings = alice.server.app.state.settings
        settings.upstream_first_token_timeout = 0.5
        with pytest.raises(openai.InternalServerError) as raised:
            await alice.async_openai().chat.completions.create(model="fake-coder", messages=MESSAGES)
        assert raised.value.status_code == 504
