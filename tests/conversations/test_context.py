"""What the model sees: the fixed system prompt, the path, trimming to the context window, and the 422."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from codesmith.conversations.prompt import (
    SYSTEM_MESSAGE,
    SYSTEM_PROMPT,
    answer_reserve,
    build_context,
    title_from,
)
from codesmith.conversations.tables import Message
from codesmith.errors import ContextWindowExceeded
from codesmith.llm.types import ChatMessage
from tests.conftest import UserHandle
from tests.conversations.helpers import add_model, sessionmaker_of
from tests.fakes.upstream import FakeUpstream, count_prompt

PROMPT = "Write a Python function that reverses the words of a sentence"


class WordCounter:
    """Counts like the fake upstream's /tokenize (words + 4 a message + 3), and records each call."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, messages: list[ChatMessage]) -> tuple[int, bool]:
        self.calls += 1
        return count_prompt([dict(m) for m in messages]), True


def chain(exchanges: int, words_per_answer: int = 40) -> list[ChatMessage]:
    """The request, then `exchanges` answers each followed by feedback."""
    path: list[ChatMessage] = [{"role": "user", "content": "request " * 10}]
    for i in range(exchanges):
        path.append({"role": "assistant", "content": f"answer{i} " * words_per_answer})
        path.append({"role": "user", "content": f"feedback{i} please"})
    return path


class TestSystemPrompt:
    def test_it_asks_for_fenced_code_the_refusal_marker_and_secrecy(self) -> None:
        assert "fenced" in SYSTEM_PROMPT and "language" in SYSTEM_PROMPT
        assert "NOT_CODE: <short reason>" in SYSTEM_PROMPT
        assert "Never reveal" in SYSTEM_PROMPT
        assert SYSTEM_MESSAGE == {"role": "system", "content": SYSTEM_PROMPT}


class TestTitle:
    @pytest.mark.parametrize(
        ("prompt", "title"),
        [
            ("Sort a list in Go", "Sort a list in Go"),
            ("\n\n   Parse   CSV  files\nwith headers", "Parse CSV files"),
            ("", "Untitled"),
        ],
    )
    def test_short_first_lines_are_kept_whole(self, prompt: str, title: str) -> None:
        assert title_from(prompt) == title

    def test_a_long_line_is_cut_at_a_word_boundary(self) -> None:
        title = title_from("word " * 40)
        assert len(title) <= 80 and title.endswith("word…")


class TestBuildContext:
    async def test_a_short_path_is_sent_whole_without_counting(self) -> None:
        counter = WordCounter()
        path = chain(2)
        context = await build_context(path, context_window=8192, reserve_tokens=2048, count=counter)
        assert context.messages == [SYSTEM_MESSAGE, *path]
        assert context.max_tokens == 2048 and context.dropped == 0
        assert counter.calls == 0  # the conservative estimate is enough: no round trip

    async def test_the_oldest_turns_between_request_and_newest_exchange_are_dropped(self) -> None:
        counter = WordCounter()
        path = chain(8)
        window = 600
        context = await build_context(path, context_window=window, reserve_tokens=2048, count=counter)
        assert context.max_tokens == answer_reserve(window, 2048) == 150
        kept = context.messages
        assert kept[0] == SYSTEM_MESSAGE and kept[1] == path[0]
        assert kept[-2:] == path[-2:]
        # What is left out is a prefix of the middle: the oldest turns, whole pairs.
        assert context.dropped > 0 and context.dropped % 2 == 0
        assert kept[2:] == path[1 + context.dropped :]
        assert count_prompt([dict(m) for m in kept]) + context.max_tokens <= window
        # The fewest turns are dropped: one more pair would have fitted no more.
        one_more = [SYSTEM_MESSAGE, path[0], *path[1 + context.dropped - 2 :]]
        assert count_prompt([dict(m) for m in one_more]) + context.max_tokens > window
        assert counter.calls <= 6  # a binary search, not one count per turn

    async def test_when_the_request_and_the_newest_exchange_do_not_fit_it_is_422(self) -> None:
        with pytest.raises(ContextWindowExceeded) as raised:
            await build_context(
                chain(3, words_per_answer=400), context_window=600, reserve_tokens=100, count=WordCounter()
            )
        assert raised.value.status == 422 and raised.value.code == "context_window_exceeded"

    def test_the_answer_reserve_is_capped_for_small_models(self) -> None:
        assert answer_reserve(128_000, 2048) == 2048
        assert answer_reserve(4096, 2048) == 1024
        assert answer_reserve(1000, 2048) == 250


class TestTrimmingEndToEnd:
    async def test_a_long_feedback_loop_goes_on_with_the_oldest_turns_dropped(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        window = 640
        fake_upstream.behaviour.max_model_len = window  # the fake refuses anything longer
        model_id = await add_model(app, fake_upstream, context_window=window)
        created = await client.post(
            "/conversations", json={"prompt": PROMPT, "model_id": model_id}, headers=user.headers
        )
        conversation = created.json()
        cid = conversation["id"]
        feedback = [f"Rename the function to version_{i} in the code" for i in range(8)]
        for note in feedback:
            response = await client.post(f"/conversations/{cid}/messages", json={"content": note}, headers=user.headers)
            assert response.status_code == 201, response.text
            assert response.json()["messages"][-1]["status"] == "complete", response.json()["messages"][-1]
        sent = fake_upstream.requests[-1]
        messages = sent["messages"]
        assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
        assert messages[1] == {"role": "user", "content": PROMPT}
        assert messages[-1] == {"role": "user", "content": feedback[-1]}
        assert messages[-2]["role"] == "assistant"
        user_turns = [m["content"] for m in messages[2:] if m["role"] == "user"]
        assert len(user_turns) < len(feedback)  # the oldest were dropped...
        assert user_turns == feedback[-len(user_turns) :]  # ...and the newest kept, in order
        assert count_prompt(messages) + sent["max_tokens"] <= window
        assert sent["max_tokens"] == answer_reserve(window, 2048)

    async def test_a_request_too_long_for_the_model_is_422_before_anything_is_stored(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        model_id = await add_model(app, fake_upstream, context_window=160)  # less than the system prompt
        response = await client.post(
            "/conversations", json={"prompt": PROMPT, "model_id": model_id, "stream": True}, headers=user.headers
        )
        assert response.status_code == 422
        assert response.json()["code"] == "context_window_exceeded"
        assert fake_upstream.requests == []
        async with sessionmaker_of(app)() as session:
            assert (await session.execute(select(func.count()).select_from(Message))).scalar_one() == 0

    async def test_feedback_that_cannot_fit_is_422_and_not_stored(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        model_id = await add_model(app, fake_upstream, context_window=400)
        conversation = (
            await client.post("/conversations", json={"prompt": PROMPT, "model_id": model_id}, headers=user.headers)
        ).json()
        long_note = "Also handle this case in the function: " + "tabs and punctuation " * 60
        response = await client.post(
            f"/conversations/{conversation['id']}/messages", json={"content": long_note}, headers=user.headers
        )
        assert response.status_code == 422
        assert response.json()["code"] == "context_window_exceeded"
        async with sessionmaker_of(app)() as session:
            count = select(func.count()).select_from(Message).where(Message.conversation_id == conversation["id"])
            assert (await session.execute(count)).scalar_one() == 2
