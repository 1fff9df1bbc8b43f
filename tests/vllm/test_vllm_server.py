"""What the app relies on from a real vLLM server: models, chat (streamed or not), /tokenize, errors, LoRA.

The model is random, so these tests assert structure, token counts and finish reasons, never the words.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from tests.vllm.server import VllmServer

MESSAGES: list[Any] = [
    {"role": "system", "content": "You write small Python functions."},
    {"role": "user", "content": "Write a function that sorts a list of integers."},
]
LORA_NAME = "tiny-lora"
# vLLM's phrase for prompts over the context window; the app's llm/errors.py keys on it.
CONTEXT_ERROR_PHRASE = "maximum context length"


def user_message(content: str) -> list[Any]:
    return [{"role": "user", "content": content}]


@pytest.fixture(scope="module")
async def llm(vllm_server: VllmServer) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=vllm_server.base_url, api_key="unused", max_retries=0, timeout=120) as sdk:
        yield sdk


@pytest.fixture(scope="module")
async def http(vllm_server: VllmServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=vllm_server.root_url, timeout=120) as client:
        yield client


async def count_tokens(http: httpx.AsyncClient, model: str, messages: list[Any]) -> int:
    response = await http.post("/tokenize", json={"model": model, "messages": messages})
    response.raise_for_status()
    return int(response.json()["count"])


class TestModelList:
    async def test_lists_the_served_model_with_its_context_window(
        self, llm: AsyncOpenAI, vllm_server: VllmServer
    ) -> None:
        page = await llm.models.list()

        served = {model.id: model for model in page.data}
        assert vllm_server.model in served
        assert getattr(served[vllm_server.model], "max_model_len", None) == vllm_server.max_model_len


class TestChatCompletion:
    async def test_returns_one_assistant_choice_with_usage(self, llm: AsyncOpenAI, vllm_server: VllmServer) -> None:
        completion = await llm.chat.completions.create(
            model=vllm_server.model, messages=MESSAGES, max_tokens=12, seed=7
        )

        assert completion.model == vllm_server.model
        [choice] = completion.choices
        assert choice.message.role == "assistant"
        assert isinstance(choice.message.content, str)
        assert choice.finish_reason in ("length", "stop")
        usage = completion.usage
        assert usage is not None
        assert usage.prompt_tokens > 0
        assert 0 < usage.completion_tokens <= 12
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    async def test_stops_at_max_tokens_with_finish_reason_length(
        self, llm: AsyncOpenAI, vllm_server: VllmServer
    ) -> None:
        completion = await llm.chat.completions.create(
            model=vllm_server.model,
            messages=MESSAGES,
            max_tokens=9,
            extra_body={"ignore_eos": True},  # a random model may emit its end token at any point
        )

        assert completion.choices[0].finish_reason == "length"
        assert completion.usage is not None
        assert completion.usage.completion_tokens == 9

    async def test_prompt_tokens_match_the_tokenize_endpoint(
        self, llm: AsyncOpenAI, http: httpx.AsyncClient, vllm_server: VllmServer
    ) -> None:
        counted = await count_tokens(http, vllm_server.model, MESSAGES)

        completion = await llm.chat.completions.create(model=vllm_server.model, messages=MESSAGES, max_tokens=1)

        assert completion.usage is not None
        assert completion.usage.prompt_tokens == counted


class TestStreamedChatCompletion:
    async def test_streams_content_deltas_then_a_final_usage_chunk(
        self, llm: AsyncOpenAI, vllm_server: VllmServer
    ) -> None:
        stream = await llm.chat.completions.create(
            model=vllm_server.model,
            messages=MESSAGES,
            max_tokens=10,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"ignore_eos": True},
        )
        chunks = [chunk async for chunk in stream]

        choice_chunks = [chunk for chunk in chunks if chunk.choices]
        deltas = [chunk.choices[0].delta.content for chunk in choice_chunks if chunk.choices[0].delta.content]
        assert deltas, "no content deltas were streamed"
        assert choice_chunks[-1].choices[0].finish_reason == "length"
        assert all(chunk.usage is None for chunk in chunks[:-1])
        final = chunks[-1]
        assert final.choices == []
        assert final.usage is not None
        assert final.usage.prompt_tokens > 0
        assert final.usage.completion_tokens == 10
        assert final.usage.total_tokens == final.usage.prompt_tokens + 10


class TestTokenize:
    async def test_counts_the_chat_prompt_tokens(self, http: httpx.AsyncClient, vllm_server: VllmServer) -> None:
        response = await http.post("/tokenize", json={"model": vllm_server.model, "messages": MESSAGES})

        assert response.status_code == 200
        body = response.json()
        assert body["count"] == len(body["tokens"]) > 0
        assert body["max_model_len"] == vllm_server.max_model_len

    async def test_longer_conversations_count_more_tokens(
        self, http: httpx.AsyncClient, vllm_server: VllmServer
    ) -> None:
        longer = [*MESSAGES, {"role": "assistant", "content": "def f(xs): return sorted(xs)"}]

        assert await count_tokens(http, vllm_server.model, longer) > await count_tokens(
            http, vllm_server.model, MESSAGES
        )


class TestContextWindow:
    async def test_prompt_over_the_context_window_is_a_400_naming_the_limit(
        self, llm: AsyncOpenAI, vllm_server: VllmServer
    ) -> None:
        with pytest.raises(openai.BadRequestError) as caught:
            await llm.chat.completions.create(
                model=vllm_server.model, messages=user_message("word " * 1000), max_tokens=8
            )

        error = caught.value
        assert error.status_code == 400
        print("vLLM context-length error body:", error.body)
        assert isinstance(error.body, dict)
        assert CONTEXT_ERROR_PHRASE in error.body["message"]
        assert str(vllm_server.max_model_len) in error.body["message"]

    async def test_streamed_prompt_over_the_context_window_fails_before_streaming(
        self, http: httpx.AsyncClient, vllm_server: VllmServer
    ) -> None:
        payload = {
            "model": vllm_server.model,
            "messages": user_message("word " * 1000),
            "max_tokens": 8,
            "stream": True,
        }

        response = await http.post("/v1/chat/completions", json=payload)

        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/json")
        assert CONTEXT_ERROR_PHRASE in response.json()["error"]["message"]

    async def test_max_tokens_over_the_context_window_is_a_400(self, llm: AsyncOpenAI, vllm_server: VllmServer) -> None:
        with pytest.raises(openai.BadRequestError) as caught:
            await llm.chat.completions.create(
                model=vllm_server.model, messages=MESSAGES, max_tokens=vllm_server.max_model_len + 1
            )

        assert "max_model_len" in str(caught.value)

    async def test_answer_is_cut_where_prompt_and_answer_fill_the_window(
        self, llm: AsyncOpenAI, http: httpx.AsyncClient, vllm_server: VllmServer
    ) -> None:
        # vLLM does not reject prompt + max_tokens > window: it shortens the answer to what still fits.
        messages = user_message("word " * 230)
        prompt_tokens = await count_tokens(http, vllm_server.model, messages)
        room = vllm_server.max_model_len - prompt_tokens
        assert 0 < room < 100, f"the prompt should nearly fill the window, it has {prompt_tokens} tokens"

        completion = await llm.chat.completions.create(
            model=vllm_server.model, messages=messages, max_tokens=200, extra_body={"ignore_eos": True}
        )

        assert completion.choices[0].finish_reason == "length"
        assert completion.usage is not None
        assert completion.usage.completion_tokens == room
        assert completion.usage.total_tokens == vllm_server.max_model_len


class TestUnknownModel:
    async def test_unknown_model_is_a_404(self, llm: AsyncOpenAI) -> None:
        with pytest.raises(openai.NotFoundError) as caught:
            await llm.chat.completions.create(model="no-such-model", messages=MESSAGES, max_tokens=4)

        assert caught.value.status_code == 404
        assert "does not exist" in str(caught.value)


@pytest.fixture
async def loaded_lora(http: httpx.AsyncClient, vllm_server: VllmServer) -> AsyncIterator[str]:
    """The tiny random adapter, loaded at runtime and unloaded afterwards so other tests see the base list."""
    payload = {"lora_name": LORA_NAME, "lora_path": str(vllm_server.lora_adapter_path)}
    response = await http.post("/v1/load_lora_adapter", json=payload)
    assert response.status_code == 200, response.text
    try:
        yield LORA_NAME
    finally:
        unloaded = await http.post("/v1/unload_lora_adapter", json={"lora_name": LORA_NAME})
        assert unloaded.status_code == 200, unloaded.text


class TestRuntimeLora:
    async def test_loaded_adapter_is_listed_under_its_base_model(
        self, llm: AsyncOpenAI, loaded_lora: str, vllm_server: VllmServer
    ) -> None:
        page = await llm.models.list()

        served = {model.id: model for model in page.data}
        assert loaded_lora in served
        assert getattr(served[loaded_lora], "parent", None) == vllm_server.model

    async def test_generating_with_the_adapter_changes_the_output(
        self, llm: AsyncOpenAI, loaded_lora: str, vllm_server: VllmServer
    ) -> None:
        async def greedy_answer(model: str) -> str:
            completion = await llm.chat.completions.create(
                model=model, messages=MESSAGES, max_tokens=16, temperature=0, extra_body={"ignore_eos": True}
            )
            assert completion.model == model
            assert completion.usage is not None
            assert completion.usage.completion_tokens == 16
            return completion.choices[0].message.content or ""

        # The adapter's weights are large next to the base model's, so greedy decoding must diverge.
        assert await greedy_answer(loaded_lora) != await greedy_answer(vllm_server.model)

    async def test_loading_the_same_name_twice_is_a_400(self, http: httpx.AsyncClient, loaded_lora: str) -> None:
        response = await http.post("/v1/load_lora_adapter", json={"lora_name": loaded_lora, "lora_path": "/anywhere"})

        assert response.status_code == 400
        assert "already been loaded" in response.json()["error"]["message"]

    async def test_missing_adapter_path_is_a_404(self, http: httpx.AsyncClient) -> None:
        response = await http.post(
            "/v1/load_lora_adapter", json={"lora_name": "missing-lora", "lora_path": "/nonexistent/adapter"}
        )

        assert response.status_code == 404
        assert "missing-lora" in response.json()["error"]["message"]
