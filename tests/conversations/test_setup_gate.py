"""The setup gate: a few generation requests set up at a time, in arrival order; a request gives its slot
back once its answer is launched, and before it asks a server to count tokens (holding no database
connection either), so a slow or hostile /tokenize keeps nobody else from starting."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from codesmith.conversations.gate import SETUP_SLOTS, SetupGate, Slot
from codesmith.conversations.generations import GenerationService
from tests.conftest import UserHandle
from tests.conversations.helpers import add_model
from tests.fakes.upstream import FakeUpstream

PROMPT = "Write a Python function that reverses a linked list."


def free_slots(app: FastAPI) -> int:
    generations: GenerationService = app.state.generations
    return generations.setups._semaphore._value  # what the gate has left to give


class TestGate:
    async def test_slots_are_taken_in_arrival_order_and_given_back_once(self) -> None:
        gate = SetupGate(2)
        first, second = await gate.enter(), await gate.enter()
        order: list[int] = []

        async def wait(index: int) -> Slot:
            slot = await gate.enter()
            order.append(index)
            return slot

        waiting = [asyncio.create_task(wait(index)) for index in range(3)]
        await asyncio.sleep(0.01)
        assert order == []  # both slots taken: everyone waits
        first.release()
        first.release()  # idempotent: a second release frees nothing more
        await asyncio.sleep(0.01)
        assert order == [0]
        second.release()
        (await waiting[0]).release()
        await asyncio.gather(*waiting)
        assert order == [0, 1, 2]

    def test_a_request_without_a_slot_releases_nothing(self) -> None:
        Slot().release()


class TestRequests:
    async def test_a_launched_answer_holds_no_slot_while_it_streams(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        await add_model(app, fake_upstream)
        fake_upstream.behaviour.token_delay = 0.05
        async with client.stream(
            "POST", "/conversations", json={"prompt": PROMPT, "stream": True}, headers=user.headers
        ) as response:
            assert response.status_code == 200
            async for _ in response.aiter_bytes():
                assert free_slots(app) == SETUP_SLOTS
                break
        assert free_slots(app) == SETUP_SLOTS

    async def test_a_slow_token_count_holds_neither_a_slot_nor_a_connection(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, fake_upstream: FakeUpstream
    ) -> None:
        # A small window: the offline estimate cannot vouch for the prompt, the server must count it.
        model_id = await add_model(app, fake_upstream, context_window=500)
        fake_upstream.behaviour.tokenize_delay = 1.0
        request = asyncio.create_task(
            client.post("/conversations", json={"prompt": PROMPT, "model_id": model_id}, headers=user.headers)
        )
        while fake_upstream.tokenizing == 0 and not request.done():
            await asyncio.sleep(0.01)
        assert not request.done(), (await request).text
        await asyncio.sleep(0.2)  # well into the count, which takes a second
        assert fake_upstream.tokenizing == 1
        assert free_slots(app) == SETUP_SLOTS
        assert app.state.engine.sync_engine.pool.checkedout() == 0
        response = await request
        assert response.status_code == 201, response.text
