"""Real `codesmith serve` processes sharing one database and one Redis, and what tests need to drive them.

A `Cluster` starts named replicas (subprocesses on loopback ports, each with its own log file), restarts,
SIGTERMs and SIGKILLs them. `Watcher` reads an event stream in the background, stamping each event with
its arrival time; `follow` re-attaches with Last-Event-ID whenever a stream breaks or stalls. The fake
upstream runs in the test process, so every wait here is async (a blocking sleep would freeze it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import PASSWORD, TEST_SECRET, free_port
from tests.conversations.helpers import Event, events_of
from tests.fakes.upstream import FakeUpstream, words

PROMPT = "Write a Python function that reverses the words of a sentence"
FEEDBACK = "Make the Python function also handle tabs and newlines"
# A replica imports the whole app (several seconds on a small machine) and runs migrations-free start-up.
START_TIMEOUT = 90.0
LOG_TAIL_LINES = 80
TERMINAL = ("done", "error")

REDIS_VAR = "CODESMITH_TEST_REDIS_URL"


# -- the replicas ----------------------------------------------------------------------------------
def codesmith_command() -> list[str]:
    """The venv's `codesmith` entry point (next to this Python), else the module."""
    script = Path(sys.executable).with_name("codesmith")
    return [str(script)] if script.exists() else [sys.executable, "-m", "codesmith.cli"]


def base_environment() -> dict[str, str]:
    """This process's environment without any CODESMITH_ setting (each replica gets exactly ours)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("CODESMITH_")}


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Replica:
    """One `codesmith serve` process; a restart keeps its name and port and starts a new log."""

    name: str
    port: int
    env: dict[str, str]
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        kwargs.setdefault("timeout", 30)
        return httpx.AsyncClient(base_url=f"{self.url}/api/v1", **kwargs)

    def launch(self) -> None:
        log = self.workdir / f"{self.name}-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            # A session of its own: a kill reaches uvicorn's workers too, and ^C of pytest does not.
            self.process = subprocess.Popen(
                [*codesmith_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.workdir,  # no stray .env is read, and ./data stays in the test's folder
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait for GET /readyz to answer 200; the log's tail in the error when it never does."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            while True:
                if not self.alive:
                    raise RuntimeError(f"replica {self.name} exited during start-up:\n{tail(self.logs[-1])}")
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if loop.time() > deadline:
                    raise RuntimeError(f"replica {self.name} not ready after {timeout:.0f} s:\n{tail(self.logs[-1])}")
                await asyncio.sleep(0.1)

    async def start(self) -> None:
        self.launch()
        await self.ready()

    def kill(self) -> None:
        """SIGKILL, the whole process group: a crash, nothing gets to clean up."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM to the server process: what an orchestrator sends before it stops a replica."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    async def wait_exit(self, timeout: float) -> int | None:
        """The exit status, or None when the process is still running after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.process is not None:
            code = self.process.poll()
            if code is not None:
                return code
            if loop.time() > deadline:
                return None
            await asyncio.sleep(0.05)
        return None

    async def stop(self) -> None:
        self.terminate()
        if await self.wait_exit(15) is None:
            self.kill()
            await self.wait_exit(5)

    def log_text(self) -> str:
        parts = [f"--- {log.name} ---\n{tail(log)}" for log in self.logs]
        return "\n".join(parts)


# Clusters alive now: their logs go into the report of a failing test (see conftest.py).
LIVE_CLUSTERS: list[Cluster] = []


class Cluster:
    """Replicas of one deployment: the same database, Redis, secret and upstream for each."""

    def __init__(self, workdir: Path, settings: dict[str, str]) -> None:
        self.workdir = workdir
        self.settings = settings
        self.replicas: dict[str, Replica] = {}
        self.failed_starts: list[str] = []
        self.admin: User | None = None  # the instance's first account, when a fixture made one
        LIVE_CLUSTERS.append(self)

    def environment(self) -> dict[str, str]:
        return {**base_environment(), **self.settings}

    def __getitem__(self, name: str) -> Replica:
        return self.replicas[name]

    async def start(self, *names: str, retry_failed_start: bool = True) -> None:
        """Start replicas at once (their start-ups overlap) and wait until every one is ready.

        Replicas starting together on a fresh database race to write its first rows; test_startup.py holds
        that they must all come up. Here, by default, one that fails to start gets one more try (noted in
        `failed_starts`, its first log kept), so the other tests measure what they are about.
        """
        for name in names:
            replica = Replica(name, free_port(), self.environment(), self.workdir)
            self.replicas[name] = replica
            replica.launch()

        async def ready(replica: Replica) -> None:
            try:
                await replica.ready()
            except RuntimeError:
                if not retry_failed_start or replica.alive:
                    raise
                self.failed_starts.append(replica.name)
                await replica.start()

        await asyncio.gather(*(ready(self.replicas[name]) for name in names))

    async def restart(self, name: str) -> Replica:
        """Start a stopped (or killed) replica again on its port, with a new log."""
        replica = self.replicas[name]
        if replica.alive:
            await replica.stop()
        await replica.start()
        return replica

    async def ensure_running(self) -> None:
        """Bring back replicas an earlier test stopped or killed."""
        dead = [replica for replica in self.replicas.values() if not replica.alive]
        for replica in dead:
            replica.launch()
        await asyncio.gather(*(replica.ready() for replica in dead))

    async def close(self) -> None:
        for replica in self.replicas.values():
            replica.kill()
        for replica in self.replicas.values():
            await replica.wait_exit(10)
        if self in LIVE_CLUSTERS:
            LIVE_CLUSTERS.remove(self)

    def log_text(self) -> str:
        return "\n".join(replica.log_text() for replica in self.replicas.values())


def replica_settings(
    *, database_url: str, redis_url: str | None, upstream: FakeUpstream, data_dir: Path, **overrides: Any
) -> dict[str, str]:
    """The environment of every replica: loopback only, no vLLM, no OpenAI, a 2-second lease.

    The fake upstream is the server's OpenAI endpoint (a system model, called with the server's key), so
    no model row has to be written behind the replicas' backs; `overrides` are settings by field name.
    """
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": TEST_SECRET,  # one secret: a token from A is good on B
        "openai_base_url": upstream.base_url,
        "openai_api_key": "sk-fake-server-key",
        "openai_models": "fake-coder",
        "allow_private_model_hosts": "true",
        "generation_lease_seconds": "2",
        "rate_limit_requests_per_minute": "0",
        "rate_limit_tokens_per_day": "0",
        "registrations_per_hour": "0",
        "spa_dir": data_dir / "no-spa",
        "log_json": "false",
        "log_level": "INFO",
    }
    if redis_url:
        values["redis_url"] = redis_url
    values.update(overrides)
    return {f"CODESMITH_{key.upper()}": str(value) for key, value in values.items() if value is not None}


# -- databases and Redis -----------------------------------------------------------------------------
async def redis_reachable(url: str) -> str | None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()
    return None


class RedisServer:
    """A redis-server of the test's own (no persistence): restarting it loses everything, like a crash."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def binary() -> str | None:
        return shutil.which("redis-server")

    async def start(self) -> None:
        binary = self.binary()
        assert binary is not None
        self.starts += 1
        log = self.workdir / f"redis-{self.starts}.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while (why := await redis_reachable(self.url)) is not None:
            if self.process.poll() is not None or loop.time() > deadline:
                raise RuntimeError(f"redis-server did not start ({why}):\n{tail(log)}")
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            while self.process.poll() is None:
                await asyncio.sleep(0.02)

    async def restart(self) -> None:
        await self.kill()
        await self.start()


