"""Codesmith as replicas: what a second worker buys, how late a delta arrives on another replica, and what
the leases and the reaper cost the database.

Three parts, each with its own processes:

1. *Throughput*: the streaming benchmark's load generator and upstream (bench.streaming, 5 ms between
   tokens) against one `codesmith serve` (one worker, SQLite) and one `codesmith serve --workers 2` (with
   its own Redis), and straight at the upstream, interleaved in one run: the stream-time ratio of each.
2. *Cross-replica delay*: two `codesmith serve` processes (replicas A and B) on one SQLite database and one
   Redis. Each client starts a generation on A (`stream: true`) and, once A has named the message,
   re-attaches to it on B (`GET .../messages/{id}/stream`); every delta's arrival on A and on B is
   timestamped by one client (`python -m bench.replicas delay-client`), matched by the SSE `id:` (the
   character offset).
3. *Leases and the reaper*: the app's own statements (`renew_leases`, `reap_expired`, the reaper's SELECT
   `_any_expired`) timed directly on SQLite and PostgreSQL with 1,000 running generations among 120,000
   messages, and the database load they make for 1, 3 and 10 replicas at the default lease.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import procs, streaming
from bench.stats import percentile

# -- plan -------------------------------------------------------------------------------------------
THROUGHPUT_CONCURRENCY = (100, 200)
THROUGHPUT_CONCURRENCY_QUICK = (20, 50)
THROUGHPUT_DELAY_MS = 5.0  # the streaming benchmark's main sweep: its ratio targets are stated there
DELAY_CONCURRENCY = (1, 20, 100)
DELAY_CONCURRENCY_QUICK = (1, 10)
DELAY_TOKEN_MS = 20.0  # 300 tokens over 6 s: long enough to re-attach and watch ~300 deltas each
DELAY_ROUNDS_AT_ONE = 3  # one stream is few deltas: three streams one after the other
LEASE_SECONDS = 15.0  # CODESMITH_GENERATION_LEASE_SECONDS' default
REPLICA_COUNTS = (1, 3, 10)
RUNNING = 1_000
MESSAGES = 120_000
MESSAGES_QUICK = 12_000
TIMED_REPEATS = 60
TIMED_REPEATS_QUICK = 15
REAPED_ROWS = 100  # one replica of ten gone: its generations, reaped in one statement
CLIENT_TIMEOUT_S = 900


@dataclass(frozen=True)
class Variant:
    name: str
    workers: int
    postgres: bool = False


THROUGHPUT_VARIANTS = (
    Variant("codesmith-1w", 1),
    Variant("codesmith-2w", 2),
)
THROUGHPUT_VARIANTS_PG = (
    Variant("codesmith-1w-pg", 1, postgres=True),
    Variant("codesmith-2w-pg", 2, postgres=True),
)


def run(*, quick: bool, with_postgres: bool, throughput_postgres: bool = False) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {"database_note": "SQLite unless the variant says PostgreSQL"}
    phases: dict[str, float] = {}
    parts: tuple[tuple[str, Callable[[], dict[str, Any]]], ...] = (
        ("throughput", lambda: throughput(quick=quick, with_postgres=with_postgres and throughput_postgres)),
        ("delay", lambda: cross_replica_delay(quick=quick)),
        ("leases", lambda: lease_costs(quick=quick, with_postgres=with_postgres)),
    )
    for name, part in parts:
        phase_started = time.monotonic()
        procs.say(f"replicas: {name}")
        result[name] = part()
        phases[name] = round(time.monotonic() - phase_started, 1)
    result["seconds"] = {**phases, "total": round(time.monotonic() - started, 1)}
    return result


# -- processes --------------------------------------------------------------------------------------
def start_redis(running: list[procs.Server], log_dir: Path) -> str:
    """A throwaway redis-server on a free port (no persistence); its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise procs.BenchError("redis-server is not installed (Debian: apt-get install -y redis-server)")
    port = procs.free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = procs.Server("redis", command, procs.clean_env(), log_dir, cwd=log_dir)
    running.append(server)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise procs.BenchError(f"redis-server exited:\n{server.log_tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return f"redis://127.0.0.1:{port}/0"
        time.sleep(0.1)
    raise procs.BenchError(f"redis-server did not answer on port {port}:\n{server.log_tail()}")


def start_codesmith(
    running: list[procs.Server],
    workdir: Path,
    upstream_root: str,
    *,
    name: str,
    workers: int = 1,
    env_extra: dict[str, str] | None = None,
    migrate: bool = True,
) -> tuple[str, int]:
    """`codesmith serve [--workers N]` on `workdir`'s SQLite database (or the one env_extra names)."""
    env = streaming.codesmith_env(workdir, upstream_root)
    env.update(env_extra or {})
    command = str(procs.PROJECT_VENV / "bin" / "codesmith")
    if migrate:
        migrated = subprocess.run(
            [command, "migrate"], env=env, cwd=workdir, capture_output=True, text=True, check=False
        )
        if migrated.returncode != 0:
            raise procs.BenchError(f"codesmith migrate failed:\n{migrated.stderr[-2000:]}")
    port = procs.free_port()
    serve = [command, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    server = procs.Server(name, serve, env, workdir, cwd=workdir)
    running.append(server)
    root = f"http://127.0.0.1:{port}"
    server.wait_http(f"{root}/readyz", timeout=90)
    if workers > 1:
        _wait_all_workers(server, f"{root}/readyz", workers)
    return root, server.pid


def _wait_all_workers(server: procs.Server, url: str, workers: int) -> None:
    """uvicorn's workers share the port: the first that answers says nothing of the others. Wait until
    the master has `workers` children and the port has answered a few times in a row."""
    from bench import procstat

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = [pid for pid in procstat.process_tree(server.pid) if pid != server.pid]
        if len(children) >= workers:
            break
        time.sleep(0.2)
    time.sleep(2.0)  # imports and the lifespan of the later workers
    for _ in range(10):
        httpx.get(url, timeout=5).raise_for_status()


def set_upstream_delay(upstream_root: str, delay_ms: float) -> None:
    httpx.post(f"{upstream_root}/_bench/delay", json={"delay_ms": delay_ms}, timeout=10).raise_for_status()


@contextlib.contextmanager
def maybe_postgres(enabled: bool, data: Path) -> Iterator[tuple[str, str] | None]:
    """A fresh PostgreSQL cluster (two databases: one per Codesmith) when enabled and installed."""
    if not enabled:
        yield None
        return
    from bench import postgres

    data.parent.chmod(0o755)  # the server runs as the postgres user, which must reach its folder
    try:
        cluster = postgres.cluster(data)
        url, _ = cluster.__enter__()
    except procs.BenchError as exc:
        procs.say(f"PostgreSQL skipped: {exc}")
        yield None
        return
    try:
        second = url.rsplit("/", 1)[0] + "/codesmith2"
        _create_database(url, "codesmith2")
        yield url, second
    finally:
        cluster.__exit__(None, None, None)


def _create_database(url: str, name: str) -> None:
    """A second database on the same cluster, made by the superuser (trust authentication on loopback)."""
    import asyncpg

    port = int(url.rsplit(":", 1)[1].split("/")[0])
    role = url.split("://", 1)[1].split(":", 1)[0]

    async def create() -> None:
        connection = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="postgres")
        try:
            await connection.execute(f'CREATE DATABASE {name} OWNER "{role}"')
        finally:
            await connection.close()

    asyncio.run(create())


# -- 1. throughput: one worker against two --------------------------------------------------------
def throughput(*, quick: bool, with_postgres: bool) -> dict[str, Any]:
    concurrencies = THROUGHPUT_CONCURRENCY_QUICK if quick else THROUGHPUT_CONCURRENCY
    python = streaming.loadgen_python()
    variants = [*THROUGHPUT_VARIANTS]
    # Servers stop before PostgreSQL does: the nesting order of these contexts.
    with (
        procs.scratch_dir("codesmith-bench-replicas-") as workdir,
        maybe_postgres(with_postgres, workdir / "pg") as pg_urls,
        procs.servers() as running,
    ):
        if pg_urls is not None:
            variants += THROUGHPUT_VARIANTS_PG
        upstream_root, upstream_pid = streaming.start_upstream(running, workdir)
        redis_url = start_redis(running, workdir)
        targets: list[dict[str, Any]] = [
            {"name": "direct", "kind": "openai", "url": f"{upstream_root}/v1/chat/completions"}
        ]
        pg_index = 0
        for number, variant in enumerate(variants):
            home = workdir / variant.name
            home.mkdir()
            env = {"CODESMITH_REDIS_URL": f"{redis_url[:-1]}{number}"} if variant.workers > 1 else {}
            if variant.postgres and pg_urls is not None:
                env["CODESMITH_DATABASE_URL"] = pg_urls[pg_index]
                pg_index += 1
            root, pid = start_codesmith(
                running, home, upstream_root, name=variant.name, workers=variant.workers, env_extra=env
            )
            api = f"{root}/api/v1"
            tokens = streaming.register_users(api, streaming.BENCH_USERS)
            targets.append(
                {
                    "name": variant.name,
                    "kind": "codesmith",
                    "url": f"{api}/conversations",
                    "pid": pid,
                    "tokens": tokens,
                    "model_id": streaming.wait_for_model(api, tokens[0]),
                    "api": api,
                }
            )
        plan = {
            "upstream": upstream_root,
            "targets": targets,
            "sweeps": [
                {
                    "delay_ms": THROUGHPUT_DELAY_MS,
                    "rounds": 1 if quick else 2,
                    "upstream_pid": upstream_pid,
                    "levels": [{"concurrency": c, "per_stream": 1} for c in concurrencies],
                    "targets": None,
                }
            ],
        }
        try:
            raw = streaming._run_loadgen(python, plan, workdir, int(targets[1]["pid"]), None)
        finally:
            _keep_logs(workdir, [variant.name for variant in variants], "replicas")
    return {
        "variants": [{"name": v.name, "workers": v.workers, "postgres": v.postgres} for v in variants],
        "delay_ms": THROUGHPUT_DELAY_MS,
        "loadgen_client": raw["loadgen_client"],
        "summary": streaming.summarize(raw["batches"]),
        "batches": raw["batches"],
    }


def _keep_logs(workdir: Path, names: list[str], prefix: str) -> None:
    results = procs.BENCH_DIR / "results"
    results.mkdir(exist_ok=True)
    for name in names:
        for log in [workdir / f"{name}.log", workdir / name / f"{name}.log"]:
            if log.exists():
                shutil.copyfile(log, results / f"latest-{prefix}-{name}.log")


# -- 2. the delay a delta gains on another replica ------------------------------------------------
def cross_replica_delay(*, quick: bool) -> dict[str, Any]:
    levels = DELAY_CONCURRENCY_QUICK if quick else DELAY_CONCURRENCY
    with procs.scratch_dir("codesmith-bench-relay-") as workdir, procs.servers() as running:
        upstream_root, _ = streaming.start_upstream(running, workdir)
        set_upstream_delay(upstream_root, DELAY_TOKEN_MS)
        redis_url = start_redis(running, workdir)
        env = {"CODESMITH_REDIS_URL": redis_url}
        a_root, _ = start_codesmith(running, workdir, upstream_root, name="replica-a", env_extra=env)
        # B: the same database, data folder (secrets) and Redis; already migrated by A.
        b_root, _ = start_codesmith(running, workdir, upstream_root, name="replica-b", env_extra=env, migrate=False)
        tokens = streaming.register_users(f"{a_root}/api/v1", streaming.BENCH_USERS)
        model_id = streaming.wait_for_model(f"{a_root}/api/v1", tokens[0])
        plan = {
            "a": f"{a_root}/api/v1",
            "b": f"{b_root}/api/v1",
            "tokens": tokens,
            "model_id": model_id,
            "levels": [{"concurrency": c, "rounds": DELAY_ROUNDS_AT_ONE if c == 1 else 1} for c in levels],
        }
        plan_path, out_path = workdir / "relay-plan.json", workdir / "relay.json"
        plan_path.write_text(json.dumps(plan))
        python = str(procs.PROJECT_VENV / "bin" / "python")  # aiohttp and uvloop are the app's too
        try:
            subprocess.run(
                [python, "-m", "bench.replicas", "delay-client", str(plan_path), str(out_path)],
                cwd=procs.REPO_ROOT,
                env=procs.clean_env(),
                check=True,
                timeout=CLIENT_TIMEOUT_S,
            )
        finally:
            _keep_logs(workdir, ["replica-a", "replica-b"], "relay")
        raw: dict[str, Any] = json.loads(out_path.read_text())
    return {"token_delay_ms": DELAY_TOKEN_MS, **raw}


@dataclass
class Seen:
    """The SSE events one connection received: (event, id, seconds since the level began)."""

    events: list[tuple[str, int, float]]
    text: str = ""
    error: str | None = None


async def _read_sse(response: Any, origin: float, seen: Seen, on_start: Any = None) -> None:
    buffer = b""
    async for chunk in response.content.iter_any():
        now = time.perf_counter() - origin
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            name, offset, data = "message", -1, b""
            for line in block.split(b"\n"):
                if line.startswith(b"event:"):
                    name = line[6:].strip().decode()
                elif line.startswith(b"id:"):
                    offset = int(line[3:].strip())
                elif line.startswith(b"data:"):
                    data = line[5:].strip()
            if name == "message" and not data:
                continue  # a ping
            seen.events.append((name, offset, now))
            if name == "delta":
                seen.text += json.loads(data)["text"]
            elif name == "start" and on_start is not None:
                on_start(json.loads(data))


async def _one_pair(
    session: Any, plan: dict[str, Any], index: int, number: int, origin: float
) -> tuple[Seen, Seen, float | None]:
    """A generation started on A and followed on B; B's attach time (None when it never attached)."""
    token = plan["tokens"][index % len(plan["tokens"])]
    headers = {"authorization": f"Bearer {token}", "accept": "text/event-stream"}
    a, b = Seen([]), Seen([])
    started: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    attached: list[float] = []

    def on_start(payload: dict[str, Any]) -> None:
        if not started.done():
            started.set_result(payload)

    async def on_a() -> None:
        body = {"prompt": f"Write a Python function that reverses a linked list, variant {number}", "stream": True}
        body["model_id"] = plan["model_id"]
        try:
            async with session.post(f"{plan['a']}/conversations", json=body, headers=headers) as response:
                if response.status != 200:
                    a.error = f"HTTP {response.status}: {(await response.text())[:200]}"
                    return
                await _read_sse(response, origin, a, on_start)
        except Exception as exc:  # recorded, not raised: one failure must not stop the level
            a.error = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            if not started.done():
                started.cancel()

    async def on_b() -> None:
        try:
            payload = await started
        except asyncio.CancelledError:
            b.error = "A never started"
            return
        url = f"{plan['b']}/conversations/{payload['conversation_id']}/messages/{payload['message_id']}/stream"
        try:
            async with session.get(url, headers=headers) as response:
                attached.append(time.perf_counter() - origin)
                if response.status != 200:
                    b.error = f"HTTP {response.status}: {(await response.text())[:200]}"
                    return
                await _read_sse(response, origin, b)
        except Exception as exc:
            b.error = f"{type(exc).__name__}: {exc}"[:300]

    await asyncio.gather(on_a(), on_b())
    return a, b, (attached[0] if attached else None)


def match_delays(a: Seen, b: Seen) -> tuple[list[float], list[float]]:
    """Per delta A received after B's first delta (B is then live, not catching up): how much later B
    received the same text, i.e. B's first event whose offset reaches A's. Second list: every delta,
    including those B got in its catch-up on attaching."""
    b_deltas = [(offset, at) for name, offset, at in b.events if name == "delta"]
    live: list[float] = []
    every: list[float] = []
    if not b_deltas:
        return live, every
    b_live_from = b_deltas[0][1]
    cursor = 0
    for name, offset, at in a.events:
        if name != "delta":
            continue
        while cursor < len(b_deltas) and b_deltas[cursor][0] < offset:
            cursor += 1
        if cursor == len(b_deltas):
            break
        delay = (b_deltas[cursor][1] - at) * 1000
        every.append(delay)
        if at >= b_live_from:
            live.append(delay)
    return live, every


async def _delay_level(plan: dict[str, Any], concurrency: int, rounds: int, numbers: Iterator[int]) -> dict[str, Any]:
    import aiohttp

    live: list[float] = []
    every: list[float] = []
    ends: list[float] = []
    attach_ms: list[float] = []
    errors: list[str] = []
    pairs = a_deltas = b_deltas = 0
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=180)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for _ in range(rounds):
            origin = time.perf_counter()
            results = await asyncio.gather(
                *(_one_pair(session, plan, index, next(numbers), origin) for index in range(concurrency))
            )
            for a, b, attached in results:
                pairs += 1
                problem = a.error or b.error
                if problem is None and a.text != b.text:
                    problem = f"B streamed {len(b.text)} characters, A {len(a.text)}"
                if problem is None and (not a.events or a.events[-1][0] != "done" or b.events[-1][0] != "done"):
                    problem = f"ended with {a.events[-1][0] if a.events else '-'} / {b.events[-1][0]}"
                if problem is not None:
                    errors.append(problem)
                    continue
                got_live, got_every = match_delays(a, b)
                live += got_live
                every += got_every
                a_deltas += sum(1 for event in a.events if event[0] == "delta")
                b_deltas += sum(1 for event in b.events if event[0] == "delta")
                ends.append((b.events[-1][2] - a.events[-1][2]) * 1000)
                start_at = next(at for name, _, at in a.events if name == "start")
                if attached is not None:
                    attach_ms.append((attached - start_at) * 1000)
    return {
        "concurrency": concurrency,
        "streams": pairs,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "deltas_on_a": a_deltas,
        "deltas_on_b": b_deltas,
        "matched_live": len(live),
        "added_p50_ms": _r(percentile(live, 50)),
        "added_p95_ms": _r(percentile(live, 95)),
        "added_p99_ms": _r(percentile(live, 99)),
        "added_max_ms": _r(max(live) if live else None),
        "added_all_p50_ms": _r(percentile(every, 50)),
        "added_all_p95_ms": _r(percentile(every, 95)),
        "end_added_p50_ms": _r(percentile(ends, 50)),
        "end_added_p95_ms": _r(percentile(ends, 95)),
        "attach_after_start_p50_ms": _r(percentile(attach_ms, 50)),
    }


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


