"""`/v1/chat/completions` through the real openai SDK: whole and streamed answers in OpenAI's exact shapes,
the history and parameters that reach the upstream, and what is stored."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import orjson
import pytest
from openai.types.chat import ChatCompletionChunk
from sqlalchemy import select

from codesmith.conversations.tables import Message
from tests.conversations.helpers import sessionmaker_of
from tests.fakes.upstream import DEFAULT_REPLY, FakeUpstream, count_prompt, words
from tests.openai_compat.conftest import ApiUser

PROMPT = "Write a Python function that reverses the words of a sentence"
MESSAGES: list[Any] = [{"role": "user", "content": PROMPT}]


async def conversations_of(user: ApiUser) -> list[dict[str, Any]]:
    async with user.app_client() as http:
        items: list[dict[str, Any]] = (await http.get("/conversations")).json()["items"]
    return items


async def usage_totals(user: ApiUser) -> dict[str, Any]:
    async with user.app_client() as http:
        totals: dict[str, Any] = (await http.get("/usage")).json()["totals"]
    return totals


class TestWhole:
    async def test_sync_completion_has_openais_shape(self, alice: ApiUser, fake_upstream: FakeUpstream) -> None:
        completion = await asyncio.to_thread(
            lambda: alice.openai().chat.completions.create(model="fake-coder", messages=MESSAGES)
        )
        assert completion.id.startswith("chatcmpl-")
        assert completion.object == "chat.completion"
        assert completion.model == "fake-coder"
        assert isinstance(completion.created, int)
        assert len(completion.choices) == 1
        choice = completion.choices[0]
        assert choice.index == 0
        assert choice.finish_reason == "stop"
        assert choice.message.role == "assistant"
        assert choice.message.content == DEFAULT_REPLY
        assert choice.logprobs is None
        usage = completion.usage
        assert usage is not None
        assert usage.completion_tokens == len(words(DEFAULT_REPLY))
        assert usage.prompt_tokens == count_prompt(fake_upstream.requests[-1]["messages"])
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    async def test_async_completion_is_stored_as_an_api_conversation(self, alice: ApiUser) -> None:
        raw = await alice.async_openai().chat.completions.with_raw_response.create(
            model="fake-coder", messages=MESSAGES
        )
        completion = raw.parse()
        [conversation] = await conversations_of(alice)
        assert raw.headers["x-codesmith-conversation-id"] == conversation["id"]
        assert conversation["source"] == "api"
        assert conversation["title"] == PROMPT
        async with alice.app_client() as http:
            detail = (await http.get(f"/conversations/{conversation['id']}")).json()
        request, answer = detail["messages"]
        assert (request["role"], request["kind"], request["content"]) == ("user", "request", PROMPT)
        assert answer["status"] == "complete"
        assert answer["content"] == completion.choices[0].message.content
        assert answer["usage"]["completion_tokens"] == completion.usage.completion_tokens  # type: ignore[union-attr]
        assert answer["snippets"]  # like any answer: its code is searchable
        assert (await usage_totals(alice))["requests"] == 1

    async def test_store_false_leaves_no_conversation_but_counts_usage(
        self, alice: ApiUser, fake_upstream: FakeUpstream
    ) -> None:
        client = alice.async_openai()
        completion = await client.chat.completions.create(model="fake-coder", messages=MESSAGES, store=False)
        streamed = await client.chat.completions.create(model="fake-coder", messages=MESSAGES, store=False, stream=True)
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in streamed if chunk.choices])
        assert completion.choices[0].message.content == text == DEFAULT_REPLY
        assert await conversations_of(alice) == []
        totals = await usage_totals(alice)
        assert totals["requests"] == 2
        assert totals["completion_tokens"] == 2 * len(words(DEFAULT_REPLY))


class TestHistoryAndParameters:
    async def test_multi_turn_history_and_the_clients_system_message_reach_the_upstream(
        self, alice: ApiUser, fake_upstream: FakeUpstream
    ) -> None:
        messages: list[Any] = [
            {"role": "system", "content": "Prefer the standard library."},
            {"role": "user", "content": PROMPT},
            {"role": "assistant", "content": "```python\ndef f(s): return s\n```"},
            {"role": "user", "content": [{"type": "text", "text": "Now add type hints"}]},
        ]
        await alice.async_openai().chat.completions.create(model="fake-coder", messages=messages)
        sent = fake_upstream.requests[-1]["messages"]
        assert sent[0]["role"] == "system" and sent[0]["content"].startswith("You are Codesmith")
        assert sent[1:] == [
            {"role": "system", "content": "Prefer the standard library."},
            {"role": "user", "content": PROMPT},
            {"role": "assistant", "content": "```python\ndef f(s): return s\n```"},
            {"role": "user", "content": "Now add type hints"},
        ]
        [conversation] = await conversations_of(alice)
        async with alice.app_client() as http:
            detail = (await http.get(f"/conversations/{conversation['id']}")).json()
        assert [(m["role"], m["kind"]) for m in detail["messages"]] == [
            ("user", "request"),
            ("assistant", "generation"),
            ("user", "feedback"),
            ("assistant", "generation"),
        ]

    async def test_sampling_parameters_are_forwarded_and_unknown_ones_ignored(
        self, alice: ApiUser, fake_upstream: FakeUpstream
    ) -> None:
        await alice.async_openai().chat.completions.create(
            model="fake-coder",
            messages=MESSAGES,
            temperature=0.2,
            top_p=0.9,
            stop=["\n\n\n"],
            seed=7,
            frequency_penalty=0.1,
            presence_penalty=0.3,
            max_tokens=100,
            extra_body={"some_future_parameter": {"x": 1}, "user": "someone"},
        )
        sent = fake_upstream.requests[-1]
        assert (sent["temperature"], sent["top_p"], sent["stop"], sent["seed"]) == (0.2, 0.9, ["\n\n\n"], 7)
        assert (sent["frequency_penalty"], sent["presence_penalty"]) == (0.1, 0.3)
        assert sent["max_tokens"] == 100
        assert "some_future_parameter" not in sent and "user" not in sent

    async def test_max_tokens_never_raises_the_servers_answer_reserve(
        self, alice: ApiUser, fake_upstream: FakeUpstream
    ) -> None:
        await alice.async_openai().chat.completions.create(
            model="fake-coder", messages=MESSAGES, max_completion_tokens=1_000_000
        )
        assert fake_upstream.requests[-1]["max_tokens"] == 1024  # a quarter of the 4096-token window

    async def test_an_answer_cut_by_max_tokens_finishes_with_length(
        self, alice: ApiUser, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.usage_override = {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55}
        completion = await alice.async_openai().chat.completions.create(
            model="fake-coder", messages=MESSAGES, max_tokens=5
        )
        assert completion.choices[0].finish_reason == "length"


def parse_stream(body: bytes) -> tuple[list[dict[str, Any]], bool]:
    """The data objects of an event stream, and whether it ended with [DONE]."""
    chunks: list[dict[str, Any]] = []
    done = False
    for event in body.split(b"\n\n"):
        if not event.startswith(b"data: "):
            continue
        data = event[len(b"data: ") :]
        if data == b"[DONE]":
            done = True
            continue
        assert not done, "nothing after [DONE]"
        chunks.append(orjson.loads(data))
    return chunks, done


class TestStreamed:
    @pytest.mark.parametrize("include_usage", [False, True])
    async def test_chunks_have_openais_shape(self, alice: ApiUser, include_usage: bool) -> None:
        request: dict[str, Any] = {"model": "fake-coder", "messages": MESSAGES, "stream": True}
        if include_usage:
            request["stream_options"] = {"include_usage": True}
        async with alice.server.client() as http:
            response = await http.post(
                f"{alice.server.url}/v1/chat/completions",
                json=request,
                headers={"Authorization": f"Bearer {alice.api_token}"},
            )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks, done = parse_stream(response.content)
        assert done
        assert len({chunk["id"] for chunk in chunks}) == 1
        assert chunks[0]["id"].startswith("chatcmpl-")
        created = chunks[0]["created"]
        for chunk in chunks:
            assert chunk["object"] == "chat.completion.chunk"
            assert chunk["model"] == "fake-coder"
            assert chunk["created"] == created
            assert chunk["system_fingerprint"] is None
            if include_usage:
                assert "usage" in chunk
            else:
                assert "usage" not in chunk
        with_choices = [chunk for chunk in chunks if chunk["choices"]]
        assert with_choices[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        for chunk in with_choices[1:-1]:
            [choice] = chunk["choices"]
            assert choice["index"] == 0
            assert choice["finish_reason"] is None
            assert choice["logprobs"] is None
            assert set(choice["delta"]) == {"content"}
        last = with_choices[-1]["choices"][0]
        assert last["finish_reason"] == "stop"
        assert last["delta"] == {}
        text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in with_choices)
        assert text == DEFAULT_REPLY
        if include_usage:
            assert chunks[-1]["choices"] == []
            usage = chunks[-1]["usage"]
            assert usage["completion_tokens"] == len(words(DEFAULT_REPLY))
            assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
            assert all(chunk["usage"] is None for chunk in chunks[:-1])
        else:
            assert chunks[-1] is with_choices[-1]

    async def test_sync_sdk_streams_with_usage(self, alice: ApiUser) -> None:
        def run() -> list[ChatCompletionChunk]:
            stream = alice.openai().chat.completions.create(
                model="fake-coder", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
            return list(stream)

        chunks = await asyncio.to_thread(run)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == DEFAULT_REPLY
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"

    async def test_the_stream_comes_from_the_upstream_as_it_streams(
        self, alice: ApiUser, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.behaviour.token_delay = 0.05
        stream = await alice.async_openai().chat.completions.create(model="fake-coder", messages=MESSAGES, stream=True)
        loop = asyncio.get_running_loop()
        arrivals = [loop.time() async for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
        assert len(arrivals) > 5  # many chunks, not one at the end
        assert arrivals[-1] - arrivals[0] > 0.5

    async def test_chunks_come_ten_a_second_at_most(self, alice: ApiUser, fake_upstream: FakeUpstream) -> None:
        """The API's answers go to programs: fast tokens travel together, a chunk every 100 ms (the app's own
        stream sends twenty a second while the replica is quiet)."""
        fake_upstream.behaviour.token_delay = 0.01
        stream = await alice.async_openai().chat.completions.create(model="fake-coder", messages=MESSAGES, stream=True)
        loop = asyncio.get_running_loop()
        arrivals = [loop.time() async for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
        gaps = sorted(later - earlier for earlier, later in itertools.pairwise(arrivals))
        assert len(gaps) >= 3
        assert gaps[len(gaps) // 2] >= 0.08  # the median gap: the app's pacing would give 0.05

    async def test_many_concurrent_async_streams(self, alice: ApiUser, fake_upstream: FakeUpstream) -> None:
        fake_upstream.behaviour.token_delay = 0.01
        client = alice.async_openai()

        async def one(index: int) -> str:
            stream = await client.chat.completions.create(
                model="fake-coder",
                messages=[{"role": "user", "content": f"{PROMPT} (variant {index})"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            return "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])

        texts = await asyncio.gather(*(one(index) for index in range(12)))
        assert texts == [DEFAULT_REPLY] * 12
        assert len(await conversations_of(alice)) == 12
        assert (await usage_totals(alice))["requests"] == 12

    async def test_a_client_that_goes_away_stops_the_answer(self, alice: ApiUser, fake_upstream: FakeUpstream) -> None:
        fake_upstream.behaviour.token_delay = 0.05
        stream = await alice.async_openai().chat.completions.create(model="fake-coder", messages=MESSAGES, stream=True)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        await stream.close()
        for _ in range(100):
            if fake_upstream.active_streams == 0:
                break
            await asyncio.sleep(0.05)
        assert fake_upstream.active_streams == 0
        [conversation] = await conversations_of(alice)
        async with sessionmaker_of(alice.server.app)() as session:
            statuses = list(
                await session.scalars(
                    select(Message.status).where(
                        Message.conversation_id == conversation["id"], Message.role == "assistant"
                    )
                )
            )
        assert statuses == ["cancelled"]