# -- the API -----------------------------------------------------------------------------------------
@dataclass
class User:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def new_user(replica: Replica) -> User:
    """A fresh account, registered and signed in on `replica` (its token works on every replica)."""
    email = f"u{uuid.uuid4().hex[:12]}@example.com"
    async with replica.client() as http:
        created = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
        assert created.status_code == 201, created.text
        token = await http.post("/auth/token", data={"username": email, "password": PASSWORD})
        assert token.status_code == 200, token.text
    return User(created.json()["id"], email, token.json()["access_token"])


def code_reply(tokens: int) -> str:
    """An answer with a code block, at least `tokens` tokens long as the fake upstream splits it (it sends
    one every `token_delay`)."""
    head = "Here is the code:\n\n```python\ndef total():\n    value = 0\n"
    foot = "    return value\n```\n"
    body = ""
    index = 0
    while len(words(head + body + foot)) < tokens:
        body += f"    value += {index}\n"
        index += 1
    return head + body + foot


async def message(replica: Replica, user: User, conversation_id: str, message_id: str) -> dict[str, Any]:
    """The message as `replica` reads it from the conversation's detail."""
    async with replica.client() as http:
        response = await http.get(f"/conversations/{conversation_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    found = [m for m in response.json()["messages"] if m["id"] == message_id]
    assert found, f"message {message_id} not in the conversation"
    return found[0]


async def wait_for_message(
    replica: Replica,
    user: User,
    conversation_id: str,
    message_id: str,
    condition: Callable[[dict[str, Any]], bool],
    timeout: float,
) -> dict[str, Any]:
    """Poll the message through `replica` until `condition` holds; the last state seen otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        current = await message(replica, user, conversation_id, message_id)
        if condition(current) or loop.time() > deadline:
            return current
        await asyncio.sleep(0.1)


async def eventually(condition: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(step)
    return True


# -- event streams -----------------------------------------------------------------------------------
@dataclass
class Timed:
    event: Event
    at: float  # loop.time() when it arrived


class Watcher:
    """Reads one event stream (a streamed POST, or a re-attach) in a background task."""

    def __init__(
        self,
        replica: Replica,
        user: User,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.replica = replica
        self.events: list[Timed] = []
        self.status: int | None = None
        self.body: bytes = b""
        self.failure: BaseException | None = None  # how the connection broke, if it did
        self.ended_at: float | None = None
        self._arrived = asyncio.Event()
        self.task = asyncio.create_task(self._read(user, method, path, json, {**user.headers, **(headers or {})}))

    async def _read(self, user: User, method: str, path: str, json: Any, headers: dict[str, str]) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with (
                self.replica.client(timeout=httpx.Timeout(60, read=60)) as http,
                http.stream(method, path, json=json, headers=headers) as response,
            ):
                self.status = response.status_code
                if response.status_code != 200:
                    self.body = await response.aread()
                    return
                async for event in events_of(response):
                    if event.event == "comment":
                        continue
                    self.events.append(Timed(event, loop.time()))
                    self._arrived.set()
                    if event.event in TERMINAL:
                        return
        except Exception as exc:  # a broken connection is something tests look at, not a crash
            self.failure = exc
        finally:
            self.ended_at = loop.time()
            self._arrived.set()

    # -- what came ---------------------------------------------------------------------------------
    @property
    def started(self) -> dict[str, Any] | None:
        return next((t.event.data for t in self.events if t.event.event == "start"), None)

    @property
    def deltas(self) -> list[Timed]:
        return [t for t in self.events if t.event.event == "delta"]

    @property
    def text(self) -> str:
        return "".join(t.event.data["text"] for t in self.deltas)

    @property
    def terminal(self) -> Timed | None:
        last = self.events[-1] if self.events else None
        return last if last is not None and last.event.event in TERMINAL else None

    @property
    def last_id(self) -> int | None:
        ids = [t.event.id for t in self.events if t.event.id is not None]
        return ids[-1] if ids else None

    # -- waiting -----------------------------------------------------------------------------------
    async def until(self, condition: Callable[[Watcher], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition(self):
            if self.task.done() or loop.time() > deadline:
                return condition(self)
            self._arrived.clear()
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await self._arrived.wait()
            except TimeoutError:
                pass
        return True

    async def finished(self, timeout: float) -> bool:
        """Wait for the stream to end (a terminal event, a close or a break); False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self.task)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        if not self.task.done():
            self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    def describe(self) -> str:
        shown = [f"{t.event.event}#{t.event.id}" for t in self.events[-8:]]
        return f"status={self.status} events={len(self.events)} last={shown} failure={self.failure!r}"


