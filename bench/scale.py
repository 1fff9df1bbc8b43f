"""Data at scale: load a million messages straight into the database, then time the API's reads.

The schema comes from `codesmith migrate` (so SQLite's FTS5 search tables fill through the migration's
triggers); rows go in with executemany (SQLite) or COPY (PostgreSQL) in large transactions. Each read is
timed through HTTP against `codesmith serve` on that database, as the benchmark user.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bench import postgres, procs
from bench.scale_data import (
    ABSENT_WORD,
    CODE_WORD,
    COMMON_WORD,
    RARE_WORD,
    RECIPE_VERSION,
    TABLE_COLUMNS,
    Generator,
    Landmarks,
    Size,
)
from bench.stats import percentile

PASSWORD = "scale-password-1"
WARMUP_RUNS = 3
SQLITE_COMMIT_ROWS = 200_000
Batches = Iterator[tuple[str, list[tuple[object, ...]]]]


# -- loading --------------------------------------------------------------------------------------
def _sqlite_stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite DATETIME format, UTC


def load_sqlite(path: Path, batches: Batches) -> int:
    """executemany in large transactions; secondary indexes are dropped for the load and rebuilt after it
    (from their own SQL), the migration's FTS triggers stay and fill the search tables row by row."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        connection.execute("PRAGMA journal_mode=OFF")  # a bulk load into a scratch file: no rollback journal
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")
        connection.execute("BEGIN")
        rows_total, since_commit = 0, 0
        for table, rows in batches:
            columns = TABLE_COLUMNS[table]
            statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            connection.executemany(
                statement, ([_sqlite_stamp(v) if isinstance(v, datetime) else v for v in row] for row in rows)
            )
            rows_total += len(rows)
            since_commit += len(rows)
            if since_commit >= SQLITE_COMMIT_ROWS:
                connection.execute("COMMIT")
                connection.execute("BEGIN")
                since_commit = 0
        for _, sql in indexes:
            connection.execute(sql)
        connection.execute("COMMIT")
        connection.execute("PRAGMA journal_mode=WAL")  # what the app runs with
        return rows_total
    finally:
        connection.close()


_BOOLEAN_COLUMNS = {
    "users": ("is_admin",),
    "messages": ("usage_estimated",),
    "usage_records": ("paid_by_server", "usage_estimated"),
}


def load_postgres(url: str, batches: Batches) -> int:
    async def copy() -> int:
        import asyncpg

        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        total = 0
        try:
            # Secondary indexes (the migrations' own definitions) are built once after the load, not per row.
            indexes = await connection.fetch(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
                "JOIN pg_index x ON x.indexrelid = c.oid WHERE i.schemaname = 'public' "
                "AND NOT x.indisunique AND NOT x.indisprimary"
            )
            for index in indexes:
                await connection.execute(f'DROP INDEX "{index["indexname"]}"')
            for table, rows in batches:
                columns = TABLE_COLUMNS[table]
                flags = [columns.index(name) for name in _BOOLEAN_COLUMNS.get(table, ())]
                if flags:
                    rows = [tuple(bool(v) if i in flags else v for i, v in enumerate(row)) for row in rows]
                await connection.copy_records_to_table(table, records=rows, columns=columns)
                total += len(rows)
            for index in indexes:
                await connection.execute(index["indexdef"])
            await connection.execute("ANALYZE")  # what autovacuum does after a load like this
        finally:
            await connection.close()
        return total

    return asyncio.run(copy())


# -- the timed reads --------------------------------------------------------------------------------
def queries(marks: Landmarks) -> list[tuple[str, str, str]]:
    from codesmith.pagination import encode_cursor

    assert marks.middle_conversation is not None
    cursor = encode_cursor(*marks.middle_conversation)
    rare = marks.counts.get("rare_word_conversations", 0)
    return [
        ("conversations_first_page", "GET /conversations (first page of 20)", "/conversations"),
        ("conversations_later_page", "GET /conversations?cursor= (halfway down)", f"/conversations?cursor={cursor}"),
        ("search_rare_word", f"GET /conversations?q={RARE_WORD} ({rare:,} matches)", f"/conversations?q={RARE_WORD}"),
        ("search_common_word", f"GET /conversations?q={COMMON_WORD} (every one)", f"/conversations?q={COMMON_WORD}"),
        ("snippets_python", "GET /snippets?language=python", "/snippets?language=python"),
        ("snippets_search_code", f"GET /snippets?q={CODE_WORD} (code, ~1%)", f"/snippets?q={quote(CODE_WORD)}"),
        # A term nowhere: every index is read to its end (on PostgreSQL the window, then the rest).
        ("search_no_match", f"GET /conversations?q={ABSENT_WORD} (none)", f"/conversations?q={ABSENT_WORD}"),
        ("snippets_search_no_match", f"GET /snippets?q={ABSENT_WORD} (none)", f"/snippets?q={ABSENT_WORD}"),
        ("conversation_200", "GET /conversations/{id} (200 messages)", f"/conversations/{marks.big_conversation_id}"),
        ("usage_90_days", "GET /usage?days=90", "/usage?days=90"),
    ]


