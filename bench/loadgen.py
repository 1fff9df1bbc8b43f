"""The load generator, a process of its own: runs a streaming plan against each target and writes raw results.

Targets are the bench upstream itself ("direct"), Codesmith and, when present, the LiteLLM proxy; the
same batches run against each, interleaved, with the CPU and peak memory of each server measured per
batch. Uses aiohttp (bench venv) and falls back to httpx (the project's venv) when aiohttp is missing.
Usage: `python -m bench.loadgen PLAN.json RESULTS.json` (the plan is written by bench.streaming).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import procstat
from bench.upstream import ANSWER

CONTENT_STARTS = re.compile(rb'"content": ?"[^"]')  # an OpenAI chunk whose delta carries text
REQUEST_TIMEOUT_S = 180.0
VERIFY_CONCURRENCY = 16


@dataclass
class Outcome:
    """One request, as the client saw it. Times in seconds from sending the request."""

    ttft: float | None = None
    total: float | None = None
    ok: bool = False
    error: str | None = None
    chars: int = 0
    tokens: int | None = None  # completion tokens, as the usage reported them
    conversation_id: str | None = None
    message_id: str | None = None
    token: str | None = None
    text: str | None = None  # what was streamed (kept to compare with what was stored; not reported)


@dataclass
class Target:
    name: str
    kind: str  # "openai" (direct, litellm) or "codesmith"
    url: str
    pid: int | None = None
    model: str = "bench-coder"
    headers: dict[str, str] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)  # codesmith: one access token per benchmark user
    model_id: str | None = None
    api: str | None = None  # codesmith: the /api/v1 root, to verify what was stored
    exact_answer: bool = True  # the bench upstream's known answer; False for a real model's free text
    system_prompt: str = "You write code. Answer with one fenced code block."
    max_tokens: int = 2048


def prompt(number: int) -> str:
    return f"Write a Python function that reverses a linked list, variant {number}"


def request_body(target: Target, number: int) -> bytes:
    if target.kind == "codesmith":
        body: dict[str, Any] = {"prompt": prompt(number), "stream": True}
        if target.model_id:
            body["model_id"] = target.model_id
    else:
        body = {
            "model": target.model,
            "messages": [
                {"role": "system", "content": target.system_prompt},
                {"role": "user", "content": prompt(number)},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": target.max_tokens,
        }
    return json.dumps(body).encode()


# -- reading one answer ---------------------------------------------------------------------------
def _events(raw: bytes) -> list[tuple[str, str]]:
    """(event name, data) of each SSE event; unnamed events are "message"."""
    events = []
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        name, data = "message", []
        for line in block.decode().split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            events.append((name, "\n".join(data)))
    return events


def _answer_error(answer: str, exact: bool) -> str | None:
    if exact and answer != ANSWER:
        return f"answer of {len(answer)} characters, expected {len(ANSWER)}"
    if not answer:
        return "empty answer"
    return None


def check_openai(raw: bytes, outcome: Outcome, exact: bool) -> None:
    text, usage, done = [], None, False
    for _, data in _events(raw):
        if data == "[DONE]":
            done = True
            continue
        chunk = json.loads(data)
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            text.append((choice.get("delta") or {}).get("content") or "")
    answer = "".join(text)
    outcome.chars = len(answer)
    outcome.tokens = (usage or {}).get("completion_tokens")
    if error := _answer_error(answer, exact):
        outcome.error = error
    elif not done:
        outcome.error = "no [DONE]"
    elif usage is None:
        outcome.error = "no usage chunk"
    else:
        outcome.ok = True


def check_codesmith(raw: bytes, outcome: Outcome, exact: bool) -> None:
    events = _events(raw)
    names = [name for name, _ in events]
    if not names or names[0] != "start":
        outcome.error = f"first event {names[:1]}, expected start"
        return
    start = json.loads(events[0][1])
    outcome.conversation_id, outcome.message_id = start.get("conversation_id"), start.get("message_id")
    answer = "".join(json.loads(data)["text"] for name, data in events if name == "delta")
    outcome.chars, outcome.text = len(answer), answer
    if names[-1] != "done":
        outcome.error = f"ended with {names[-1]}: {events[-1][1][:200]}"
    elif error := _answer_error(answer, exact):
        outcome.error = "streamed: " + error
    else:
        final = json.loads(events[-1][1])
        outcome.tokens = (final.get("usage") or {}).get("completion_tokens")
        if final.get("status") != "complete" or final.get("content") != answer:
            outcome.error = f"done event: status {final.get('status')}, {len(final.get('content') or '')} chars"
        else:
            outcome.ok = True


def _first_token_in(target: Target, window: bytes) -> bool:
    if target.kind == "codesmith":
        return b"event: delta" in window
    return CONTENT_STARTS.search(window) is not None


# -- HTTP clients ---------------------------------------------------------------------------------
class Client:
    """A keep-alive HTTP client per target: `stream` yields (status, chunk) as bytes arrive."""

    async def stream(self, url: str, body: bytes, headers: dict[str, str]) -> AsyncIterator[tuple[int, bytes]]:
        raise NotImplementedError
        yield 0, b""  # pragma: no cover - makes this an async generator

    async def get_json(self, url: str, headers: dict[str, str]) -> tuple[int, Any]:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class AiohttpClient(Client):
    def __init__(self) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self.session = aiohttp.ClientSession(
            # Idle connections go before a uvicorn server (5 s keep-alive) closes them: a reused one it closed
            # fails "Can not write request body" (seen once in 200 streams).
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=None, keepalive_timeout=3.0),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
            auto_decompress=False,
        )

    async def stream(self, url: str, body: bytes, headers: dict[str, str]) -> AsyncIterator[tuple[int, bytes]]:
        async with self.session.post(url, data=body, headers=headers) as response:
            yield response.status, b""
            async for chunk in response.content.iter_any():
                yield response.status, chunk

    async def get_json(self, url: str, headers: dict[str, str]) -> tuple[int, Any]:
        async with self.session.get(url, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def close(self) -> None:
        await self.session.close()


class HttpxClient(Client):
    def __init__(self) -> None:
        import httpx

        self.client = httpx.AsyncClient(
            timeout=REQUEST_TIMEOUT_S, limits=httpx.Limits(max_connections=None, max_keepalive_connections=None)
        )

    async def stream(self, url: str, body: bytes, headers: dict[str, str]) -> AsyncIterator[tuple[int, bytes]]:
        async with self.client.stream("POST", url, content=body, headers=headers) as response:
            yield response.status_code, b""
            async for chunk in response.aiter_raw():
                yield response.status_code, chunk

    async def get_json(self, url: str, headers: dict[str, str]) -> tuple[int, Any]:
        response = await self.client.get(url, headers=headers)
        return response.status_code, response.json()

    async def close(self) -> None:
        await self.client.aclose()


def make_client() -> Client:
    try:
        return AiohttpClient()
    except ImportError:
        return HttpxClient()


# -- one request, one batch -----------------------------------------------------------------------
async def one_request(client: Client, target: Target, number: int, token: str | None) -> Outcome:
    headers = {"content-type": "application/json", "accept": "text/event-stream", **target.headers}
    if token:
        headers["authorization"] = f"Bearer {token}"
    outcome = Outcome(token=token)
    body = request_body(target, number)
    parts: list[bytes] = []
    status = 0
    started = time.perf_counter()
    try:
        tail = b""
        async for got_status, chunk in client.stream(target.url, body, headers):
            status = got_status
            if outcome.ttft is None:
                window = tail + chunk
                if _first_token_in(target, window):
                    outcome.ttft = time.perf_counter() - started
                tail = window[-64:]
            parts.append(chunk)
        outcome.total = time.perf_counter() - started
    except Exception as exc:  # a load test records failures, it does not stop at them
        outcome.total = time.perf_counter() - started
        outcome.error = f"{type(exc).__name__}: {exc}"[:300]
        return outcome
    raw = b"".join(parts)
    if status != 200:
        outcome.error = f"HTTP {status}: {raw[:200].decode(errors='replace')}"
        return outcome
    try:
        (check_codesmith if target.kind == "codesmith" else check_openai)(raw, outcome, target.exact_answer)
    except (ValueError, KeyError, TypeError) as exc:
        outcome.error = f"unreadable stream: {type(exc).__name__}: {exc}"[:300]
    return outcome


async def run_batch(
    client: Client, target: Target, concurrency: int, per_stream: int, numbers: itertools.count[int]
) -> list[Outcome]:
    """`concurrency` streams at once, each sending `per_stream` requests back to back."""

    async def stream_worker(index: int) -> list[Outcome]:
        token = target.tokens[index % len(target.tokens)] if target.tokens else None
        return [await one_request(client, target, next(numbers), token) for _ in range(per_stream)]

    results = await asyncio.gather(*(stream_worker(index) for index in range(concurrency)))
    return [outcome for worker in results for outcome in worker]


async def verify_stored(client: Client, target: Target, outcomes: list[Outcome]) -> dict[str, Any]:
    """GET every conversation the batch created: the answer must be stored whole and complete."""
    semaphore = asyncio.Semaphore(VERIFY_CONCURRENCY)
    failures: list[str] = []
    checked = 0

    async def verify(outcome: Outcome) -> None:
        nonlocal checked
        async with semaphore:
            status, detail = await client.get_json(
                f"{target.api}/conversations/{outcome.conversation_id}",
                {"authorization": f"Bearer {outcome.token}"},
            )
        checked += 1
        message = next((m for m in (detail or {}).get("messages", []) if m.get("id") == outcome.message_id), None)
        if status != 200 or message is None:
            failures.append(f"{outcome.conversation_id}: HTTP {status}, message missing")
        elif message.get("status") != "complete" or message.get("content") != outcome.text:
            failures.append(
                f"{outcome.message_id}: stored {message.get('status')} with {len(message.get('content') or '')} chars"
            )

    await asyncio.gather(*(verify(o) for o in outcomes if o.conversation_id and o.message_id))
    return {"checked": checked, "stored_whole": checked - len(failures), "failures": failures[:5]}


# -- the plan ---------------------------------------------------------------------------------------
class Meter:
    """CPU seconds and peak RSS of the servers over one batch."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before: dict[str, float] = {}
        self.started = 0.0

    def start(self) -> None:
        for pid in self.pids.values():
            procstat.reset_peak_rss(pid)
        self.before = {name: procstat.cpu_seconds(pid) for name, pid in self.pids.items()}
        self.started = time.perf_counter()

    def stop(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.started
        cpu = {name: round(procstat.cpu_seconds(pid) - self.before[name], 3) for name, pid in self.pids.items()}
        peak = {name: round(procstat.peak_rss_mb(pid), 1) for name, pid in self.pids.items()}
        return {"wall_s": round(wall, 3), "cpu_s": cpu, "peak_rss_mb": peak}


async def post_json(client: Client, url: str, payload: dict[str, Any]) -> Any:
    result = None
    async for _, chunk in client.stream(url, json.dumps(payload).encode(), {"content-type": "application/json"}):
        result = (result or b"") + chunk
    return json.loads(result or b"null")


async def run_plan(plan: dict[str, Any]) -> dict[str, Any]:
    targets = [Target(**spec) for spec in plan["targets"]]
    upstream = plan.get("upstream")  # the bench upstream's control endpoints; None for a real engine
    numbers = itertools.count(plan.get("first_prompt_number", 1))
    clients = {target.name: make_client() for target in targets}
    control = make_client()
    batches: list[dict[str, Any]] = []
    try:
        for sweep in plan["sweeps"]:
            chosen = sweep.get("targets")
            active = [target for target in targets if not chosen or target.name in chosen]
            if upstream and sweep.get("delay_ms") is not None:
                await post_json(control, f"{upstream}/_bench/delay", {"delay_ms": sweep["delay_ms"]})
            for target in active:  # warm-up: connections, pools and caches, not measured
                warm = await run_batch(clients[target.name], target, plan.get("warmup_concurrency", 10), 1, numbers)
                _log(f"warm-up {target.name} @{sweep['delay_ms']} ms: {sum(o.ok for o in warm)}/{len(warm)} ok")
                failed = [o.error for o in warm if not o.ok]
                if failed:
                    _log(f"  first failure: {failed[0]}")
            for level in sweep["levels"]:
                for round_index in range(sweep.get("rounds", 1)):
                    shift = round_index % len(active)
                    for target in active[shift:] + active[:shift]:  # rotate who goes first
                        batch = await _measured_batch(
                            clients[target.name], control, upstream, target, sweep, level, numbers
                        )
                        batch["round"] = round_index
                        batches.append(batch)
    finally:
        for client in [*clients.values(), control]:
            await client.close()
    return {"loadgen_client": type(control).__name__, "batches": batches}


async def _measured_batch(
    client: Client,
    control: Client,
    upstream: str | None,
    target: Target,
    sweep: dict[str, Any],
    level: dict[str, Any],
    numbers: itertools.count[int],
) -> dict[str, Any]:
    pids = {"upstream": int(sweep["upstream_pid"]), "loadgen": os.getpid()}
    if target.pid:
        pids["server"] = target.pid
    meter = Meter(pids)
    meter.start()
    outcomes = await run_batch(client, target, level["concurrency"], level["per_stream"], numbers)
    usage = meter.stop()
    lateness = (await post_json(control, f"{upstream}/_bench/stats", {}))["max_lateness"] if upstream else 0.0
    await asyncio.sleep(0.3)  # let the servers finish their bookkeeping before the next batch
    stored = await verify_stored(client, target, outcomes) if target.kind == "codesmith" else None
    ok = sum(outcome.ok for outcome in outcomes)
    _log(
        f"{target.name:>9} @{sweep['delay_ms'] or '-'} ms x{level['concurrency']:<3}: {ok}/{len(outcomes)} ok, "
        f"wall {usage['wall_s']:.2f} s, server cpu {usage['cpu_s'].get('server', 0):.2f} s"
        + (f", stored whole {stored['stored_whole']}/{stored['checked']}" if stored else "")
    )
    return {
        "target": target.name,
        "delay_ms": sweep["delay_ms"],
        "concurrency": level["concurrency"],
        "per_stream": level["per_stream"],
        **usage,
        "upstream_max_lateness_ms": round(lateness * 1000, 2),
        "stored": stored,
        "requests": [
            {k: v for k, v in asdict(o).items() if k not in ("token", "conversation_id", "message_id", "text")}
            for o in outcomes
        ],
    }


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main() -> None:
    plan_path, out_path = sys.argv[1], sys.argv[2]
    with open(plan_path) as handle:
        plan = json.load(handle)
    runner: Callable[[], Coroutine[Any, Any, dict[str, Any]]] = lambda: run_plan(plan)  # noqa: E731
    try:
        import uvloop

        result = uvloop.run(runner())
    except ImportError:
        result = asyncio.run(runner())
    with open(out_path, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