@dataclass
class Transcript:
    """The answer's text put together from delta events of one or more streams, placed by their ids
    (the character offset where each delta ends): overlaps must agree, gaps are errors."""

    text: str = ""
    problems: list[str] = field(default_factory=list)

    def add(self, event: Event) -> None:
        piece = event.data["text"]
        end = event.id if event.id is not None else len(self.text) + len(piece)
        start = end - len(piece)
        if start > len(self.text):
            self.problems.append(f"gap: a delta starts at {start}, the text so far ends at {len(self.text)}")
            return
        overlap = self.text[start:]
        if not piece.startswith(overlap) and not overlap.startswith(piece):
            self.problems.append(f"a delta at {start} disagrees with the text already received")
            return
        if end > len(self.text):
            self.text += piece[len(overlap) :]


@dataclass
class Followed:
    transcript: Transcript
    terminal: Event | None
    attaches: int
    breaks: list[str]


async def follow(
    replica: Replica,
    user: User,
    conversation_id: str,
    message_id: str,
    *,
    timeout: float,
    stall: float = 3.0,
    first: Watcher | None = None,
    on_attach: Callable[[Watcher], Awaitable[None]] | None = None,
) -> Followed:
    """Follow a generation through `replica` to its end, as a careful client does: when a stream ends
    without a terminal event, fails, or brings no event for `stall` seconds, attach again with
    Last-Event-ID (the last id received). `first`: a stream already open."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    transcript = Transcript()
    breaks: list[str] = []
    attaches = 0
    last_id: int | None = None
    watcher = first
    path = f"/conversations/{conversation_id}/messages/{message_id}/stream"
    while loop.time() < deadline:
        if watcher is None:
            headers = {"Last-Event-ID": str(last_id)} if last_id is not None else None
            watcher = Watcher(replica, user, "GET", path, headers=headers)
            attaches += 1
            if on_attach is not None:
                await on_attach(watcher)
        seen = 0
        while True:
            progressed = await watcher.until(lambda w, n=seen: len(w.events) > n, min(stall, deadline - loop.time()))
            for timed in watcher.events[seen:]:
                if timed.event.event == "delta":
                    transcript.add(timed.event)
                if timed.event.id is not None:
                    last_id = timed.event.id
            seen = len(watcher.events)
            if watcher.terminal is not None:
                await watcher.close()
                return Followed(transcript, watcher.terminal.event, attaches, breaks)
            if watcher.task.done():
                breaks.append(f"ended without a terminal event: {watcher.describe()}")
                break
            if not progressed:
                breaks.append(f"stalled for {stall:.0f} s: {watcher.describe()}")
                break
        await watcher.close()
        watcher = None
        await asyncio.sleep(0.2)
    return Followed(transcript, None, attaches, breaks)
