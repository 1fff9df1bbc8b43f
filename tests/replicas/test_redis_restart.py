"""Redis restarted (and emptied) in the middle of a generation: the generation goes on and is stored whole,
and a watcher on another replica that re-attaches with Last-Event-ID ends up with exactly that text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.fakes.upstream import FakeUpstream
from tests.replicas.harness import (
    PROMPT,
    Cluster,
    RedisServer,
    Watcher,
    code_reply,
    follow,
    message,
    new_user,
    replica_settings,
)

pytestmark = pytest.mark.replicas


@pytest.fixture(scope="module")
async def replicas(
    database_url: str, owned_redis: RedisServer, upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    workdir = tmp_path_factory.mktemp("replicas-redis")
    settings = replica_settings(
        database_url=database_url, redis_url=owned_redis.url, upstream=upstream, data_dir=workdir / "data"
    )
    cluster = Cluster(workdir, settings)
    try:
        await cluster.start("A", "B")
        yield cluster
    finally:
        await cluster.close()


class TestRedisRestart:
    async def test_a_generation_survives_a_redis_restart_and_a_watcher_gets_all_of_it(
        self, replicas: Cluster, owned_redis: RedisServer, upstream: FakeUpstream
    ) -> None:
        a, b = replicas["A"], replicas["B"]
        upstream.reset()
        user = await new_user(a)
        reply = code_reply(140)  # about 7 s
        upstream.behaviour.reply = reply
        upstream.behaviour.token_delay = 0.05
        owner = Watcher(a, user, "POST", "/conversations", json={"prompt": PROMPT, "stream": True})
        try:
            assert await owner.until(lambda w: w.started is not None, 20), owner.describe()
            started = owner.started
            assert started is not None
            cid, mid = started["conversation_id"], started["message_id"]
            restarts: list[asyncio.Task[bool]] = []

            async def restart_redis_once_text_flows(watcher: Watcher) -> None:
                """On the first attach: once text flows, kill Redis, and start it again (empty) a second later."""
                if restarts:
                    return

                async def restart() -> bool:
                    await watcher.until(lambda w: len(w.deltas) >= 3, 15)
                    mid_stream = owner.terminal is None
                    await owned_redis.kill()  # a crash: everything in it is gone
                    await asyncio.sleep(1.0)
                    await owned_redis.start()
                    return mid_stream

                restarts.append(asyncio.create_task(restart()))

            followed = await follow(b, user, cid, mid, timeout=40, on_attach=restart_redis_once_text_flows)
            assert restarts, "B's watcher never attached"
            assert await restarts[0], "the generation had ended before Redis went down: lengthen the reply"
            await owner.finished(10)
        finally:
            await owner.close()

        final = await message(b, user, cid, mid)
        assert final["status"] == "complete", final["status"]
        assert final["content"] == reply, "the stored answer is not the whole reply"
        assert followed.terminal is not None, f"B's watcher never got to the end: {followed.breaks}"
        assert followed.terminal.event == "done", followed.terminal.data
        assert followed.terminal.data["status"] == "complete"
        assert followed.transcript.problems == [], followed.transcript.problems
        assert followed.transcript.text == final["content"], (
            f"after {followed.attaches} attaches ({followed.breaks}): the watcher's text differs from the stored one"
        )