async def _delay_client(plan: dict[str, Any]) -> dict[str, Any]:
    numbers = iter(range(1, 10**9))
    # Warm-up: connections, the models cache and both replicas' first requests; not reported.
    await _delay_level(plan, 5, 1, numbers)
    levels = []
    for level in plan["levels"]:
        figures = await _delay_level(plan, level["concurrency"], level["rounds"], numbers)
        print(
            f"relay x{figures['concurrency']:<3}: {figures['streams'] - figures['errors']}/{figures['streams']} ok, "
            f"added p50 {figures['added_p50_ms']} ms, p95 {figures['added_p95_ms']} ms",
            file=sys.stderr,
            flush=True,
        )
        levels.append(figures)
        await asyncio.sleep(0.5)
    return {"levels": levels}


# -- 3. leases and the reaper ---------------------------------------------------------------------
def lease_costs(*, quick: bool, with_postgres: bool) -> dict[str, Any]:
    messages = MESSAGES_QUICK if quick else MESSAGES
    repeats = TIMED_REPEATS_QUICK if quick else TIMED_REPEATS
    backends = []
    with procs.scratch_dir("codesmith-bench-leases-") as workdir:
        url = f"sqlite+aiosqlite:///{workdir / 'leases.db'}"
        backends.append(_lease_backend("SQLite", url, messages, repeats))
        if with_postgres:
            with maybe_postgres(True, workdir / "pg") as pg_urls:
                if pg_urls is None:
                    backends.append({"name": "PostgreSQL", "skipped": "PostgreSQL could not start"})
                else:
                    backends.append(_lease_backend("PostgreSQL", pg_urls[0], messages, repeats))
    for backend in backends:
        if not backend.get("skipped"):
            backend["upkeep"] = derived_load(backend)
    return {
        "lease_seconds": LEASE_SECONDS,
        "period_seconds": LEASE_SECONDS / 3,
        "running": RUNNING,
        "messages": messages,
        "repeats": repeats,
        "backends": backends,
    }