def time_queries(api: str, marks: Landmarks, repeats: int) -> list[dict[str, Any]]:
    with httpx.Client(base_url=api, timeout=120) as http:
        login = http.post("/auth/token", data={"username": marks.email, "password": PASSWORD})
        login.raise_for_status()
        http.headers["authorization"] = f"Bearer {login.json()['access_token']}"
        results = []
        for name, label, path in queries(marks):
            timings, status, items = [], 0, None
            for run in range(WARMUP_RUNS + repeats):
                started = time.perf_counter()
                response = http.get(path)
                elapsed = time.perf_counter() - started
                status = response.status_code
                if status != 200:
                    break
                if run >= WARMUP_RUNS:
                    timings.append(elapsed * 1000)
                items = _count_items(response.json())
            row = {
                "name": name,
                "label": label,
                "path": path,
                "status": status,
                "items": items,
                "p50_ms": _round(percentile(timings, 50)),
                "p95_ms": _round(percentile(timings, 95)),
                "max_ms": _round(max(timings) if timings else None),
            }
            procs.say(f"  {label}: p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms (HTTP {status}, {items} items)")
            results.append(row)
    return results


def _count_items(body: Any) -> int | None:
    if isinstance(body, dict):
        for key in ("items", "messages", "by_day"):
            if isinstance(body.get(key), list):
                return len(body[key])
    return None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# -- one backend ------------------------------------------------------------------------------------
CACHE_DIR = procs.BENCH_DIR / ".cache"
Prepared = tuple[dict[str, Any], Landmarks]


def _env(url: str, workdir: Path) -> dict[str, str]:
    return procs.clean_env({"CODESMITH_DATABASE_URL": url, "CODESMITH_DATA_DIR": str(workdir)})


def _migrate(url: str, workdir: Path) -> None:
    codesmith = str(procs.PROJECT_VENV / "bin" / "codesmith")
    migrated = subprocess.run(
        [codesmith, "migrate"], env=_env(url, workdir), cwd=workdir, capture_output=True, text=True, check=False
    )
    if migrated.returncode != 0:
        raise procs.BenchError(f"codesmith migrate failed:\n{migrated.stderr[-2000:]}")


def fill_rollup(url: str) -> None:
    """The daily usage rollup from the loaded ledger: the statement migration 0014 runs (rows loaded
    straight into the tables bypass the final write that keeps the rollup current)."""
    from codesmith.db import make_engine
    from codesmith.usage.rollup import backfill

    async def fill() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(backfill)
        finally:
            await engine.dispose()

    asyncio.run(fill())


def _load(name: str, url: str, size: Size, password_hash: str, loader: Callable[[Batches], int]) -> Prepared:
    generator = Generator(size, password_hash)
    procs.say(f"{name}: loading {size.total_messages:,} messages (and their conversations and snippets) ...")
    started = time.monotonic()
    rows = loader(generator.batches())
    fill_rollup(url)
    seconds = time.monotonic() - started
    procs.say(f"{name}: {rows:,} rows in {seconds:.0f} s")
    load = {"rows": rows, "seconds": round(seconds, 1), "rows_per_second": round(rows / seconds)}
    return load, generator.landmarks


def run_backend(name: str, url: str, workdir: Path, repeats: int, prepare: Callable[[], Prepared]) -> dict[str, Any]:
    load, marks = prepare()
    codesmith = str(procs.PROJECT_VENV / "bin" / "codesmith")
    with procs.servers() as running:
        port = procs.free_port()
        server = procs.Server(
            f"codesmith-{name.lower()}",
            [codesmith, "serve", "--host", "127.0.0.1", "--port", str(port)],
            _env(url, workdir),
            workdir,
            cwd=workdir,
        )
        running.append(server)
        root = f"http://127.0.0.1:{port}"
        server.wait_http(f"{root}/readyz", timeout=60)
        timed = time_queries(f"{root}/api/v1", marks, repeats)
    return {"name": name, "load": load, "counts": marks.counts, "queries": timed}


def run(*, quick: bool, with_postgres: bool) -> dict[str, Any]:
    from codesmith.security import hash_password

    size = Size().scaled(0.1) if quick else Size()
    repeats = 10 if quick else 30
    password_hash = hash_password(PASSWORD)
    backends = []
    with procs.scratch_dir("codesmith-bench-scale-") as workdir:
        path = workdir / "scale.db"
        url = f"sqlite+aiosqlite:///{path}"
        backends.append(
            run_backend("SQLite", url, workdir, repeats, lambda: _sqlite_prepared(path, url, size, password_hash))
        )
    if with_postgres:
        backends.append(_postgres_backend(size, repeats, password_hash))
    return {"size": asdict(size), "repeats": repeats, "backends": backends}


