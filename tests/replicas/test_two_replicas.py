"""Two replicas on one database and one Redis: they start together; a generation is followed and cancelled
from either; one generation per conversation and the per-user limits hold across them; a restart of one
leaves the other's generation alone; a crash is noticed within the lease."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.replicas.harness import (
    FEEDBACK,
    PROMPT,
    Cluster,
    Replica,
    Transcript,
    User,
    Watcher,
    code_reply,
    eventually,
    message,
    new_user,
    replica_settings,
    tail,
    wait_for_message,
)

pytestmark = pytest.mark.replicas

LEASE_SECONDS = 2.0
RUNNING = ("pending", "streaming")
# Each generation reserves its prompt plus ANSWER_RESERVE_TOKENS of the user's day until it ends.
ANSWER_RESERVE_TOKENS = 1000
REQUESTS_PER_MINUTE = 3
TOKENS_PER_DAY = 2000


@pytest.fixture(scope="module")
async def replicas(
    database_url: str, session_redis: str, upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    workdir = tmp_path_factory.mktemp("replicas")
    settings = replica_settings(
        database_url=database_url,
        redis_url=session_redis,
        upstream=upstream,
        data_dir=workdir / "data",
        generation_lease_seconds=LEASE_SECONDS,
        answer_reserve_tokens=ANSWER_RESERVE_TOKENS,
    )
    cluster = Cluster(workdir, settings)
    try:
        await cluster.start("A", "B")  # together, as a deployment starts them (see TestStartTogether)
        # The first account of a fresh instance administers it: the one that sets per-user limits below.
        cluster.admin = await new_user(cluster["A"])
        async with cluster["A"].client() as http:
            me = (await http.get("/users/me", headers=cluster.admin.headers)).json()
        assert me["is_admin"], "the first account of the fresh database is no administrator"
        yield cluster
    finally:
        await cluster.close()


@pytest.fixture
async def cluster(replicas: Cluster, upstream: FakeUpstream) -> Cluster:
    """Both replicas up (an earlier test may have stopped one), the upstream at its defaults."""
    await replicas.ensure_running()
    upstream.reset()
    return replicas


def slow(upstream: FakeUpstream, tokens: int, delay: float = 0.05) -> str:
    """The upstream answers with a code block of `tokens` tokens, one every `delay` seconds."""
    reply = code_reply(tokens)
    upstream.behaviour.reply = reply
    upstream.behaviour.token_delay = delay
    return reply


def stream_path(started: dict[str, Any]) -> str:
    return f"/conversations/{started['conversation_id']}/messages/{started['message_id']}/stream"


async def start_generation(replica: Replica, user: User) -> tuple[Watcher, dict[str, Any]]:
    """A new conversation streamed from `replica`; its watcher and its `start` payload."""
    owner = Watcher(replica, user, "POST", "/conversations", json={"prompt": PROMPT, "stream": True})
    assert await owner.until(lambda w: w.started is not None, 20), owner.describe() + owner.body.decode()
    started = owner.started
    assert started is not None
    return owner, started


async def stored(replica: Replica, user: User, started: dict[str, Any]) -> dict[str, Any]:
    return await message(replica, user, started["conversation_id"], started["message_id"])


async def generate(replica: Replica, user: User) -> httpx.Response:
    async with replica.client() as http:
        return await http.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)


async def set_limits(cluster: Cluster, user: User, **limits: int) -> None:
    assert cluster.admin is not None
    async with cluster["A"].client() as http:
        response = await http.put(f"/admin/users/{user.id}/limits", json=limits, headers=cluster.admin.headers)
    assert response.status_code == 200, response.text


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "rate_limited"
    retry_after = response.headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1, retry_after


class TestStartTogether:
    async def test_replicas_started_at_once_on_a_fresh_database_all_came_up(self, cluster: Cluster) -> None:
        """The module's two replicas were started at the same moment on a new database; Cluster.start gives
        a replica that failed one more try, so the other tests can run, and notes it: here it must not have."""
        failed = {name: cluster[name].logs[0] for name in cluster.failed_starts}
        details = "\n".join(f"{name}:\n{tail(log)}" for name, log in failed.items())
        assert not failed, f"replicas failed to start next to each other:\n{details}"
        user = await new_user(cluster["B"])
        for name in ("A", "B"):
            async with cluster[name].client() as http:
                response = await http.get("/models", headers=user.headers)
            assert response.status_code == 200, response.text
            system = [m["model"] for m in response.json()["items"] if m["owner"] == "system"]
            assert system == ["fake-coder"], (name, system)


class TestFollowOnAnotherReplica:
    async def test_a_watcher_on_b_gets_live_deltas_of_a_generation_running_on_a(
        self, cluster: Cluster, upstream: FakeUpstream
    ) -> None:
        a, b = cluster["A"], cluster["B"]
        user = await new_user(a)
        reply = slow(upstream, 60)  # about 3 s of tokens
        owner, started = await start_generation(a, user)
        try:
            watcher = Watcher(b, user, "GET", stream_path(started))
            assert await watcher.finished(30), watcher.describe()
            assert await owner.finished(10), owner.describe()
        finally:
            await owner.close()

        assert watcher.status == 200, watcher.body
        assert watcher.terminal is not None, f"B's stream ended without done/error: {watcher.describe()}"
        assert watcher.terminal.event.event == "done", watcher.terminal.event.data
        # Live: the text arrives as it is made, many small deltas over the generation's seconds, not a
        # lump now and then (polling the database every 0.5 s gives about six for these 3 s).
        deltas = watcher.deltas
        spread = deltas[-1].at - deltas[0].at if deltas else 0.0
        assert len(deltas) >= 10, f"only {len(deltas)} deltas reached B over {spread:.2f} s"
        assert spread > 1.0, f"B's {len(deltas)} deltas arrived within {spread:.2f} s: one lump, not live"
        pace = spread / (len(deltas) - 1)
        assert pace <= 0.3, f"B got a delta every {pace:.2f} s on average: batches, not the live tokens"
        # Every delta's id is the offset where it ends: a re-attach with Last-Event-ID resumes exactly.
        transcript = Transcript()
        for timed in deltas:
            transcript.add(timed.event)
        assert transcript.problems == []
        assert watcher.text == transcript.text

        final = await stored(b, user, started)
        assert final["status"] == "complete"
        assert final["content"] == reply
        assert watcher.text == final["content"]
        assert watcher.terminal.event.data["content"] == final["content"]
        assert owner.text == reply


class TestCancelFromAnotherReplica:
    async def test_cancel_on_b_stops_the_generation_running_on_a_within_a_second(
        self, cluster: Cluster, upstream: FakeUpstream
    ) -> None:
        a, b = cluster["A"], cluster["B"]
        user = await new_user(a)
        reply = slow(upstream, 120)  # about 6 s of tokens
        owner, started = await start_generation(a, user)
        loop = asyncio.get_running_loop()
        try:
            assert await owner.until(lambda w: len(w.deltas) > 0, 15), owner.describe()
            await asyncio.sleep(1.0)  # some text made (and stored in a batch), much more to come

            cancel_at = loop.time()
            async with b.client() as http:
                response = await http.post(
                    f"/conversations/{started['conversation_id']}/messages/{started['message_id']}/cancel",
                    headers=user.headers,
                )
            answered_at = loop.time()
            assert response.status_code == 200, response.text
            cancelled = response.json()
            assert cancelled["status"] == "cancelled"
            assert cancelled["content"], "the partial answer was not kept"
            assert reply.startswith(cancelled["content"])
            assert len(cancelled["content"]) < len(reply)

            assert await owner.finished(5), f"A's stream did not end after the cancel: {owner.describe()}"
        finally:
            await owner.close()

        assert owner.terminal is not None, f"A's stream ended without done/error: {owner.describe()}"
        took = owner.terminal.at - cancel_at
        assert took <= 1.0, (
            f"A's stream ended {took:.2f} s after the cancel was sent to B (answered after "
            f"{answered_at - cancel_at:.2f} s)"
        )
        assert owner.terminal.event.event == "done", owner.terminal.event.data
        assert owner.terminal.event.data["status"] == "cancelled", owner.terminal.event.data["status"]
        assert owner.terminal.event.data["content"] == cancelled["content"]
        # Stopped for real: the upstream call is closed (no more tokens paid for), the text stays put.
        assert await eventually(lambda: upstream.active_streams == 0, 2.0), "A still reads the upstream"
        final = await stored(a, user, started)
        assert final["status"] == "cancelled"
        assert final["content"] == cancelled["content"]
        await asyncio.sleep(0.7)
        assert (await stored(b, user, started))["content"] == cancelled["content"]


class TestSharedLimits:
    """Limits set on the user (by an administrator), counted once for the deployment."""

    async def test_the_minute_s_requests_are_counted_over_all_replicas(self, cluster: Cluster) -> None:
        a, b = cluster["A"], cluster["B"]
        user = await new_user(a)
        await set_limits(cluster, user, requests_per_minute=REQUESTS_PER_MINUTE)
        answers = [await generate(replica, user) for replica in (a, b, a)]
        assert [r.status_code for r in answers] == [201, 201, 201], [r.text[:300] for r in answers]
        # Either replica alone has seen at most two of the user's requests: only a shared count says no.
        assert_rate_limited(await generate(b, user))
        assert_rate_limited(await generate(a, user))

    async def test_a_day_s_tokens_spent_on_one_replica_are_spent_on_the_other(
        self, cluster: Cluster, upstream: FakeUpstream
    ) -> None:
        a, b = cluster["A"], cluster["B"]
        user = await new_user(a)
        await set_limits(cluster, user, tokens_per_day=TOKENS_PER_DAY)
        # A short answer on B first: B has counted this user's day before A spends most of it.
        assert (await generate(b, user)).status_code == 201
        upstream.behaviour.reply = code_reply(ANSWER_RESERVE_TOKENS - 100)
        assert (await generate(a, user)).status_code == 201
        async with a.client() as http:
            used = (await http.get("/usage", headers=user.headers)).json()["limits"]["tokens_used_today"]
        assert used > TOKENS_PER_DAY - ANSWER_RESERVE_TOKENS, f"only {used} tokens used: the day is not spent"

        # What is left cannot hold another answer's reserve; B alone has seen only the short answer.
        assert_rate_limited(await generate(b, user))


class TestRollingRestart:
    async def test_restarting_b_leaves_the_generation_on_a_complete(
        self, cluster: Cluster, upstream: FakeUpstream
    ) -> None:
        a, b = cluster["A"], cluster["B"]
        user = await new_user(a)
        reply = slow(upstream, 600)  # 30 s at this pace: B is back long before; then it speeds up
        owner, started = await start_generation(a, user)
        try:
            assert await owner.until(lambda w: len(w.deltas) > 0, 15), owner.describe()
            b.terminate()
            code = await b.wait_exit(30)
            assert code is not None, "B did not stop on SIGTERM"
            await b.start()  # the new B, on the same port
            assert owner.terminal is None, "the generation ended before B was back: the reply is too short"
            # Let the new B run its start-up and a few rounds of whatever checks other replicas' work.
            await asyncio.sleep(LEASE_SECONDS + 0.5)
            upstream.behaviour.token_delay = 0.0  # now finish
            assert await owner.finished(30), owner.describe()
        finally:
            await owner.close()

        assert owner.terminal is not None, f"A's stream ended without done/error: {owner.describe()}"
        assert owner.terminal.event.event == "done", owner.terminal.event.data
        assert owner.terminal.event.data["status"] == "complete", owner.terminal.event.data["status"]
        assert owner.text == reply
        final = await stored(b, user, started)
        assert final["status"] == "complete"
        assert final["content"] == reply


class TestConcurrentStarts:
    async def test_one_generation_per_conversation_across_replicas(
        self, cluster: Cluster, upstream: FakeUpstream
    ) -> None:
        a, b = cluster["A"], cluster["B"]
        user = await new_user(a)
        async with a.client() as http:
            created = await http.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)
        assert created.status_code == 201, created.text
        conversation = created.json()
        cid = conversation["id"]
        first_answer = next(m for m in conversation["messages"] if m["role"] == "assistant")
        assert first_answer["status"] == "complete"
        reply = slow(upstream, 200)  # the winner runs for seconds: every other start meets it

        # Six starts at once, alternating over A and B: feedback mostly, a regenerate now and then.
        requests = []
        for index in range(6):
            replica = a if index % 2 == 0 else b
            if index % 3 == 2:
                path, body = f"/conversations/{cid}/messages/{first_answer['id']}/regenerate", {"stream": True}
            else:
                path, body = f"/conversations/{cid}/messages", {"content": FEEDBACK, "stream": True}
            requests.append((replica, path, body))
        clients = [replica.client() for replica, _, _ in requests]
        try:
            for http in clients:  # connections open before the race, so the requests really overlap
                assert (await http.get("/users/me", headers=user.headers)).status_code == 200

            async def send(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> tuple[int, Any]:
                request = http.build_request("POST", path, json=body, headers=user.headers)
                response = await http.send(request, stream=True)
                try:
                    if response.status_code == 200:
                        return 200, None  # the winner's stream: leaving it does not stop the generation
                    await response.aread()
                    return response.status_code, response.json()
                finally:
                    await response.aclose()

            results = await asyncio.gather(
                *(send(http, path, body) for http, (_, path, body) in zip(clients, requests, strict=True))
            )
        finally:
            for http in clients:
                await http.aclose()

        statuses = sorted(status for status, _ in results)
        assert statuses == [200, 409, 409, 409, 409, 409], results
        for status, body in results:
            if status == 409:
                assert body["code"] == "generation_in_progress", body

        upstream.behaviour.token_delay = 0.0  # let the winner finish
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while True:
            async with b.client() as http:
                detail = (await http.get(f"/conversations/{cid}", headers=user.headers)).json()
            if not any(m["status"] in RUNNING for m in detail["messages"]) or loop.time() > deadline:
                break
            await asyncio.sleep(0.2)
        answers = [m for m in detail["messages"] if m["role"] == "assistant" and m["id"] != first_answer["id"]]
        assert len(answers) == 1, [(m["kind"], m["status"]) for m in answers]
        assert answers[0]["status"] == "complete"
        assert answers[0]["content"] == reply
        # Refused starts leave nothing behind: at most the winner's own feedback message is new.
        asked = [m for m in detail["messages"] if m["role"] == "user"]
        assert len(asked) == (2 if answers[0]["parent_id"] != first_answer["parent_id"] else 1), [
            (m["kind"], m["content"][:30]) for m in asked
        ]


class TestCrash:
    async def test_a_killed_owner_s_generation_is_interrupted_within_the_lease(
        self, cluster: Cluster, upstream: FakeUpstream
    ) -> None:
        a, b = cluster["A"], cluster["B"]
        user = await new_user(a)
        reply = slow(upstream, 300)  # 15 s: far longer than the test waits
        owner, started = await start_generation(a, user)
        watcher = Watcher(b, user, "GET", stream_path(started))
        try:
            assert await watcher.until(lambda w: len(w.deltas) > 0, 15), watcher.describe()
            partial = await wait_for_message(
                b, user, started["conversation_id"], started["message_id"], lambda m: bool(m["content"]), 10
            )
            assert partial["status"] in RUNNING and partial["content"], partial

            a.kill()
            killed_at = asyncio.get_running_loop().time()
            final = await wait_for_message(
                b,
                user,
                started["conversation_id"],
                started["message_id"],
                lambda m: m["status"] not in RUNNING,
                LEASE_SECONDS + 6,
            )
            noticed = asyncio.get_running_loop().time() - killed_at
            assert final["status"] == "interrupted", f"after {noticed:.1f} s: {final['status']}"
            assert final["content"], "the partial answer was not kept"
            assert reply.startswith(final["content"])
            assert len(final["content"]) < len(reply)

            assert await watcher.finished(3), f"B's watcher got no end: {watcher.describe()}"
        finally:
            await watcher.close()
            await owner.close()
        assert watcher.terminal is not None, f"B's stream ended without done/error: {watcher.describe()}"
        assert watcher.terminal.event.event == "done", watcher.terminal.event.data
        assert watcher.terminal.event.data["status"] == "interrupted", watcher.terminal.event.data["status"]
        assert watcher.terminal.event.data["content"] == final["content"]
