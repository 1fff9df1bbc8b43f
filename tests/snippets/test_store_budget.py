"""Storing an answer's snippets: parsed off the event loop, and plainly titled when titling takes too long."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time

import pytest
from fastapi import FastAPI

from codesmith.conversations.tables import Message
from codesmith.snippets import service
from codesmith.snippets.extract import ExtractedSnippet, extract_snippets
from tests.conftest import UserHandle
from tests.snippets.seed import Seeded, seed_conversation, sessionmaker_of

ANSWER = "Two:\n\n```c\nint main(void) {\n  return 0;\n}\n```\n\n```python\ndef f():\n    pass\n```\n"


async def store(app: FastAPI, seeded: Seeded) -> list[tuple[str | None, str]]:
    async with sessionmaker_of(app)() as session:
        message = await session.get(Message, seeded.answer_id)
        assert message is not None
        message.content = ANSWER
        snippets = await service.store_snippets(session, message)
        await session.commit()
    return [(snippet.language, snippet.title) for snippet in snippets]


class TestExtractionOffTheLoop:
    async def test_extraction_runs_in_a_worker_thread(
        self, app: FastAPI, user: UserHandle, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        threads: list[threading.Thread] = []

        def recording(markdown: str) -> list[ExtractedSnippet]:
            threads.append(threading.current_thread())
            return extract_snippets(markdown)

        monkeypatch.setattr(service, "extract_snippets", recording)
        assert await store(app, seeded) == [("c", "int main(...)"), ("python", "def f()")]
        assert threads and threading.main_thread() not in threads

    async def test_titling_past_its_budget_falls_back_to_numbered_titles(
        self, app: FastAPI, user: UserHandle, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        seeded = await seed_conversation(app, user.id)

        def slow(markdown: str) -> list[ExtractedSnippet]:
            time.sleep(1.0)  # a pathological answer: titling would take this long
            return extract_snippets(markdown)

        monkeypatch.setattr(service, "extract_snippets", slow)
        monkeypatch.setattr(service, "EXTRACT_BUDGET_SECONDS", 0.1)
        loop = asyncio.get_running_loop()
        ticks: list[float] = []

        async def tick() -> None:
            while True:
                ticks.append(loop.time())
                await asyncio.sleep(0.02)

        ticker = asyncio.create_task(tick())
        started = loop.time()
        with caplog.at_level(logging.WARNING, logger="codesmith.snippets"):
            stored = await store(app, seeded)
        ticker.cancel()
        assert stored == [("c", "C snippet 1"), ("python", "Python snippet 2")]
        assert any("ran out of time" in record.message for record in caplog.records)
        assert loop.time() - started < 0.8, "the budget, not the titling, decided when storing ended"
        gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
        assert max(gaps) < 0.5, "the event loop kept running while the titles were worked on"