# -- SQLite: the loaded database is cached (the FTS5 trigram index makes a full load take minutes) ----
def _cache_key(size: Size) -> str:
    """The data recipe, the size and the schema (every migration's text) the cached database was built with."""
    digest = hashlib.sha256(f"{RECIPE_VERSION} {asdict(size)}".encode())
    for migration in sorted((procs.REPO_ROOT / "alembic" / "versions").glob("*.py")):
        digest.update(migration.read_bytes())
    return digest.hexdigest()[:16]


def _sqlite_prepared(path: Path, url: str, size: Size, password_hash: str) -> Prepared:
    label = f"scale-{size.total_messages}"
    key = _cache_key(size)
    cached, meta = CACHE_DIR / f"{label}-{key}.db", CACHE_DIR / f"{label}-{key}.json"
    if cached.exists() and meta.exists():
        procs.say(f"SQLite: using the database loaded earlier ({cached.relative_to(procs.REPO_ROOT)})")
        shutil.copyfile(cached, path)
        saved = json.loads(meta.read_text())
        return {**saved["load"], "cached": True}, _landmarks_from(saved["landmarks"])
    _migrate(url, path.parent)
    load, marks = _load("SQLite", url, size, password_hash, lambda batches: load_sqlite(path, batches))
    load["size_mb"] = round(path.stat().st_size / 2**20, 1)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for stale in CACHE_DIR.glob(f"{label}-*"):  # an older schema or generator
        stale.unlink()
    shutil.copyfile(path, cached)
    meta.write_text(
        json.dumps({"load": {**load, "built": time.strftime("%Y-%m-%d %H:%M")}, "landmarks": _landmarks_json(marks)})
    )
    return load, marks


def _landmarks_json(marks: Landmarks) -> dict[str, Any]:
    assert marks.middle_conversation is not None
    stamp, row_id = marks.middle_conversation
    return {
        "user_id": marks.user_id,
        "email": marks.email,
        "big_conversation_id": marks.big_conversation_id,
        "middle_conversation": [stamp.isoformat(), row_id],
        "counts": marks.counts,
    }


def _landmarks_from(data: dict[str, Any]) -> Landmarks:
    stamp, row_id = data["middle_conversation"]
    return Landmarks(
        user_id=data["user_id"],
        email=data["email"],
        big_conversation_id=data["big_conversation_id"],
        middle_conversation=(datetime.fromisoformat(stamp), row_id),
        counts=data["counts"],
    )


# -- PostgreSQL: a cluster in bench/.cache, loaded with COPY once per data recipe and schema ---------------
def _postgres_backend(size: Size, repeats: int, password_hash: str) -> dict[str, Any]:
    label = f"pg-{size.total_messages}"
    data = CACHE_DIR / f"{label}-{_cache_key(size)}"
    meta = data.with_suffix(".json")
    if not meta.exists():
        shutil.rmtree(data, ignore_errors=True)  # a load that did not finish
    try:
        with postgres.cluster(data) as (url, created), procs.scratch_dir("codesmith-bench-pgapp-") as workdir:

            def prepare() -> Prepared:
                if not created:
                    procs.say(f"PostgreSQL: using the database loaded earlier ({data.relative_to(procs.REPO_ROOT)})")
                    saved = json.loads(meta.read_text())
                    return {**saved["load"], "cached": True}, _landmarks_from(saved["landmarks"])
                for stale in CACHE_DIR.glob(f"{label}-*"):
                    if stale != data:
                        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink()
                _migrate(url, workdir)
                load, marks = _load("PostgreSQL", url, size, password_hash, lambda batches: load_postgres(url, batches))
                load["size_mb"] = _postgres_size_mb(url)
                stamp = time.strftime("%Y-%m-%d %H:%M")
                meta.write_text(json.dumps({"load": {**load, "built": stamp}, "landmarks": _landmarks_json(marks)}))
                return load, marks

            return run_backend("PostgreSQL", url, workdir, repeats, prepare)
    except procs.BenchError as exc:
        procs.say(f"PostgreSQL skipped: {exc}")
        return {"name": "PostgreSQL", "skipped": str(exc)}


def _postgres_size_mb(url: str) -> float:
    async def size() -> float:
        import asyncpg

        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            return round(float(await connection.fetchval("SELECT pg_database_size(current_database())")) / 2**20, 1)
        finally:
            await connection.close()

    return asyncio.run(size())