def _lease_backend(name: str, url: str, messages: int, repeats: int) -> dict[str, Any]:
    from codesmith.migrations import upgrade

    procs.say(f"leases on {name}: migrating, loading {messages:,} messages ({RUNNING:,} running)")
    upgrade(url)
    return asyncio.run(_lease_timings(name, url, messages, repeats))


def derived_load(backend: dict[str, Any]) -> list[dict[str, Any]]:
    """Statements per second and database time per second of the upkeep loops at the default lease, with
    RUNNING generations spread evenly over R replicas (each one renewal and one reaper SELECT a period)."""
    period = LEASE_SECONDS / 3
    select_ms = backend["reaper_select"]["p50_ms"]
    rows = []
    for renewal in backend["renewal"]:
        replicas = renewal["replicas"]
        per_second = replicas / period
        busy_ms = per_second * (renewal["p50_ms"] + select_ms)
        rows.append(
            {
                "replicas": replicas,
                "rows_renewed_per_statement": renewal["rows"],
                "renewals_per_s": round(per_second, 2),
                "reaper_selects_per_s": round(per_second, 2),
                "statements_per_s": round(2 * per_second, 2),
                "db_ms_per_s": round(busy_ms, 3),
                "db_share_percent": round(busy_ms / 10, 4),  # of one second: ms per s / 1000 * 100
            }
        )
    return rows


async def _lease_timings(name: str, url: str, messages: int, repeats: int) -> dict[str, Any]:
    from codesmith.conversations.generations import _any_expired
    from codesmith.conversations.store import reap_expired, renew_leases
    from codesmith.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    try:
        load_started = time.perf_counter()
        running_ids = await _load(engine, messages)
        load_s = time.perf_counter() - load_started
        if url.startswith("postgresql"):
            async with engine.begin() as connection:
                await connection.exec_driver_sql("ANALYZE")
        await _assign_owners(engine, running_ids, 1)  # the load took a while: no lease has expired

        async def timed(action: Any, count: int = repeats) -> list[float]:
            times = []
            for _ in range(count):
                started = time.perf_counter()
                await action()
                times.append((time.perf_counter() - started) * 1000)
            return times

        async def reaper_select() -> None:
            async with sessionmaker() as session:
                assert not await _any_expired(session)

        await timed(reaper_select, 5)  # warm: pool, statement caches
        select_times = await timed(reaper_select)

        renewal = []
        for replicas in REPLICA_COUNTS:
            await _assign_owners(engine, running_ids, replicas)
            renewed: list[int] = []

            held = running_ids[0::replicas]  # replica-0's share (_assign_owners: round robin)

            async def renew(renewed: list[int] = renewed, held: list[str] = held) -> None:
                async with sessionmaker() as session:
                    renewed.append(await renew_leases(session, "replica-0", held, LEASE_SECONDS))
                    await session.commit()

            await timed(renew, 3)
            renewal.append({"replicas": replicas, "rows": renewed[-1], **_summary(await timed(renew))})

        # A replica of ten gone: its REAPED_ROWS generations expired; the reaper's SELECT then UPDATE.
        expired_ids = running_ids[:REAPED_ROWS]
        reaped_counts: list[int] = []
        reap_times: list[float] = []
        for _ in range(max(5, repeats // 4)):
            await _expire(engine, expired_ids)
            started = time.perf_counter()
            async with sessionmaker() as session:
                if await _any_expired(session):
                    reaped_counts.append(len(await reap_expired(session)))
                await session.commit()
            reap_times.append((time.perf_counter() - started) * 1000)
            await _revive(engine, expired_ids)
        await _assign_owners(engine, running_ids, 1)  # the plans of the headline case: one replica, all rows
        plans = await _plans(engine, sessionmaker, running_ids)
    finally:
        await engine.dispose()
    return {
        "name": name,
        "load": {"messages": messages, "running": len(running_ids), "seconds": round(load_s, 1)},
        "reaper_select": _summary(select_times),
        "renewal": renewal,
        "reap": {"rows": reaped_counts[-1] if reaped_counts else 0, **_summary(reap_times)},
        "plans": plans,
    }


def _summary(times: list[float]) -> dict[str, Any]:
    return {"n": len(times), "p50_ms": _r(percentile(times, 50), 3), "p95_ms": _r(percentile(times, 95), 3)}


async def _load(engine: Any, messages: int) -> list[str]:
    """Users, conversations of two messages (a request and its answer) over a year, and RUNNING answers
    still streaming (one per conversation, as the unique index demands); the running ones' ids."""
    from sqlalchemy import insert

    from codesmith.conversations.tables import Conversation, Message
    from codesmith.users.tables import User

    rng = random.Random(11)
    now = datetime.now(UTC)
    users = [f"00000000-0000-4000-8000-{i:012d}" for i in range(20)]
    conversations = messages // 2
    answer = "Here is the function:\n\n```python\n" + "def f(items):\n    return items[::-1]\n" * 30 + "```\n"
    running_ids: list[str] = []
    async with engine.begin() as connection:
        await connection.execute(
            insert(User),
            [
                {"id": uid, "email": f"lease{i}@example.com", "password_hash": "x", "created_at": now}
                for i, uid in enumerate(users)
            ],
        )
    batch = 5_000
    for first in range(0, conversations, batch):
        convs, msgs = [], []
        for index in range(first, min(first + batch, conversations)):
            cid = f"10000000-0000-4000-8000-{index:012d}"
            uid = users[index % len(users)]
            running = index >= conversations - RUNNING
            created = now - timedelta(seconds=1 if running else rng.uniform(60, 365 * 86400))
            convs.append({"id": cid, "user_id": uid, "title": f"conversation {index}", "created_at": created})
            common = {"conversation_id": cid, "user_id": uid}
            msgs.append(
                {
                    **common,
                    "kind": "request",
                    "id": f"20000000-0000-4000-8000-{index:012d}",
                    "role": "user",
                    "content": f"Write a Python function that reverses a list, variant {index}",
                    "status": "complete",
                    "created_at": created,
                }
            )
            mid = f"30000000-0000-4000-8000-{index:012d}"
            msgs.append(
                {
                    **common,
                    "id": mid,
                    "kind": "generation",
                    "role": "assistant",
                    "content": answer[: len(answer) // 2] if running else answer,
                    "status": "streaming" if running else "complete",
                    "created_at": created,
                    "owner": "replica-0" if running else None,
                    "lease_until": now + timedelta(seconds=LEASE_SECONDS) if running else None,
                    "completed_at": None if running else created + timedelta(seconds=8),
                    "prompt_tokens": 40,
                    "completion_tokens": None if running else 300,
                }
            )
            if running:
                running_ids.append(mid)
        async with engine.begin() as connection:
            await connection.execute(insert(Conversation), convs)
            await connection.execute(insert(Message), msgs)
    return running_ids


async def _assign_owners(engine: Any, ids: list[str], replicas: int) -> None:
    """The running generations spread round-robin over `replicas` owners; their leases far enough ahead
    that none expires while the statements are timed (the reaper's SELECT finds nothing, as when all
    replicas are alive)."""
    from sqlalchemy import update

    from codesmith.conversations.tables import Message

    until = datetime.now(UTC) + timedelta(hours=1)
    async with engine.begin() as connection:
        for replica in range(replicas):
            mine = ids[replica::replicas]
            await connection.execute(
                update(Message).where(Message.id.in_(mine)).values(owner=f"replica-{replica}", lease_until=until)
            )


async def _expire(engine: Any, ids: list[str]) -> None:
    from sqlalchemy import update

    from codesmith.conversations.tables import Message

    async with engine.begin() as connection:
        await connection.execute(
            update(Message)
            .where(Message.id.in_(ids))
            .values(owner="replica-gone", lease_until=datetime.now(UTC) - timedelta(seconds=1))
        )


async def _revive(engine: Any, ids: list[str]) -> None:
    from sqlalchemy import update

    from codesmith.conversations.tables import Message

    async with engine.begin() as connection:
        await connection.execute(
            update(Message)
            .where(Message.id.in_(ids))
            .values(
                status="streaming",
                completed_at=None,
                owner="replica-gone",
                lease_until=datetime.now(UTC) + timedelta(hours=1),
            )
        )


def _elided(match: re.Match[str]) -> str:
    parameters = match.group(0)[1:-1].split(", ")
    return f"({', '.join(parameters[:3])}, … {len(parameters)} parameters)"


async def _plans(engine: Any, sessionmaker: Any, running_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The plans of the two periodic statements exactly as the app sends them (captured from the driver
    call), and on PostgreSQL the server's own execution time (EXPLAIN ANALYZE, rolled back)."""
    from sqlalchemy import event

    from codesmith.conversations.generations import _any_expired
    from codesmith.conversations.store import renew_leases

    captured: dict[str, tuple[str, Any]] = {}
    label = ["reaper_select"]

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.setdefault(label[0], (statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with sessionmaker() as session:
            await _any_expired(session)
        label[0] = "renewal"
        async with sessionmaker() as session:
            await renew_leases(session, "replica-0", running_ids, LEASE_SECONDS)
            await session.rollback()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    sqlite = engine.dialect.name == "sqlite"
    plans: dict[str, dict[str, Any]] = {}
    for name, (statement, parameters) in captured.items():
        # A long IN list (the renewal's ids) is shown as its first parameters and a count.
        sql = re.sub(r"\((?:(\?|\$\d+(?:::\w+)?), ){8,}(\?|\$\d+(?:::\w+)?)\)", _elided, " ".join(statement.split()))
        entry: dict[str, Any] = {"sql": sql}
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
        try:
            async with engine.connect() as connection:
                times = []
                for _ in range(1 if sqlite else 5):
                    rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
                    lines = [str(row[-1]) for row in rows]
                    times += [float(line.split()[2]) for line in lines if line.startswith("Execution Time")]
                    await connection.rollback()
            entry["plan"] = "; ".join(line.strip() for line in lines)
            if times:
                entry["server_execution_ms_median"] = sorted(times)[len(times) // 2]
        except Exception as exc:  # a plan is a footnote: never fail the run for it
            entry["plan"] = f"(no plan: {type(exc).__name__}: {exc})"[:300]
        plans[name] = entry
    return plans


# -- entry point of the client subprocess -----------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas")
    parser.add_argument("command", choices=["delay-client"])
    parser.add_argument("plan", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    plan = json.loads(args.plan.read_text())
    try:
        import uvloop

        result = uvloop.run(_delay_client(plan))
    except ImportError:
        result = asyncio.run(_delay_client(plan))
    args.output.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
